//! Our SAML keys, written once for every front door: the pool's signing key (AuthnRequests,
//! LogoutRequests, the SP metadata, and `GetSigningCertificate` in the API) and each encrypting
//! IdP's key. RSA-2048 with a self-signed certificate valid ten years, made on first use and
//! again every year (older ones keep working; signing uses the newest), sealed under the master
//! key and shared by every node through the store. Making a key is the [`SamlKeyMaker`] port's
//! work (the federation crate's), run on the work queue.

use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::store::SamlCredentialRecord;
use crate::time::Timestamp;

/// A new certificate every year.
pub const SAML_RENEW_AFTER: i64 = 365 * 86_400;

/// The owner of the pool's signing key (an IdP's encryption keys are owned by `idp:{name}`).
pub const SAML_SIGNING_OWNER: &str = "pool";

/// The owner of the keys a SAML IdP with `EncryptedResponses` encrypts to: one per IdP
/// (prefixed: an IdP may be named `pool`).
pub fn saml_encryption_owner(idp: &str) -> String {
    format!("idp:{idp}")
}

/// A key pair of ours with its certificate: the key as PKCS#8 PEM, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SamlCredential {
    pub key_pem: String,
    pub cert_pem: String,
    pub not_after: Timestamp,
}

impl std::fmt::Debug for SamlCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlCredential")
            .field("key_pem", &"(redacted)")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A certificate's base64 DER body, without the PEM armour: what SP metadata's
/// `X509Certificate` holds and `GetSigningCertificate` answers.
pub fn saml_cert_base64(cert_pem: &str) -> String {
    cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

/// Makes a key pair and its self-signed certificate for `owner` of `pool_id`, valid from `now`
/// (CPU-heavy: called on the work queue).
pub trait SamlKeyMaker: Send + Sync {
    fn make(&self, pool_id: &str, owner: &str, now: Timestamp) -> Result<SamlCredential, String>;
}

fn seal_context(pool_id: &str, owner: &str, generation: i64) -> String {
    format!("userpool saml key/{pool_id}/{owner}/{generation}")
}

fn failed(what: &str, e: impl std::fmt::Display) -> AuthError {
    tracing::error!(error = %e, "{what}");
    AuthError::new(ErrorKind::Internal, "Internal server error.")
}

impl Auth {
    /// The owner's unexpired credentials, newest last; the first one, and a yearly successor,
    /// are made on demand. One is made at a time per node and owner (a burst of first requests
    /// makes one key); nodes racing to make one agree on whichever was stored first.
    pub async fn saml_credentials(
        &self,
        pool_id: &str,
        owner: &str,
    ) -> AuthResult<Vec<SamlCredential>> {
        let now = self.clock.now();
        let due = |records: &[SamlCredentialRecord]| {
            records
                .last()
                .is_none_or(|r| r.created_at + SAML_RENEW_AFTER <= now)
        };
        let mut records = self.store.list_saml_credentials(pool_id, owner).await?;
        if due(&records) {
            let _turn = self.turn(pool_id, &format!("k:saml:{owner}")).await?;
            records = self.store.list_saml_credentials(pool_id, owner).await?;
            if due(&records) {
                let generation = records.last().map_or(1, |r| r.generation + 1);
                let maker = self.saml_keys.clone();
                let (pool, who) = (pool_id.to_string(), owner.to_string());
                let made = self
                    .cpu(move || maker.make(&pool, &who, now))
                    .await?
                    .map_err(|e| failed("making a SAML key failed", e))?;
                let record = SamlCredentialRecord {
                    pool_id: pool_id.to_string(),
                    owner: owner.to_string(),
                    generation,
                    sealed_key: self.master.seal_text(
                        made.key_pem.as_bytes(),
                        &seal_context(pool_id, owner, generation),
                    ),
                    cert_pem: made.cert_pem,
                    created_at: now,
                    not_after: made.not_after,
                };
                self.store.insert_saml_credential(&record).await?;
                records = self.store.list_saml_credentials(pool_id, owner).await?;
            }
        }
        records
            .into_iter()
            .filter(|r| r.not_after > now)
            .map(|r| {
                let key = self
                    .master
                    .open_text(&r.sealed_key, &seal_context(pool_id, owner, r.generation))
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        failed(
                            "a SAML key does not open",
                            "a SAML key does not open with this master key",
                        )
                    })?;
                Ok(SamlCredential {
                    key_pem: key,
                    cert_pem: r.cert_pem,
                    not_after: r.not_after,
                })
            })
            .collect()
    }

    /// The pool's newest signing credential: the one that signs, and whose certificate
    /// `GetSigningCertificate` returns.
    pub async fn saml_signing_credential(&self, pool_id: &str) -> AuthResult<SamlCredential> {
        self.saml_credentials(pool_id, SAML_SIGNING_OWNER)
            .await?
            .pop()
            .ok_or_else(|| failed("no SAML signing key", "none unexpired"))
    }
}
