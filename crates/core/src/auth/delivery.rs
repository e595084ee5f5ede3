//! Where a code goes and how it is sent: by email or by text message, chosen by the pool's
//! rules (`AutoVerifiedAttributes` for confirmations, `AccountRecoverySetting` for resets), and
//! sent through the custom sender trigger, else the custom message trigger's text, else the
//! pool's template or Cognito's default.

use serde_json::Value;

use super::{Auth, CodeMessage};
use crate::directory::PoolView;
use crate::model::UserPoolConfig;
use crate::store::UserRecord;

/// An address a code goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Email(String),
    /// A phone number, by text message.
    Sms(String),
}

impl Delivery {
    /// The user's address `name` (`email` or `phone_number`), if they have one.
    pub fn of(user: &UserRecord, name: &str) -> Option<Self> {
        match name {
            "email" => attribute(user, "email").map(|e| Self::Email(e.to_string())),
            "phone_number" => attribute(user, "phone_number").map(|p| Self::Sms(p.to_string())),
            _ => None,
        }
    }

    /// `CodeDeliveryDetailsType.DeliveryMedium`.
    pub fn medium(&self) -> &'static str {
        match self {
            Self::Email(_) => "EMAIL",
            Self::Sms(_) => "SMS",
        }
    }

    /// The attribute the address is, and that a code sent there verifies.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Sms(_) => "phone_number",
        }
    }

    pub fn verified_attribute(&self) -> &'static str {
        match self {
            Self::Email(_) => "email_verified",
            Self::Sms(_) => "phone_number_verified",
        }
    }

    pub fn address(&self) -> &str {
        match self {
            Self::Email(a) | Self::Sms(a) => a,
        }
    }

    /// The address as Cognito shows it: `a***@e***`, or `+*******0123` (the last four digits).
    pub fn masked(&self) -> String {
        match self {
            Self::Email(address) => {
                let (local, domain) = address.split_once('@').unwrap_or((address, ""));
                let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
                format!("{}***@{}***", first(local), first(domain))
            }
            Self::Sms(phone) => {
                let digits: Vec<char> = phone.chars().collect();
                let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
                format!("+*******{last}")
            }
        }
    }
}

fn attribute<'a>(user: &'a UserRecord, name: &str) -> Option<&'a str> {
    user.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
        .filter(|v| !v.is_empty())
}

fn verified(user: &UserRecord, name: &str) -> bool {
    attribute(user, name) == Some("true")
}

/// Where a sign-up's confirmation code goes: a text to the phone when the pool verifies phone
/// numbers (`AutoVerifiedAttributes`, Cognito's choice when it verifies both) and texts can be
/// sent; else the email. A pool that verifies nothing still confirms by email code [I:
/// Cognito sends none and waits for an administrator].
pub(super) fn for_confirmation(
    config: &UserPoolConfig,
    user: &UserRecord,
    sms: bool,
) -> Option<Delivery> {
    let verifies_phone = config
        .auto_verified_attributes
        .iter()
        .any(|a| a == "phone_number");
    match (attribute(user, "phone_number"), attribute(user, "email")) {
        (Some(phone), _) if verifies_phone && sms => Some(Delivery::Sms(phone.to_string())),
        (_, Some(email)) => Some(Delivery::Email(email.to_string())),
        _ => None,
    }
}

/// The `AccountRecoverySetting` mechanisms of the pool in priority order; without the setting,
/// Cognito's legacy order: a verified phone, then a verified email.
fn recovery_mechanisms(config: &UserPoolConfig) -> Vec<String> {
    let mut listed: Vec<(i64, String)> = config
        .account_recovery_setting
        .as_ref()
        .and_then(|s| s.get("RecoveryMechanisms"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let name = m.get("Name")?.as_str()?.to_string();
            Some((m.get("Priority").and_then(Value::as_i64).unwrap_or(0), name))
        })
        .collect();
    listed.sort();
    if listed.is_empty() {
        return vec!["verified_phone_number".into(), "verified_email".into()];
    }
    listed.into_iter().map(|(_, name)| name).collect()
}

/// Whether only administrators reset passwords (`admin_only`): `ForgotPassword` is refused.
pub(super) fn admin_only_recovery(config: &UserPoolConfig) -> bool {
    recovery_mechanisms(config)
        .iter()
        .any(|m| m == "admin_only")
}

/// Where a reset code goes: the first of the pool's recovery mechanisms whose address the user
/// has verified (a phone only when texts can be sent).
pub(super) fn for_recovery(
    config: &UserPoolConfig,
    user: &UserRecord,
    sms: bool,
) -> Option<Delivery> {
    let mut mechanisms = recovery_mechanisms(config);
    if mechanisms.iter().all(|m| m == "admin_only") {
        mechanisms = vec!["verified_phone_number".into(), "verified_email".into()];
    }
    mechanisms.iter().find_map(|m| match m.as_str() {
        "verified_phone_number" if sms && verified(user, "phone_number_verified") => {
            Delivery::of(user, "phone_number")
        }
        "verified_email" if verified(user, "email_verified") => Delivery::of(user, "email"),
        _ => None,
    })
}

/// Where a code for a name without an address (an unknown name, when the client hides them)
/// would plausibly go: by text in pools that verify phone numbers (for a reset, when a verified
/// phone comes first in the recovery order), else by email; to what was typed when it is of
/// that form, else to an address made up from the name, stable for it.
pub(super) fn stand_in(config: &UserPoolConfig, typed: &str, sms: bool, reset: bool) -> Delivery {
    let typed = typed.trim();
    let verifies_phones = config
        .auto_verified_attributes
        .iter()
        .any(|a| a == "phone_number");
    let phone_first = || {
        recovery_mechanisms(config)
            .iter()
            .find(|m| m.starts_with("verified_"))
            .is_some_and(|m| m == "verified_phone_number")
    };
    let h = crate::crypto::sha256(typed.as_bytes());
    if sms && verifies_phones && (!reset || phone_first()) {
        if typed.starts_with('+') {
            return Delivery::Sms(typed.to_string());
        }
        let digits = u16::from_be_bytes([h[0], h[1]]) % 10_000;
        return Delivery::Sms(format!("+1555555{digits:04}"));
    }
    if typed.contains('@') {
        return Delivery::Email(typed.to_string());
    }
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let letter = |byte: u8| letters[usize::from(byte) % letters.len()] as char;
    let first = typed
        .chars()
        .next()
        .filter(|c| c.is_alphanumeric())
        .unwrap_or(letter(h[2]));
    let domain = letter(h[0]);
    Delivery::Email(format!("{first}@{domain}"))
}

impl Auth {
    /// Whether a code can reach `to`: email always, a phone only through an SMS provider (or
    /// the development outbox).
    pub(super) fn can_reach(&self, to: &Delivery) -> bool {
        matches!(to, Delivery::Email(_)) || self.mailer.sends_sms()
    }

    /// Sends `code` to `to`: through the custom sender trigger when the pool has one, else the
    /// custom message trigger's text, else `default(sms)` (a subject and a body). Failures reach
    /// the log only: the code is stored, and the user may ask again.
    pub(super) async fn deliver(
        &self,
        view: &PoolView,
        user: &UserRecord,
        to: &Delivery,
        code: &str,
        message: &CodeMessage<'_>,
        default: impl FnOnce(bool) -> (String, String),
    ) {
        let sms = matches!(to, Delivery::Sms(_));
        if self.custom_sender(view, user, code, message, sms).await {
            return;
        }
        let custom = self.custom_message(view, user, code, message, sms).await;
        let (subject, body) = custom.unwrap_or_else(|| default(sms));
        let sent = match to {
            Delivery::Email(address) => self.mailer.send(address, &subject, &body).await,
            Delivery::Sms(phone) => self.mailer.send_sms(phone, &body).await,
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, source = message.source, medium = to.medium(), "sending a code failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(attributes: &[(&str, &str)]) -> UserRecord {
        UserRecord::for_tests("alice", attributes)
    }

    #[test]
    fn confirmation_goes_by_text_when_the_pool_verifies_phones() {
        let mut config = UserPoolConfig::default();
        let both = user(&[("email", "a@example.com"), ("phone_number", "+15555550123")]);
        assert_eq!(
            for_confirmation(&config, &both, true),
            Some(Delivery::Email("a@example.com".into()))
        );
        config.auto_verified_attributes = vec!["email".into(), "phone_number".into()];
        assert_eq!(
            for_confirmation(&config, &both, true),
            Some(Delivery::Sms("+15555550123".into()))
        );
        // Without an SMS provider, the email.
        assert_eq!(
            for_confirmation(&config, &both, false),
            Some(Delivery::Email("a@example.com".into()))
        );
        let email_only = user(&[("email", "a@example.com")]);
        assert_eq!(
            for_confirmation(&config, &email_only, true).map(|d| d.medium()),
            Some("EMAIL")
        );
    }

    #[test]
    fn recovery_follows_the_priorities_over_verified_addresses() {
        let mut config = UserPoolConfig::default();
        let u = user(&[
            ("email", "a@example.com"),
            ("email_verified", "true"),
            ("phone_number", "+15555550123"),
            ("phone_number_verified", "true"),
        ]);
        // Legacy: the phone first.
        assert_eq!(for_recovery(&config, &u, true).unwrap().medium(), "SMS");
        assert_eq!(for_recovery(&config, &u, false).unwrap().medium(), "EMAIL");
        config.account_recovery_setting = Some(serde_json::json!({"RecoveryMechanisms": [
            {"Priority": 2, "Name": "verified_phone_number"},
            {"Priority": 1, "Name": "verified_email"},
        ]}));
        assert_eq!(for_recovery(&config, &u, true).unwrap().medium(), "EMAIL");
        let unverified = user(&[("email", "a@example.com"), ("phone_number", "+1555")]);
        assert_eq!(for_recovery(&config, &unverified, true), None);
        assert!(!admin_only_recovery(&config));
        config.account_recovery_setting = Some(serde_json::json!({"RecoveryMechanisms": [
            {"Priority": 1, "Name": "admin_only"},
        ]}));
        assert!(admin_only_recovery(&config));
    }

    #[test]
    fn unknown_names_get_a_stable_stand_in_of_the_pools_shape() {
        let mut config = UserPoolConfig::default();
        let stand_in = stand_in(&config, "nobody", true, false);
        assert_eq!(stand_in, super::stand_in(&config, "nobody", true, false));
        let shown = stand_in.masked();
        assert!(
            shown.starts_with("n***@") && shown.ends_with("***"),
            "{shown}"
        );
        config.auto_verified_attributes = vec!["phone_number".into()];
        assert_eq!(
            super::stand_in(&config, "nobody", true, false).medium(),
            "SMS"
        );
        assert_eq!(
            super::stand_in(&config, "nobody", false, false).medium(),
            "EMAIL"
        );
        assert_eq!(
            super::stand_in(&config, "+15555550123", true, true).masked(),
            "+*******0123"
        );
        config.account_recovery_setting = Some(serde_json::json!({"RecoveryMechanisms": [
            {"Priority": 1, "Name": "verified_email"},
        ]}));
        assert_eq!(
            super::stand_in(&config, "nobody", true, true).medium(),
            "EMAIL"
        );
    }

    #[test]
    fn addresses_are_masked_as_cognito_masks_them() {
        assert_eq!(
            Delivery::Email("alice@example.com".into()).masked(),
            "a***@e***"
        );
        assert_eq!(
            Delivery::Sms("+15555550123".into()).masked(),
            "+*******0123"
        );
        assert_eq!(Delivery::Sms("12".into()).masked(), "+*******12");
    }
}
