//! Our own SAML keys (spec §16.2–§16.3): RSA-2048 with a self-signed certificate valid ten
//! years — one per pool for signing, one per IdP that wants encrypted assertions — made here
//! for core's `Auth::saml_credentials` (which keeps them), and the HTTP-Redirect binding's
//! detached signature made with them.

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use userpool_core::auth::{SamlCredential, SamlKeyMaker};

/// Our keys are core's `SamlCredential`s; the base64 body is core's too, so the SP metadata
/// and `GetSigningCertificate` print a certificate the same way.
pub use userpool_core::auth::{SamlCredential as Credential, saml_cert_base64 as cert_base64};

/// Certificates last ten years; a new one is made every year (spec §16.2).
pub const CERT_YEARS: i64 = 10;

/// The maker of our keys that core's `Auth` runs: the certificate names the pool's SP entity
/// ID and the key's owner.
pub struct RcgenKeys;

impl SamlKeyMaker for RcgenKeys {
    fn make(&self, pool_id: &str, owner: &str, now: i64) -> Result<SamlCredential, String> {
        generate(&format!("{} {owner}", super::sp_entity_id(pool_id)), now)
    }
}

/// Makes a fresh key and a self-signed certificate for `common_name`, valid from `now`.
pub fn generate(common_name: &str, now: i64) -> Result<Credential, String> {
    let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(|e| format!("RSA key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let from = time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| e.to_string())?;
    params.not_before = from - time::Duration::minutes(5);
    params.not_after = from + time::Duration::days(365 * CERT_YEARS);
    let cert = params
        .self_signed(&pair)
        .map_err(|e| format!("certificate: {e}"))?;
    Ok(Credential {
        key_pem: pair.serialize_pem(),
        cert_pem: cert.pem(),
        not_after: params.not_after.unix_timestamp(),
    })
}

/// The certificate's DER, from PEM.
pub fn cert_der(cert_pem: &str) -> Option<Vec<u8>> {
    STANDARD.decode(cert_base64(cert_pem)).ok()
}

/// `Signature` of the Redirect binding: RSA-SHA256 over the exact query bytes
/// `SAMLRequest=…&RelayState=…&SigAlg=…` (saml-bindings §3.4.4.1).
pub fn sign(key_pem: &str, signed_query: &str) -> Result<String, String> {
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).map_err(|_| "key PEM")?;
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("key: {e}"))?;
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed_query.as_bytes(),
        &mut sig,
    )
    .map_err(|e| format!("signing: {e}"))?;
    Ok(STANDARD.encode(sig))
}
