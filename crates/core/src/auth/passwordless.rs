//! Choice-based sign-in (`USER_AUTH`): the first factors a user can begin with (the pool's
//! `AllowedFirstAuthFactors` that the user has set up), the choice between them
//! (`SELECT_CHALLENGE`), and the one-time codes by email or SMS that sign a user in without a
//! password (`EMAIL_OTP`, `SMS_OTP`). Those codes are made, sent, keyed and checked as MFA
//! codes are (`mfa_steps`: three guesses a step, the MFA lockout curve); after a code or a
//! passkey no MFA step follows, and where the pool requires MFA neither code is offered [I].

use super::steps::{Challenge, Next, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::crypto::random_token;
use crate::directory::PoolView;
use crate::model::{MfaConfiguration, MfaFactor, UserStatus};
use crate::store::{ClientRecord, PasskeyRecord, PendingKind, UserRecord};

/// A first factor of `USER_AUTH`, by its challenge name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFactor {
    Password,
    PasswordSrp,
    EmailOtp,
    SmsOtp,
    WebAuthn,
}

impl FirstFactor {
    const ALL: [FirstFactor; 5] = [
        Self::Password,
        Self::PasswordSrp,
        Self::EmailOtp,
        Self::SmsOtp,
        Self::WebAuthn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "PASSWORD",
            Self::PasswordSrp => "PASSWORD_SRP",
            Self::EmailOtp => "EMAIL_OTP",
            Self::SmsOtp => "SMS_OTP",
            Self::WebAuthn => "WEB_AUTHN",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `AllowedFirstAuthFactors` entry that allows it.
    fn pool_factor(self) -> &'static str {
        match self {
            Self::Password | Self::PasswordSrp => "PASSWORD",
            other => other.name(),
        }
    }

    /// A password proof, which the front door runs through the password sign-in.
    pub fn is_password(self) -> bool {
        matches!(self, Self::Password | Self::PasswordSrp)
    }
}

/// Where a `USER_AUTH` step leads.
#[derive(Debug)]
pub enum Begin {
    /// A password proof: the front door runs the password sign-in (`PASSWORD`) or SRP's first
    /// half (`PASSWORD_SRP`) for the name typed.
    Password(FirstFactor),
    /// A challenge (the choice, a code sent, a passkey's options), or done.
    Next(Box<Next>),
}

fn has_verified(user: &UserRecord, attribute: &str) -> bool {
    let verified = format!("{attribute}_verified");
    user.attributes.iter().any(|a| a.name == attribute)
        && user
            .attributes
            .iter()
            .any(|a| a.name == verified && a.value == "true")
}

impl Auth {
    /// The first factors `user` can begin a sign-in with in this pool. Unknown users are
    /// offered the password factors, as a user without other factors is.
    pub async fn first_factors(
        &self,
        view: &PoolView,
        user: Option<&UserRecord>,
    ) -> AuthResult<Vec<FirstFactor>> {
        Ok(self.factors_and_passkeys(view, user).await?.0)
    }

    /// [`Auth::first_factors`], with the user's passkeys when the pool may offer them (read
    /// once: a passkey sign-in lists them in its options).
    async fn factors_and_passkeys(
        &self,
        view: &PoolView,
        user: Option<&UserRecord>,
    ) -> AuthResult<(Vec<FirstFactor>, Vec<PasskeyRecord>)> {
        let config = &view.pool.config;
        let mfa_required = config.mfa_configuration == MfaConfiguration::On;
        let mut out = Vec::new();
        if user.is_none_or(|u| u.password_hash.is_some()) {
            out.extend([FirstFactor::Password, FirstFactor::PasswordSrp]);
        }
        // Codes and passkeys are for confirmed users of the pool's own: not for a federated
        // user (their provider signs them in), nor one who owes a confirmation or a password.
        let Some(user) = user.filter(|u| u.status == UserStatus::Confirmed) else {
            return Ok((out, Vec::new()));
        };
        if config.allows_first_factor("EMAIL_OTP") && !mfa_required && has_verified(user, "email") {
            out.push(FirstFactor::EmailOtp);
        }
        if config.allows_first_factor("SMS_OTP")
            && !mfa_required
            && self.mailer.sends_sms()
            && has_verified(user, "phone_number")
        {
            out.push(FirstFactor::SmsOtp);
        }
        let mut passkeys = Vec::new();
        if config.allows_first_factor("WEB_AUTHN")
            && (!mfa_required || config.web_authn().verified_passkey_is_mfa())
        {
            passkeys = self.passkeys(view, &user.username).await?;
            if !passkeys.is_empty() {
                out.push(FirstFactor::WebAuthn);
            }
        }
        Ok((out, passkeys))
    }

    /// `USER_AUTH`'s start for the name `typed`: straight to `preferred` when the user can use
    /// it, else the choice of the factors they can (`SELECT_CHALLENGE`).
    pub async fn begin_user_auth(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        preferred: Option<&str>,
        default_rp_id: Option<&str>,
    ) -> AuthResult<Begin> {
        let started_ms = self.clock.now_ms();
        let preferred = match preferred.filter(|p| !p.is_empty()) {
            None => None,
            Some(name) => Some(self.allowed_factor(view, name)?),
        };
        // A password proves itself: the password sign-in finds the user.
        if let Some(f) = preferred.filter(|f| f.is_password()) {
            return Ok(Begin::Password(f));
        }
        let user = super::find_user(&*self.store, view, typed)
            .await?
            .filter(|u| u.enabled);
        let (available, passkeys) = self.factors_and_passkeys(view, user.as_ref()).await?;
        match (preferred, user) {
            (Some(f), Some(user)) if available.contains(&f) => self
                .start_first_factor(view, client, user, f, started_ms, default_rp_id, passkeys)
                .await
                .map(|n| Begin::Next(Box::new(n))),
            (_, user) => {
                let names: Vec<String> = available.iter().map(|f| f.name().to_string()).collect();
                let data = StepData {
                    started_ms,
                    client_id: Some(client.client_id.clone()),
                    first_factors: names.clone(),
                    ..StepData::default()
                };
                let Some(user) = user else {
                    // A name that is no one's gets a step as a user's would (it offers the
                    // password factors), kept under the name typed.
                    let session = random_token();
                    let name = typed.trim();
                    let lifetime = self
                        .put_step(
                            view,
                            client,
                            crate::crypto::TokenHash::of(&session),
                            name,
                            PendingKind::SelectChallenge,
                            &data,
                        )
                        .await?;
                    return Ok(Begin::Next(Box::new(Next::Step(Challenge {
                        kind: PendingKind::SelectChallenge,
                        session,
                        lifetime,
                        user: super::custom::stand_in(view, name),
                        factor: None,
                        choices: Vec::new(),
                        parameters: serde_json::Map::new(),
                        available: names,
                    }))));
                };
                self.begin_step(view, client, user, PendingKind::SelectChallenge, &data)
                    .await
                    .map(|n| Begin::Next(Box::new(n)))
            }
        }
    }

    /// `SELECT_CHALLENGE`'s answer: the factor chosen among those the step offered. A password
    /// proof needs no step (it proves itself); the others begin theirs.
    pub async fn choose_first_factor(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        answer: &str,
        default_rp_id: Option<&str>,
    ) -> AuthResult<Begin> {
        let factor = self.allowed_factor(view, answer)?;
        if factor.is_password() {
            // The step of a name that is no one's has no user: read it as it is, used once.
            let step = self
                .store
                .get_challenge(&crate::crypto::TokenHash::of(session))
                .await?
                .filter(|c| {
                    c.kind == PendingKind::SelectChallenge
                        && c.pool_id == view.pool.id
                        && c.expires_at > self.clock.now()
                        && StepData::of(c).client_id.as_ref() == Some(&client.client_id)
                })
                .ok_or_else(AuthError::session_expired)?;
            self.take_step(&step).await?;
            return Ok(Begin::Password(factor));
        }
        let (step, user) = self
            .pending_step(view, client, session, &[PendingKind::SelectChallenge])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let data = StepData::of(&step);
        // The session is spent by any answer, so it cannot be used to probe the factors.
        self.take_step(&step).await?;
        if !data.first_factors.iter().any(|f| f == factor.name()) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                format!(
                    "{} is not one of the challenges this sign-in offers",
                    factor.name()
                ),
            ));
        }
        let passkeys = match factor {
            FirstFactor::WebAuthn => self.passkeys(view, &user.username).await?,
            _ => Vec::new(),
        };
        self.start_first_factor(
            view,
            client,
            user,
            factor,
            data.started_ms,
            default_rp_id,
            passkeys,
        )
        .await
        .map(|n| Begin::Next(Box::new(n)))
    }

    /// The factor a challenge name means, if the pool allows it as a first factor.
    fn allowed_factor(&self, view: &PoolView, name: &str) -> AuthResult<FirstFactor> {
        let factor = FirstFactor::parse(name).ok_or_else(|| {
            AuthError::new(
                ErrorKind::InvalidParameter,
                format!("{name} is not a first factor (PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP, WEB_AUTHN)"),
            )
        })?;
        if !view.pool.config.allows_first_factor(factor.pool_factor()) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                format!(
                    "{} is not an allowed first factor of this user pool",
                    factor.name()
                ),
            ));
        }
        Ok(factor)
    }

    /// Begins a passwordless factor: a code sent by email or SMS, or a passkey's options (for
    /// the user's `passkeys`).
    #[allow(clippy::too_many_arguments)] // the sign-in so far
    async fn start_first_factor(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        factor: FirstFactor,
        started_ms: i64,
        default_rp_id: Option<&str>,
        passkeys: Vec<PasskeyRecord>,
    ) -> AuthResult<Next> {
        let medium = match factor {
            FirstFactor::EmailOtp => MfaFactor::Email,
            FirstFactor::SmsOtp => MfaFactor::Sms,
            FirstFactor::WebAuthn => {
                return self
                    .begin_passkey_sign_in(view, client, user, started_ms, default_rp_id, passkeys)
                    .await;
            }
            FirstFactor::Password | FirstFactor::PasswordSrp => {
                return Err(AuthError::new(
                    ErrorKind::Internal,
                    "Internal server error.",
                ));
            }
        };
        let code_hash = self
            .send_step_code(view, &user, medium, &client.client_id, "otp")
            .await?;
        let data = StepData {
            started_ms,
            factor: Some(medium),
            code_hash: Some(code_hash),
            ..StepData::default()
        };
        self.begin_step(view, client, user, PendingKind::SignInCode, &data)
            .await
    }
}
