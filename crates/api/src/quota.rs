//! Which request-rate category (core's `limits`) an operation counts in, and the pool it
//! counts against.

use serde_json::Value;
use userpool_core::directory::Directory;
use userpool_core::limits::Category;

/// Cognito's category of operation `name` with `input`. Operations not named below fall in by
/// their kind: reads (`Get*`, `List*`, `Describe*`) or changes, of one user (the input names a
/// user or carries their access token) or of a pool and its resources.
pub(crate) fn category(name: &str, input: &Value) -> Category {
    match name {
        "InitiateAuth" | "AdminInitiateAuth" => Category::UserAuthentication,
        "RespondToAuthChallenge" | "AdminRespondToAuthChallenge" => {
            Category::UserAuthenticationChallenge
        }
        "SignUp" | "ConfirmSignUp" | "AdminCreateUser" | "AdminConfirmSignUp" => {
            Category::UserCreation
        }
        "ForgotPassword"
        | "ConfirmForgotPassword"
        | "ResendConfirmationCode"
        | "AdminResetUserPassword" => Category::UserAccountRecovery,
        "RevokeToken" | "GetTokensFromRefreshToken" => Category::UserToken,
        "ListUsers" | "ListUsersInGroup" => Category::UserList,
        _ => {
            let plain = name.strip_prefix("Admin").unwrap_or(name);
            let read = ["Get", "List", "Describe"]
                .iter()
                .any(|p| plain.starts_with(p));
            let of_a_user = ["Username", "AccessToken"]
                .iter()
                .any(|k| input.get(k).is_some());
            match (of_a_user, read) {
                (true, true) => Category::UserRead,
                (true, false) => Category::UserUpdate,
                (false, true) => Category::UserPoolRead,
                (false, false) => Category::UserPoolUpdate,
            }
        }
    }
}

/// The pool a request counts against: the one a signed request names, or the app client's.
/// Only pools that exist are counted (so made-up IDs grow no counters), and an unsigned
/// request's `UserPoolId` is not believed (it could name another pool to spare its own).
/// Requests that name neither (an access token alone) count against their address only.
pub(crate) fn pool_of(directory: &Directory, input: &Value, signed: bool) -> Option<String> {
    let snapshot = directory.snapshot();
    if signed && let Some(id) = input.get("UserPoolId").and_then(Value::as_str) {
        return snapshot.by_id(id).map(|v| v.pool.id.clone());
    }
    let client = input.get("ClientId").and_then(Value::as_str)?;
    Some(snapshot.pool_of_client(client)?.pool.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_fall_in_cognitos_categories() {
        let none = json!({});
        let user = json!({"UserPoolId": "p", "Username": "u"});
        let token = json!({"AccessToken": "t"});
        for (name, input, want) in [
            ("InitiateAuth", &none, Category::UserAuthentication),
            (
                "AdminRespondToAuthChallenge",
                &none,
                Category::UserAuthenticationChallenge,
            ),
            ("SignUp", &none, Category::UserCreation),
            (
                "AdminResetUserPassword",
                &user,
                Category::UserAccountRecovery,
            ),
            ("RevokeToken", &none, Category::UserToken),
            ("ListUsers", &none, Category::UserList),
            ("AdminGetUser", &user, Category::UserRead),
            ("GetUser", &token, Category::UserRead),
            ("AdminListGroupsForUser", &user, Category::UserRead),
            ("AdminDisableUser", &user, Category::UserUpdate),
            ("ChangePassword", &token, Category::UserUpdate),
            (
                "DescribeUserPool",
                &json!({"UserPoolId": "p"}),
                Category::UserPoolRead,
            ),
            ("ListUserPools", &none, Category::UserPoolRead),
            (
                "CreateGroup",
                &json!({"UserPoolId": "p"}),
                Category::UserPoolUpdate,
            ),
        ] {
            assert_eq!(category(name, input), want, "{name}");
        }
    }
}
