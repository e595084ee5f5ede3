//! A pool's loaded signing keys: which one signs now, the JWKS they publish, and JWS signing
//! with key pairs parsed once (never per token).

use aws_lc_rs::rsa::{KeyPair, PublicKeyComponents};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use aws_lc_rs::{digest, rand::SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;

use super::{KeyError, KeyPurpose, MasterKey};
use crate::store::SigningKeyRecord;
use crate::time::Timestamp;

/// Cognito-style key ID: base64 of the SHA-256 of the public key (44 characters ending in `=`).
pub(super) fn kid_of(pair: &KeyPair) -> String {
    STANDARD.encode(digest::digest(&digest::SHA256, pair.public_key().as_ref()))
}

/// What a sealed key is bound to, so a sealed blob cannot be moved to another record.
pub(super) fn seal_context(pool_id: &str, kid: &str) -> String {
    format!("userpool signing key/{pool_id}/{kid}")
}

/// One RSA key, ready to sign.
pub struct SigningKey {
    pub kid: String,
    pub purpose: KeyPurpose,
    pub activates_at: Timestamp,
    pub retires_at: Option<Timestamp>,
    pair: KeyPair,
    /// `base64url({"kid":…,"alg":"RS256"})`, made once.
    header_b64: String,
    /// DER `RSAPublicKey`, for verification.
    public_der: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {:?})", self.kid, self.purpose)
    }
}

/// A JSON Web Key as the JWKS publishes it: public members only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub alg: &'static str,
    pub e: String,
    pub kid: String,
    pub kty: &'static str,
    pub n: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
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
        let pair = KeyPair::from_pkcs8(&der).map_err(|e| KeyError::Invalid(e.to_string()))?;
        if kid_of(&pair) != rec.kid {
            return Err(KeyError::Invalid(format!(
                "kid {} does not match its key",
                rec.kid
            )));
        }
        let header = format!(r#"{{"kid":"{}","alg":"RS256"}}"#, rec.kid);
        Ok(Self {
            kid: rec.kid.clone(),
            purpose: rec.purpose,
            activates_at: rec.activates_at,
            retires_at: rec.retires_at,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            public_der: pair.public_key().as_ref().to_vec(),
            pair,
        })
    }

    pub fn jwk(&self) -> Jwk {
        let c: PublicKeyComponents<Vec<u8>> = self.pair.public_key().into();
        Jwk {
            alg: "RS256",
            e: URL_SAFE_NO_PAD.encode(&c.e),
            kid: self.kid.clone(),
            kty: "RSA",
            n: URL_SAFE_NO_PAD.encode(&c.n),
            use_: "sig",
        }
    }

    /// Signs `claims` (a JSON object) as a compact RS256 JWS with this key's `kid`.
    pub fn sign_jwt(&self, claims: &[u8]) -> String {
        let mut out = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 350);
        out.push_str(&self.header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut out);
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                out.as_bytes(),
                &mut sig,
            )
            .expect("RSA signing with a valid key");
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
        out
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
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.public_der)
            .verify(signed.as_bytes(), &signature)
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
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
}
