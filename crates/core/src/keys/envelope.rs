//! Sealing of private keys at rest: AES-256-GCM under the master key, bound to the record it
//! belongs to, and tagged with the master key's ID so a wrong key is named, not guessed.

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use aws_lc_rs::digest;

use super::KeyError;
use crate::crypto::{hex, random_bytes};

/// A private key encrypted under a master key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// ID of the master key that sealed it.
    pub kek_id: String,
    /// 12-byte nonce followed by the ciphertext and its tag.
    pub blob: Vec<u8>,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedKey(kek {}, [redacted])", self.kek_id)
    }
}

/// The key-encryption key of this deployment.
pub struct MasterKey {
    id: String,
    key: RandomizedNonceKey,
    derivation: aws_lc_rs::hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let d = digest::digest(&digest::SHA256, bytes);
        Self {
            id: hex(&d.as_ref()[..8]),
            key: RandomizedNonceKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES key"),
            derivation: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes),
        }
    }

    /// 32 fresh random bytes.
    pub fn generate_bytes() -> [u8; 32] {
        let mut b = [0u8; 32];
        random_bytes(&mut b);
        b
    }

    /// A short fingerprint that names this key without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key for another purpose (for example CSRF tokens), derived so that every node with
    /// this master key derives the same one.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.derivation, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts `plaintext`, bound to `context` (for example the pool and key ID).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> SealedKey {
        let mut data = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut data)
            .expect("AES-GCM sealing cannot fail for small inputs");
        let mut blob = nonce.as_ref().to_vec();
        blob.extend_from_slice(&data);
        SealedKey {
            kek_id: self.id.clone(),
            blob,
        }
    }

    /// Seals a small secret for a text column: `kek_id:base64url(nonce ‖ ciphertext)`.
    pub fn seal_text(&self, plaintext: &[u8], context: &str) -> String {
        use base64::Engine as _;
        let s = self.seal(plaintext, context);
        format!(
            "{}:{}",
            s.kek_id,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.blob)
        )
    }

    /// Opens a value made by [`MasterKey::seal_text`] with the same `context`.
    pub fn open_text(&self, stored: &str, context: &str) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let (kek_id, blob) = stored.split_once(':')?;
        let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(blob)
            .ok()?;
        let sealed = SealedKey {
            kek_id: kek_id.to_string(),
            blob,
        };
        self.open(&sealed, context, "").ok()
    }

    /// Decrypts a sealed key made by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, sealed: &SealedKey, context: &str, pool: &str) -> Result<Vec<u8>, KeyError> {
        if sealed.kek_id != self.id {
            return Err(KeyError::WrongMasterKey {
                pool: pool.to_string(),
                stored: sealed.kek_id.clone(),
                configured: self.id.clone(),
            });
        }
        if sealed.blob.len() < 12 + 16 {
            return Err(KeyError::Unseal(pool.to_string()));
        }
        let (nonce, body) = sealed.blob.split_at(12);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| KeyError::Unseal(pool.to_string()))?;
        let mut data = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| KeyError::Unseal(pool.to_string()))?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_key_and_context() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let s = k.seal(b"secret", "pool/kid");
        assert_eq!(k.open(&s, "pool/kid", "p").unwrap(), b"secret");
        assert!(matches!(
            k.open(&s, "pool/other", "p"),
            Err(KeyError::Unseal(_))
        ));
        let other = MasterKey::from_bytes(&[8u8; 32]);
        assert!(matches!(
            other.open(&s, "pool/kid", "p"),
            Err(KeyError::WrongMasterKey { .. })
        ));
        let mut tampered = s.clone();
        let last = tampered.blob.len() - 1;
        tampered.blob[last] ^= 1;
        assert!(k.open(&tampered, "pool/kid", "p").is_err());
    }
}
