//! A pool's loaded signing keys: which one signs now, the JWKS they publish, and JWS signing
//! with key pairs parsed once (never per token). RSA keys sign RS256 (Cognito's); a pool may
//! opt in to ECDSA P-256 keys, which sign ES256 (RFC 7518 §3.4), beyond Cognito.

use aws_lc_rs::rsa::{KeyPair, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use aws_lc_rs::{digest, rand::SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;

use super::{KeyError, KeyPurpose, MasterKey};
use crate::store::SigningKeyRecord;
use crate::time::Timestamp;

/// The JWS algorithm of a key: its key material decides it (the sealed PKCS#8 names RSA or
/// EC P-256), so no column can disagree with the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlg {
    #[default]
    RS256,
    ES256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::RS256, SigningAlg::ES256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// Cognito-style key ID: base64 of the SHA-256 of the public key (44 characters ending in `=`);
/// for EC keys, of the uncompressed point.
pub(super) fn kid_of(public_key: &[u8]) -> String {
    STANDARD.encode(digest::digest(&digest::SHA256, public_key))
}

/// What a sealed key is bound to, so a sealed blob cannot be moved to another record.
pub(super) fn seal_context(pool_id: &str, kid: &str) -> String {
    format!("userpool signing key/{pool_id}/{kid}")
}

enum Pair {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
}

impl Pair {
    /// Parses PKCS#8: RSA, or else EC P-256.
    pub(super) fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        match KeyPair::from_pkcs8(der) {
            Ok(pair) => Ok(Pair::Rsa(pair)),
            Err(rsa) => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map(Pair::Ec)
                .map_err(|ec| KeyError::Invalid(format!("not RSA ({rsa}), not EC P-256 ({ec})"))),
        }
    }

    fn public_key(&self) -> &[u8] {
        match self {
            Pair::Rsa(p) => p.public_key().as_ref(),
            Pair::Ec(p) => p.public_key().as_ref(),
        }
    }

    fn alg(&self) -> SigningAlg {
        match self {
            Pair::Rsa(_) => SigningAlg::RS256,
            Pair::Ec(_) => SigningAlg::ES256,
        }
    }
}

/// The algorithm of a sealed key (for rotations that keep a pool's algorithm).
pub(super) fn alg_of(rec: &SigningKeyRecord, master: &MasterKey) -> Result<SigningAlg, KeyError> {
    let der = master.open(
        &rec.private_key,
        &seal_context(&rec.pool_id, &rec.kid),
        &rec.pool_id,
    )?;
    Ok(Pair::from_pkcs8(&der)?.alg())
}

/// One key, ready to sign.
pub struct SigningKey {
    pub kid: String,
    pub purpose: KeyPurpose,
    pub created_at: Timestamp,
    pub activates_at: Timestamp,
    pub retires_at: Option<Timestamp>,
    pair: Pair,
    /// `base64url({"kid":…,"alg":…})`, made once.
    header_b64: String,
    /// DER `RSAPublicKey` or the uncompressed EC point, for verification.
    public: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({} {} {:?})",
            self.kid,
            self.alg().as_str(),
            self.purpose
        )
    }
}

/// A JSON Web Key as the JWKS publishes it: public members only (RFC 7518 §6.2 for EC, §6.3
/// for RSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    pub kid: String,
    pub kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(rename = "use")]
    pub use_: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl SigningKey {
    fn from_record(rec: &SigningKeyRecord, master: &MasterKey) -> Result<Self, KeyError> {
        let der = master.open(
            &rec.private_key,
            &seal_context(&rec.pool_id, &rec.kid),
            &rec.pool_id,
        )?;
        let pair = Pair::from_pkcs8(&der)?;
        if kid_of(pair.public_key()) != rec.kid {
            return Err(KeyError::Invalid(format!(
                "kid {} does not match its key",
                rec.kid
            )));
        }
        let header = format!(r#"{{"kid":"{}","alg":"{}"}}"#, rec.kid, pair.alg().as_str());
        Ok(Self {
            kid: rec.kid.clone(),
            purpose: rec.purpose,
            created_at: rec.created_at,
            activates_at: rec.activates_at,
            retires_at: rec.retires_at,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            public: pair.public_key().to_vec(),
            pair,
        })
    }

    pub fn alg(&self) -> SigningAlg {
        self.pair.alg()
    }

    pub fn jwk(&self) -> Jwk {
        match &self.pair {
            Pair::Rsa(pair) => {
                let c: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
                Jwk {
                    alg: "RS256",
                    crv: None,
                    e: Some(URL_SAFE_NO_PAD.encode(&c.e)),
                    kid: self.kid.clone(),
                    kty: "RSA",
                    n: Some(URL_SAFE_NO_PAD.encode(&c.n)),
                    use_: "sig",
                    x: None,
                    y: None,
                }
            }
            Pair::Ec(_) => {
                // The uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each (SEC 1 §2.3.3).
                let (x, y) = self.public[1..].split_at(32);
                Jwk {
                    alg: "ES256",
                    crv: Some("P-256"),
                    e: None,
                    kid: self.kid.clone(),
                    kty: "EC",
                    n: None,
                    use_: "sig",
                    x: Some(URL_SAFE_NO_PAD.encode(x)),
                    y: Some(URL_SAFE_NO_PAD.encode(y)),
                }
            }
        }
    }

    /// Signs `claims` (a JSON object) as a compact JWS with this key's `kid` and algorithm
    /// (ES256 signatures are `r ‖ s`, RFC 7518 §3.4).
    pub fn sign_jwt(&self, claims: &[u8]) -> String {
        let mut out = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 350);
        out.push_str(&self.header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut out);
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, out.as_bytes(), &mut sig)
                    .expect("RSA signing with a valid key");
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
            }
            Pair::Ec(pair) => {
                let sig = pair
                    .sign(&rng, out.as_bytes())
                    .expect("ECDSA signing with a valid key");
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
            }
        }
        out
    }

    fn verify(&self, signed: &[u8], signature: &[u8]) -> bool {
        match self.pair {
            Pair::Rsa(_) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public)
                .verify(signed, signature)
                .is_ok(),
            Pair::Ec(_) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
                .verify(signed, signature)
                .is_ok(),
        }
    }
}

/// All keys of one pool that are published now, parsed once.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    /// Loads every published key (those not yet retired at `now`).
    pub fn load(
        records: &[SigningKeyRecord],
        master: &MasterKey,
        now: Timestamp,
    ) -> Result<Self, KeyError> {
        let mut keys = records
            .iter()
            .filter(|r| r.retires_at.is_none_or(|t| t > now))
            .map(|r| SigningKey::from_record(r, master))
            .collect::<Result<Vec<_>, _>>()?;
        // Among keys active from the same second, the unsuperseded one is the newest.
        keys.sort_by_key(|k| (k.activates_at, k.retires_at.is_none()));
        Ok(Self { keys })
    }

    /// The key that signs `purpose` tokens at `now`: the newest one already active.
    pub fn signer(&self, purpose: KeyPurpose, now: Timestamp) -> Option<&SigningKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.purpose == purpose && k.activates_at <= now)
    }

    /// The algorithms of the published keys, RS256 first, RS256 alone for a ring without keys
    /// (discovery's `id_token_signing_alg_values_supported`).
    pub fn algs(&self) -> Vec<&'static str> {
        let algs: Vec<_> = SigningAlg::ALL
            .into_iter()
            .filter(|a| self.keys.iter().any(|k| k.alg() == *a))
            .map(SigningAlg::as_str)
            .collect();
        if algs.is_empty() {
            vec![SigningAlg::RS256.as_str()]
        } else {
            algs
        }
    }

    /// Every published key, newest first, as the JWKS lists them.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().rev().map(SigningKey::jwk).collect(),
        }
    }

    /// Verifies a JWS made by one of these keys and returns its claims. Only our own exact
    /// header is accepted, so `alg`, `kid`, `jku` or `crit` tricks cannot apply.
    pub fn verify_jwt(&self, token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let key = self.keys.iter().find(|k| k.header_b64 == header)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let signed = &token[..header.len() + 1 + payload.len()];
        if !key.verify(signed.as_bytes(), &signature) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    /// When the newest of these keys was made (the key generation's age, for the metrics).
    pub fn newest_created_at(&self) -> Option<Timestamp> {
        self.keys.iter().map(|k| k.created_at).max()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The earliest time at which this ring's view changes (a key activates or retires).
    pub fn next_change_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.keys
            .iter()
            .flat_map(|k| [Some(k.activates_at), k.retires_at])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RotationPlan, new_signing_key};
    use super::*;

    #[test]
    fn the_newest_active_key_signs_and_all_published_keys_are_listed() {
        let m = MasterKey::from_bytes(&[1u8; 32]);
        let first = new_signing_key("p_1", KeyPurpose::Id, &m, 0, 0);
        let plan = RotationPlan::scheduled(100);
        let mut old = first.clone();
        old.retires_at = Some(plan.retire_previous_at);
        let second = new_signing_key("p_1", KeyPurpose::Id, &m, 100, plan.activates_at);
        let ring = KeyRing::load(&[old, second.clone()], &m, 100).unwrap();
        assert_eq!(ring.jwks().keys.len(), 2);
        assert_eq!(ring.signer(KeyPurpose::Id, 100).unwrap().kid, first.kid);
        assert_eq!(
            ring.signer(KeyPurpose::Id, plan.activates_at).unwrap().kid,
            second.kid
        );
        assert!(ring.signer(KeyPurpose::Access, 100).is_none());
        assert_eq!(first.kid.len(), 44);
        assert!(first.kid.ends_with('='));
        let later = KeyRing::load(
            &[
                SigningKeyRecord {
                    retires_at: Some(plan.retire_previous_at),
                    ..first
                },
                second,
            ],
            &m,
            plan.retire_previous_at,
        )
        .unwrap();
        assert_eq!(later.jwks().keys.len(), 1);
    }

    #[test]
    fn a_signed_jwt_has_three_parts_and_the_kid_header() {
        let m = MasterKey::from_bytes(&[2u8; 32]);
        let rec = new_signing_key("p_1", KeyPurpose::Access, &m, 0, 0);
        let ring = KeyRing::load(std::slice::from_ref(&rec), &m, 0).unwrap();
        let jwt = ring
            .signer(KeyPurpose::Access, 0)
            .unwrap()
            .sign_jwt(br#"{"a":1}"#);
        let parts: Vec<_> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(r#"{{"kid":"{}","alg":"RS256"}}"#, rec.kid)
        );
        assert_eq!(ring.verify_jwt(&jwt).unwrap()["a"], 1);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(br#"{"a":2}"#),
            parts[2]
        );
        assert!(ring.verify_jwt(&tampered).is_none());
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            parts[1]
        );
        assert!(ring.verify_jwt(&none_alg).is_none());
    }

    #[test]
    fn an_es256_key_signs_verifies_and_publishes_its_point() {
        use super::super::{current_alg, new_key_of};
        let m = MasterKey::from_bytes(&[3u8; 32]);
        let rsa = new_signing_key("p_1", KeyPurpose::Access, &m, 0, 0);
        let ec = new_key_of(SigningAlg::ES256, "p_1", KeyPurpose::Access, &m, 10, 10);
        assert_eq!(
            current_alg(std::slice::from_ref(&rsa), &m).unwrap(),
            SigningAlg::RS256
        );
        assert_eq!(
            current_alg(&[rsa.clone(), ec.clone()], &m).unwrap(),
            SigningAlg::ES256
        );
        let ring = KeyRing::load(&[rsa.clone(), ec.clone()], &m, 10).unwrap();
        assert_eq!(ring.algs(), ["RS256", "ES256"]);
        let key = ring.signer(KeyPurpose::Access, 10).unwrap();
        assert_eq!(
            (key.kid.as_str(), key.alg()),
            (ec.kid.as_str(), SigningAlg::ES256)
        );
        let jwt = key.sign_jwt(br#"{"a":1}"#);
        let parts: Vec<_> = jwt.split('.').collect();
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, format!(r#"{{"kid":"{}","alg":"ES256"}}"#, ec.kid));
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
        assert_eq!(ring.verify_jwt(&jwt).unwrap()["a"], 1);
        // A token signed by the older RSA key still verifies beside it.
        let old = ring
            .signer(KeyPurpose::Access, 0)
            .unwrap()
            .sign_jwt(br#"{"a":2}"#);
        assert_eq!(ring.verify_jwt(&old).unwrap()["a"], 2);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(br#"{"a":3}"#),
            parts[2]
        );
        assert!(ring.verify_jwt(&tampered).is_none());
        // An RS256 signature under the EC key's header is refused.
        let old_sig = old.rsplit('.').next().unwrap();
        assert!(
            ring.verify_jwt(&format!("{}.{}.{old_sig}", parts[0], parts[1]))
                .is_none()
        );
        let jwk = serde_json::to_value(key.jwk()).unwrap();
        let members: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        let rsa_jwk = serde_json::to_value(ring.jwks().keys[1].clone()).unwrap();
        let members: Vec<_> = rsa_jwk.as_object().unwrap().keys().cloned().collect();
        assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    }
}
