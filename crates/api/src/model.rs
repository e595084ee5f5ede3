//! The service model of Cognito's API (its operations and shapes, without documentation),
//! embedded in the binary: which operations exist and which need SigV4, the checks of each
//! input against its shape as the service makes them, and the projection of each output onto
//! its shape, so nothing Cognito would not send leaves the server.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ApiError;

/// The model file: the botocore service model of `cognito-idp` (API version 2016-04-18) with
/// its documentation removed.
const MODEL_JSON: &str = include_str!("../model/cognito-idp.json");

#[derive(Debug, Deserialize)]
struct ModelFile {
    operations: HashMap<String, OperationFile>,
    shapes: HashMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
struct OperationFile {
    input: Option<String>,
    output: Option<String>,
    #[serde(default)]
    unsigned: bool,
}

/// One shape of the model, with the constraints the service checks.
#[derive(Debug, Deserialize)]
struct Shape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    members: HashMap<String, MemberRef>,
    member: Option<MemberRef>,
    key: Option<MemberRef>,
    value: Option<MemberRef>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(rename = "enum")]
    values: Option<Vec<String>>,
    /// Values of this shape are secrets (passwords, client secrets): never echoed.
    #[serde(default)]
    sensitive: bool,
    /// A Java regular expression the whole value must match.
    pattern: Option<String>,
    /// A document: any JSON value, passed through unchecked (WebAuthn's options and
    /// credentials).
    #[serde(default)]
    document: bool,
}

#[derive(Debug, Deserialize)]
struct MemberRef {
    shape: String,
}

/// An operation of the API.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) name: String,
    input: Option<String>,
    output: Option<String>,
    /// Called without SigV4 (the client ID, a session or an access token identify the caller).
    pub(crate) unsigned: bool,
}

struct Model {
    operations: HashMap<String, Operation>,
    shapes: HashMap<String, Shape>,
    /// Each enforced pattern, compiled once, by shape name.
    patterns: HashMap<String, Regex>,
}

/// Shapes whose model pattern the service does not hold to [I]: `DomainType` is a prefix's
/// pattern, yet custom domains (`auth.example.com`) go in the same member; passwords follow
/// the pool's password policy, the one rule the managed-login pages share.
const PATTERNS_NOT_ENFORCED: &[&str] = &["DomainType", "PasswordType"];

/// A Java pattern (the model's dialect) as a whole-value Rust regex, or `None` when Rust's
/// regex cannot express it (lookbehind). Java's `\w`, `\s`, `\S` and `\d` are ASCII; Rust's
/// are Unicode, so they are spelled out.
fn compile_java(pattern: &str) -> Option<Regex> {
    const WORD: &str = "0-9A-Za-z_";
    const SPACE: &str = "\\t\\n\\x0B\\x0C\\r ";
    let mut out = String::new();
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                let (inner, negated) = match e {
                    'w' => (WORD, false),
                    's' => (SPACE, false),
                    'S' => (SPACE, true),
                    'd' => ("0-9", false),
                    _ => {
                        out.push('\\');
                        out.push(e);
                        continue;
                    }
                };
                match (in_class, negated) {
                    (true, false) => out.push_str(inner),
                    (_, true) => out.push_str(&format!("[^{inner}]")),
                    (false, false) => out.push_str(&format!("[{inner}]")),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Regex::new(&format!("^(?:{out})$")).ok()
}

/// The shapes whose `ArnType` members name a trigger's function: beyond Cognito, a webhook URL
/// may stand in for the ARN [I], so these members take the shape [`TRIGGER_TARGET`], which
/// keeps the length limits and leaves the form to core's `triggers::check_config`.
const TRIGGER_SHAPES: &[&str] = &[
    "LambdaConfigType",
    "PreTokenGenerationVersionConfigType",
    "CustomEmailLambdaVersionConfigType",
    "CustomSMSLambdaVersionConfigType",
];
const TRIGGER_TARGET: &str = "userpool.TriggerTarget";

/// Points the trigger members at [`TRIGGER_TARGET`] (see [`TRIGGER_SHAPES`]).
fn accept_webhooks(shapes: &mut HashMap<String, Shape>) {
    for name in TRIGGER_SHAPES {
        if let Some(shape) = shapes.get_mut(*name) {
            for (member, r) in shape.members.iter_mut() {
                if r.shape == "ArnType" && member != "KMSKeyID" {
                    r.shape = TRIGGER_TARGET.to_string();
                }
            }
        }
    }
    let arn = &shapes["ArnType"];
    let target = Shape {
        kind: "string".into(),
        required: Vec::new(),
        members: HashMap::new(),
        member: None,
        key: None,
        value: None,
        min: arn.min,
        max: arn.max,
        values: None,
        sensitive: false,
        pattern: None,
        document: false,
    };
    shapes.insert(TRIGGER_TARGET.to_string(), target);
}

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    let mut file: ModelFile = serde_json::from_str(MODEL_JSON).expect("the embedded model parses");
    accept_webhooks(&mut file.shapes);
    let operations = file
        .operations
        .into_iter()
        .map(|(name, op)| {
            let operation = Operation {
                name: name.clone(),
                input: op.input,
                output: op.output,
                unsigned: op.unsigned,
            };
            (name, operation)
        })
        .collect();
    let patterns = file
        .shapes
        .iter()
        .filter(|(name, _)| !PATTERNS_NOT_ENFORCED.contains(&name.as_str()))
        .filter_map(|(name, shape)| {
            let re = compile_java(shape.pattern.as_deref()?)?;
            Some((name.clone(), re))
        })
        .collect();
    Model {
        operations,
        shapes: file.shapes,
        patterns,
    }
});

/// The operation of this name, if the API has one.
pub(crate) fn operation(name: &str) -> Option<&'static Operation> {
    MODEL.operations.get(name)
}

/// Checks `input` against the operation's input shape: JSON types (a mismatch is a
/// `SerializationException`, as the service answers), then required members, lengths, ranges
/// and enum values, all reported at once in the service's wording
/// (`InvalidParameterException`).
pub(crate) fn check_input(op: &Operation, input: &Value) -> Result<(), ApiError> {
    let Some(shape) = &op.input else {
        return Ok(());
    };
    let mut problems = Vec::new();
    check(shape, input, "", &mut problems)?;
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    let noun = if n == 1 { "error" } else { "errors" };
    // The count is of all; the message lists the first few (a large body stays a short answer).
    problems.truncate(10);
    Err(ApiError::invalid_parameter(format!(
        "{n} validation {noun} detected: {}",
        problems.join("; ")
    )))
}

/// A member's path as the service names it: camelCase, dotted, list items by position.
fn member_path(parent: &str, member: &str) -> String {
    let mut chars = member.chars();
    let camel: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    if parent.is_empty() {
        camel
    } else {
        format!("{parent}.{camel}")
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check(
    shape_name: &str,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) -> Result<(), ApiError> {
    let Some(shape) = MODEL.shapes.get(shape_name).filter(|s| !s.document) else {
        return Ok(());
    };
    let wrong_type = || {
        ApiError::serialization(format!(
            "Unexpected value type for '{}': expected {}",
            if path.is_empty() { "input" } else { path },
            shape.kind
        ))
    };
    // A sensitive value (a password, a secret) is never repeated back, as the service does.
    let mut violated = |constraint: String| {
        let value = if shape.sensitive {
            String::new()
        } else {
            format!(" '{}'", shown(value))
        };
        problems.push(format!(
            "Value{value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    };
    match shape.kind.as_str() {
        "structure" => {
            let Value::Object(members) = value else {
                return Err(wrong_type());
            };
            for name in &shape.required {
                if members.get(name).is_none_or(Value::is_null) {
                    problems.push(format!(
                        "Value null at '{}' failed to satisfy constraint: Member must not be null",
                        member_path(path, name)
                    ));
                }
            }
            for (name, v) in members {
                if let (Some(member), false) = (shape.members.get(name), v.is_null()) {
                    check(&member.shape, v, &member_path(path, name), problems)?;
                }
            }
        }
        "list" => {
            let Value::Array(items) = value else {
                return Err(wrong_type());
            };
            check_bounds(shape, items.len() as f64, "length", &mut violated);
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    check(
                        &member.shape,
                        item,
                        &format!("{path}.{}.member", i + 1),
                        problems,
                    )?;
                }
            }
        }
        "map" => {
            let Value::Object(entries) = value else {
                return Err(wrong_type());
            };
            check_bounds(shape, entries.len() as f64, "length", &mut violated);
            for (k, v) in entries {
                if let Some(key) = &shape.key {
                    check(&key.shape, &Value::String(k.clone()), path, problems)?;
                }
                if let Some(member) = &shape.value {
                    check(&member.shape, v, &format!("{path}.{k}"), problems)?;
                }
            }
        }
        "string" => {
            let Value::String(s) = value else {
                return Err(wrong_type());
            };
            check_bounds(shape, s.chars().count() as f64, "length", &mut violated);
            if let Some(re) = MODEL.patterns.get(shape_name)
                && !re.is_match(s)
            {
                violated(format!(
                    "Member must satisfy regular expression pattern: {}",
                    shape.pattern.as_deref().unwrap_or_default()
                ));
            }
            if let Some(values) = &shape.values
                && !values.contains(s)
            {
                violated(format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                ));
            }
        }
        "integer" | "long" => {
            let Some(n) = value.as_i64() else {
                return Err(wrong_type());
            };
            check_bounds(shape, n as f64, "value", &mut violated);
        }
        "boolean" if !value.is_boolean() => return Err(wrong_type()),
        "timestamp" if !value.is_number() => return Err(wrong_type()),
        "blob" if !value.is_string() => return Err(wrong_type()),
        _ => {}
    }
    Ok(())
}

/// The shape's `min` and `max` on a length or a value, in the service's wording.
fn check_bounds(shape: &Shape, n: f64, what: &str, violated: &mut impl FnMut(String)) {
    if let Some(min) = shape.min
        && n < min
    {
        violated(format!(
            "Member must have {what} greater than or equal to {min}"
        ));
    }
    if let Some(max) = shape.max
        && n > max
    {
        violated(format!(
            "Member must have {what} less than or equal to {max}"
        ));
    }
}

/// `output` reduced to the members of the operation's output shape, recursively: what the
/// service would send and nothing else (an operation without output answers `{}`).
pub(crate) fn project_output(op: &Operation, mut output: Value) -> Value {
    match &op.output {
        Some(shape) => {
            project(shape, &mut output);
            output
        }
        None => Value::Object(Map::new()),
    }
}

/// Projects `value` in place: members outside the shape and null members are removed, the rest
/// projected in turn. In place, because a page of users is thousands of small maps, and
/// rebuilding each one cost more than making it.
fn project(shape_name: &str, value: &mut Value) {
    if !(value.is_object() || value.is_array()) {
        // A string, number or boolean is kept as it is, whatever its shape.
        return;
    }
    let Some(shape) = MODEL.shapes.get(shape_name).filter(|s| !s.document) else {
        return;
    };
    match (shape.kind.as_str(), value) {
        ("structure", Value::Object(members)) => members.retain(|k, v| {
            if v.is_null() {
                return false;
            }
            match shape.members.get(k) {
                Some(member) => {
                    project(&member.shape, v);
                    true
                }
                None => false,
            }
        }),
        ("list", Value::Array(items)) => {
            if let Some(member) = &shape.member {
                for item in items {
                    project(&member.shape, item);
                }
            }
        }
        ("map", Value::Object(entries)) => {
            if let Some(member) = &shape.value {
                for v in entries.values_mut() {
                    project(&member.shape, v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_model_pattern_compiles_but_the_lookbehind_one() {
        let skipped: Vec<&str> = MODEL
            .shapes
            .iter()
            .filter(|(name, shape)| {
                shape.pattern.is_some()
                    && !PATTERNS_NOT_ENFORCED.contains(&name.as_str())
                    && !MODEL.patterns.contains_key(*name)
            })
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(skipped, ["S3BucketType"]);
    }

    #[test]
    fn java_classes_are_ascii_and_patterns_match_whole_values() {
        let matches = |shape: &str, value: &str| MODEL.patterns[shape].is_match(value);
        assert!(matches("UsernameType", "zoë@example.test"));
        assert!(!matches("UsernameType", "two words"));
        assert!(matches("ClientNameType", "web app-1"));
        assert!(!matches("ClientNameType", "web/app"));
        assert!(!matches("ClientNameType", "café"), "Java's \\w is ASCII");
        assert!(matches("UserPoolIdType", "us-east-1_Ab3"));
        assert!(
            !matches("UserPoolIdType", "us-east-1_Ab3 "),
            "the whole value"
        );
        assert!(matches("ConfirmationCodeType", "123456"));
        assert!(!matches("ConfirmationCodeType", "123 456"));
        assert!(matches(
            "EmailVerificationMessageType",
            "Your code is {####}.\nBye"
        ));
        assert!(!matches("EmailVerificationMessageType", "no code here"));
    }

    #[test]
    fn a_value_off_its_pattern_is_refused_in_the_services_words() {
        let op = operation("AdminGetUser").unwrap();
        let e =
            check_input(op, &json!({"UserPoolId": "us-east-1_x", "Username": "a b"})).unwrap_err();
        assert_eq!(e.kind, "InvalidParameterException");
        assert!(
            e.message.contains(
                "Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"
            ),
            "{}",
            e.message
        );
        let op = operation("CreateUserPoolDomain").unwrap();
        assert!(
            check_input(
                op,
                &json!({"UserPoolId": "us-east-1_x", "Domain": "auth.example.com"})
            )
            .is_ok(),
            "custom domains pass"
        );
    }

    #[test]
    fn the_model_has_every_operation_and_knows_which_are_unsigned() {
        assert_eq!(MODEL.operations.len(), 129);
        assert!(!operation("CreateUserPool").unwrap().unsigned);
        assert!(operation("InitiateAuth").unwrap().unsigned);
        assert!(operation("NoSuchThing").is_none());
    }

    #[test]
    fn inputs_are_checked_in_the_services_words() {
        let op = operation("CreateUserPool").unwrap();
        let e = check_input(op, &json!({})).unwrap_err();
        assert_eq!(e.kind, "InvalidParameterException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'poolName' failed to satisfy constraint: Member must not be null"
        );
        let long = "p".repeat(129);
        let e =
            check_input(op, &json!({"PoolName": long, "MfaConfiguration": "MAYBE"})).unwrap_err();
        assert!(
            e.message.starts_with("2 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("at 'poolName' failed to satisfy constraint: Member must have length less than or equal to 128"));
        assert!(e.message.contains("at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"));
        let e = check_input(
            operation("AdminSetUserPassword").unwrap(),
            &json!({"UserPoolId": "p", "Username": "u", "Password": "p".repeat(300)}),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("Value at 'password' failed to satisfy constraint"),
            "a password is never echoed: {}",
            e.message
        );
        let e = check_input(op, &json!({"PoolName": 5})).unwrap_err();
        assert_eq!(e.kind, "SerializationException");
        assert!(
            check_input(
                op,
                &json!({"PoolName": "ok", "Policies": {"PasswordPolicy": {"MinimumLength": 8}}})
            )
            .is_ok()
        );
    }

    #[test]
    fn outputs_keep_only_what_the_shape_has() {
        let op = operation("DescribeUserPoolClient").unwrap();
        let out = project_output(
            op,
            json!({"UserPoolClient": {"ClientId": "c", "ClientName": "n", "Secret": "x", "ClientSecret": null}, "Extra": 1}),
        );
        assert_eq!(
            out,
            json!({"UserPoolClient": {"ClientId": "c", "ClientName": "n"}})
        );
    }
}
