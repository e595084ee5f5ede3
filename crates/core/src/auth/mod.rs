//! The sign-in use cases, written once for every front door (the managed-login pages, OIDC and
//! SAML federation, the Cognito API): password sign-in, the steps after it, sign-up and
//! confirmation, password reset, and finishing a federated sign-in. They run over ports — the
//! store, the CPU-work queue, the lockout turns, the mailer, the clock — and return typed
//! outcomes named as Cognito names them.

mod account;
mod admin;
mod attributes;
pub mod audit;
mod codes;
mod custom;
mod delivery;
mod devices;
mod federated;
mod hooks;
pub mod import;
pub mod import_jobs;
mod links;
pub mod lockout;
mod mfa;
mod mfa_steps;
mod migration;
pub mod passkeys;
mod passwordless;
mod saml_keys;
mod signin;
mod srp_flow;
mod steps;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub use admin::{AdminNewUser, MessageAction, temporary_password};
pub use attributes::check_user_writes;
pub use codes::{CodeMessage, CodePurpose};
pub use custom::CustomStart;
pub use delivery::Delivery;
pub use devices::DeviceSettings;
pub use links::{ProviderUser, SUBJECT_ATTRIBUTE};
pub use mfa::{FactorChoice, MfaChoices, apply_mfa_choices, check_mfa_choices};
pub use mfa_steps::step_factor;
pub use passwordless::{Begin, FirstFactor};
pub use saml_keys::{
    SAML_RENEW_AFTER, SAML_SIGNING_OWNER, SamlCredential, SamlKeyMaker, saml_cert_base64,
    saml_encryption_owner,
};
pub use signin::find_user;
pub use srp_flow::{SrpChallenge, srp_realm};
pub use steps::{Challenge, Next, SignedIn};

use crate::directory::PoolView;
use crate::keys::MasterKey;
use crate::lifecycle::Mailer;
use crate::password::{HashParams, PasswordHash, hash_password};
use crate::store::{CasOutcome, ClientRecord, Store, StoreError, UserRecord};
use crate::time::Clock;
use crate::triggers::Triggers;

/// Cognito's exception names for what a use case refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotAuthorized,
    PasswordResetRequired,
    UserNotFound,
    UserNotConfirmed,
    CodeMismatch,
    ExpiredCode,
    LimitExceeded,
    TooManyFailedAttempts,
    UsernameExists,
    AliasExists,
    UnsupportedUserState,
    ResourceNotFound,
    InvalidPassword,
    InvalidParameter,
    /// The CPU-work queue did not clear in time: nothing was spent; try again.
    TooManyRequests,
    /// The resource is not in the state the operation needs.
    PreconditionNotMet,
    /// A trigger's function raised an error.
    UserLambdaValidation,
    /// A trigger's function could not be called or did not answer in time.
    UnexpectedLambda,
    /// A trigger's function answered something Cognito does not recognize.
    InvalidLambdaResponse,
    /// Passkeys: the pool does not allow them, or a ceremony's answer does not fit.
    WebAuthnNotEnabled,
    WebAuthnChallengeNotFound,
    WebAuthnRelyingPartyMismatch,
    WebAuthnOriginNotAllowed,
    WebAuthnCredentialNotSupported,
    WebAuthnConfigurationMissing,
    Internal,
}

impl ErrorKind {
    /// The `__type` Cognito answers with.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotAuthorized => "NotAuthorizedException",
            Self::PasswordResetRequired => "PasswordResetRequiredException",
            Self::UserNotFound => "UserNotFoundException",
            Self::UserNotConfirmed => "UserNotConfirmedException",
            Self::CodeMismatch => "CodeMismatchException",
            Self::ExpiredCode => "ExpiredCodeException",
            Self::LimitExceeded => "LimitExceededException",
            Self::TooManyFailedAttempts => "TooManyFailedAttemptsException",
            Self::UsernameExists => "UsernameExistsException",
            Self::AliasExists => "AliasExistsException",
            Self::UnsupportedUserState => "UnsupportedUserStateException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::InvalidPassword => "InvalidPasswordException",
            Self::InvalidParameter => "InvalidParameterException",
            Self::TooManyRequests => "TooManyRequestsException",
            Self::PreconditionNotMet => "PreconditionNotMetException",
            Self::UserLambdaValidation => "UserLambdaValidationException",
            Self::UnexpectedLambda => "UnexpectedLambdaException",
            Self::InvalidLambdaResponse => "InvalidLambdaResponseException",
            Self::WebAuthnNotEnabled => "WebAuthnNotEnabledException",
            Self::WebAuthnChallengeNotFound => "WebAuthnChallengeNotFoundException",
            Self::WebAuthnRelyingPartyMismatch => "WebAuthnRelyingPartyMismatchException",
            Self::WebAuthnOriginNotAllowed => "WebAuthnOriginNotAllowedException",
            Self::WebAuthnCredentialNotSupported => "WebAuthnCredentialNotSupportedException",
            Self::WebAuthnConfigurationMissing => "WebAuthnConfigurationMissingException",
            Self::Internal => "InternalErrorException",
        }
    }
}

/// A refusal: its kind and Cognito's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AuthError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    fn busy() -> Self {
        Self::new(ErrorKind::TooManyRequests, "Too many requests")
    }
    fn session_expired() -> Self {
        Self::new(
            ErrorKind::NotAuthorized,
            "Invalid session for the user, session is expired.",
        )
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failed");
        Self::new(ErrorKind::Internal, "Internal server error.")
    }
}

pub type AuthResult<T> = Result<T, AuthError>;

/// The queue had no place within its wait: the work did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Runs CPU-heavy work (Argon2) off the request workers, a few at a time. A place in the queue
/// is held by the work itself until it ends, even when the caller stops waiting: cancelled
/// requests cannot pile up work beyond the queue's width.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    async fn run(&self, work: Box<dyn FnOnce() + Send>) -> Result<(), Busy>;
}

/// Serializes, on this node, the check → verify → count of one lockout counter, so a burst of
/// guesses cannot all pass the lock check before any of them is counted. The turn lasts as
/// long as the returned guard; `None` when it did not come within the queue's wait (a flood of
/// names on one stripe must not hold requests without a deadline).
#[async_trait]
pub trait Turns: Send + Sync {
    async fn turn(&self, key: &str) -> Option<Box<dyn Send>>;
}

/// The ports the use cases run on.
pub struct Auth {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub master: Arc<MasterKey>,
    /// Must not wait for delivery: an answer takes the same time whether a message goes out.
    pub mailer: Arc<dyn Mailer>,
    pub work: Arc<dyn WorkQueue>,
    pub turns: Arc<dyn Turns>,
    /// Makes our SAML keys and certificates.
    pub saml_keys: Arc<dyn SamlKeyMaker>,
    /// Calls the pools' Lambda triggers.
    pub triggers: Arc<Triggers>,
    /// Keys one-time codes at rest (derived from the master key: the same on every node).
    code_key: [u8; 32],
    /// How long auth events are kept.
    audit_retention_secs: i64,
}

impl Auth {
    #[allow(clippy::too_many_arguments)] // one per port
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: Arc<MasterKey>,
        mailer: Arc<dyn Mailer>,
        work: Arc<dyn WorkQueue>,
        turns: Arc<dyn Turns>,
        saml_keys: Arc<dyn SamlKeyMaker>,
        triggers: Arc<Triggers>,
    ) -> Self {
        let code_key = master.derive("userpool one-time codes");
        // The hash unknown users are checked against, made now on a short-lived thread (its
        // Argon2 memory leaves with it) rather than by the first sign-in of an unknown name.
        std::thread::spawn(|| {
            crate::password::dummy_hash();
        })
        .join()
        .ok();
        Self {
            store,
            clock,
            master,
            mailer,
            work,
            turns,
            saml_keys,
            triggers,
            code_key,
            audit_retention_secs: audit::DEFAULT_RETENTION_DAYS * 86_400,
        }
    }

    /// Keeps auth events for `days` instead of the default.
    pub fn with_audit_retention(mut self, days: i64) -> Self {
        self.audit_retention_secs = days * 86_400;
        self
    }

    /// This node's turn on a pool's counter; `TooManyRequests` when it did not come in time.
    async fn turn(&self, pool_id: &str, key: &str) -> AuthResult<Box<dyn Send>> {
        self.turns
            .turn(&format!("{pool_id}/{key}"))
            .await
            .ok_or_else(AuthError::busy)
    }

    /// Runs `f` on the work queue; `TooManyRequests` when it did not get a place in time.
    async fn cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> AuthResult<T> {
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        self.work
            .run(Box::new(move || {
                let value = f();
                *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
            }))
            .await
            .map_err(|Busy| AuthError::busy())?;
        let value = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        value.ok_or_else(AuthError::busy)
    }

    /// Makes what a new password of `username` is stored as, on the work queue. Callers make
    /// it before they spend anything (a code, a step), so a busy queue costs the user nothing.
    async fn new_password(
        &self,
        pool_id: &str,
        username: &str,
        password: &str,
    ) -> AuthResult<NewPassword> {
        let (master, pool_id, username, password) = (
            self.master.clone(),
            pool_id.to_string(),
            username.to_string(),
            password.to_string(),
        );
        self.cpu(move || NewPassword {
            hash: hash_password(&password, HashParams::default()),
            srp_verifier: srp_flow::sealed_verifier(&master, &pool_id, &username, &password),
        })
        .await
    }

    /// Applies `change` to the stored user by compare-and-swap on its version, re-reading and
    /// re-applying when another writer came first.
    async fn modify_user(
        &self,
        pool_id: &str,
        username: &str,
        change: impl Fn(&mut UserRecord),
    ) -> AuthResult<UserRecord> {
        for _ in 0..8 {
            let Some(mut user) = self.store.get_user(pool_id, username).await? else {
                return Err(AuthError::new(
                    ErrorKind::UserNotFound,
                    "User does not exist.",
                ));
            };
            change(&mut user);
            user.updated_at = self.clock.now();
            if self.store.update_user(&user).await? == CasOutcome::Applied {
                user.version += 1;
                return Ok(user);
            }
        }
        tracing::error!(user = %username, "user kept changing under an update");
        Err(AuthError::new(
            ErrorKind::Internal,
            "Internal server error.",
        ))
    }
}

/// A password as stored: its Argon2 hash and its sealed SRP verifier, made together so every
/// way of setting a password keeps both.
#[derive(Clone)]
struct NewPassword {
    hash: PasswordHash,
    srp_verifier: String,
}

impl NewPassword {
    /// Gives `user` this password, set at `now`.
    fn set_on(&self, user: &mut UserRecord, now: crate::time::Timestamp) {
        user.password_hash = Some(self.hash.clone());
        user.srp_verifier = Some(self.srp_verifier.clone());
        user.password_set_at = Some(now);
    }
}

/// A new password must meet the pool's policy (`InvalidPasswordException` with its message).
fn check_password_policy(view: &PoolView, password: &str) -> AuthResult<()> {
    view.pool
        .config
        .policies
        .password_policy
        .check(password)
        .map_err(|m| AuthError::new(ErrorKind::InvalidPassword, m))
}

/// Whether the client answers as Cognito's `PreventUserExistenceErrors: LEGACY` does (naming
/// unknown users). Absent means `ENABLED`, as for clients made in Cognito's console [I].
pub fn reveals_unknown_users(client: &ClientRecord) -> bool {
    client.config.prevent_user_existence_errors.as_deref() == Some("LEGACY")
}
