//! The audit trail: each user's authentication events (sign-ins and their failures, lockouts,
//! sign-ups, password changes, code requests, administrators' changes), written where the use
//! cases decide them, kept for the operator's retention, and read as Cognito's
//! `AdminListUserAuthEvents`.

use serde_json::json;

use super::Auth;
use crate::store::AuthEventRecord;

tokio::task_local! {
    /// The client address of the request being served, set by the front door for the whole
    /// request, so events carry it without every use case taking it.
    pub static CLIENT_IP: Option<std::net::IpAddr>;
}

/// The client address of the request being served, if a front door set one.
pub fn client_ip() -> Option<std::net::IpAddr> {
    CLIENT_IP.try_with(|ip| *ip).ok().flatten()
}

/// The default retention of events: 90 days [I] (`--audit-retention-days`).
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// Cognito's `EventType`, and ours for administrators' changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignIn,
    SignUp,
    ForgotPassword,
    PasswordChange,
    ResendCode,
    /// An administrator's change to the user (the API's signed `Admin*` operations) [I].
    Admin,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "SignIn",
            Self::SignUp => "SignUp",
            Self::ForgotPassword => "ForgotPassword",
            Self::PasswordChange => "PasswordChange",
            Self::ResendCode => "ResendCode",
            Self::Admin => "Admin",
        }
    }
}

/// Cognito's `EventResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    InProgress,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "Pass",
            Self::Fail => "Fail",
            Self::InProgress => "InProgress",
        }
    }
}

/// A challenge of the event and whether it was met (Cognito's `ChallengeResponses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    Password(bool),
    Mfa(bool),
    /// A passkey's assertion (beyond Cognito's two names).
    Passkey(bool),
    /// A one-time code by email or SMS as the first factor.
    Code(bool),
}

/// One event to record.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub pool_id: &'a str,
    pub username: &'a str,
    pub kind: EventKind,
    pub outcome: Outcome,
    pub challenges: &'a [Challenge],
    /// `locked`, the administrator's operation, the outside provider, …; may be empty.
    pub detail: &'a str,
}

impl<'a> Event<'a> {
    pub fn new(pool_id: &'a str, username: &'a str, kind: EventKind, outcome: Outcome) -> Self {
        Self {
            pool_id,
            username,
            kind,
            outcome,
            challenges: &[],
            detail: "",
        }
    }

    pub fn challenges(self, challenges: &'a [Challenge]) -> Self {
        Self { challenges, ..self }
    }

    pub fn detail(self, detail: &'a str) -> Self {
        Self { detail, ..self }
    }
}

fn challenges_json(challenges: &[Challenge]) -> String {
    let list: Vec<_> = challenges
        .iter()
        .map(|c| {
            let (name, met) = match c {
                Challenge::Password(m) => ("Password", m),
                Challenge::Mfa(m) => ("Mfa", m),
                Challenge::Passkey(m) => ("Passkey", m),
                Challenge::Code(m) => ("Code", m),
            };
            let response = if *met { "Success" } else { "Failure" };
            json!({"ChallengeName": name, "ChallengeResponse": response})
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

impl Auth {
    /// Records an event, written in the background: the answer's time must not tell whether
    /// an event was written (events are written for existing users only, so a write on the
    /// request's path would tell who exists), and a failure to write is logged, never the
    /// caller's failure: the trail must not stop sign-ins.
    pub fn audit(&self, event: Event<'_>) {
        let now_ms = self.clock.now_ms();
        let record = AuthEventRecord {
            event_id: uuid::Uuid::new_v4().to_string(),
            pool_id: event.pool_id.to_string(),
            username: event.username.to_string(),
            event_type: event.kind.as_str().to_string(),
            response: event.outcome.as_str().to_string(),
            challenges: challenges_json(event.challenges),
            detail: event.detail.to_string(),
            ip_address: client_ip().map(|ip| ip.to_string()),
            created_ms: now_ms,
            expires_at: now_ms / 1000 + self.audit_retention_secs,
            feedback: None,
        };
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.record_auth_event(&record).await {
                tracing::error!(error = %e, kind = %record.event_type, "recording an auth event failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_written_as_cognito_names_them() {
        assert_eq!(
            challenges_json(&[Challenge::Password(true), Challenge::Mfa(false)]),
            r#"[{"ChallengeName":"Password","ChallengeResponse":"Success"},{"ChallengeName":"Mfa","ChallengeResponse":"Failure"}]"#
        );
        assert_eq!(challenges_json(&[]), "[]");
    }
}
