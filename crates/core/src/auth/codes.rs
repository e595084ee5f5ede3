//! One-time codes by email or text message and the use cases built on them: sign-up,
//! confirmation and its resend, forgotten-password reset, attribute verification. Codes are
//! keyed at rest (HMAC under a key derived from the master key), die after five wrong guesses,
//! and are sent on the lockout curve. Unknown names are counted and answered like real users
//! unless the client reveals unknown users.

use super::audit::{Event, EventKind, Outcome};
use super::delivery::{self, Delivery};
use super::lockout;
use super::{
    Auth, AuthError, AuthResult, ErrorKind, Next, check_password_policy, find_user,
    reveals_unknown_users,
};
use crate::crypto::{TokenHash, random_string};
use crate::directory::PoolView;
use crate::lifecycle::{self, SignUpInput};
use crate::model::{AttributeType, UserStatus};
use crate::store::{ClientRecord, CodeCheck, UserRecord};
use crate::triggers::TriggerInput;

/// Why a message goes out, for the custom message trigger: its `CustomMessage_*` source, the
/// client asked through, and what the request passes on.
pub struct CodeMessage<'a> {
    pub source: &'static str,
    pub client_id: Option<&'a str>,
    pub passed: &'a TriggerInput,
    /// The username an invitation shows for `{username}`.
    pub username_shown: Option<&'a str>,
}

impl<'a> CodeMessage<'a> {
    pub fn new(
        source: &'static str,
        client: Option<&'a ClientRecord>,
        passed: &'a TriggerInput,
    ) -> Self {
        Self {
            source,
            client_id: client.map(|c| c.client_id.as_str()),
            passed,
            username_shown: None,
        }
    }
}

/// What a one-time code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Sign-up confirmation (the account's email).
    Confirm,
    /// A forgotten password.
    Reset,
    /// A signed-in user's (new) email address (`VerifyUserAttribute`).
    VerifyEmail,
    /// A signed-in user's (new) phone number.
    VerifyPhone,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Reset => "reset",
            Self::VerifyEmail => "verify_email",
            Self::VerifyPhone => "verify_phone",
        }
    }
    /// Cognito's lifetimes: a day to confirm or verify, an hour to reset.
    fn lifetime(self) -> i64 {
        match self {
            Self::Confirm | Self::VerifyEmail | Self::VerifyPhone => {
                lifecycle::CONFIRM_CODE_LIFETIME
            }
            Self::Reset => lifecycle::RESET_CODE_LIFETIME,
        }
    }
}

const CODE_MISMATCH: &str = "Invalid verification code provided, please try again.";
const NOT_FOUND: &str = "Username/client id combination not found.";
/// Cognito's refusal of a reset (or an administrator's reset) without a verified address.
pub(super) const NO_RECOVERY_ADDRESS: &str =
    "Cannot reset password for the user as there is no registered/verified email or phone_number";

/// Who a code is for: a user, or a name that matches none (counted alike).
pub(super) enum Holder<'a> {
    User(&'a UserRecord),
    Unknown(&'a str),
}

/// The holder name of unknown names' codes: no user can have it (usernames have no white
/// space, and federated ones start with their provider's name), and one row per pool and
/// purpose keeps the table bounded.
const UNKNOWN_HOLDER: &str = " unknown holder";

impl Holder<'_> {
    fn username(&self) -> &str {
        match self {
            Holder::User(u) => &u.username,
            Holder::Unknown(_) => UNKNOWN_HOLDER,
        }
    }

    fn who(&self) -> String {
        match self {
            Holder::User(u) => lockout::who_user(&u.username),
            Holder::Unknown(typed) => lockout::who_name(typed),
        }
    }

    /// The send budget of the address `to` (whichever users name it), or, without one, a key
    /// of the same shape for the holder.
    fn address_key(&self, to: Option<&Delivery>) -> String {
        let address = match (to, self) {
            (Some(to), _) => to.address(),
            (None, Holder::User(u)) => &u.username,
            (None, Holder::Unknown(typed)) => typed,
        };
        lockout::who_address(address)
    }

    /// Who a code is bound to: the holder and the address it went to, so a code sent to one
    /// address never proves another (nor the same account once the address changed).
    fn bound(&self, to: Option<&Delivery>) -> String {
        match (self, to) {
            (Holder::User(_), Some(to)) => format!("{}/{}", self.who(), to.address()),
            _ => self.who(),
        }
    }
}

impl Auth {
    fn code_hash(&self, pool_id: &str, who: &str, purpose: CodePurpose, code: &str) -> TokenHash {
        let context = format!("{pool_id}/{}/{who}", purpose.as_str());
        TokenHash::keyed(&self.code_key, &context, code.trim())
    }

    /// Counts a send of a `purpose` code to `who`, unless sends are paused for it (see
    /// [`lockout::sends_paused`]): whether it may go. Checked and counted in this holder's
    /// turn, so a burst of requests cannot all pass.
    pub(super) async fn may_send(
        &self,
        pool_id: &str,
        purpose: &str,
        who: &str,
    ) -> AuthResult<bool> {
        let key = lockout::send_key(purpose, who);
        let _turn = self.turn(pool_id, &key).await?;
        let now = self.clock.now();
        let sent = self.store.get_sign_in_failures(pool_id, &key).await?;
        if lockout::sends_paused(sent.as_ref(), now) {
            tracing::warn!(purpose, "code not sent: too many requests");
            return Ok(false);
        }
        self.store
            .record_sign_in_failure(pool_id, &key, now, lockout::SEND_WINDOW)
            .await?;
        Ok(true)
    }

    /// Makes, stores and sends a code of `purpose` to `to`, unless sends for this holder are
    /// paused (see [`lockout::sends_paused`]). Unknown names do the same counting and the same
    /// code write (under a name no user can have), so the work and the answer are the same.
    pub(super) async fn send_code(
        &self,
        view: &PoolView,
        holder: Holder<'_>,
        purpose: CodePurpose,
        to: Option<&Delivery>,
        message: CodeMessage<'_>,
    ) -> AuthResult<()> {
        let pool_id = &view.pool.id;
        if !self
            .may_send(pool_id, purpose.as_str(), &holder.who())
            .await?
        {
            return Ok(());
        }
        // The address's own budget; a holder without one is counted the same way, so an
        // unknown name costs the same work as a user.
        if !self
            .may_send(pool_id, purpose.as_str(), &holder.address_key(to))
            .await?
        {
            return Ok(());
        }
        let user = match holder {
            Holder::User(user) => Some(user),
            Holder::Unknown(_) => None,
        };
        let code = random_string(b"0123456789", 6);
        let hash = self.code_hash(pool_id, &holder.bound(to), purpose, &code);
        let expires_at = self.clock.now() + purpose.lifetime();
        self.store
            .put_user_code(
                pool_id,
                holder.username(),
                purpose.as_str(),
                &hash,
                expires_at,
            )
            .await?;
        let (Some(to), Some(user)) = (to, user) else {
            return Ok(());
        };
        let config = &view.pool.config;
        let default = |sms: bool| match (purpose, sms) {
            (CodePurpose::Reset, false) => lifecycle::reset_message(&code),
            (CodePurpose::Reset, true) => (String::new(), lifecycle::reset_sms(config, &code)),
            (_, false) => lifecycle::confirmation_message(config, &code),
            (_, true) => (String::new(), lifecycle::confirmation_sms(config, &code)),
        };
        self.deliver(view, user, to, &code, &message, default).await;
        Ok(())
    }

    /// Where this user's sign-up confirmation code goes (see [`delivery::for_confirmation`]).
    fn confirmation_delivery(&self, view: &PoolView, user: &UserRecord) -> Option<Delivery> {
        delivery::for_confirmation(&view.pool.config, user, self.mailer.sends_sms())
    }

    /// Where this user's reset code goes: the first verified address by the pool's recovery
    /// mechanisms (none without one, as Cognito: an unverified address may not be theirs).
    fn recovery_delivery(&self, view: &PoolView, user: &UserRecord) -> Option<Delivery> {
        delivery::for_recovery(&view.pool.config, user, self.mailer.sends_sms())
    }

    /// What a right code proves: the address `to` it went to is the user's. `change` is
    /// applied and the address marked verified in one write, and only while the user still
    /// holds that very address (a change racing the code verifies nothing). An alias another
    /// user signs in with is refused first (`AliasExistsException`).
    async fn prove_address(
        &self,
        view: &PoolView,
        user: &UserRecord,
        to: Option<&Delivery>,
        change: impl Fn(&mut UserRecord),
    ) -> AuthResult<UserRecord> {
        if let Some(to) = to {
            let flag = [AttributeType {
                name: to.verified_attribute().into(),
                value: "true".into(),
            }];
            self.refuse_taken_aliases(&view.pool, user, &flag).await?;
        }
        self.modify_user(&view.pool.id, &user.username, |u| {
            change(u);
            if let Some(to) = to.filter(|to| Delivery::of(u, to.attribute()).as_ref() == Some(to)) {
                lifecycle::set_attribute(u, to.verified_attribute(), "true");
            }
        })
        .await
    }

    /// Checks a code sent to `to`. Every wrong guess counts on the holder's curve and on the
    /// code itself (five, then it is dead); a right live code is accepted even while the curve
    /// is locked, so whoever guesses wrong for someone else cannot keep them from resetting.
    async fn check_code(
        &self,
        view: &PoolView,
        holder: Holder<'_>,
        (purpose, to): (CodePurpose, Option<&Delivery>),
        code: &str,
    ) -> AuthResult<()> {
        let pool_id = &view.pool.id;
        let key = lockout::code_key(purpose.as_str(), &holder.who());
        let _turn = self.turn(pool_id, &key).await?;
        let now = self.clock.now();
        let failures = self.store.get_sign_in_failures(pool_id, &key).await?;
        let hash = self.code_hash(pool_id, &holder.bound(to), purpose, code);
        let check = self
            .store
            .check_user_code(
                pool_id,
                holder.username(),
                purpose.as_str(),
                &hash,
                now,
                lifecycle::CODE_ATTEMPTS,
            )
            .await?;
        if check == CodeCheck::Valid {
            if failures.is_some() {
                self.store.clear_sign_in_failures(pool_id, &key).await?;
            }
            return Ok(());
        }
        let locked = if lockout::is_locked(failures.as_ref(), now) {
            true
        } else {
            let after = self
                .store
                .record_sign_in_failure(pool_id, &key, now, lockout::MAX_LOCK)
                .await?;
            lockout::is_locked(Some(&after), now)
        };
        // Wrong and dead codes answer alike, so the answer tells nothing about the account.
        Err(if locked {
            AuthError::new(
                ErrorKind::LimitExceeded,
                "Attempt limit exceeded, please try after some time.",
            )
        } else {
            AuthError::new(ErrorKind::CodeMismatch, CODE_MISMATCH)
        })
    }

    /// `SignUp`: a new UNCONFIRMED user with a confirmation code by email. Refused when only
    /// administrators create users.
    pub async fn sign_up(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        input: &SignUpInput<'_>,
        passed: &TriggerInput,
    ) -> AuthResult<(UserRecord, Option<Delivery>)> {
        if view.pool.config.admin_create_user_only() {
            return Err(AuthError::new(
                ErrorKind::NotAuthorized,
                "SignUp is not permitted for this user pool",
            ));
        }
        if !input.attributes.is_empty() {
            super::attributes::check_user_writes(
                client,
                input.attributes.iter().map(|a| a.name.as_str()),
            )?;
            super::admin::check_new_user(
                &view.pool.config,
                input.username.trim(),
                None,
                input.attributes,
            )?;
        }
        let now = self.clock.now();
        let mut user = lifecycle::new_user(view, input, now)
            .map_err(|e| AuthError::new(kind_of(e.kind), e.message))?;
        let pool_id = &view.pool.id;
        // An email or phone number the pool signs in with belongs to one account.
        for attr in &view.pool.config.username_attributes {
            let Some(address) = Delivery::of(&user, attr) else {
                continue;
            };
            let found = self
                .store
                .find_users_by_alias(pool_id, attr, address.address());
            if !found.await?.is_empty() {
                return Err(AuthError::new(
                    ErrorKind::UsernameExists,
                    format!("An account with the given {attr} already exists."),
                ));
            }
        }
        let exists = || AuthError::new(ErrorKind::UsernameExists, "User already exists");
        // A taken name is refused before any Argon2 work (sign-up floods cost nothing).
        if self
            .store
            .get_user(pool_id, &user.username)
            .await?
            .is_some()
        {
            return Err(exists());
        }
        // The trigger decides before anything is written: its refusal leaves no user.
        self.pre_sign_up(
            view,
            "PreSignUp_SignUp",
            &user,
            Some(&client.client_id),
            passed,
        )
        .await?
        .apply(&mut user)?;
        self.new_password(pool_id, &user.username, input.password)
            .await?
            .set_on(&mut user, now);
        if !self.store.insert_user(&user).await? {
            return Err(exists());
        }
        let signed_up = Event::new(pool_id, &user.username, EventKind::SignUp, Outcome::Pass);
        self.audit(signed_up.detail(&client.client_id));
        let mut sent_to = None;
        if user.status == UserStatus::Unconfirmed {
            let message = CodeMessage::new("CustomMessage_SignUp", Some(client), passed);
            sent_to = self.confirmation_delivery(view, &user);
            let (holder, purpose) = (Holder::User(&user), CodePurpose::Confirm);
            self.send_code(view, holder, purpose, sent_to.as_ref(), message)
                .await?;
        }
        Ok((user, sent_to))
    }

    /// `ConfirmSignUp`: a right code confirms the account and the address it went to.
    pub async fn confirm_sign_up(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        code: &str,
        passed: &TriggerInput,
    ) -> AuthResult<UserRecord> {
        let user = find_user(&*self.store, view, typed).await?;
        let user = match user {
            Some(u) if u.status == UserStatus::Unconfirmed => u,
            None if reveals_unknown_users(client) => {
                return Err(AuthError::new(ErrorKind::UserNotFound, NOT_FOUND));
            }
            // Cognito names the status; only clients that reveal accounts hear it [I].
            Some(u) if reveals_unknown_users(client) => {
                return Err(AuthError::new(
                    ErrorKind::NotAuthorized,
                    format!(
                        "User cannot be confirmed. Current status is {}",
                        u.status.as_str()
                    ),
                ));
            }
            _ => {
                let unknown = Holder::Unknown(typed);
                self.check_code(view, unknown, (CodePurpose::Confirm, None), code)
                    .await?;
                // No code is right for a name without one.
                return Err(AuthError::new(ErrorKind::CodeMismatch, CODE_MISMATCH));
            }
        };
        let to = self.confirmation_delivery(view, &user);
        let target = (CodePurpose::Confirm, to.as_ref());
        self.check_code(view, Holder::User(&user), target, code)
            .await?;
        let user = self
            .prove_address(view, &user, to.as_ref(), |u| {
                u.status = UserStatus::Confirmed
            })
            .await?;
        self.post_confirmation(
            view,
            "PostConfirmation_ConfirmSignUp",
            &user,
            Some(&client.client_id),
            passed,
        )
        .await?;
        Ok(user)
    }

    /// Managed login's confirmation: a right code confirms the account and signs the user in
    /// (the steps after a password follow, as after a sign-in).
    pub async fn confirm_and_sign_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        code: &str,
    ) -> AuthResult<Next> {
        let started_ms = self.clock.now_ms();
        let passed = TriggerInput::default();
        let user = self
            .confirm_sign_up(view, client, typed, code, &passed)
            .await?;
        // The confirmation signs the user in: as any sign-in, the trigger may refuse it.
        self.pre_authentication(view, client, Some(&user), typed, &passed)
            .await?;
        self.after_password(view, client, user, started_ms).await
    }

    /// `ResendConfirmationCode`: a new code for an unconfirmed account; the same answer for
    /// any name unless the client reveals unknown users. Returns the address it went to (for
    /// a confirmed account, the address it would go to: its answer looks like an unconfirmed
    /// one's; for a name without one, a stand-in of the pool's shape).
    pub async fn resend_confirmation(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        passed: &TriggerInput,
    ) -> AuthResult<Delivery> {
        let stand_in =
            || delivery::stand_in(&view.pool.config, typed, self.mailer.sends_sms(), false);
        let message = || CodeMessage::new("CustomMessage_ResendCode", Some(client), passed);
        match find_user(&*self.store, view, typed).await? {
            Some(u) if u.status == UserStatus::Unconfirmed => {
                let to = self.confirmation_delivery(view, &u);
                let (holder, purpose) = (Holder::User(&u), CodePurpose::Confirm);
                self.send_code(view, holder, purpose, to.as_ref(), message())
                    .await?;
                let event = Event::new(
                    &view.pool.id,
                    &u.username,
                    EventKind::ResendCode,
                    Outcome::Pass,
                );
                self.audit(event);
                Ok(to.unwrap_or_else(stand_in))
            }
            None if reveals_unknown_users(client) => {
                Err(AuthError::new(ErrorKind::UserNotFound, NOT_FOUND))
            }
            Some(_) if reveals_unknown_users(client) => Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "User is already confirmed.",
            )),
            other => {
                let (holder, purpose) = (Holder::Unknown(typed), CodePurpose::Confirm);
                self.send_code(view, holder, purpose, None, message())
                    .await?;
                let would = other.and_then(|u| self.confirmation_delivery(view, &u));
                Ok(would.unwrap_or_else(stand_in))
            }
        }
    }

    /// `GetUserAttributeVerificationCode`: a code to the user's email address, or by text
    /// message to their phone number. Returns where it went.
    pub async fn send_attribute_code(
        &self,
        view: &PoolView,
        user: &UserRecord,
        attribute: &str,
        message: CodeMessage<'_>,
    ) -> AuthResult<Delivery> {
        let purpose = verification_purpose(attribute)?;
        let to = Delivery::of(user, attribute).ok_or_else(|| {
            AuthError::new(
                ErrorKind::InvalidParameter,
                format!("The user has no {attribute} to verify."),
            )
        })?;
        if !self.can_reach(&to) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Text messages cannot be sent: no SMS provider is configured.",
            ));
        }
        self.send_code(view, Holder::User(user), purpose, Some(&to), message)
            .await?;
        Ok(to)
    }

    /// `VerifyUserAttribute`: a right code marks the email address (phone number) verified.
    pub async fn verify_attribute(
        &self,
        view: &PoolView,
        user: &UserRecord,
        attribute: &str,
        code: &str,
    ) -> AuthResult<UserRecord> {
        let purpose = verification_purpose(attribute)?;
        let Some(address) = Delivery::of(user, attribute) else {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                format!("The user has no {attribute} to verify."),
            ));
        };
        self.check_code(view, Holder::User(user), (purpose, Some(&address)), code)
            .await?;
        self.prove_address(view, user, Some(&address), |_| {}).await
    }

    /// `ForgotPassword`: a reset code for an enabled local user, to the first verified
    /// address of the pool's recovery mechanisms. Returns where it went: for a name without
    /// one, a stand-in of the pool's shape, unless the client reveals unknown users (then
    /// Cognito's refusals). Refused when only administrators reset passwords.
    pub async fn forgot_password(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        passed: &TriggerInput,
    ) -> AuthResult<Delivery> {
        if delivery::admin_only_recovery(&view.pool.config) {
            return Err(AuthError::new(
                ErrorKind::NotAuthorized,
                "Contact administrator to reset password.",
            ));
        }
        let mut user = find_user(&*self.store, view, typed).await?;
        if user.is_none() {
            user = self.migrate_for_reset(view, client, typed, passed).await?;
        }
        let user = user.filter(|u| u.enabled && u.status != UserStatus::ExternalProvider);
        let message = || CodeMessage::new("CustomMessage_ForgotPassword", Some(client), passed);
        let sms = self.mailer.sends_sms();
        let to = user.as_ref().and_then(|u| self.recovery_delivery(view, u));
        match (&user, to) {
            (Some(u), Some(to)) => {
                let (holder, purpose) = (Holder::User(u), CodePurpose::Reset);
                self.send_code(view, holder, purpose, Some(&to), message())
                    .await?;
                let kind = EventKind::ForgotPassword;
                let event = Event::new(&view.pool.id, &u.username, kind, Outcome::InProgress);
                self.audit(event);
                Ok(to)
            }
            (None, _) if reveals_unknown_users(client) => {
                Err(AuthError::new(ErrorKind::UserNotFound, NOT_FOUND))
            }
            (Some(_), None) if reveals_unknown_users(client) => Err(AuthError::new(
                ErrorKind::InvalidParameter,
                NO_RECOVERY_ADDRESS,
            )),
            // No user, or none with a verified address: the same work, nothing sent.
            _ => {
                let (holder, purpose) = (Holder::Unknown(typed), CodePurpose::Reset);
                self.send_code(view, holder, purpose, None, message())
                    .await?;
                Ok(delivery::stand_in(&view.pool.config, typed, sms, true))
            }
        }
    }

    /// `ConfirmForgotPassword`: a right code (sent to the verified address the account still
    /// has) sets the new password, confirms the account, lifts the sign-in lock, and ends every
    /// session and token of the account. The password is hashed first, for known and unknown
    /// names alike: a busy server spends no code, and the work is the same whoever is named.
    pub async fn confirm_forgot_password(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        code: &str,
        password: &str,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        check_password_policy(view, password)?;
        let user = find_user(&*self.store, view, typed)
            .await?
            .filter(|u| u.status != UserStatus::ExternalProvider);
        if user.is_none() && reveals_unknown_users(client) {
            return Err(AuthError::new(ErrorKind::UserNotFound, NOT_FOUND));
        }
        let holder = user.as_ref().map_or(typed, |u| u.username.as_str());
        let new_password = self.new_password(&view.pool.id, holder, password).await?;
        let to = user.as_ref().and_then(|u| self.recovery_delivery(view, u));
        let Some(user) = user else {
            let unknown = Holder::Unknown(typed);
            self.check_code(view, unknown, (CodePurpose::Reset, None), code)
                .await?;
            return Err(AuthError::new(ErrorKind::CodeMismatch, CODE_MISMATCH));
        };
        if let Err(e) = self
            .check_code(
                view,
                Holder::User(&user),
                (CodePurpose::Reset, to.as_ref()),
                code,
            )
            .await
        {
            let kind = EventKind::ForgotPassword;
            let event = Event::new(&view.pool.id, &user.username, kind, Outcome::Fail);
            self.audit(event.detail(e.kind.name()));
            return Err(e);
        }
        let now = self.clock.now();
        let now_ms = self.clock.now_ms();
        let pool_id = &view.pool.id;
        let user = self
            .modify_user(pool_id, &user.username, |u| {
                new_password.set_on(u, now);
                // The code reached a verified address of the user's: the account is theirs.
                u.status = UserStatus::Confirmed;
                u.tokens_valid_from_ms = Some(now_ms);
            })
            .await?;
        // Whoever had the account is out: every session and token family ends.
        self.store
            .delete_user_sessions(pool_id, &user.username)
            .await?;
        self.store
            .revoke_user_families(pool_id, &user.username, now)
            .await?;
        self.store
            .clear_sign_in_failures(pool_id, &lockout::user_key(&user.username))
            .await?;
        let kind = EventKind::ForgotPassword;
        self.audit(Event::new(pool_id, &user.username, kind, Outcome::Pass));
        let source = "PostConfirmation_ConfirmForgotPassword";
        self.post_confirmation(view, source, &user, Some(&client.client_id), passed)
            .await
    }
}

/// The code that verifies `attribute`: only email addresses and phone numbers are verified.
fn verification_purpose(attribute: &str) -> AuthResult<CodePurpose> {
    match attribute {
        "email" => Ok(CodePurpose::VerifyEmail),
        "phone_number" => Ok(CodePurpose::VerifyPhone),
        _ => Err(AuthError::new(
            ErrorKind::InvalidParameter,
            format!("{attribute} cannot be verified: only email and phone_number are."),
        )),
    }
}

/// The kind of a lifecycle refusal, by its exception name.
fn kind_of(name: &str) -> ErrorKind {
    match name {
        "InvalidPasswordException" => ErrorKind::InvalidPassword,
        _ => ErrorKind::InvalidParameter,
    }
}
