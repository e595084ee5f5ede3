//! Randomness and hashing of bearer secrets: the one place that makes codes, secrets and their
//! stored hashes, so entropy and comparison rules are decided once.

use aws_lc_rs::{constant_time, digest, rand::SecureRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) {
    aws_lc_rs::rand::SystemRandom::new()
        .fill(buf)
        .expect("the system random number generator failed");
}

/// A string of `len` characters drawn uniformly from `alphabet` (rejection sampling, no bias).
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    sample(alphabet, len, random_bytes)
}

/// `len` characters of `alphabet`, drawn by rejection sampling from the byte blocks `fill`
/// produces: uniform when the bytes are.
pub(crate) fn sample(alphabet: &[u8], len: usize, mut fill: impl FnMut(&mut [u8])) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An opaque bearer token with 256 bits of entropy, base64url without padding.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of a bearer secret, hex encoded: the only form in which such secrets are stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret: &str) -> Self {
        let d = digest::digest(&digest::SHA256, secret.as_bytes());
        Self(hex(d.as_ref()))
    }
    /// HMAC-SHA256 of a short secret under a server key, bound to its context: for secrets too
    /// small to survive a plain hash (six-digit codes invert in a millisecond), so a database
    /// read alone reveals nothing (RFC 2104).
    pub fn keyed(key: &[u8; 32], context: &str, secret: &str) -> Self {
        Self(hex(&keyed_digest(key, context, secret)))
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison of two hashes.
    pub fn matches_hash(&self, other: &TokenHash) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes()).is_ok()
    }

    /// Constant-time check that `secret` hashes to this value.
    pub fn matches(&self, secret: &str) -> bool {
        constant_time::verify_slices_are_equal(Self::of(secret).0.as_bytes(), self.0.as_bytes())
            .is_ok()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// HMAC-SHA256 under a server key of `data` bound to `context` (RFC 2104).
pub fn keyed_digest(key: &[u8; 32], context: &str, data: &str) -> [u8; 32] {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&k);
    ctx.update(context.as_bytes());
    ctx.update(&[0]);
    ctx.update(data.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_use_only_the_alphabet_and_differ() {
        let a = random_string(LOWER_ALNUM, 26);
        let b = random_string(LOWER_ALNUM, 26);
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| LOWER_ALNUM.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_matches_only_its_secret() {
        let h = TokenHash::of("secret-1");
        assert!(h.matches("secret-1"));
        assert!(!h.matches("secret-2"));
        assert_eq!(h.as_str().len(), 64);
    }

    #[test]
    fn keyed_hashes_depend_on_key_and_context() {
        let a = TokenHash::keyed(&[1; 32], "c:reset:alice", "123456");
        assert_ne!(a, TokenHash::of("123456"));
        assert_ne!(a, TokenHash::keyed(&[2; 32], "c:reset:alice", "123456"));
        assert_ne!(a, TokenHash::keyed(&[1; 32], "c:reset:bob", "123456"));
        assert_eq!(a, TokenHash::keyed(&[1; 32], "c:reset:alice", "123456"));
    }
}
