//! The steps between a right password and the tokens: a new password for a temporary one, the
//! MFA steps (`mfa_steps`). Each pending step is a record behind an opaque session value (a
//! cookie on the pages, `Session` in the API), taken once.

use super::{Auth, AuthError, AuthResult, ErrorKind, check_password_policy};
use crate::crypto::{TokenHash, random_token};
use crate::directory::PoolView;
use crate::lifecycle::{self, MfaStep, totp};
use crate::model::{AttributeType, MfaFactor, UserStatus};
use crate::store::{ChallengeRecord, ClientRecord, PendingKind, UserRecord};

/// What a sign-in leads to next.
#[derive(Debug)]
pub enum Next {
    /// Authenticated: the front door issues the session and tokens.
    Done(SignedIn),
    /// One more step first.
    Step(Challenge),
}

/// An authenticated user, how they signed in, and when the sign-in started: what the session
/// and the tokens of this sign-in remember.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRecord,
    /// The outside provider they came through; none for the pool's own users (`COGNITO`).
    pub provider: Option<String>,
    /// When the sign-in began (Unix milliseconds), before anything about the user was read: a
    /// password reset after this instant outlives nothing this sign-in makes (its `event_id`).
    pub started_ms: i64,
    /// The remembered device the sign-in proved (`DEVICE_PASSWORD_VERIFIER`).
    pub device_key: Option<String>,
}

impl SignedIn {
    /// Whether the user's last password reset or global sign-out came after this sign-in began.
    pub fn cut_off(&self) -> bool {
        self.user
            .tokens_valid_from_ms
            .is_some_and(|cutoff| self.started_ms < cutoff)
    }
}

/// What a pending step carries: when its sign-in began, a TOTP secret being set up, or the
/// first half of an SRP sign-in.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct StepData {
    pub started_ms: i64,
    /// The app client the sign-in is for: another client cannot answer its step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srp: Option<super::srp_flow::SrpState>,
    /// The device the sign-in names (`DEVICE_KEY`): to prove next, or proven already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// The hash of the session a step keyed otherwise was answered with (`DEVICE_SRP_AUTH`):
    /// a client that sends the session must send this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_hash: Option<String>,
    /// The MFA factor a code is asked of (TOTP when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<MfaFactor>,
    /// The keyed hash of a code sent by email or SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hash: Option<String>,
    /// The factors a `SELECT_MFA_TYPE` step offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<MfaFactor>,
    /// Codes given for this step so far (each takes a guess before it is checked).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub guesses: u32,
    /// A `CUSTOM_AUTH` sign-in's rounds and open challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<super::custom::CustomState>,
    /// The first factors a `SELECT_CHALLENGE` step offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_factors: Vec<String>,
    /// A `WEB_AUTHN` step's relying party and webauthn-rs-core's authentication state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<serde_json::Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl StepData {
    pub(super) fn of(c: &ChallengeRecord) -> Self {
        serde_json::from_str(&c.payload).unwrap_or_default()
    }
}

/// A pending step: its kind, the session value that names it, and how long it waits.
#[derive(Debug)]
pub struct Challenge {
    pub kind: PendingKind,
    pub session: String,
    pub lifetime: i64,
    pub user: UserRecord,
    /// The factor an MFA step asks a code of (TOTP when absent).
    pub factor: Option<MfaFactor>,
    /// The factors a choice offers.
    pub choices: Vec<MfaFactor>,
    /// A custom challenge's `publicChallengeParameters`; a passkey's request options.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// The first factors a `SELECT_CHALLENGE` offers (`AvailableChallenges`).
    pub available: Vec<String>,
}

impl Auth {
    /// The next step after a right password (or code) in a sign-in that began at `started_ms`:
    /// TOTP when the pool asks for it, else done.
    pub async fn after_password(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        started_ms: i64,
    ) -> AuthResult<Next> {
        self.after_password_on(view, client, user, started_ms, None)
            .await
    }

    /// [`Auth::after_password`] for a sign-in that named `device_key` (`DEVICE_KEY`): its
    /// proof comes after MFA (see [`Auth::signed_in_or_device`]).
    pub(super) async fn after_password_on(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        started_ms: i64,
        device_key: Option<String>,
    ) -> AuthResult<Next> {
        let data = StepData {
            started_ms,
            device_key: device_key.clone(),
            ..StepData::default()
        };
        match lifecycle::mfa_step(&view.pool.config, &user, self.mailer.sends_sms()) {
            MfaStep::None => {
                self.signed_in_or_device(view, client, user, started_ms, device_key)
                    .await
            }
            mfa => self.begin_mfa(view, client, user, mfa, data).await,
        }
    }

    pub(super) async fn new_password_step(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: &UserRecord,
        started_ms: i64,
    ) -> AuthResult<Next> {
        let data = StepData {
            started_ms,
            ..StepData::default()
        };
        self.begin_step(view, client, user.clone(), PendingKind::NewPassword, &data)
            .await
    }

    pub(super) async fn begin_step(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        kind: PendingKind,
        data: &StepData,
    ) -> AuthResult<Next> {
        let session = random_token();
        let data = StepData {
            client_id: Some(client.client_id.clone()),
            started_ms: data.started_ms,
            secret: data.secret.clone(),
            srp: None,
            device_key: data.device_key.clone(),
            session_hash: None,
            factor: data.factor,
            code_hash: data.code_hash.clone(),
            choices: data.choices.clone(),
            guesses: 0,
            custom: None,
            first_factors: data.first_factors.clone(),
            passkey: data.passkey.clone(),
        };
        let hash = TokenHash::of(&session);
        let lifetime = self
            .put_step(view, client, hash, &user.username, kind, &data)
            .await?;
        Ok(Next::Step(Challenge {
            kind,
            session,
            lifetime,
            user,
            factor: data.factor,
            choices: data.choices,
            parameters: serde_json::Map::new(),
            available: data.first_factors,
        }))
    }

    /// Writes a pending step of `holder` under `hash`, to live for the client's
    /// `AuthSessionValidity`; returns that lifetime.
    pub(super) async fn put_step(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        hash: TokenHash,
        holder: &str,
        kind: PendingKind,
        data: &StepData,
    ) -> AuthResult<i64> {
        let now = self.clock.now();
        let lifetime = lifecycle::challenge_lifetime(client.config.auth_session_validity);
        self.store
            .insert_challenge(&ChallengeRecord {
                hash,
                pool_id: view.pool.id.clone(),
                username: holder.to_string(),
                kind,
                payload: serde_json::to_string(data).expect("step data serializes"),
                created_at: now,
                expires_at: now + lifetime,
            })
            .await?;
        Ok(lifetime)
    }

    /// The live step named by `session`, of this pool and one of `kinds`, with its (enabled)
    /// user, unless the user's password was reset (or they were signed out) after its sign-in
    /// began.
    pub async fn pending_step(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        kinds: &[PendingKind],
    ) -> AuthResult<Option<(ChallengeRecord, UserRecord)>> {
        let Some(c) = self.store.get_challenge(&TokenHash::of(session)).await? else {
            return Ok(None);
        };
        let data = StepData::of(&c);
        if c.pool_id != view.pool.id
            || c.expires_at <= self.clock.now()
            || !kinds.contains(&c.kind)
            || data.client_id.as_ref() != Some(&client.client_id)
        {
            return Ok(None);
        }
        let started_ms = data.started_ms;
        match self.store.get_user(&view.pool.id, &c.username).await? {
            Some(u) if u.enabled && u.tokens_valid_from_ms.is_none_or(|t| started_ms >= t) => {
                Ok(Some((c, u)))
            }
            _ => Ok(None),
        }
    }

    /// Whether `typed` (an answer's `USERNAME`) names the user of the pending step `session`
    /// names; true when there is no such step (answering it fails anyway).
    pub async fn step_is_for(
        &self,
        view: &PoolView,
        session: &str,
        typed: &str,
    ) -> AuthResult<bool> {
        let Some(step) = self.store.get_challenge(&TokenHash::of(session)).await? else {
            return Ok(true);
        };
        if step.username == typed.trim() {
            return Ok(true);
        }
        let named = super::find_user(&*self.store, view, typed).await?;
        Ok(named.is_some_and(|u| u.username == step.username))
    }

    /// The app client a pending step (named by `session`) belongs to, if it is live.
    pub async fn step_client(&self, session: &str) -> AuthResult<Option<String>> {
        let step = self.store.get_challenge(&TokenHash::of(session)).await?;
        Ok(step
            .filter(|c| c.expires_at > self.clock.now())
            .and_then(|c| StepData::of(&c).client_id))
    }

    /// Uses the step up: of racing requests, one gets it.
    pub(super) async fn take_step(&self, c: &ChallengeRecord) -> AuthResult<()> {
        match self.store.take_challenge(&c.hash).await? {
            Some(_) => Ok(()),
            None => Err(AuthError::session_expired()),
        }
    }

    /// `NEW_PASSWORD_REQUIRED`: sets the new password (and the attributes given with it, the
    /// pool's required ones among them), then goes on as after a password. The password is
    /// hashed before the step is spent, so a busy server spends nothing.
    pub async fn set_new_password(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        password: &str,
        attributes: &[AttributeType],
    ) -> AuthResult<Next> {
        let (challenge, user) = self
            .pending_step(view, client, session, &[PendingKind::NewPassword])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        check_password_policy(view, password)?;
        super::attributes::check_user_writes(client, attributes.iter().map(|a| a.name.as_str()))?;
        self.check_attribute_update(&view.pool, &user, attributes)
            .await?;
        let missing: Vec<String> = view
            .pool
            .config
            .required_attributes()
            .into_iter()
            .filter(|r| {
                !user.attributes.iter().any(|a| &a.name == r)
                    && !attributes.iter().any(|a| &a.name == r)
            })
            .collect();
        if let Some(name) = missing.first() {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                format!("Invalid attributes given, {name} is missing"),
            ));
        }
        let new_password = self
            .new_password(&view.pool.id, &user.username, password)
            .await?;
        self.take_step(&challenge).await?;
        let now = self.clock.now();
        let user = self
            .modify_user(&view.pool.id, &user.username, |u| {
                new_password.set_on(u, now);
                super::attributes::apply_update(u, attributes);
                u.status = UserStatus::Confirmed;
            })
            .await?;
        let kind = super::audit::EventKind::PasswordChange;
        let event = super::audit::Event::new(
            &view.pool.id,
            &user.username,
            kind,
            super::audit::Outcome::Pass,
        );
        self.audit(event.detail("NEW_PASSWORD_REQUIRED"));
        let data = StepData::of(&challenge);
        self.after_password_on(view, client, user, data.started_ms, data.device_key)
            .await
    }

    /// The TOTP secret a set-up step is setting up.
    pub fn setup_secret(&self, view: &PoolView, c: &ChallengeRecord) -> Option<Vec<u8>> {
        let sealed = StepData::of(c).secret?;
        totp::open(&self.master, &view.pool.id, &c.username, &sealed)
    }
}
