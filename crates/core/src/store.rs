//! The storage interface: one trait per aggregate, records keyed by ID or by the hash of a bearer
//! secret, single-use records consumed atomically, shared key sets changed by compare-and-swap.
//! Every backend passes the conformance suite in `userpool-store`.

use async_trait::async_trait;

use crate::crypto::{TokenHash, random_string};
use crate::keys::{KeyPurpose, MasterKey, SealedKey};
use crate::model::{
    AttributeType, ClientConfig, DomainConfig, GroupConfig, IdentityProviderConfig, MfaFactor,
    MfaPreference, ResourceServerConfig, UserPoolConfig, UserStatus,
};
use crate::password::PasswordHash;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Stored data that this version cannot read (for example JSON of an unknown shape).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A record that breaks a rule of the domain and must never be written.
    #[error("refused to write: {0}")]
    Refused(&'static str),
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What an atomic consume found.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumeOutcome<T> {
    /// This call consumed the record.
    Consumed(T),
    /// Someone consumed it before: a replay. The record lets the caller revoke what it produced.
    AlreadyConsumed(T),
    Missing,
}

/// The result of a compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    Applied,
    /// Another writer changed the value first; nothing was written.
    Stale,
}

impl CasOutcome {
    /// `Applied` when the guarded write changed its row.
    pub fn of(applied: bool) -> Self {
        if applied { Self::Applied } else { Self::Stale }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolRecord {
    pub id: String,
    pub config: UserPoolConfig,
    pub created_at: Timestamp,
    /// The last change of the configuration (`created_at` until the first update).
    pub updated_at: Timestamp,
    /// Bumped by every change of the pool's signing keys (compare-and-swap counter).
    pub key_generation: i64,
    /// Bumped by every change of the configuration (compare-and-swap counter).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    pub pool_id: String,
    pub client_id: String,
    /// The configuration, without its secret.
    pub config: ClientConfig,
    /// The client's secrets (at most two, for rotation), oldest first.
    pub secrets: Vec<crate::client_secret::ClientSecret>,
    pub created_at: Timestamp,
    /// The last change of the configuration (`created_at` until the first update).
    pub updated_at: Timestamp,
    /// Bumped by every update (compare-and-swap counter).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DomainRecord {
    pub pool_id: String,
    pub config: DomainConfig,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceServerRecord {
    pub pool_id: String,
    pub config: ResourceServerConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProviderRecord {
    pub pool_id: String,
    pub config: IdentityProviderConfig,
    pub created_at: Timestamp,
    /// The last change (`created_at` until the first update).
    pub updated_at: Timestamp,
    /// Bumped by every update (compare-and-swap counter).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub pool_id: String,
    pub config: GroupConfig,
    pub created_at: Timestamp,
    /// The last change (`created_at` until the first update).
    pub updated_at: Timestamp,
    /// Bumped by every update (compare-and-swap counter).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub pool_id: String,
    /// As stored: lowercased in case-insensitive pools.
    pub username: String,
    pub sub: String,
    pub status: UserStatus,
    pub enabled: bool,
    /// The Argon2id hash; none exactly for federated users ([`UserRecord::check_writable`]).
    pub password_hash: Option<PasswordHash>,
    /// When the password was last set (a temporary password expires from then).
    pub password_set_at: Option<Timestamp>,
    /// Access tokens issued before this instant (Unix milliseconds) are refused: set by a
    /// password reset and by global sign-out.
    pub tokens_valid_from_ms: Option<i64>,
    /// The TOTP secret, sealed under the master key (`kek_id:base64`), once MFA is set up.
    pub totp_secret: Option<String>,
    /// The MFA factors the user (or an administrator) turned on, and the preferred one; none
    /// until a first choice ([`UserRecord::mfa`] reads what applies).
    pub mfa_preference: Option<MfaPreference>,
    /// The SRP-6a salt and verifier of the password (`USER_SRP_AUTH`), sealed under the master
    /// key; none for passwords set before verifiers were kept, until the next password sign-in.
    pub srp_verifier: Option<String>,
    pub attributes: Vec<AttributeType>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped by every update: updates are compare-and-swap on it, so a read-modify-write never
    /// undoes another writer's change.
    pub version: i64,
}

#[cfg(test)]
impl UserRecord {
    /// A confirmed, enabled user of pool `p` with `attributes`, for unit tests.
    pub fn for_tests(username: &str, attributes: &[(&str, &str)]) -> Self {
        let attributes = attributes
            .iter()
            .map(|(n, v)| AttributeType {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect();
        let status = crate::model::UserStatus::Confirmed;
        Self::new("p", username.into(), "s".into(), status, attributes, 0)
    }
}

impl UserRecord {
    /// A user as creation makes one: enabled, no password, MFA or sign-out yet.
    pub fn new(
        pool_id: &str,
        username: String,
        sub: String,
        status: UserStatus,
        attributes: Vec<AttributeType>,
        now: Timestamp,
    ) -> Self {
        Self {
            pool_id: pool_id.to_string(),
            username,
            sub,
            status,
            enabled: true,
            password_hash: None,
            password_set_at: None,
            tokens_valid_from_ms: None,
            totp_secret: None,
            mfa_preference: None,
            srp_verifier: None,
            attributes,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The user's MFA settings: as chosen, or, before any choice, TOTP turned on and preferred
    /// once it is set up (what setting it up at sign-in means, as in Cognito).
    pub fn mfa(&self) -> MfaPreference {
        match (&self.mfa_preference, &self.totp_secret) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => MfaPreference {
                enabled: vec![MfaFactor::SoftwareToken],
                preferred: Some(MfaFactor::SoftwareToken),
            },
            (None, None) => MfaPreference::default(),
        }
    }

    /// The rule every stored user keeps: a local user has a real password hash, a federated
    /// one has none. Stores refuse to write a record that breaks it.
    pub fn check_writable(&self) -> StoreResult<()> {
        match (
            self.status == UserStatus::ExternalProvider,
            &self.password_hash,
        ) {
            (false, None) => Err(StoreError::Refused("a local user without a password")),
            (true, Some(_)) => Err(StoreError::Refused("a federated user with a password")),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub pool_id: String,
    pub kid: String,
    pub purpose: KeyPurpose,
    /// PKCS#8 private key, sealed under the master key.
    pub private_key: SealedKey,
    pub created_at: Timestamp,
    /// From this time on the key signs (it is published before, so verifiers see it first).
    pub activates_at: Timestamp,
    /// When set: the key is superseded and leaves the JWKS at this time.
    pub retires_at: Option<Timestamp>,
}

/// An authorization code, keyed by the hash of the code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRecord {
    pub hash: TokenHash,
    pub pool_id: String,
    pub client_id: String,
    /// What the code grants, serialized by the OAuth layer; opaque to the store.
    pub payload: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A signed-in browser: the managed-login session behind the session cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Hash of the cookie value.
    pub hash: TokenHash,
    pub pool_id: String,
    pub username: String,
    /// How the user signed in (provider, SAML NameID and SessionIndex, …), as JSON.
    pub payload: String,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Every token issued from one sign-in shares a family: its ID is the `origin_jti` claim.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyRecord {
    pub id: String,
    pub pool_id: String,
    pub client_id: String,
    pub username: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token, keyed by the hash of the token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    pub hash: TokenHash,
    pub family_id: String,
    /// What the token grants, serialized by the OAuth layer.
    pub payload: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when rotation replaced this token.
    pub replaced_at: Option<Timestamp>,
}

/// One of the operator's access keys for the API's SigV4 (`AKIA…`): the secret is sealed under
/// the master key, so every node with that key can check signatures and a database read alone
/// reveals nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeyRecord {
    pub id: String,
    /// The secret access key, sealed by [`AccessKeyRecord::generate`].
    pub sealed_secret: String,
    /// What the operator wrote about the key (may be empty).
    pub description: String,
    pub created_at: Timestamp,
}

impl AccessKeyRecord {
    /// A new key: `AKIA` and 16 uppercase alphanumerics, as AWS's long-term key IDs look, and a
    /// 40-character secret of AWS's alphabet. Returns the record and the secret, which is shown
    /// once and never stored in the clear.
    pub fn generate(master: &MasterKey, description: &str, now: Timestamp) -> (Self, String) {
        const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        const SECRET_ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let id = format!("AKIA{}", random_string(ID_ALPHABET, 16));
        let secret = random_string(SECRET_ALPHABET, 40);
        let sealed_secret = master.seal_text(secret.as_bytes(), &Self::context(&id));
        let record = Self {
            id,
            sealed_secret,
            description: description.to_string(),
            created_at: now,
        };
        (record, secret)
    }

    /// The secret, if `master` is the key that sealed it.
    pub fn open_secret(&self, master: &MasterKey) -> Option<String> {
        let bytes = master.open_text(&self.sealed_secret, &Self::context(&self.id))?;
        String::from_utf8(bytes).ok()
    }

    /// Binds a sealed secret to its key ID, so a secret copied to another row does not open.
    fn context(id: &str) -> String {
        format!("access-key/{id}")
    }
}

/// Pools and their configuration objects. Inserts create what is missing and report whether
/// they did; an existing record is left alone.
#[async_trait]
pub trait PoolStore {
    async fn insert_pool(&self, pool: &PoolRecord) -> StoreResult<bool>;
    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRecord>>;
    async fn list_pools(&self) -> StoreResult<Vec<PoolRecord>>;
    /// Replaces the pool's configuration if its version is still `pool.version`, bumping it;
    /// `Stale` (nothing written) when another writer came first or the pool is gone.
    async fn update_pool(&self, pool: &PoolRecord) -> StoreResult<CasOutcome>;
    /// Deletes the pool and everything in it (clients, domains, users, codes, sessions, keys…)
    /// in one transaction; false when there was no such pool.
    async fn delete_pool(&self, id: &str) -> StoreResult<bool>;
    /// How many users the pool has.
    async fn count_users(&self, pool_id: &str) -> StoreResult<i64>;

    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<bool>;
    async fn get_client(&self, pool_id: &str, client_id: &str)
    -> StoreResult<Option<ClientRecord>>;
    async fn list_clients(&self, pool_id: &str) -> StoreResult<Vec<ClientRecord>>;
    /// Replaces the client's configuration and secret hashes if its version is still
    /// `client.version`, bumping it; `Stale` (nothing written) otherwise.
    async fn update_client(&self, client: &ClientRecord) -> StoreResult<CasOutcome>;
    /// Deletes the client; false when the pool has no such client.
    async fn delete_client(&self, pool_id: &str, client_id: &str) -> StoreResult<bool>;
    /// Client IDs are unique across pools; finds a client whatever its pool.
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;

    /// Domains are unique across all pools.
    async fn insert_domain(&self, domain: &DomainRecord) -> StoreResult<bool>;
    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>>;
    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>>;
    /// Replaces the configuration of the pool's domain `domain.config.domain`; false when the
    /// pool has no such domain.
    async fn update_domain(&self, domain: &DomainRecord) -> StoreResult<bool>;
    /// Deletes the pool's domain; false when the pool has no such domain.
    async fn delete_domain(&self, pool_id: &str, domain: &str) -> StoreResult<bool>;

    async fn insert_resource_server(&self, rs: &ResourceServerRecord) -> StoreResult<bool>;
    async fn list_resource_servers(&self, pool_id: &str) -> StoreResult<Vec<ResourceServerRecord>>;
    async fn get_resource_server(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServerRecord>>;
    /// Replaces the configuration of the pool's resource server `rs.config.identifier` (its
    /// identifier stays); false when the pool has no such resource server.
    async fn update_resource_server(&self, rs: &ResourceServerRecord) -> StoreResult<bool>;
    /// Deletes the pool's resource server; false when the pool has no such resource server.
    async fn delete_resource_server(&self, pool_id: &str, identifier: &str) -> StoreResult<bool>;

    async fn insert_identity_provider(&self, idp: &IdentityProviderRecord) -> StoreResult<bool>;
    async fn list_identity_providers(
        &self,
        pool_id: &str,
    ) -> StoreResult<Vec<IdentityProviderRecord>>;
    async fn get_identity_provider(
        &self,
        pool_id: &str,
        name: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>>;
    /// Replaces the provider's configuration (its name stays) and `updated_at`, if its version
    /// is still `idp.version` (compare-and-swap); `Stale` when it changed or is gone.
    async fn update_identity_provider(
        &self,
        idp: &IdentityProviderRecord,
    ) -> StoreResult<CasOutcome>;
    /// Deletes the provider; false when there was no such provider.
    async fn delete_identity_provider(&self, pool_id: &str, name: &str) -> StoreResult<bool>;

    async fn insert_group(&self, group: &GroupRecord) -> StoreResult<bool>;
    async fn list_groups(&self, pool_id: &str) -> StoreResult<Vec<GroupRecord>>;
    async fn get_group(&self, pool_id: &str, name: &str) -> StoreResult<Option<GroupRecord>>;
    /// Replaces the group's configuration (its name stays) and `updated_at`, if its version is
    /// still `group.version` (compare-and-swap); `Stale` when it changed or is gone.
    async fn update_group(&self, group: &GroupRecord) -> StoreResult<CasOutcome>;
    /// Deletes the group and its memberships; false when there was no such group.
    async fn delete_group(&self, pool_id: &str, name: &str) -> StoreResult<bool>;
}

/// What checking a one-time user code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// It matched, and is now used up.
    Valid,
    /// Wrong code; attempts remain.
    Mismatch,
    /// No live code (none sent, expired, or too many wrong attempts).
    Expired,
}

/// One of our SAML keys with its certificate (spec §16.2–§16.3). `owner` is `pool` for the
/// pool's signing key, else the name of the IdP whose encrypted assertions it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct SamlCredentialRecord {
    pub pool_id: String,
    pub owner: String,
    pub generation: i64,
    /// The PKCS#8 PEM key, sealed under the master key.
    pub sealed_key: String,
    pub cert_pem: String,
    pub created_at: Timestamp,
    pub not_after: Timestamp,
}

/// Ties a session to the SAML identity it came from, for single logout (spec §12).
#[derive(Debug, Clone, PartialEq)]
pub struct SamlSessionRecord {
    pub session_hash: TokenHash,
    pub pool_id: String,
    /// Hash of provider and NameID: every session of that user at that IdP.
    pub subject_key: String,
    /// Hash of provider, NameID and SessionIndex: one IdP session.
    pub session_key: String,
}

/// What a pending record waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// A user with a temporary password chooses a new one.
    NewPassword,
    /// A user sets up TOTP (the payload holds the sealed secret being set up).
    MfaSetup,
    /// A user answers with a TOTP code.
    Mfa,
    /// An outside OIDC or social provider's answer.
    Federation,
    /// A SAML IdP's answer to our AuthnRequest.
    Saml,
    /// A SAML IdP's answer to our LogoutRequest.
    SamlLogout,
    /// `USER_SRP_AUTH`'s first half: the server's sealed ephemeral secret, behind the
    /// `SECRET_BLOCK` the client signs (`PASSWORD_VERIFIER`).
    PasswordVerifier,
    /// A sign-in that chooses its MFA factor (`SELECT_MFA_TYPE`).
    SelectMfa,
    /// A sign-in whose password was right, waiting for its device's `SRP_A`
    /// (`DEVICE_SRP_AUTH`).
    DeviceSrp,
    /// A sign-in that passed every check and waits for the API's last answer (after TOTP is
    /// set up through `VerifySoftwareToken`, `MFA_SETUP` gives the tokens).
    Verified,
    /// A `CUSTOM_AUTH` sign-in waiting for the answer to its trigger-made challenge.
    CustomChallenge,
    /// A `USER_AUTH` sign-in choosing its first factor (`SELECT_CHALLENGE`).
    SelectChallenge,
    /// A `USER_AUTH` sign-in waiting for the one-time code it sent (`EMAIL_OTP`, `SMS_OTP`).
    SignInCode,
    /// A `USER_AUTH` sign-in waiting for a passkey's assertion (`WEB_AUTHN`).
    WebAuthn,
    /// A passkey registration waiting for its authenticator (`CompleteWebAuthnRegistration`).
    PasskeyRegistration,
}

impl PendingKind {
    pub const ALL: [PendingKind; 15] = [
        Self::NewPassword,
        Self::MfaSetup,
        Self::Mfa,
        Self::Federation,
        Self::Saml,
        Self::SamlLogout,
        Self::PasswordVerifier,
        Self::DeviceSrp,
        Self::SelectMfa,
        Self::Verified,
        Self::CustomChallenge,
        Self::SelectChallenge,
        Self::SignInCode,
        Self::WebAuthn,
        Self::PasskeyRegistration,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewPassword => "new_password",
            Self::MfaSetup => "mfa_setup",
            Self::Mfa => "mfa",
            Self::Federation => "federation",
            Self::Saml => "saml",
            Self::SamlLogout => "saml_logout",
            Self::PasswordVerifier => "password_verifier",
            Self::DeviceSrp => "device_srp",
            Self::SelectMfa => "select_mfa",
            Self::Verified => "verified",
            Self::CustomChallenge => "custom_challenge",
            Self::SelectChallenge => "select_challenge",
            Self::SignInCode => "sign_in_code",
            Self::WebAuthn => "web_authn",
            Self::PasskeyRegistration => "passkey_registration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A sign-in that waits for one more step (a new password, an MFA code, an outside
/// provider's answer), behind a cookie or a handle the provider sends back.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeRecord {
    pub hash: TokenHash,
    pub pool_id: String,
    pub username: String,
    pub kind: PendingKind,
    /// Step data (for example a TOTP secret being set up), as JSON.
    pub payload: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait UserStore {
    /// Creates the user (version 0); false when the username is taken. Refuses records that
    /// break [`UserRecord::check_writable`].
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<bool>;
    /// Replaces the stored user (status, enabled, password, attributes, TOTP, token cut-off)
    /// if its version is still `user.version`, bumping it: `Stale` when another writer came
    /// first or the user is gone (nothing written). Refuses records that break
    /// [`UserRecord::check_writable`].
    async fn update_user(&self, user: &UserRecord) -> StoreResult<CasOutcome>;
    /// Records that a TOTP code of time step `step` was used; false (and nothing written) when
    /// that step or a later one was used before, so no code works twice (RFC 6238 §5.2).
    async fn use_totp_step(&self, pool_id: &str, username: &str, step: i64) -> StoreResult<bool>;
    /// Links an outside identity to a user; false when that identity is linked already.
    async fn link_identity(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
        username: &str,
    ) -> StoreResult<bool>;
    /// Removes the link of an outside identity; false when it was not linked.
    async fn unlink_identity(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool>;
    /// How many outside identities are linked to the user.
    async fn count_links(&self, pool_id: &str, username: &str) -> StoreResult<i64>;
    /// The user an outside identity is linked to, if any.
    async fn find_linked_user(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>>;
    async fn get_user(&self, pool_id: &str, username: &str) -> StoreResult<Option<UserRecord>>;
    /// The user and the names of their groups (sorted), in one read where the store can: every
    /// token issued for a user needs both.
    async fn get_user_with_groups(
        &self,
        pool_id: &str,
        username: &str,
    ) -> StoreResult<Option<(UserRecord, Vec<String>)>> {
        let Some(user) = self.get_user(pool_id, username).await? else {
            return Ok(None);
        };
        let groups = self.list_user_groups(pool_id, username).await?;
        Ok(Some((user, groups)))
    }
    /// Deletes the user with its group memberships, identity links, one-time codes, pending
    /// sign-in steps, sessions and token families; false when there was no such user.
    async fn delete_user(&self, pool_id: &str, username: &str) -> StoreResult<bool>;
    async fn add_user_to_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> StoreResult<bool>;
    async fn list_user_groups(&self, pool_id: &str, username: &str) -> StoreResult<Vec<String>>;
    /// Ends a membership; false when the user was not in the group.
    async fn remove_user_from_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> StoreResult<bool>;
    /// The members of a group by username, at most `limit` of them after `after` (exclusive).
    async fn list_group_users(
        &self,
        pool_id: &str,
        group: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRecord>>;
    /// The users whose `email`, `phone_number` or `preferred_username` is `value`, oldest
    /// first, at most [`ALIAS_HOLDERS`] (several may hold a value, verified or not; the caller
    /// picks by its rules). Other attribute names find nobody.
    async fn find_users_by_alias(
        &self,
        pool_id: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Vec<UserRecord>>;
    /// The pool's users by username, at most `limit` of them after `after` (exclusive), that
    /// match `filter` if one is given (`ListUsers`).
    async fn list_users(
        &self,
        pool_id: &str,
        filter: Option<&UserFilter>,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRecord>>;
}

/// One condition of `ListUsers`: an attribute equal to `value`, or starting with it when
/// `prefix`. The attributes are Cognito's searchable ones: `username`, `sub`, `email`,
/// `phone_number`, `name`, `given_name`, `family_name`, `preferred_username`,
/// `cognito:user_status` (the status) and `status` (`Enabled` or `Disabled`); any other finds
/// nobody. Emails and preferred usernames compare case-insensitively (they are stored so),
/// everything else exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    pub attribute: String,
    pub value: String,
    pub prefix: bool,
}

/// The most holders of one alias value a lookup reads.
pub const ALIAS_HOLDERS: i64 = 16;

/// Failed sign-ins of one typed username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    pub failures: i64,
    pub last_failure_at: Timestamp,
}

#[async_trait]
pub trait LockoutStore {
    async fn get_sign_in_failures(
        &self,
        pool_id: &str,
        name: &str,
    ) -> StoreResult<Option<FailureRecord>>;
    /// Counts one failure atomically; a count whose last failure is `reset_after` seconds old
    /// or more starts again from one.
    async fn record_sign_in_failure(
        &self,
        pool_id: &str,
        name: &str,
        now: Timestamp,
        reset_after: i64,
    ) -> StoreResult<FailureRecord>;
    async fn clear_sign_in_failures(&self, pool_id: &str, name: &str) -> StoreResult<()>;
}

/// One-time codes sent to users (sign-up confirmation, password reset), stored as hashes.
#[async_trait]
pub trait UserCodeStore {
    /// Stores the code of `purpose` for the user, replacing any earlier one.
    async fn put_user_code(
        &self,
        pool_id: &str,
        username: &str,
        purpose: &str,
        code: &TokenHash,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Counts an attempt and compares, atomically; a match uses the code up, and after
    /// `max_attempts` wrong ones the code is dead.
    async fn check_user_code(
        &self,
        pool_id: &str,
        username: &str,
        purpose: &str,
        candidate: &TokenHash,
        now: Timestamp,
        max_attempts: i64,
    ) -> StoreResult<CodeCheck>;
}

/// Pending sign-in steps; each is taken (consumed) once.
#[async_trait]
pub trait ChallengeStore {
    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> StoreResult<()>;
    async fn get_challenge(&self, hash: &TokenHash) -> StoreResult<Option<ChallengeRecord>>;
    /// Removes and returns the challenge: of racing callers, one gets it.
    async fn take_challenge(&self, hash: &TokenHash) -> StoreResult<Option<ChallengeRecord>>;
    /// Replaces the challenge's payload if it is still `expected` (compare-and-swap): of
    /// racing callers that read the same payload, one succeeds.
    async fn replace_challenge_payload(
        &self,
        hash: &TokenHash,
        expected: &str,
        payload: &str,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore {
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn get_session(&self, hash: &TokenHash) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;
    /// Ends every session of a user (after a password reset).
    async fn delete_user_sessions(&self, pool_id: &str, username: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait TokenStore {
    async fn insert_family(&self, family: &FamilyRecord) -> StoreResult<()>;
    /// A new family and its first refresh token, in one transaction; false (nothing written)
    /// when the family exists already — a replayed code barred it first.
    async fn start_family(&self, family: &FamilyRecord, token: &RefreshRecord)
    -> StoreResult<bool>;
    /// Revokes the family, creating it revoked if it does not exist yet, so that a family
    /// about to be started by a racing redemption is born dead.
    async fn bar_family(&self, family: &FamilyRecord, now: Timestamp) -> StoreResult<()>;
    async fn get_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>>;
    /// Marks the family revoked (idempotent); every token carrying its `origin_jti` is dead.
    async fn revoke_family(&self, id: &str, now: Timestamp) -> StoreResult<()>;
    /// Revokes every token family of a user (after a password reset).
    async fn revoke_user_families(
        &self,
        pool_id: &str,
        username: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn insert_refresh(&self, token: &RefreshRecord) -> StoreResult<()>;
    async fn find_refresh(&self, hash: &TokenHash) -> StoreResult<Option<RefreshRecord>>;
    /// Rotation, atomically: marks `old` replaced and inserts `new`. Of racing callers exactly
    /// one gets `Consumed`; the others get `AlreadyConsumed` with the replacement time, and
    /// nothing is inserted for them.
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &RefreshRecord,
        now: Timestamp,
    ) -> StoreResult<ConsumeOutcome<RefreshRecord>>;
}

#[async_trait]
pub trait CodeStore {
    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<()>;
    /// Marks the code used, atomically: of any number of concurrent callers, on any number of
    /// nodes, exactly one gets `Consumed`.
    async fn consume_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>>;
    /// The code and whether it was used, without using it (to check it before it is spent).
    async fn peek_code(&self, hash: &TokenHash) -> StoreResult<Option<(CodeRecord, bool)>>;
    /// In one transaction, the code is used and its token family starts with its first
    /// refresh token: of racing callers on any nodes one gets `Consumed`, and a crash leaves
    /// either both or neither. `AlreadyConsumed` when the code was used (or its family barred
    /// by a replay), `Missing` when there is no such code.
    async fn redeem_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
        family: &FamilyRecord,
        first: &RefreshRecord,
    ) -> StoreResult<ConsumeOutcome<()>>;
}

#[async_trait]
pub trait KeyStore {
    /// The pool's signing keys, published and pending, oldest first.
    async fn list_signing_keys(&self, pool_id: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// In one transaction: if the pool's key generation is still `expected_generation`, bump it,
    /// mark every key without a retirement time to retire at `retire_previous_at`, and insert
    /// `new_keys`. Otherwise write nothing and return `Stale`.
    async fn rotate_signing_keys(
        &self,
        pool_id: &str,
        expected_generation: i64,
        new_keys: &[SigningKeyRecord],
        retire_previous_at: Timestamp,
    ) -> StoreResult<CasOutcome>;
}

#[async_trait]
pub trait SamlStore {
    /// The owner's credentials, oldest generation first.
    async fn list_saml_credentials(
        &self,
        pool_id: &str,
        owner: &str,
    ) -> StoreResult<Vec<SamlCredentialRecord>>;
    /// Adds a generation; false when another node added the same generation first.
    async fn insert_saml_credential(&self, c: &SamlCredentialRecord) -> StoreResult<bool>;
    /// Records a message ID as used until `expires_at`: true the first time, on any node.
    async fn first_saml_use(
        &self,
        pool_id: &str,
        message_id: &str,
        expires_at: Timestamp,
    ) -> StoreResult<bool>;
    async fn tag_saml_session(&self, s: &SamlSessionRecord) -> StoreResult<()>;
    /// Ends the sessions of `subject_key`, only those of `session_keys` when any are given.
    /// Returns how many ended.
    async fn end_saml_sessions(
        &self,
        pool_id: &str,
        subject_key: &str,
        session_keys: &[String],
    ) -> StoreResult<u64>;
}

/// The operator's access keys, for the API's SigV4.
#[async_trait]
pub trait AccessKeyStore {
    /// Adds a key; false when the ID exists already.
    async fn insert_access_key(&self, key: &AccessKeyRecord) -> StoreResult<bool>;
    async fn get_access_key(&self, id: &str) -> StoreResult<Option<AccessKeyRecord>>;
    /// Every key, oldest first.
    async fn list_access_keys(&self) -> StoreResult<Vec<AccessKeyRecord>>;
    /// Deletes the key; false when there was none.
    async fn delete_access_key(&self, id: &str) -> StoreResult<bool>;
}

/// A device a user signed in from, tracked under the pool's `DeviceConfiguration`: its key,
/// and once confirmed, its SRP verifier for `DEVICE_SRP_AUTH` (sealed) and whether it is
/// remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub pool_id: String,
    pub username: String,
    /// `{region}_{uuid}`: the name the client and the access token's `device_key` use.
    pub device_key: String,
    /// The realm of the device's SRP verifier (`DeviceGroupKey`).
    pub group_key: String,
    /// Salt and verifier of the device's secret, sealed; none until `ConfirmDevice`.
    pub verifier: Option<String>,
    pub name: Option<String>,
    /// `device_remembered_status`: none until the user (or `ConfirmDevice`) decides.
    pub remembered: Option<bool>,
    pub last_ip: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_authenticated_at: Timestamp,
}

/// Users' tracked devices.
#[async_trait]
pub trait DeviceStore {
    /// Adds a device; false when its key exists already.
    async fn insert_device(&self, d: &DeviceRecord) -> StoreResult<bool>;
    async fn get_device(
        &self,
        pool_id: &str,
        username: &str,
        device_key: &str,
    ) -> StoreResult<Option<DeviceRecord>>;
    /// The user's devices, most recently authenticated first.
    async fn list_devices(&self, pool_id: &str, username: &str) -> StoreResult<Vec<DeviceRecord>>;
    /// Writes every field of an existing device; false when there is none.
    async fn update_device(&self, d: &DeviceRecord) -> StoreResult<bool>;
    /// Writes `d` over a device that has no verifier yet (its confirmation): false when there
    /// is none, or another confirmation came first.
    async fn confirm_device(&self, d: &DeviceRecord) -> StoreResult<bool>;
    /// Forgets a device; false when there was none.
    async fn delete_device(
        &self,
        pool_id: &str,
        username: &str,
        device_key: &str,
    ) -> StoreResult<bool>;
}

/// A user's passkey (WebAuthn credential), as `ListWebAuthnCredentials` describes it, with the
/// verifier's state (`credential`: public key, signature counter, flags; serialized by
/// `auth::passkeys`).
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRecord {
    pub pool_id: String,
    /// base64url of the raw credential ID: unique in its pool.
    pub credential_id: String,
    pub username: String,
    pub relying_party_id: String,
    pub name: String,
    /// `platform` or `cross-platform`, when the client said.
    pub attachment: Option<String>,
    pub transports: Vec<String>,
    pub credential: String,
    pub created_at: Timestamp,
}

/// Users' passkeys.
#[async_trait]
pub trait PasskeyStore {
    /// Adds a passkey; false when its credential ID is in the pool already.
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<bool>;
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, pool_id: &str, username: &str)
    -> StoreResult<Vec<PasskeyRecord>>;
    /// Replaces a passkey's verifier state if it is still `old` (the signature counter moves
    /// once per sign-in, on every node): false when another sign-in changed it first.
    async fn replace_passkey_credential(
        &self,
        pool_id: &str,
        credential_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// Deletes one of the user's passkeys; false when they have none by that ID.
    async fn delete_passkey(
        &self,
        pool_id: &str,
        username: &str,
        credential_id: &str,
    ) -> StoreResult<bool>;
}

/// A user import job (`CreateUserImportJob`): Cognito's `UserImportJobType` and what runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportJobRecord {
    pub job_id: String,
    pub pool_id: String,
    pub job_name: String,
    /// `Created`, `Pending`, `InProgress`, `Stopping`, `Stopped`, `Failed`, `Succeeded`,
    /// `Expired`.
    pub status: String,
    pub role_arn: String,
    pub hash_algorithm: Option<String>,
    /// The SHA-256 hash of the pre-signed URL's token, and until when it takes an upload.
    pub upload_token_hash: TokenHash,
    pub upload_expires_at: Timestamp,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    pub completion_message: Option<String>,
    /// Bumped by every update (compare-and-swap counter).
    pub version: i64,
}

/// User import jobs and their uploaded CSV.
#[async_trait]
pub trait ImportJobStore {
    async fn insert_import_job(&self, job: &ImportJobRecord) -> StoreResult<bool>;
    async fn get_import_job(
        &self,
        pool_id: &str,
        job_id: &str,
    ) -> StoreResult<Option<ImportJobRecord>>;
    /// A pool's jobs, oldest first, at most `limit` after the job `after` (exclusive).
    async fn list_import_jobs(
        &self,
        pool_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<ImportJobRecord>>;
    /// Every pool's jobs in `status` (what a runner picks up).
    async fn import_jobs_in(&self, status: &str) -> StoreResult<Vec<ImportJobRecord>>;
    /// Writes the job's status, times, counts and message if its version is still
    /// `job.version` (compare-and-swap); `Stale` otherwise.
    async fn update_import_job(&self, job: &ImportJobRecord) -> StoreResult<CasOutcome>;
    /// Keeps the CSV of a job that is still `Created`, named by its token; false otherwise.
    async fn put_import_csv(
        &self,
        job_id: &str,
        token: &TokenHash,
        now: Timestamp,
        csv: &str,
    ) -> StoreResult<bool>;
    async fn get_import_csv(&self, job_id: &str) -> StoreResult<Option<String>>;
    /// Whether a CSV was uploaded for the job.
    async fn has_import_csv(&self, job_id: &str) -> StoreResult<bool>;
    /// Whether the job takes an upload with this token now (`Created`, the URL live).
    async fn import_upload_open(
        &self,
        job_id: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// One authentication event of a user (the audit trail; `AdminListUserAuthEvents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEventRecord {
    pub event_id: String,
    pub pool_id: String,
    pub username: String,
    /// Cognito's `EventType` (`SignIn`, `SignUp`, `ForgotPassword`, `PasswordChange`,
    /// `ResendCode`), or `Admin` for an administrator's change [I].
    pub event_type: String,
    /// `Pass`, `Fail` or `InProgress`.
    pub response: String,
    /// Cognito's `ChallengeResponses`, as JSON.
    pub challenges: String,
    /// What happened beyond the type: `locked`, the operation of an administrator, the outside
    /// provider of a federated sign-in, the app client.
    pub detail: String,
    pub ip_address: Option<String>,
    pub created_ms: i64,
    pub expires_at: Timestamp,
    /// `Valid` or `Invalid`, once given (`AdminUpdateAuthEventFeedback`).
    pub feedback: Option<String>,
}

/// The audit trail of authentication events, newest first, kept until each expires.
#[async_trait]
pub trait AuditStore {
    async fn record_auth_event(&self, event: &AuthEventRecord) -> StoreResult<()>;
    /// Up to `limit` events of the user, newest first, older than `before`
    /// (`(created_ms, event_id)` of the last one a page ended with); administrators' changes
    /// only `with_admin` (Cognito's listing has no such type).
    async fn list_auth_events(
        &self,
        pool_id: &str,
        username: &str,
        before: Option<(i64, String)>,
        limit: u32,
        with_admin: bool,
    ) -> StoreResult<Vec<AuthEventRecord>>;
    /// Sets the feedback of one of the user's events; false when there is no such event.
    async fn set_auth_event_feedback(
        &self,
        pool_id: &str,
        username: &str,
        event_id: &str,
        feedback: &str,
    ) -> StoreResult<bool>;
}

/// Everything a node needs from its database.
#[async_trait]
pub trait Store:
    PoolStore
    + UserStore
    + CodeStore
    + KeyStore
    + SessionStore
    + TokenStore
    + LockoutStore
    + UserCodeStore
    + ChallengeStore
    + SamlStore
    + AccessKeyStore
    + DeviceStore
    + PasskeyStore
    + ImportJobStore
    + AuditStore
    + Send
    + Sync
{
    /// A round trip to the database, for health checks.
    async fn ping(&self) -> StoreResult<()>;

    /// Deletes what expired before `now` (codes, sessions, token families, retired keys);
    /// idempotent, safe on every node.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_look_like_aws_keys_and_their_secrets_open_only_where_they_were_sealed() {
        let master = MasterKey::from_bytes(&[3u8; 32]);
        let (key, secret) = AccessKeyRecord::generate(&master, "ci", 1);
        assert!(key.id.starts_with("AKIA") && key.id.len() == 20);
        assert!(
            key.id[4..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(secret.len(), 40);
        assert_eq!(key.open_secret(&master).as_deref(), Some(secret.as_str()));
        assert_eq!(key.open_secret(&MasterKey::from_bytes(&[4u8; 32])), None);
        let moved = AccessKeyRecord {
            id: "AKIAAAAAAAAAAAAAAAAA".into(),
            ..key.clone()
        };
        assert_eq!(moved.open_secret(&master), None, "bound to its ID");
        let (other, other_secret) = AccessKeyRecord::generate(&master, "", 1);
        assert_ne!(other.id, key.id);
        assert_ne!(other_secret, secret);
    }
}
