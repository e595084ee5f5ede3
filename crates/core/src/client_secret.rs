//! App client secrets: at most two per client (for rotation), sealed under the master key so
//! that `DescribeUserPoolClient` can show them and `SECRET_HASH` (an HMAC keyed by the secret)
//! can be checked; always compared in constant time. Secrets stored before sealing existed are
//! SHA-256 hashes: they still authenticate, but their value cannot be shown again.

use aws_lc_rs::{constant_time, hmac};

use crate::crypto::{TokenHash, hex, random_string, sha256};
use crate::keys::MasterKey;
use crate::store::ClientRecord;
use crate::time::Timestamp;

/// Cognito lets a client hold at most two secrets at once.
pub const MAX_SECRETS: usize = 2;

/// How a secret is kept.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Sealed under the master key, bound to the pool, client and secret ID.
    Sealed(String),
    /// A SHA-256 hash, from before secrets were sealed.
    Hashed(TokenHash),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sealed(_) => f.write_str("Sealed([redacted])"),
            Self::Hashed(h) => write!(f, "Hashed({h:?})"),
        }
    }
}

/// One secret of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// `ClientSecretId`: names the secret in `DeleteUserPoolClientSecret`.
    pub id: String,
    pub created_at: Timestamp,
    pub stored: StoredSecret,
}

fn context(pool_id: &str, client_id: &str, secret_id: &str) -> String {
    format!("userpool client secret/{pool_id}/{client_id}/{secret_id}")
}

impl ClientSecret {
    /// Seals `value` as a new secret of the client.
    pub fn seal(
        master: &MasterKey,
        pool_id: &str,
        client_id: &str,
        value: &str,
        now: Timestamp,
    ) -> Self {
        let id = random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 26);
        let stored = StoredSecret::Sealed(
            master.seal_text(value.as_bytes(), &context(pool_id, client_id, &id)),
        );
        Self {
            id,
            created_at: now,
            stored,
        }
    }

    /// A secret kept only as its hash (rows written before secrets were sealed). Its ID is
    /// derived from the hash (so it stays the same on every read) through another hash, so
    /// the listed ID reveals nothing to test guesses against.
    pub fn legacy(hash: TokenHash, created_at: Timestamp) -> Self {
        let id = sha256(format!("userpool legacy client secret id/{}", hash.as_str()).as_bytes());
        Self {
            id: hex(&id).chars().take(26).collect(),
            created_at,
            stored: StoredSecret::Hashed(hash),
        }
    }

    /// The secret's value, when it is sealed (and the master key opens it).
    pub fn reveal(&self, master: &MasterKey, pool_id: &str, client_id: &str) -> Option<String> {
        let StoredSecret::Sealed(sealed) = &self.stored else {
            return None;
        };
        let bytes = master.open_text(sealed, &context(pool_id, client_id, &self.id))?;
        String::from_utf8(bytes).ok()
    }

    /// Constant-time check of a presented secret.
    fn matches(&self, master: &MasterKey, pool_id: &str, client_id: &str, given: &str) -> bool {
        match &self.stored {
            StoredSecret::Hashed(h) => h.matches(given),
            StoredSecret::Sealed(_) => match self.reveal(master, pool_id, client_id) {
                Some(value) => TokenHash::of(&value).matches(given),
                None => {
                    tracing::error!(
                        client = client_id,
                        master_key = master.id(),
                        "a client secret does not open: sealed under another master key?"
                    );
                    false
                }
            },
        }
    }
}

impl ClientRecord {
    /// Whether the client is confidential (holds a secret).
    pub fn has_secret(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// Whether `given` is one of the client's secrets.
    pub fn secret_matches(&self, master: &MasterKey, given: &str) -> bool {
        // Every secret is tried, so the time taken does not tell which one matched.
        self.secrets.iter().fold(false, |found, s| {
            s.matches(master, &self.pool_id, &self.client_id, given) | found
        })
    }

    /// Whether `given` is the `SECRET_HASH` of `username` under one of the client's secrets:
    /// Base64(HMAC-SHA256(secret, username ‖ client ID)), as Cognito's sign-in operations
    /// take it. Only sealed secrets can key it; every one is tried, in constant time each.
    pub fn secret_hash_matches(&self, master: &MasterKey, username: &str, given: &str) -> bool {
        use base64::Engine as _;
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
            return false;
        };
        self.secrets.iter().fold(false, |found, s| {
            let matches = s
                .reveal(master, &self.pool_id, &self.client_id)
                .is_some_and(|secret| {
                    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
                    let mut ctx = hmac::Context::with_key(&key);
                    ctx.update(username.as_bytes());
                    ctx.update(self.client_id.as_bytes());
                    constant_time::verify_slices_are_equal(ctx.sign().as_ref(), &given).is_ok()
                });
            matches | found
        })
    }

    /// The secret `DescribeUserPoolClient` shows: the newest one whose value is kept.
    pub fn shown_secret(&self, master: &MasterKey) -> Option<String> {
        self.secrets
            .iter()
            .rev()
            .find_map(|s| s.reveal(master, &self.pool_id, &self.client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClientConfig;

    fn client(secrets: Vec<ClientSecret>) -> ClientRecord {
        ClientRecord {
            pool_id: "us-east-1_abc".into(),
            client_id: "client1".into(),
            config: ClientConfig::default(),
            secrets,
            created_at: 1,
            updated_at: 1,
            version: 0,
        }
    }

    #[test]
    fn sealed_secrets_authenticate_and_show_but_only_for_their_client() {
        let master = MasterKey::from_bytes(&[7u8; 32]);
        let s = ClientSecret::seal(&master, "us-east-1_abc", "client1", "s3cret-value", 5);
        let c = client(vec![s.clone()]);
        assert!(c.secret_matches(&master, "s3cret-value"));
        assert!(!c.secret_matches(&master, "s3cret-valuf"));
        assert_eq!(c.shown_secret(&master).as_deref(), Some("s3cret-value"));
        // Moved to another client's row, the sealed value no longer opens.
        let mut other = client(vec![s]);
        other.client_id = "client2".into();
        assert!(!other.secret_matches(&master, "s3cret-value"));
        let wrong = MasterKey::from_bytes(&[8u8; 32]);
        assert!(!c.secret_matches(&wrong, "s3cret-value"));
    }

    #[test]
    fn secret_hashes_are_keyed_by_a_sealed_secret_over_username_and_client() {
        let master = MasterKey::from_bytes(&[7u8; 32]);
        let s = ClientSecret::seal(&master, "us-east-1_abc", "client1", "s3cret-value", 5);
        let c = client(vec![ClientSecret::legacy(TokenHash::of("old"), 1), s]);
        // Base64(HMAC-SHA256("s3cret-value", "alice" + "client1")), computed independently.
        let hash = "86ZOajgNl4K7QOro28WiWbwDTvbdq+RvDYbf9MrndlM=";
        assert!(c.secret_hash_matches(&master, "alice", hash));
        assert!(!c.secret_hash_matches(&master, "alicf", hash));
        assert!(!c.secret_hash_matches(&master, "alice", "not base64!"));
        assert!(!c.secret_hash_matches(&master, "alice", ""));
    }

    #[test]
    fn hashed_secrets_still_authenticate_but_are_never_shown() {
        let master = MasterKey::from_bytes(&[7u8; 32]);
        let legacy = ClientSecret::legacy(TokenHash::of("old-secret"), 1);
        let again = ClientSecret::legacy(TokenHash::of("old-secret"), 1);
        assert_eq!(legacy.id, again.id, "a legacy secret keeps its ID");
        assert!(
            !TokenHash::of("old-secret").as_str().starts_with(&legacy.id),
            "the ID is not the stored hash"
        );
        let c = client(vec![legacy]);
        assert!(c.has_secret());
        assert!(c.secret_matches(&master, "old-secret"));
        assert_eq!(c.shown_secret(&master), None);
    }
}
