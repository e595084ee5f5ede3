//! The user lifecycle's rules (the use cases in `auth` apply them): sign-up, confirmation and reset codes,
//! new passwords, and TOTP multi-factor authentication, with Cognito's rules and exception
//! names. Delivery of messages is a port ([`Mailer`]) the binary fills.

use async_trait::async_trait;

use crate::directory::PoolView;
use crate::model::{AttributeType, MfaFactor, UserPoolConfig, UserStatus};
use crate::store::UserRecord;
use crate::time::Timestamp;

/// Confirmation codes live a day, reset codes an hour (Cognito's lifetimes).
pub const CONFIRM_CODE_LIFETIME: i64 = 86_400;
pub const RESET_CODE_LIFETIME: i64 = 3_600;
/// Wrong guesses before a code dies.
pub const CODE_ATTEMPTS: i64 = 5;
/// How long a pending sign-in step waits (the client's `AuthSessionValidity`, default 3 min).
pub fn challenge_lifetime(auth_session_validity_minutes: Option<i64>) -> i64 {
    auth_session_validity_minutes.unwrap_or(3).clamp(3, 15) * 60
}

/// A refusal, named by Cognito's exception, with a message fit for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleError {
    pub kind: &'static str,
    pub message: String,
}

impl LifecycleError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Sends a message to a user's email address or phone (or writes it to the development
/// outbox).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String>;

    /// Whether text messages reach phones (an SMS provider, or the development outbox).
    fn sends_sms(&self) -> bool {
        false
    }

    /// A text message to a phone number. Without an SMS provider it is not sent (the pool's
    /// `SmsConfiguration` is stored for one to come).
    async fn send_sms(&self, to: &str, _body: &str) -> Result<(), String> {
        let to = crate::auth::Delivery::Sms(to.to_string()).masked();
        Err(format!(
            "no SMS provider is configured: the message to {to} was not sent"
        ))
    }
}

/// The confirmation message of a pool: its `EmailVerificationSubject` / `Message` (with the
/// code in place of `{####}`), or Cognito's defaults.
pub fn confirmation_message(pool: &UserPoolConfig, code: &str) -> (String, String) {
    let template = pool
        .verification_message_template
        .as_ref()
        .and_then(|t| {
            t.get("EmailMessage")
                .and_then(|m| m.as_str())
                .map(String::from)
        })
        .or_else(|| pool.email_verification_message.clone())
        .unwrap_or_else(|| "Your verification code is {####}. ".to_string());
    let subject = pool
        .verification_message_template
        .as_ref()
        .and_then(|t| {
            t.get("EmailSubject")
                .and_then(|m| m.as_str())
                .map(String::from)
        })
        .or_else(|| pool.email_verification_subject.clone())
        .unwrap_or_else(|| "Your verification code".to_string());
    (subject, template.replace("{####}", code))
}

pub fn reset_message(code: &str) -> (String, String) {
    (
        "Your password reset code".to_string(),
        format!("Your password reset code is {code}. "),
    )
}

/// The pool's own text for verification codes: `VerificationMessageTemplate.SmsMessage`, else
/// `SmsVerificationMessage`.
fn pool_sms_template(pool: &UserPoolConfig) -> Option<String> {
    pool.verification_message_template
        .as_ref()
        .and_then(|t| t.get("SmsMessage").and_then(|m| m.as_str()))
        .map(String::from)
        .or_else(|| pool.sms_verification_message.clone())
}

/// The text message of a verification code: the pool's template, or Cognito's default.
pub fn confirmation_sms(pool: &UserPoolConfig, code: &str) -> String {
    pool_sms_template(pool)
        .unwrap_or_else(|| "Your verification code is {####}. ".to_string())
        .replace("{####}", code)
}

/// The text message of a password reset code: the pool's verification template when it has
/// one (Cognito's single SMS template), else the reset text of the email.
pub fn reset_sms(pool: &UserPoolConfig, code: &str) -> String {
    pool_sms_template(pool).map_or_else(|| reset_message(code).1, |t| t.replace("{####}", code))
}

/// What a person typed on the sign-up page.
pub struct SignUpInput<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub password: &'a str,
    /// The other attributes given (the API's `UserAttributes`), checked as `AdminCreateUser`
    /// checks them.
    pub attributes: &'a [AttributeType],
}

/// Checks a sign-up and builds the user to create (without its password hash): status
/// UNCONFIRMED, a new `sub`, named by the username, or by the `sub` in pools that sign in by
/// email or phone.
pub fn new_user(
    view: &PoolView,
    input: &SignUpInput<'_>,
    now: Timestamp,
) -> Result<UserRecord, LifecycleError> {
    let config = &view.pool.config;
    let typed = input.username.trim();
    if typed.is_empty()
        || typed.chars().any(|c| c.is_whitespace() || c.is_control())
        || typed.chars().count() > 128
    {
        return Err(LifecycleError::new(
            "InvalidParameterException",
            "Username must be 1–128 characters without spaces.",
        ));
    }
    if view.identity_providers.keys().any(|p| {
        typed
            .to_lowercase()
            .starts_with(&format!("{}_", p.to_lowercase()))
    }) {
        // The names of federated users: a local account must not pre-empt one.
        return Err(LifecycleError::new(
            "InvalidParameterException",
            "This username is not available.",
        ));
    }
    if !config.alias_attributes.is_empty() && (typed.contains('@') || typed.starts_with('+')) {
        // In alias pools a username shaped like an email or phone would shadow someone's alias.
        return Err(LifecycleError::new(
            "InvalidParameterException",
            "Username should be neither an email nor a phone number.",
        ));
    }
    config
        .policies
        .password_policy
        .check(input.password)
        .map_err(|m| LifecycleError::new("InvalidPasswordException", m))?;
    let sub = crate::oauth::grant::new_uuid();
    let mut attributes: Vec<AttributeType> = input
        .attributes
        .iter()
        .filter(|a| a.name != "email")
        .cloned()
        .collect();
    let given_email = input.attributes.iter().find(|a| a.name == "email");
    let email = input
        .email
        .or(given_email.map(|a| a.value.as_str()))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let by_email = config.username_attributes.iter().any(|a| a == "email");
    let (username, email) = if by_email {
        if !looks_like_email(typed) {
            return Err(LifecycleError::new(
                "InvalidParameterException",
                "Enter a valid email address.",
            ));
        }
        (sub.clone(), Some(typed.to_string()))
    } else {
        let name = if config.case_sensitive() {
            typed.to_string()
        } else {
            typed.to_lowercase()
        };
        (name, email.map(String::from))
    };
    if let Some(e) = &email {
        if !looks_like_email(e) {
            return Err(LifecycleError::new(
                "InvalidParameterException",
                "Enter a valid email address.",
            ));
        }
        attributes.push(AttributeType {
            name: "email".into(),
            value: e.clone(),
        });
    }
    for required in config.required_attributes() {
        if !attributes.iter().any(|a| a.name == required) {
            return Err(LifecycleError::new(
                "InvalidParameterException",
                format!("{required}: The attribute is required"),
            ));
        }
    }
    Ok(UserRecord::new(
        &view.pool.id,
        username,
        sub,
        UserStatus::Unconfirmed,
        attributes,
        now,
    ))
}

/// A bare address `local@domain.tld`: one `@`, a dotted domain, and none of the characters of
/// display names, groups or quoting (a mailer must never read `Bob <x@evil.test>` out of it).
pub fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        }
        None => false,
    }
}

/// A phone number as Cognito takes it (E.164): a `+`, then the country code and number, 15
/// digits at most, nothing else.
pub fn looks_like_phone(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (4..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The user's email, if they have one.
pub fn email_of(user: &UserRecord) -> Option<&str> {
    user.attributes
        .iter()
        .find(|a| a.name == "email")
        .map(|a| a.value.as_str())
}

/// Sets an attribute, replacing an earlier value.
pub fn set_attribute(user: &mut UserRecord, name: &str, value: &str) {
    match user.attributes.iter_mut().find(|a| a.name == name) {
        Some(a) => a.value = value.to_string(),
        None => user.attributes.push(AttributeType {
            name: name.to_string(),
            value: value.to_string(),
        }),
    }
}

/// What the pool asks of this user after the password: nothing, a code of one factor, a
/// choice between factors, or setting TOTP up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaStep {
    None,
    Setup,
    Verify(MfaFactor),
    Select(Vec<MfaFactor>),
}

/// Whether `user` can receive or make codes of `factor`: a TOTP secret set up, an email
/// address, a phone number.
pub fn can_use(user: &UserRecord, factor: MfaFactor) -> bool {
    let has = |name: &str| {
        user.attributes
            .iter()
            .any(|a| a.name == name && !a.value.is_empty())
    };
    match factor {
        MfaFactor::SoftwareToken => user.totp_secret.is_some(),
        MfaFactor::Email => has("email"),
        MfaFactor::Sms => has("phone_number"),
    }
}

/// `MfaConfiguration` OFF: never. Otherwise the factors the user turned on that the pool
/// offers (SMS only where `sms_delivered`): the preferred one, the only one, or a choice between them. With none: OPTIONAL asks
/// nothing; ON asks for a TOTP code if one is set up (even turned off), else a code by email
/// or SMS where the pool offers it and the user has the address, else to set TOTP up.
pub fn mfa_step(pool: &UserPoolConfig, user: &UserRecord, sms_delivered: bool) -> MfaStep {
    let mut offered = pool.offered_mfa_factors();
    // SMS is offered only where text messages reach phones.
    offered.retain(|f| sms_delivered || *f != MfaFactor::Sms);
    if offered.is_empty() {
        return MfaStep::None;
    }
    let usable = |f: &MfaFactor| offered.contains(f) && can_use(user, *f);
    let preference = user.mfa();
    let enabled: Vec<MfaFactor> = preference.enabled.iter().copied().filter(usable).collect();
    if let Some(p) = preference.preferred.filter(|p| enabled.contains(p)) {
        return MfaStep::Verify(p);
    }
    match enabled.as_slice() {
        [one] => return MfaStep::Verify(*one),
        [_, _, ..] => return MfaStep::Select(enabled),
        [] => {}
    }
    if pool.mfa_configuration != crate::model::MfaConfiguration::On {
        return MfaStep::None;
    }
    [MfaFactor::SoftwareToken, MfaFactor::Email, MfaFactor::Sms]
        .into_iter()
        .find(usable)
        .map_or(MfaStep::Setup, MfaStep::Verify)
}

/// The message carrying an MFA code: the pool's `EmailMfaConfiguration` (`Subject`,
/// `Message`) or `SmsAuthenticationMessage`, with the code for `{####}`, or Cognito's defaults.
pub fn mfa_code_message(pool: &UserPoolConfig, factor: MfaFactor, code: &str) -> (String, String) {
    let setting = |config: &Option<serde_json::Value>, name: &str| {
        config
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let (subject, body) = match factor {
        MfaFactor::Email => (
            setting(&pool.email_mfa_configuration, "Subject"),
            setting(&pool.email_mfa_configuration, "Message"),
        ),
        _ => (
            None,
            setting(&pool.sms_mfa_configuration, "SmsAuthenticationMessage")
                .or_else(|| pool.sms_authentication_message.clone()),
        ),
    };
    (
        subject.unwrap_or_else(|| "Your sign-in code".to_string()),
        body.unwrap_or_else(|| "Your authentication code is {####}. ".to_string())
            .replace("{####}", code),
    )
}

/// TOTP (RFC 6238: SHA-1, six digits, 30-second steps, one step of skew), as authenticator apps
/// expect.
pub mod totp {
    use totp_rs::{Algorithm, Builder, Totp};

    use crate::crypto::random_bytes;
    use crate::keys::MasterKey;

    pub fn new_secret() -> Vec<u8> {
        let mut s = vec![0u8; 20];
        random_bytes(&mut s);
        s
    }

    fn totp(secret: &[u8]) -> Option<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_secret(secret.to_vec())
            .build()
            .ok()
    }

    /// The time step of the window in which `code` is right for `secret` at `now` (± one
    /// step), if it is right.
    pub fn verify(secret: &[u8], code: &str, now: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let t = totp(secret)?;
        let step = now.max(0) / 30;
        (step - 1..=step + 1).find(|s| {
            let expected = t.generate((*s * 30).max(0) as u64).to_string();
            aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes())
                .is_ok()
        })
    }

    /// The current code (for tests and tools).
    pub fn current(secret: &[u8], now: i64) -> String {
        totp(secret)
            .map(|t| t.generate(now.max(0) as u64).to_string())
            .unwrap_or_default()
    }

    /// The secret as authenticator apps take it (base32, no padding).
    pub fn base32(secret: &[u8]) -> String {
        totp_rs::Secret::from(secret.to_vec()).to_base32()
    }

    /// A base32 secret as an authenticator app holds it, decoded.
    pub fn from_base32(text: &str) -> Option<Vec<u8>> {
        totp_rs::Secret::try_from_base32(text.trim())
            .ok()
            .map(|s| s.as_bytes().to_vec())
    }

    /// The `otpauth://` URI an authenticator app scans.
    pub fn uri(issuer: &str, account: &str, secret: &[u8]) -> String {
        let enc = |s: &str| {
            form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            enc(issuer),
            enc(account),
            base32(secret),
            enc(issuer)
        )
    }

    fn context(pool: &str, username: &str) -> String {
        format!("userpool totp/{pool}/{username}")
    }

    /// Seals a secret for storage (see [`MasterKey::seal_text`]).
    pub fn seal(master: &MasterKey, pool: &str, username: &str, secret: &[u8]) -> String {
        master.seal_text(secret, &context(pool, username))
    }

    pub fn open(master: &MasterKey, pool: &str, username: &str, stored: &str) -> Option<Vec<u8>> {
        master.open_text(stored, &context(pool, username))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rfc6238_sha1_vector_and_base32() {
            let secret = b"12345678901234567890";
            // RFC 6238 appendix B, T = 59: 94287082 (eight digits); six digits: 287082.
            assert_eq!(current(secret, 59), "287082");
            assert_eq!(verify(secret, "287082", 59), Some(1));
            assert_eq!(
                verify(secret, "287082", 59 + 30),
                Some(1),
                "one step of skew"
            );
            assert_eq!(verify(secret, "287082", 59 + 90), None);
            assert_eq!(verify(secret, "28708", 59), None);
            assert_eq!(
                base32(b"12345678901234567890"),
                "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            );
            let m = MasterKey::from_bytes(&[3u8; 32]);
            let stored = seal(&m, "p_1", "u", secret);
            assert_eq!(open(&m, "p_1", "u", &stored).unwrap(), secret);
            assert!(open(&m, "p_1", "other", &stored).is_none());
        }
    }
}

#[cfg(test)]
mod step_tests {
    use super::totp;

    #[test]
    fn the_next_windows_code_verifies_as_the_next_step() {
        let secret = totp::new_secret();
        let now = 1_800_000_015;
        let next = totp::current(&secret, now + 30);
        assert_eq!(totp::verify(&secret, &next, now), Some(now / 30 + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_phone;

    #[test]
    fn phone_numbers_are_e164() {
        for good in ["+15555550123", "+4930123456", "+8823912345678"] {
            assert!(looks_like_phone(good), "{good}");
        }
        for bad in [
            "15555550123",
            "+1 (555) 000-1234",
            "+0123456",
            "+123",
            "+1234567890123456",
            "+1555\n5550123",
            "",
        ] {
            assert!(!looks_like_phone(bad), "{bad:?}");
        }
    }
}
