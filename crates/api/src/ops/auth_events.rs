//! The audit trail's operations: `AdminListUserAuthEvents` (newest first, in pages) and
//! `AdminUpdateAuthEventFeedback`. Beyond Cognito, the trail is kept for every pool, not only
//! those with threat protection; administrators' changes are in it too, but only
//! `userpool audit` lists them (Cognito's `EventType` has no such value).

use serde_json::{Value, json};
use userpool_core::store::AuthEventRecord;

use super::member;
use super::users::target;
use crate::{Api, ApiError};

/// Events per page when `MaxResults` is 0 or not given (the service's default).
const DEFAULT_PAGE: u32 = 60;

fn event_type(e: &AuthEventRecord) -> Value {
    let mut event = json!({
        "EventId": e.event_id,
        "EventType": e.event_type,
        "CreationDate": e.created_ms as f64 / 1000.0,
        "EventResponse": e.response,
        "ChallengeResponses": serde_json::from_str::<Value>(&e.challenges).unwrap_or(json!([])),
    });
    if let Some(ip) = &e.ip_address {
        event["EventContextData"] = json!({ "IpAddress": ip });
    }
    if let Some(value) = &e.feedback {
        event["EventFeedback"] = json!({ "FeedbackValue": value, "Provider": "Admin" });
    }
    event
}

/// A page mark: the last event's instant and ID.
fn page_mark(e: &AuthEventRecord) -> String {
    format!("{}_{}", e.created_ms, e.event_id)
}

fn parse_mark(token: &str) -> Result<(i64, String), ApiError> {
    token
        .split_once('_')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.to_string())))
        .ok_or_else(|| ApiError::invalid_parameter("Invalid pagination token"))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    let limit = member::<Option<u32>>(&input, "MaxResults")?
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE);
    let before = member::<Option<String>>(&input, "NextToken")?
        .map(|t| parse_mark(&t))
        .transpose()?;
    let mut events = api
        .store
        .list_auth_events(&view.pool.id, &user.username, before, limit + 1, false)
        .await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let mut answer = json!({ "AuthEvents": events.iter().map(event_type).collect::<Vec<_>>() });
    if more && let Some(last) = events.last() {
        answer["NextToken"] = json!(page_mark(last));
    }
    Ok(answer)
}

pub(super) async fn update_feedback(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    let event_id: String = member(&input, "EventId")?;
    let value = match member::<String>(&input, "FeedbackValue")?.as_str() {
        "Valid" => "Valid",
        "Invalid" => "Invalid",
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "1 validation error detected: Value '{other}' at 'feedbackValue' failed to satisfy constraint: Member must satisfy enum value set: [Valid, Invalid]"
            )));
        }
    };
    let found = api
        .store
        .set_auth_event_feedback(&view.pool.id, &user.username, &event_id, value)
        .await?;
    if !found {
        return Err(ApiError::not_found("Auth event not found."));
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_marks_round_trip_and_garbage_is_refused() {
        let e = AuthEventRecord {
            event_id: "0b5f-uuid".into(),
            pool_id: "p".into(),
            username: "u".into(),
            event_type: "SignIn".into(),
            response: "Fail".into(),
            challenges: r#"[{"ChallengeName":"Password","ChallengeResponse":"Failure"}]"#.into(),
            detail: "locked".into(),
            ip_address: Some("192.0.2.1".into()),
            created_ms: 1_765_000_000_123,
            expires_at: 0,
            feedback: None,
        };
        assert_eq!(
            parse_mark(&page_mark(&e)).unwrap(),
            (1_765_000_000_123, "0b5f-uuid".to_string())
        );
        assert!(parse_mark("nope").is_err());
        let v = event_type(&e);
        assert_eq!(v["CreationDate"], json!(1_765_000_000.123));
        assert_eq!(v["EventContextData"]["IpAddress"], "192.0.2.1");
        assert_eq!(v["ChallengeResponses"][0]["ChallengeResponse"], "Failure");
    }
}
