//! Password hashing with Argon2id; the parameters are the only cost of a sign-in.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

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

/// Hashes a password into a PHC string (salt and parameters included).
pub fn hash_password(password: &str, params: HashParams) -> String {
    hasher(params)
        .hash_password(password.as_bytes())
        .expect("Argon2 hashing cannot fail with valid parameters")
        .to_string()
}

/// Verifies a password against a stored PHC string; any malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of no one's password, verified against when a user does not exist so that unknown
/// and known usernames take the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("no such user", HashParams::default()));
    &HASH
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
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct horse 1!", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
