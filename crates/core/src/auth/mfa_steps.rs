//! The MFA steps of a sign-in: the factor the pool asks for (`lifecycle::mfa_step`), a code by
//! email (`EMAIL_OTP`) or SMS (`SMS_MFA`) made, sent and kept keyed in the step, the choice
//! between factors (`SELECT_MFA_TYPE`), and every code — TOTP, email, SMS — checked once on
//! the MFA lockout curve.

use super::audit::{Challenge, Event, EventKind, Outcome};
use super::lockout;
use super::steps::{Next, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::crypto::{TokenHash, random_string};
use crate::directory::PoolView;
use crate::lifecycle::{self, MfaStep, totp};
use crate::model::MfaFactor;
use crate::store::{ChallengeRecord, ClientRecord, PendingKind, UserRecord};

/// What a code is checked against.
enum Proof<'a> {
    /// A TOTP secret (each time step used once, RFC 6238 §5.2).
    Totp(&'a [u8]),
    /// The keyed hash of the code sent by email or SMS.
    Sent(&'a str),
}

/// Codes a step takes (Cognito's limit per session): the third wrong one ends it.
const GUESSES_PER_STEP: u32 = 3;

fn code_context(pool_id: &str, username: &str) -> String {
    format!("mfa code/{pool_id}/{username}")
}

impl Auth {
    /// The MFA step `mfa` asks for, begun for `user` (`data` carries the sign-in so far).
    pub(super) async fn begin_mfa(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        mfa: MfaStep,
        mut data: StepData,
    ) -> AuthResult<Next> {
        let kind = match mfa {
            MfaStep::None => {
                let (started_ms, device_key) = (data.started_ms, data.device_key);
                return self
                    .signed_in_or_device(view, client, user, started_ms, device_key)
                    .await;
            }
            MfaStep::Setup => {
                let secret = totp::new_secret();
                data.secret = Some(totp::seal(
                    &self.master,
                    &view.pool.id,
                    &user.username,
                    &secret,
                ));
                PendingKind::MfaSetup
            }
            MfaStep::Select(factors) => {
                data.choices = factors;
                PendingKind::SelectMfa
            }
            MfaStep::Verify(factor) => {
                data.factor = Some(factor);
                if factor != MfaFactor::SoftwareToken {
                    data.code_hash = Some(
                        self.send_mfa_code(view, &user, factor, &client.client_id)
                            .await?,
                    );
                }
                PendingKind::Mfa
            }
        };
        self.begin_step(view, client, user, kind, &data).await
    }

    /// Makes a six-digit code, sends it by `factor` (email or SMS) and returns its keyed hash.
    /// Sends count on the same curve as other codes' (five an hour, then paused): past it, the
    /// step still begins but nothing is sent, so sign-ins cannot flood an address or a phone.
    pub(super) async fn send_mfa_code(
        &self,
        view: &PoolView,
        user: &UserRecord,
        factor: MfaFactor,
        client_id: &str,
    ) -> AuthResult<String> {
        self.send_step_code(view, user, factor, client_id, "mfa")
            .await
    }

    /// [`Auth::send_mfa_code`] for codes of `purpose`: `mfa`, or `otp` for sign-in codes (a
    /// first factor anyone can ask for by name, so its sends must not use up the MFA codes').
    pub(super) async fn send_step_code(
        &self,
        view: &PoolView,
        user: &UserRecord,
        factor: MfaFactor,
        client_id: &str,
        purpose: &str,
    ) -> AuthResult<String> {
        let code = random_string(b"0123456789", 6);
        let hash = TokenHash::keyed(
            &self.code_key,
            &code_context(&view.pool.id, &user.username),
            &code,
        );
        let passed = crate::triggers::TriggerInput::default();
        let message = super::CodeMessage {
            source: "CustomMessage_Authentication",
            client_id: Some(client_id),
            passed: &passed,
            username_shown: None,
        };
        let who = super::lockout::who_user(&user.username);
        if !self.may_send(&view.pool.id, purpose, &who).await? {
            return Ok(hash.as_str().to_string());
        }
        let attribute = if factor == MfaFactor::Email {
            "email"
        } else {
            "phone_number"
        };
        let Some(to) = super::Delivery::of(user, attribute) else {
            tracing::error!(
                factor = factor.as_str(),
                "an MFA code has no address to go to"
            );
            return Ok(hash.as_str().to_string());
        };
        let config = &view.pool.config;
        let default = |_| lifecycle::mfa_code_message(config, factor, &code);
        self.deliver(view, user, &to, &code, &message, default)
            .await;
        Ok(hash.as_str().to_string())
    }

    /// `SELECT_MFA_TYPE`: the factor the user chose among those offered, whose step begins.
    pub async fn select_mfa(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        factor: MfaFactor,
    ) -> AuthResult<Next> {
        let (challenge, user) = self
            .pending_step(view, client, session, &[PendingKind::SelectMfa])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let mut data = StepData::of(&challenge);
        if !data.choices.contains(&factor) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                format!("{} is not one of the factors offered", factor.as_str()),
            ));
        }
        self.take_step(&challenge).await?;
        data.choices.clear();
        self.begin_mfa(view, client, user, MfaStep::Verify(factor), data)
            .await
    }

    /// An MFA code for the pending step `session` names (`SOFTWARE_TOKEN_MFA`, `EMAIL_OTP`,
    /// `SMS_MFA`, or TOTP being set up, which is then kept). `expected` is the factor the
    /// answer says it is for, if it says. Wrong codes count on the MFA lockout curve; a code
    /// works once.
    pub async fn verify_mfa(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        code: &str,
        expected: Option<MfaFactor>,
    ) -> AuthResult<Next> {
        let (challenge, user) = self
            .pending_step(
                view,
                client,
                session,
                &[
                    PendingKind::Mfa,
                    PendingKind::MfaSetup,
                    PendingKind::SignInCode,
                ],
            )
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let data = StepData::of(&challenge);
        let setup = challenge.kind == PendingKind::MfaSetup;
        let factor = data.factor.unwrap_or(MfaFactor::SoftwareToken);
        if expected.is_some_and(|f| f != factor) {
            return Err(AuthError::session_expired());
        }
        let pool_id = &view.pool.id;
        let secret = match (setup, factor) {
            (true, _) => self.setup_secret(view, &challenge),
            (false, MfaFactor::SoftwareToken) => user
                .totp_secret
                .as_deref()
                .and_then(|s| totp::open(&self.master, pool_id, &user.username, s)),
            (false, _) => None,
        };
        let proof = match (&secret, &data.code_hash) {
            (Some(secret), _) => Proof::Totp(secret),
            (None, Some(hash)) if factor != MfaFactor::SoftwareToken => Proof::Sent(hash),
            _ => {
                tracing::error!(user = %user.username, "an MFA step without its secret");
                return Err(AuthError::new(
                    ErrorKind::Internal,
                    "Internal server error.",
                ));
            }
        };
        self.check_mfa_code(view, &user, proof, code, Some(&challenge))
            .await?;
        self.take_step(&challenge).await?;
        let user = match secret {
            Some(secret) if setup => {
                self.keep_totp_secret(pool_id, &user.username, &secret)
                    .await?
            }
            _ => user,
        };
        self.signed_in_or_device(view, client, user, data.started_ms, data.device_key)
            .await
    }

    /// Takes one of a step's guesses (Cognito allows three per session) before the code is
    /// checked, by compare-and-swap on the step as this answer read it: of answers racing on
    /// any node, one gets each guess, and one that read the step before another's guess is
    /// stale. Returns the guesses the step has now had.
    async fn reserve_guess(&self, step: &ChallengeRecord) -> AuthResult<u32> {
        let mut data = StepData::of(step);
        if data.guesses >= GUESSES_PER_STEP {
            return Err(AuthError::session_expired());
        }
        data.guesses += 1;
        let payload = serde_json::to_string(&data).expect("step data serializes");
        if !self
            .store
            .replace_challenge_payload(&step.hash, &step.payload, &payload)
            .await?
        {
            return Err(AuthError::session_expired());
        }
        Ok(data.guesses)
    }

    /// Checks a TOTP code of `secret` for `user` (for the API's set-up with an access token).
    pub(super) async fn check_totp(
        &self,
        view: &PoolView,
        user: &UserRecord,
        secret: &[u8],
        code: &str,
    ) -> AuthResult<()> {
        self.check_mfa_code(view, user, Proof::Totp(secret), code, None)
            .await
    }

    /// Checks an MFA code on the user's MFA lockout curve, in this name's turn on this node;
    /// an answer to `step` takes one of its guesses first.
    async fn check_mfa_code(
        &self,
        view: &PoolView,
        user: &UserRecord,
        proof: Proof<'_>,
        code: &str,
        step: Option<&ChallengeRecord>,
    ) -> AuthResult<()> {
        let pool_id = &view.pool.id;
        // A sign-in code (a first factor) has a curve of its own: guesses at it, which need no
        // password, must not lock the user's MFA.
        let first_factor = step.is_some_and(|s| s.kind == PendingKind::SignInCode);
        let key = if first_factor {
            lockout::otp_key(&user.username)
        } else {
            lockout::mfa_key(&user.username)
        };
        let _turn = self.turn(pool_id, &key).await?;
        let guesses = match step {
            Some(step) => Some(self.reserve_guess(step).await?),
            None => None,
        };
        let now = self.clock.now();
        let failures = self.store.get_sign_in_failures(pool_id, &key).await?;
        if lockout::is_locked(failures.as_ref(), now) {
            return Err(AuthError::new(
                ErrorKind::TooManyFailedAttempts,
                "Too many failed attempts.",
            ));
        }
        let right = match proof {
            // A code is good once: its step must be later than the last one used.
            Proof::Totp(secret) => match totp::verify(secret, code, now) {
                Some(step) => {
                    self.store
                        .use_totp_step(pool_id, &user.username, step)
                        .await?
                }
                None => false,
            },
            Proof::Sent(hash) => {
                let given = TokenHash::keyed(
                    &self.code_key,
                    &code_context(pool_id, &user.username),
                    code.trim(),
                );
                given.matches_hash(&TokenHash::from_stored(hash.to_string()))
            }
        };
        if !right {
            let counted = self
                .store
                .record_sign_in_failure(pool_id, &key, now, lockout::MAX_LOCK)
                .await?;
            if let (Some(step), Some(guesses)) = (step, guesses) {
                if guesses >= GUESSES_PER_STEP {
                    self.store.take_challenge(&step.hash).await?;
                }
                let challenges = if first_factor {
                    vec![Challenge::Code(false)]
                } else {
                    vec![Challenge::Password(true), Challenge::Mfa(false)]
                };
                let event = Event::new(pool_id, &user.username, EventKind::SignIn, Outcome::Fail)
                    .challenges(&challenges)
                    .detail(lockout::lock_detail(&counted));
                self.audit(event);
            }
            return Err(AuthError::new(
                ErrorKind::CodeMismatch,
                "Invalid code received for user",
            ));
        }
        if failures.is_some() {
            self.store.clear_sign_in_failures(pool_id, &key).await?;
        }
        Ok(())
    }
}

/// The factor of a pending MFA step, for the front doors' wording (the API's challenge name,
/// the page's text).
pub fn step_factor(c: &ChallengeRecord) -> Option<MfaFactor> {
    StepData::of(c).factor
}
