//! Password hashing with Argon2id (and verifying the hashes users moved in with, `imported`);
//! the parameters are the only cost of a sign-in. Each thread
//! that hashes keeps one Argon2 memory buffer and reuses it, so a server under a flood of
//! sign-ins holds a fixed amount of Argon2 memory instead of the allocator's leftovers of every
//! 19 MiB buffer it ever made.

pub mod imported;

use std::cell::RefCell;

use argon2::password_hash::phc::{self, Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for HashParams {
    /// OWASP's Argon2id baseline: 19 MiB, two passes, one lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

fn hasher(p: HashParams) -> Argon2<'static> {
    let params = Params::new(p.memory_kib, p.iterations, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A stored password: an Argon2id PHC string (salt and parameters included), or a hash a user
/// was moved in with (`imported`). It is made only by hashing a password, by checking an
/// imported hash, or by reading one back from storage, so no code path can store "no password"
/// where a password was meant.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from storage (or written by an earlier version).
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }
    /// A hash made elsewhere, checked to be one we can verify (`imported::check`).
    pub fn imported(stored: &str) -> Result<Self, String> {
        imported::check(stored)?;
        Ok(Self(stored.to_string()))
    }
    /// No password at all, for users moved in without one (they must reset it): no password
    /// verifies, and checking one costs what checking a real one does.
    pub fn unusable() -> Self {
        Self(UNUSABLE.to_string())
    }
    /// Whether this is [`PasswordHash::unusable`].
    pub fn is_unusable(&self) -> bool {
        self.0 == UNUSABLE
    }
    /// Whether this is our Argon2id with `params`: a right password against any other hash is
    /// hashed again (moved-in formats, older costs).
    pub fn is_current(&self, params: HashParams) -> bool {
        self.0.starts_with(&format!(
            "$argon2id$v=19$m={},t={},p=1$",
            params.memory_kib, params.iterations
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether `password` is this one (constant time inside Argon2's verifier).
    pub fn verify(&self, password: &str) -> bool {
        verify_password(password, &self.0)
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// What a user without a password stores: no password hashes to it.
const UNUSABLE: &str = "$unusable$";

thread_local! {
    /// This thread's Argon2 memory, grown to the largest cost it has met.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The most a stored hash may ask of us (a hash from elsewhere, or a tampered row, must not
/// take a worker's memory or time hostage): 64 MiB, ten passes, eight lanes.
const MAX_MEMORY_KIB: u32 = 64 * 1024;
const MAX_ITERATIONS: u32 = 10;
const MAX_LANES: u32 = 8;

/// Runs Argon2 into `out` with this thread's reusable memory, wiped after use so no
/// password-dependent state stays behind.
fn argon2_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let p = argon.params();
    if p.m_cost() > MAX_MEMORY_KIB || p.t_cost() > MAX_ITERATIONS || p.p_cost() > MAX_LANES {
        return false;
    }
    let blocks = p.block_count();
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        let done = argon
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .is_ok();
        memory[..blocks].fill(Block::new());
        done
    })
}

/// Hashes a password (CPU-heavy: schedule it off request workers, see `auth::WorkQueue`).
pub fn hash_password(password: &str, params: HashParams) -> PasswordHash {
    let argon = hasher(params);
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    crate::crypto::random_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    assert!(
        argon2_into(&argon, password.as_bytes(), &salt, &mut out),
        "Argon2 hashing cannot fail with valid parameters"
    );
    let phc = phc::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).expect("valid Argon2 parameters"),
        salt: Some(Salt::new(&salt).expect("a 16-byte salt")),
        hash: Some(Output::new(&out).expect("a 32-byte output")),
    };
    PasswordHash(phc.to_string())
}

/// Verifies a password against a stored PHC string (its own algorithm, version and cost);
/// any malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if phc == UNUSABLE {
        // The same work as a wrong password: the answer says nothing about the account.
        verify_password(password, dummy_hash());
        return false;
    }
    if !phc.starts_with("$argon2") {
        return imported::verify(password, phc);
    }
    let Ok(stored) = phc::PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, password.as_bytes(), salt, &mut out)
        && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

/// A hash of no one's password, verified against when a user does not exist so that unknown
/// and known usernames take the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::LazyLock<PasswordHash> =
        std::sync::LazyLock::new(|| hash_password("no such user", HashParams::default()));
    HASH.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_others_do_not() {
        let p = HashParams {
            memory_kib: 1024,
            iterations: 1,
        };
        let h = hash_password("Correct horse 1!", p);
        assert!(h.as_str().starts_with("$argon2id$"));
        assert!(h.verify("Correct horse 1!"));
        assert!(!h.verify("wrong"));
        assert_eq!(format!("{h:?}"), "PasswordHash(…)");
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn hashes_are_standard_phc_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let p = HashParams {
            memory_kib: 1024,
            iterations: 1,
        };
        // Ours verify with the crate's own verifier…
        let ours = hash_password("Correct horse 1!", p);
        let parsed = phc::PasswordHash::new(ours.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Correct horse 1!", &parsed)
                .is_ok()
        );
        // …and hashes the crate made (as earlier versions stored) verify with ours.
        let theirs = hasher(p)
            .hash_password(b"Correct horse 1!")
            .unwrap()
            .to_string();
        assert!(verify_password("Correct horse 1!", &theirs));
        assert!(!verify_password("Correct horse 2!", &theirs));
    }
}
