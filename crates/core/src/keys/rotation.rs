//! When keys are made, published, used and retired: the rotation policy.
//!
//! A new key is published at once but signs only after [`PUBLISH_LEAD`], so every node has
//! loaded it and every verifier that honours the JWKS cache lifetime knows it before it sees a
//! token signed with it. The key it
//! replaces stays published until no token it signed can still be valid.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

use super::{KeyError, KeyPurpose, MasterKey, SigningAlg, ring};
use crate::store::{CasOutcome, KeyStore, PoolRecord, SigningKeyRecord, StoreResult};
use crate::time::Timestamp;

/// Seconds a JWKS response may be cached (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE: i64 = 300;

/// The longest an ID or access token can live (Cognito's upper bound, one day).
pub const MAX_TOKEN_LIFETIME: i64 = 86_400;

/// The longest a node may go between reloads of its keys (`--refresh-interval` is capped here).
pub const MAX_REFRESH_INTERVAL: i64 = 60;

/// Allowance for clocks of different nodes.
const CLOCK_SKEW: i64 = 30;

/// How long a new key is published before it signs: every node has reloaded it, and every
/// verifier's cached JWKS has expired, before a token signed with it can exist.
pub const PUBLISH_LEAD: i64 = JWKS_MAX_AGE + MAX_REFRESH_INTERVAL + CLOCK_SKEW;

/// The times of one rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPlan {
    /// When the new keys start signing.
    pub activates_at: Timestamp,
    /// When the keys they replace leave the JWKS.
    pub retire_previous_at: Timestamp,
}

impl RotationPlan {
    /// A scheduled rotation: publish first, sign later.
    pub fn scheduled(now: Timestamp) -> Self {
        let activates_at = now + PUBLISH_LEAD;
        Self {
            activates_at,
            retire_previous_at: activates_at + MAX_TOKEN_LIFETIME + JWKS_MAX_AGE,
        }
    }

    /// The first keys of a pool, or an emergency rotation: sign now. Old keys still stay
    /// published for the tokens they signed.
    pub fn immediate(now: Timestamp) -> Self {
        Self {
            activates_at: now,
            retire_previous_at: now + MAX_TOKEN_LIFETIME + JWKS_MAX_AGE,
        }
    }
}

/// Generates a fresh RSA-2048 key pair for `purpose`, sealed under `master`.
pub fn new_signing_key(
    pool_id: &str,
    purpose: KeyPurpose,
    master: &MasterKey,
    now: Timestamp,
    activates_at: Timestamp,
) -> SigningKeyRecord {
    new_key_of(
        SigningAlg::RS256,
        pool_id,
        purpose,
        master,
        now,
        activates_at,
    )
}

/// Generates a fresh key pair of `alg` (RSA-2048, or ECDSA P-256) for `purpose`, sealed under
/// `master`.
pub fn new_key_of(
    alg: SigningAlg,
    pool_id: &str,
    purpose: KeyPurpose,
    master: &MasterKey,
    now: Timestamp,
    activates_at: Timestamp,
) -> SigningKeyRecord {
    let (pkcs8, kid) = match alg {
        SigningAlg::RS256 => {
            let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation");
            let der = pair.as_der().expect("PKCS#8 export of a fresh key");
            (
                der.as_ref().to_vec(),
                ring::kid_of(pair.public_key().as_ref()),
            )
        }
        SigningAlg::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .expect("P-256 key generation");
            let der = pair.to_pkcs8v1().expect("PKCS#8 export of a fresh key");
            (
                der.as_ref().to_vec(),
                ring::kid_of(pair.public_key().as_ref()),
            )
        }
    };
    SigningKeyRecord {
        pool_id: pool_id.to_string(),
        private_key: master.seal(&pkcs8, &ring::seal_context(pool_id, &kid)),
        kid,
        purpose,
        created_at: now,
        activates_at,
        retires_at: None,
    }
}

/// The algorithm a pool signs with: its newest key's (the last one made), RS256 for a pool
/// without keys.
pub fn current_alg(
    records: &[SigningKeyRecord],
    master: &MasterKey,
) -> Result<SigningAlg, KeyError> {
    match records
        .iter()
        .max_by_key(|r| (r.created_at, r.activates_at, r.retires_at.is_none()))
    {
        Some(newest) => ring::alg_of(newest, master),
        None => Ok(SigningAlg::RS256),
    }
}

/// Replaces both signing keys of `pool` according to `plan` with RS256 keys, by
/// compare-and-swap on its key generation: `Stale` when another node changed the keys between
/// our read and our write (its rotation stands). A pool with generation 0 gets its first keys
/// this way.
pub async fn rotate(
    store: &(dyn KeyStore + Sync),
    master: &MasterKey,
    pool: &PoolRecord,
    plan: RotationPlan,
    now: Timestamp,
) -> StoreResult<CasOutcome> {
    rotate_to(store, master, pool, plan, now, SigningAlg::RS256).await
}

/// [`rotate`] with keys of `alg`.
pub async fn rotate_to(
    store: &(dyn KeyStore + Sync),
    master: &MasterKey,
    pool: &PoolRecord,
    plan: RotationPlan,
    now: Timestamp,
    alg: SigningAlg,
) -> StoreResult<CasOutcome> {
    let keys: Vec<_> = KeyPurpose::ALL
        .iter()
        .map(|p| new_key_of(alg, &pool.id, *p, master, now, plan.activates_at))
        .collect();
    store
        .rotate_signing_keys(
            &pool.id,
            pool.key_generation,
            &keys,
            plan.retire_previous_at,
        )
        .await
}
