//! Lambda triggers: the function a pool's `LambdaConfig` names for each trigger, the event
//! Cognito sends it (the common fields, the user's attributes), the call through the
//! [`Invoker`] port, and the three ways a call fails, in Cognito's words. What each answer
//! changes is decided by the use case that asked (see `docs/design/0008-triggers.md`).

pub mod sealed_code;
mod tokens;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

pub use tokens::{TokenChanges, TokenSource};

use crate::auth::{AuthError, AuthResult, ErrorKind};
use crate::directory::PoolView;
use crate::model::Problems;
use crate::store::UserRecord;

/// A user pool trigger, by its `LambdaConfig` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    PreSignUp,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    CustomMessage,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
    UserMigration,
    CustomEmailSender,
    CustomSmsSender,
}

impl Trigger {
    /// The name Cognito's errors give it, which is also its `LambdaConfig` member.
    pub fn name(self) -> &'static str {
        match self {
            Self::PreSignUp => "PreSignUp",
            Self::PostConfirmation => "PostConfirmation",
            Self::PreAuthentication => "PreAuthentication",
            Self::PostAuthentication => "PostAuthentication",
            Self::PreTokenGeneration => "PreTokenGeneration",
            Self::CustomMessage => "CustomMessage",
            Self::DefineAuthChallenge => "DefineAuthChallenge",
            Self::CreateAuthChallenge => "CreateAuthChallenge",
            Self::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse",
            Self::UserMigration => "UserMigration",
            Self::CustomEmailSender => "CustomEmailSender",
            Self::CustomSmsSender => "CustomSMSSender",
        }
    }

    const ALL: [Trigger; 12] = [
        Self::PreSignUp,
        Self::PostConfirmation,
        Self::PreAuthentication,
        Self::PostAuthentication,
        Self::PreTokenGeneration,
        Self::CustomMessage,
        Self::DefineAuthChallenge,
        Self::CreateAuthChallenge,
        Self::VerifyAuthChallengeResponse,
        Self::UserMigration,
        Self::CustomEmailSender,
        Self::CustomSmsSender,
    ];
}

/// Where a trigger's function is: an AWS Lambda function by ARN (called through the Lambda
/// `Invoke` API), or, beyond Cognito, a webhook URL that takes the same event and answers the
/// same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Lambda { arn: String, region: String },
    Webhook { url: String },
}

impl Target {
    /// An ARN `arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}]`, an
    /// `https://` URL, or an `http://` URL of a loopback host.
    pub fn parse(value: &str) -> Result<Target, String> {
        if let Some(rest) = value.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let name_ok = |s: &&str| {
                (1..=128).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_$".contains(&b))
            };
            let ok = parts.len() >= 6
                && parts.len() <= 7
                && !parts[0].is_empty()
                && parts[0]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-')
                && parts[1] == "lambda"
                && is_region(parts[2])
                && parts[5..].iter().all(name_ok)
                && parts[3].len() == 12
                && parts[3].bytes().all(|b| b.is_ascii_digit())
                && parts[4] == "function"
                && !parts[5].is_empty();
            return if ok {
                Ok(Target::Lambda {
                    arn: value.to_string(),
                    region: parts[2].to_string(),
                })
            } else {
                Err(format!("'{value}' is not the ARN of a Lambda function"))
            };
        }
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| format!("'{value}' is neither a Lambda function ARN nor a URL"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // No user info, and no character URL parsers read differently from us.
        if host.contains('@')
            || value
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
        {
            return Err(format!("'{value}' is not a plain URL"));
        }
        let hostname = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        match scheme {
            "https" if !hostname.is_empty() => Ok(Target::Webhook {
                url: value.to_string(),
            }),
            "http" if is_loopback(hostname) => Ok(Target::Webhook {
                url: value.to_string(),
            }),
            "http" => Err(format!(
                "'{value}': a webhook must be https (http only on a loopback host)"
            )),
            _ => Err(format!("'{value}' is not an https URL")),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A region's shape (`us-east-1`, `us-gov-west-1`): it names the host a call is signed for and
/// sent to, so nothing else may pass.
fn is_region(r: &str) -> bool {
    let words: Vec<&str> = r.split('-').collect();
    let lower = |w: &&str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
    words.len() >= 3
        && words[0].len() == 2
        && words[..words.len() - 1].iter().all(lower)
        && words[words.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !words[words.len() - 1].is_empty()
}

/// The members of `LambdaConfig` that name functions, where they sit.
fn config_targets(config: &Value) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let Some(members) = config.as_object() else {
        return out;
    };
    for (name, value) in members {
        match value {
            Value::String(s) if name != "KMSKeyID" => out.push((name.clone(), s.as_str())),
            Value::Object(inner) => {
                if let Some(Value::String(s)) = inner.get("LambdaArn") {
                    out.push((format!("{name}.LambdaArn"), s.as_str()));
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks a pool's `LambdaConfig`: each function is a Lambda ARN or a webhook URL, and a
/// pre-token-generation version is one Cognito has.
pub fn check_config(config: &Value, p: &mut Problems) {
    for (field, value) in config_targets(config) {
        if let Err(message) = Target::parse(value) {
            p.add(&field, message);
        }
    }
    for (member, versions) in [
        ("PreTokenGenerationConfig", &["V1_0", "V2_0", "V3_0"][..]),
        ("CustomEmailSender", &["V1_0"][..]),
        ("CustomSMSSender", &["V1_0"][..]),
    ] {
        if let Some(version) = config
            .get(member)
            .and_then(|c| c.get("LambdaVersion"))
            .and_then(Value::as_str)
        {
            p.check(
                versions.contains(&version),
                &format!("{member}.LambdaVersion"),
                format!("'{version}' is not one of {}", versions.join(", ")),
            );
        }
    }
}

/// A pool's triggers, read once per directory refresh.
#[derive(Debug, Clone, Default)]
pub struct TriggerTable {
    targets: Vec<(Trigger, Target)>,
    /// The pre-token-generation event version: 1, 2 or 3.
    token_version: u8,
    /// `KMSKeyID`: names the key that seals codes for the custom sender triggers.
    code_key_id: Option<String>,
    /// Triggers whose function does not parse (stored before targets were checked): they
    /// fail every call rather than be skipped, so a gate such as pre sign-up never opens.
    broken: Vec<Trigger>,
}

impl TriggerTable {
    /// The table of a pool's `LambdaConfig`; members that do not parse are left out (they
    /// cannot have been stored: [`check_config`] runs on every write).
    pub fn of(config: Option<&Value>) -> Self {
        let mut table = TriggerTable::default();
        let Some(config) = config else {
            return table;
        };
        table.code_key_id = config
            .get("KMSKeyID")
            .and_then(Value::as_str)
            .map(String::from);
        for trigger in Trigger::ALL {
            let (value, version) = match trigger {
                Trigger::PreTokenGeneration => match config.get("PreTokenGenerationConfig") {
                    Some(c) => (
                        c.get("LambdaArn"),
                        match c.get("LambdaVersion").and_then(Value::as_str) {
                            Some("V2_0") => 2,
                            Some("V3_0") => 3,
                            _ => 1,
                        },
                    ),
                    None => (config.get("PreTokenGeneration"), 1),
                },
                Trigger::CustomEmailSender | Trigger::CustomSmsSender => (
                    config.get(trigger.name()).and_then(|c| c.get("LambdaArn")),
                    1,
                ),
                t => (config.get(t.name()), 1),
            };
            let Some(value) = value.filter(|v| !v.is_null()) else {
                continue;
            };
            match value.as_str().map(Target::parse) {
                Some(Ok(target)) => {
                    if trigger == Trigger::PreTokenGeneration {
                        table.token_version = version;
                    }
                    table.targets.push((trigger, target));
                }
                _ => {
                    tracing::error!(
                        trigger = trigger.name(),
                        "the pool's trigger names no function this server can call"
                    );
                    table.broken.push(trigger);
                }
            }
        }
        table
    }

    pub fn target(&self, trigger: Trigger) -> Option<&Target> {
        self.targets
            .iter()
            .find(|(t, _)| *t == trigger)
            .map(|(_, target)| target)
    }

    pub fn has(&self, trigger: Trigger) -> bool {
        self.target(trigger).is_some() || self.broken.contains(&trigger)
    }

    /// The pool's `KMSKeyID`: the name of the operator's key that seals codes.
    pub fn code_key_id(&self) -> Option<&str> {
        self.code_key_id.as_deref()
    }

    /// The pre-token-generation event version (1 when the trigger is absent).
    pub fn token_version(&self) -> u8 {
        self.token_version.max(1)
    }
}

/// Why a call brought no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and raised an error: its message.
    Raised(String),
    /// The function could not be called, or did not answer in time: the error's name.
    Failed(String),
}

/// Calls a trigger's function with an event and returns its answer (the event with its
/// `response` filled in), within Cognito's five seconds.
#[async_trait]
pub trait Invoker: Send + Sync {
    async fn invoke(&self, target: &Target, event: Vec<u8>) -> Result<Vec<u8>, InvokeError>;
}

/// Cognito's time limit on a trigger call.
pub const TRIGGER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// For servers with no way to call functions: every call fails.
pub struct NoInvoker;

#[async_trait]
impl Invoker for NoInvoker {
    async fn invoke(&self, _: &Target, _: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        Err(InvokeError::Failed("ServiceException".into()))
    }
}

/// What a trigger call is about, beyond its request: who, from which client, from where.
pub struct Call<'a> {
    pub view: &'a PoolView,
    pub trigger: Trigger,
    pub source: &'a str,
    pub user_name: &'a str,
    pub client_id: Option<&'a str>,
}

/// What a request passes on to its triggers: `ClientMetadata`, and `ValidationData` (sign-up,
/// sign-in); the pages pass none.
#[derive(Debug, Clone, Default)]
pub struct TriggerInput {
    pub client_metadata: Option<Map<String, Value>>,
    pub validation_data: Option<Map<String, Value>>,
}

impl TriggerInput {
    /// Adds `clientMetadata` (and, where the trigger takes it, `validationData`) to a request.
    pub fn add_to(&self, request: &mut Value, with_validation: bool) {
        if let Some(m) = &self.client_metadata {
            request["clientMetadata"] = Value::Object(m.clone());
        }
        if with_validation {
            request["validationData"] = self
                .validation_data
                .clone()
                .map_or(Value::Null, Value::Object);
        }
    }
}

/// Runs a pool's triggers through the invoker.
pub struct Triggers {
    invoker: Arc<dyn Invoker>,
    /// The operator's key that seals codes for the custom sender triggers.
    code_key: Option<[u8; 32]>,
}

/// The namespace of the key that seals codes (the ESDK raw AES keyring's `keyNamespace`; its
/// `keyName` is the pool's `KMSKeyID`).
pub const CODE_KEY_NAMESPACE: &str = "userpool";

impl Triggers {
    pub fn new(invoker: Arc<dyn Invoker>, code_key: Option<[u8; 32]>) -> Self {
        Self { invoker, code_key }
    }

    /// A code sealed for a pool's custom sender (see [`sealed_code`]); none without the
    /// operator's key.
    pub fn seal_code(&self, view: &PoolView, code: &str) -> Option<String> {
        let key = self.code_key?;
        let name = view.triggers.code_key_id().unwrap_or("userpool-code-key");
        let key = sealed_code::CodeKey::new(key, CODE_KEY_NAMESPACE, name);
        Some(sealed_code::seal_code(
            &key,
            code,
            &[("userpool-id", &view.pool.id)],
        ))
    }

    /// Calls the trigger, if the pool has one, with `request` and the `response` members
    /// Cognito starts from; returns the answer's `response` object.
    pub async fn run(
        &self,
        call: &Call<'_>,
        request: Value,
        response: Value,
    ) -> AuthResult<Option<Map<String, Value>>> {
        let name = call.trigger.name();
        let Some(target) = call.view.triggers.target(call.trigger) else {
            if call.view.triggers.broken.contains(&call.trigger) {
                return Err(unexpected(name, "ResourceNotFoundException"));
            }
            return Ok(None);
        };
        let version = match call.trigger {
            Trigger::PreTokenGeneration => call.view.triggers.token_version(),
            _ => 1,
        };
        let event = json!({
            "version": version.to_string(),
            "triggerSource": call.source,
            "region": call.view.region,
            "userPoolId": call.view.pool.id,
            "userName": call.user_name,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": call.client_id.unwrap_or("CLIENT_ID_NOT_APPLICABLE"),
            },
            "request": request,
            "response": response,
        });
        let body = serde_json::to_vec(&event).expect("events serialize");
        let started = std::time::Instant::now();
        let answer = self.invoker.invoke(target, body).await;
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(InvokeError::Raised(_)) => "refused",
            Err(InvokeError::Failed(_)) => "failed",
        };
        crate::metrics::METRICS
            .triggers
            .get_or_create(&vec![
                ("trigger", name.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!(
            trigger = name,
            source = call.source,
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = answer.is_ok(),
            "trigger called"
        );
        let answer = match answer {
            Ok(bytes) => bytes,
            Err(InvokeError::Raised(message)) => {
                return Err(AuthError::new(
                    ErrorKind::UserLambdaValidation,
                    format!("{name} failed with error {message}."),
                ));
            }
            Err(InvokeError::Failed(kind)) => {
                tracing::warn!(trigger = name, error = %kind, "trigger call failed");
                return Err(unexpected(name, &kind));
            }
        };
        // `null` is what a handler that returned nothing answers.
        let event = match serde_json::from_slice::<Value>(&answer) {
            Ok(Value::Null) | Err(_) => {
                tracing::warn!(trigger = name, "trigger answered no JSON");
                return Err(AuthError::new(
                    ErrorKind::InvalidLambdaResponse,
                    "Invalid lambda function output : Invalid JSON",
                ));
            }
            Ok(v) => v,
        };
        let response = match event {
            Value::Object(mut event) => match event.remove("response") {
                Some(Value::Object(r)) => Some(r),
                Some(Value::Null) | None => Some(Map::new()),
                Some(_) => None,
            },
            _ => None,
        };
        response.map(Some).ok_or_else(|| {
            tracing::warn!(
                trigger = name,
                "trigger answered something that is not an event"
            );
            invalid_response()
        })
    }
}

fn unexpected(name: &str, kind: &str) -> AuthError {
    AuthError::new(
        ErrorKind::UnexpectedLambda,
        format!("{name} invocation failed due to error {kind}."),
    )
}

/// A trigger's answer that does not say what Cognito expects.
pub fn invalid_response() -> AuthError {
    AuthError::new(
        ErrorKind::InvalidLambdaResponse,
        "Unrecognizable lambda output",
    )
}

/// `request.userAttributes`: every attribute as a string, with `sub` and the account's status
/// (`cognito:user_status`), as Cognito sends them.
pub fn user_attributes(user: &UserRecord) -> Value {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.sub));
    for a in &user.attributes {
        m.insert(a.name.clone(), json!(a.value));
    }
    m.insert("cognito:user_status".into(), json!(user.status.as_str()));
    Value::Object(m)
}

/// A string-to-string map of an answer member (`claimsToAddOrOverride`, `userAttributes`),
/// or of `ClientMetadata`/`ValidationData`.
pub fn string_map(value: Option<&Value>) -> Option<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Some(Map::new()),
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => None,
    }
}

/// A boolean member of an answer: absent and null are false; anything else but a boolean is
/// an answer Cognito does not recognize.
pub fn flag(response: &Map<String, Value>, name: &str) -> AuthResult<bool> {
    match response.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_lambda_arns_or_webhooks() {
        assert_eq!(
            Target::parse("arn:aws:lambda:eu-west-1:123456789012:function:pre").unwrap(),
            Target::Lambda {
                arn: "arn:aws:lambda:eu-west-1:123456789012:function:pre".into(),
                region: "eu-west-1".into()
            }
        );
        assert!(Target::parse("arn:aws:lambda:eu-west-1:123456789012:function:pre:live").is_ok());
        assert!(Target::parse("arn:aws:sns:eu-west-1:123456789012:function:x").is_err());
        assert!(Target::parse("arn:aws:lambda:eu-west-1:1234:function:x").is_err());
        assert!(Target::parse("https://hooks.example.com/cognito").is_ok());
        assert!(Target::parse("http://127.0.0.1:9000/hook").is_ok());
        assert!(Target::parse("http://[::1]:9000/hook").is_ok());
        assert!(Target::parse("http://hooks.example.com/hook").is_err());
        assert!(Target::parse("http://127.0.0.1@evil.example/hook").is_err());
        assert!(Target::parse("http://127.0.0.1.nip.io/hook").is_err());
        assert!(Target::parse("http://evil.example\\@127.0.0.1/hook").is_err());
        assert!(Target::parse("arn:aws:lambda:x@evil.example:123456789012:function:f").is_err());
        assert!(Target::parse("arn:aws:lambda:evil.example#:123456789012:function:f").is_err());
        assert!(Target::parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:f").is_ok());
        assert!(Target::parse("ftp://hooks.example.com").is_err());
    }

    #[test]
    fn the_table_reads_every_trigger_and_the_token_version() {
        let config = json!({
            "PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:a",
            "PreTokenGeneration": "arn:aws:lambda:us-east-1:123456789012:function:old",
            "PreTokenGenerationConfig": {
                "LambdaVersion": "V2_0",
                "LambdaArn": "https://hooks.example.com/tokens"
            },
            "KMSKeyID": "arn:aws:kms:us-east-1:123456789012:key/x"
        });
        let table = TriggerTable::of(Some(&config));
        assert!(table.has(Trigger::PreSignUp));
        assert!(!table.has(Trigger::PostConfirmation));
        // A function stored before targets were checked fails closed, never skipped.
        let old = TriggerTable::of(Some(&json!({"PreSignUp": "http://example.com/open"})));
        assert!(old.has(Trigger::PreSignUp) && old.target(Trigger::PreSignUp).is_none());
        assert_eq!(table.token_version(), 2);
        assert_eq!(
            table.target(Trigger::PreTokenGeneration),
            Some(&Target::Webhook {
                url: "https://hooks.example.com/tokens".into()
            })
        );
        let mut p = Problems::new("LambdaConfig");
        check_config(&config, &mut p);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let bad = json!({"PreSignUp": "http://example.com/x", "PreTokenGenerationConfig": {"LambdaVersion": "V9", "LambdaArn": "https://a.example"}});
        let mut p = Problems::new("LambdaConfig");
        check_config(&bad, &mut p);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
    }
}
