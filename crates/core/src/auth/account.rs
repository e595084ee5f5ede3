//! The user's own account, reached with their access token (the API's `GetUser`,
//! `ChangePassword`, `AssociateSoftwareToken`, …): which live user a token names, and the
//! changes only they make. Changes an administrator makes too are `admin`'s, shared.

use serde_json::{Map, Value};

use super::audit::{Challenge as AuditChallenge, Event, EventKind, Outcome};
use super::lockout;
use super::signin::incorrect;
use super::steps::{Challenge, Next, SignedIn, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind, check_password_policy};
use crate::crypto::TokenHash;
use crate::directory::PoolView;
use crate::lifecycle::totp;
use crate::model::{AttributeType, MfaFactor, UserStatus};
use crate::oauth::grant::USER_ADMIN_SCOPE;
use crate::oauth::token::signed_in_before_cutoff;
use crate::password::verify_password;
use crate::store::{ChallengeRecord, ClientRecord, PendingKind, UserRecord};

/// How long a TOTP secret from `AssociateSoftwareToken` waits for its first code.
const TOTP_SETUP_LIFETIME: i64 = 15 * 60;

fn not_authorized(message: &str) -> AuthError {
    AuthError::new(ErrorKind::NotAuthorized, message)
}

impl Auth {
    /// The user an access token of `view`'s pool names, with the token's claims: our
    /// signature, live (not expired, revoked, signed out or issued before a password reset),
    /// with the scope of the user's own operations, for an enabled user.
    pub async fn account_of(
        &self,
        view: &PoolView,
        token: &str,
    ) -> AuthResult<(UserRecord, Map<String, Value>)> {
        let claims = view
            .keys
            .verify_jwt(token)
            .filter(|c| {
                c.get("iss").and_then(Value::as_str) == Some(view.issuer.as_str())
                    && c.get("token_use").and_then(Value::as_str) == Some("access")
            })
            .ok_or_else(|| not_authorized("Invalid Access Token"))?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp <= self.clock.now() {
            return Err(not_authorized("Access Token has expired"));
        }
        let scoped = claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(' ').any(|s| s == USER_ADMIN_SCOPE));
        if !scoped {
            return Err(not_authorized("Access Token does not have required scopes"));
        }
        let revoked = || not_authorized("Access Token has been revoked");
        if let Some(family) = claims.get("origin_jti").and_then(Value::as_str) {
            match self.store.get_family(family).await? {
                Some(f) if f.revoked_at.is_none() => {}
                _ => return Err(revoked()),
            }
        }
        let username = claims
            .get("username")
            .and_then(Value::as_str)
            .ok_or_else(|| not_authorized("Invalid Access Token"))?;
        let user = self
            .store
            .get_user(&view.pool.id, username)
            .await?
            .filter(|u| Some(u.sub.as_str()) == claims.get("sub").and_then(Value::as_str))
            .ok_or_else(|| AuthError::new(ErrorKind::UserNotFound, "User does not exist."))?;
        if !user.enabled {
            return Err(not_authorized("User is disabled."));
        }
        if signed_in_before_cutoff(&claims, &user) {
            return Err(revoked());
        }
        Ok((user, claims))
    }

    /// `ChangePassword`: the previous password, checked on the sign-in lockout curve, then the
    /// new one under the pool's policy.
    pub async fn change_password(
        &self,
        view: &PoolView,
        user: &UserRecord,
        previous: &str,
        proposed: &str,
    ) -> AuthResult<UserRecord> {
        let pool_id = &view.pool.id;
        let hash = user
            .password_hash
            .as_ref()
            .map(|h| h.as_str().to_string())
            .ok_or_else(incorrect)?;
        let previous = previous.to_string();
        let right = self
            .guarded_check(
                pool_id,
                &lockout::user_key(&user.username),
                Some((&user.username, EventKind::PasswordChange)),
                move || verify_password(&previous, &hash),
            )
            .await?;
        if !right {
            return Err(incorrect());
        }
        check_password_policy(view, proposed)?;
        let new_password = self.new_password(pool_id, &user.username, proposed).await?;
        let now = self.clock.now();
        let changed = self
            .modify_user(pool_id, &user.username, |u| {
                new_password.set_on(u, now);
                if u.status == UserStatus::ForceChangePassword {
                    u.status = UserStatus::Confirmed;
                }
            })
            .await?;
        let event = Event::new(
            pool_id,
            &user.username,
            EventKind::PasswordChange,
            Outcome::Pass,
        );
        self.audit(event.challenges(&[AuditChallenge::Password(true)]));
        Ok(changed)
    }

    /// `UpdateUserAttributes`: the administrator's rules for each attribute, then a code to
    /// each changed address the pool verifies (`AutoVerifiedAttributes`: an email, a phone
    /// number by text). Returns where the codes went.
    pub async fn update_own_attributes(
        &self,
        view: &PoolView,
        user: &UserRecord,
        attributes: &[AttributeType],
        client: &ClientRecord,
        passed: &crate::triggers::TriggerInput,
    ) -> AuthResult<Vec<super::Delivery>> {
        let updated = self
            .admin_update_attributes(&view.pool, user, attributes)
            .await?;
        let mut sent = Vec::new();
        for attribute in ["email", "phone_number"] {
            let before = super::Delivery::of(user, attribute);
            let after = super::Delivery::of(&updated, attribute);
            let verifies = view
                .pool
                .config
                .auto_verified_attributes
                .iter()
                .any(|a| a == attribute);
            let reachable = after.as_ref().is_some_and(|to| self.can_reach(to));
            if !reachable || after == before || !verifies {
                continue;
            }
            let source = "CustomMessage_UpdateUserAttribute";
            let message = super::CodeMessage::new(source, Some(client), passed);
            sent.push(
                self.send_attribute_code(view, &updated, attribute, message)
                    .await?,
            );
        }
        Ok(sent)
    }

    /// Where the TOTP secret being set up for a signed-in user waits (one per user: a new
    /// `AssociateSoftwareToken` replaces it).
    fn totp_setup_hash(&self, pool_id: &str, username: &str) -> TokenHash {
        TokenHash::keyed(
            &self.code_key,
            "totp setup",
            &format!("{pool_id}/{username}"),
        )
    }

    /// `AssociateSoftwareToken` with an access token: a new TOTP secret for the user, kept
    /// aside until `VerifySoftwareToken` proves it; returns it (to show as Base32).
    pub async fn associate_software_token(
        &self,
        view: &PoolView,
        user: &UserRecord,
    ) -> AuthResult<Vec<u8>> {
        let pool_id = &view.pool.id;
        let secret = totp::new_secret();
        let hash = self.totp_setup_hash(pool_id, &user.username);
        let now = self.clock.now();
        let data = StepData {
            started_ms: self.clock.now_ms(),
            secret: Some(totp::seal(&self.master, pool_id, &user.username, &secret)),
            ..StepData::default()
        };
        self.store.take_challenge(&hash).await?;
        self.store
            .insert_challenge(&ChallengeRecord {
                hash,
                pool_id: pool_id.clone(),
                username: user.username.clone(),
                kind: PendingKind::MfaSetup,
                payload: serde_json::to_string(&data).expect("step data serializes"),
                created_at: now,
                expires_at: now + TOTP_SETUP_LIFETIME,
            })
            .await?;
        Ok(secret)
    }

    /// `VerifySoftwareToken` with an access token: a code of the secret being set up keeps it
    /// as the user's TOTP secret (wrong codes count on the MFA lockout curve).
    pub async fn verify_software_token(
        &self,
        view: &PoolView,
        user: &UserRecord,
        code: &str,
    ) -> AuthResult<UserRecord> {
        let pool_id = &view.pool.id;
        let hash = self.totp_setup_hash(pool_id, &user.username);
        let pending = self
            .store
            .get_challenge(&hash)
            .await?
            .filter(|c| c.expires_at > self.clock.now());
        let Some(pending) = pending else {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Software token TOTP not associated with user.",
            ));
        };
        let secret = self
            .setup_secret(view, &pending)
            .ok_or_else(|| AuthError::new(ErrorKind::Internal, "Internal server error."))?;
        self.check_totp(view, user, &secret, code).await?;
        if self.store.take_challenge(&hash).await?.is_none() {
            return Err(AuthError::new(
                ErrorKind::CodeMismatch,
                "Invalid code received for user",
            ));
        }
        self.keep_totp_secret(pool_id, &user.username, &secret)
            .await
    }

    /// The secret (Base32) of a sign-in's `MFA_SETUP` step named by `session`, for
    /// `AssociateSoftwareToken` with a session.
    pub async fn setup_step_secret(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
    ) -> AuthResult<String> {
        let (challenge, _) = self
            .pending_step(view, client, session, &[PendingKind::MfaSetup])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let secret = self
            .setup_secret(view, &challenge)
            .ok_or_else(|| AuthError::new(ErrorKind::Internal, "Internal server error."))?;
        Ok(totp::base32(&secret))
    }

    /// Holds a finished sign-in for the API's last answer: `VerifySoftwareToken` with a
    /// session proves the new TOTP secret, and `RespondToAuthChallenge` with `MFA_SETUP` then
    /// gets the tokens.
    pub async fn hold_signed_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        signed_in: SignedIn,
    ) -> AuthResult<Challenge> {
        let data = StepData {
            started_ms: signed_in.started_ms,
            device_key: signed_in.device_key,
            ..StepData::default()
        };
        match self
            .begin_step(view, client, signed_in.user, PendingKind::Verified, &data)
            .await?
        {
            Next::Step(challenge) => Ok(challenge),
            Next::Done(_) => Err(AuthError::new(
                ErrorKind::Internal,
                "Internal server error.",
            )),
        }
    }

    /// The held sign-in `session` names, taken once.
    pub async fn take_signed_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
    ) -> AuthResult<SignedIn> {
        let (challenge, user) = self
            .pending_step(view, client, session, &[PendingKind::Verified])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        self.take_step(&challenge).await?;
        let data = StepData::of(&challenge);
        Ok(SignedIn {
            user,
            provider: None,
            started_ms: data.started_ms,
            device_key: data.device_key,
        })
    }

    /// Keeps a proven TOTP secret as the user's, turning TOTP on as setting it up means.
    pub(super) async fn keep_totp_secret(
        &self,
        pool_id: &str,
        username: &str,
        secret: &[u8],
    ) -> AuthResult<UserRecord> {
        let sealed = totp::seal(&self.master, pool_id, username, secret);
        self.modify_user(pool_id, username, |u| {
            u.totp_secret = Some(sealed.clone());
            // A user who had made MFA choices gets TOTP turned on (preferred unless another
            // factor is); before any choice, a set-up TOTP counts as on and preferred.
            if let Some(p) = &mut u.mfa_preference {
                let preferred = p.preferred.is_none_or(|f| f == MfaFactor::SoftwareToken);
                p.set(MfaFactor::SoftwareToken, true, preferred);
            }
        })
        .await
    }
}
