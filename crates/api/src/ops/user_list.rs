//! `ListUsers`: the pool's users by username, one condition of Cognito's filter grammar
//! (`attribute = "value"` or `attribute ^= "value"`) searched in the database, pages by an
//! opaque token.

use serde_json::{Value, json};
use userpool_core::store::UserFilter;

use super::member;
use super::users::{pool_view, user_type};
use super::{after_username, next_username};
use crate::{Api, ApiError};

/// The page size when `Limit` is absent (or 0): the service's largest.
const DEFAULT_LIMIT: usize = 60;

/// The attributes Cognito searches.
const SEARCHABLE: &[&str] = &[
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    // The pool as this node sees it (the directory, as the Admin user calls read it): no
    // database read and no configuration parsed per page.
    let view = pool_view(api, &input).await?;
    let pool = &view.pool;
    let mut filter = member::<Option<String>>(&input, "Filter")?
        .filter(|f| !f.trim().is_empty())
        .map(|f| parse_filter(&f))
        .transpose()?;
    if let Some(f) = &mut filter
        && f.attribute == "username"
        && !pool.config.case_sensitive()
    {
        // Usernames of a case-insensitive pool are stored lowercased.
        f.value = f.value.to_lowercase();
    }
    let limit = match member::<Option<usize>>(&input, "Limit")? {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => n,
    };
    let after = after_username(member(&input, "PaginationToken")?)?;
    let wanted: Option<Vec<String>> = member(&input, "AttributesToGet")?;
    let mut users = api
        .store
        .list_users(
            &pool.id,
            filter.as_ref(),
            after.as_deref(),
            limit as i64 + 1,
        )
        .await?;
    let next = next_username(&mut users, limit);
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut user = user_type(u);
            if let (Some(wanted), Some(Value::Array(attributes))) =
                (&wanted, user.get_mut("Attributes"))
            {
                attributes.retain(|a| {
                    a["Name"]
                        .as_str()
                        .is_some_and(|n| wanted.iter().any(|w| w == n))
                });
            }
            user
        })
        .collect();
    Ok(json!({ "Users": users, "PaginationToken": next }))
}

/// `attribute = "value"` or `attribute ^= "value"` (the attribute may be quoted too; a quote
/// or backslash inside quotes is escaped with a backslash), in the service's words when it is
/// not.
fn parse_filter(text: &str) -> Result<UserFilter, ApiError> {
    let parse_error = || ApiError::invalid_parameter("Error while parsing filter.");
    let mut rest = text.trim_start();
    let attribute = if rest.starts_with('"') {
        let (a, r) = quoted(rest).ok_or_else(parse_error)?;
        rest = r;
        a
    } else {
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '^')
            .unwrap_or(rest.len());
        let (a, r) = rest.split_at(end);
        rest = r;
        a.to_string()
    };
    rest = rest.trim_start();
    let prefix = if let Some(r) = rest.strip_prefix("^=") {
        rest = r;
        true
    } else if let Some(r) = rest.strip_prefix('=') {
        rest = r;
        false
    } else {
        return Err(parse_error());
    };
    let (value, rest) = quoted(rest.trim_start()).ok_or_else(parse_error)?;
    if attribute.is_empty() || !rest.trim().is_empty() {
        return Err(parse_error());
    }
    if !SEARCHABLE.contains(&attribute.as_str()) {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid search attribute: {attribute}"
        )));
    }
    Ok(UserFilter {
        attribute,
        value,
        prefix,
    })
}

/// The string in the double quotes `s` starts with, unescaped, and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &s[i + 2..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (String, String, bool) {
        let f = parse_filter(text).unwrap();
        (f.attribute, f.value, f.prefix)
    }

    #[test]
    fn filters_are_read_in_cognitos_grammar() {
        assert_eq!(
            parsed(r#"email = "a@example.test""#),
            ("email".into(), "a@example.test".into(), false)
        );
        assert_eq!(
            parsed(r#"given_name^="Jo""#),
            ("given_name".into(), "Jo".into(), true)
        );
        assert_eq!(
            parsed(r#"  "family_name"  =  "O\"Brien\\x"  "#),
            ("family_name".into(), r#"O"Brien\x"#.into(), false)
        );
        assert_eq!(
            parsed(r#"cognito:user_status = "CONFIRMED""#),
            ("cognito:user_status".into(), "CONFIRMED".into(), false)
        );
        for bad in [
            "email",
            r#"email == "x""#,
            r#"email = x"#,
            r#"email = "x"#,
            r#"email = "x" and"#,
            r#"= "x""#,
            r#"email ~= "x""#,
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!(e.message, "Error while parsing filter.", "{bad}");
        }
        let e = parse_filter(r#"custom:team = "x""#).unwrap_err();
        assert_eq!(e.kind, "InvalidParameterException");
        assert_eq!(e.message, "Invalid search attribute: custom:team");
    }
}
