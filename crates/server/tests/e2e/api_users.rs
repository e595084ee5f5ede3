//! Users managed by an administrator through the Cognito API: the boto3 script
//! `tests/api/users_admin.py` on SQLite and on PostgreSQL; and, on the pages, what those calls
//! do to a person: the invitation in the outbox, the temporary password leading to the
//! new-password step, a permanent password signing in, and disabling or signing the user out
//! everywhere ending tokens taken before.

use std::process::Command;

use serde_json::{Value, json};

use crate::boto3::{Backend, KEY, SECRET, run_on, seeded};
use crate::browser::*;
use crate::helpers::*;

/// A pool with case-insensitive usernames, email as an alias, a group and two users.
fn seed(pool_id: &str) -> Value {
    json!({"UserPools": [{
        "Id": pool_id,
        "PoolName": "users",
        "UsernameConfiguration": {"CaseSensitive": false},
        "AliasAttributes": ["email"],
        "Groups": [{"GroupName": "g"}],
        "Users": [
            {"Username": "bob", "Password": "Passw0rd!", "UserAttributes": [
                {"Name": "email", "Value": "bob@example.test"},
                {"Name": "email_verified", "Value": "true"}]},
            {"Username": "carol", "Password": "Passw0rd!"}
        ]
    }]})
}

#[tokio::test]
async fn boto3_manages_users_on_sqlite() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Sqlite,
        "users_admin.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}

#[tokio::test]
async fn boto3_manages_users_on_postgres() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Postgres,
        "users_admin.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}

/// Runs boto3 `calls` (Python, with the client `c` and the pool ID `pool`) against the server.
fn admin(s: &OAuthServer, calls: &str) {
    let script = format!(
        "import sys\nimport boto3\nurl, key, secret, pool = sys.argv[1:5]\n\
         c = boto3.client('cognito-idp', endpoint_url=url, region_name='us-east-1',\n\
         aws_access_key_id=key, aws_secret_access_key=secret)\n{calls}\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script, &s.base, KEY, SECRET, &s.pool_id])
        .output()
        .expect("python3 with boto3");
    assert!(
        out.status.success(),
        "{calls}\n{}{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
}

fn query() -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", SPA)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("redirect_uri", "https://app.test/cb")
        .finish()
}

/// Signs in on the pages and redeems the code: the token response.
async fn tokens(s: &OAuthServer, username: &str, password: &str) -> Value {
    let done = Browser::default()
        .sign_in(&s.base, &query(), username, password)
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    let code = done
        .location_param("code")
        .unwrap_or_else(|| panic!("a code: {:?}", done.location));
    let (status, tokens) = s.redeem_spa(&code).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn refresh(s: &OAuthServer, token: &Value) -> (u16, Value) {
    s.token(
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ],
        None,
    )
    .await
}

/// The invitation sent to `to`: its subject line and the temporary password in it.
async fn invitation(s: &OAuthServer, to: &str) -> (String, String) {
    for _ in 0..50 {
        if let Ok(entries) = std::fs::read_dir(s.dir.path().join("outbox")) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(&format!("To: {to}"))
                    && let Some((_, rest)) = text.split_once("password is [")
                {
                    let password = rest.split(']').next().unwrap().to_string();
                    let subject = text
                        .lines()
                        .find(|l| l.starts_with("Subject: "))
                        .unwrap_or_default()
                        .to_string();
                    return (subject, password);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no invitation to {to} in the outbox:\n{}", s.log());
}

#[tokio::test]
async fn an_invited_user_signs_in_and_admin_calls_end_their_tokens() {
    let s = OAuthServer::start_with(&["--accept-any-credentials"], |pool| {
        pool["AdminCreateUserConfig"] = json!({"InviteMessageTemplate": {
            "EmailSubject": "Welcome aboard",
            "EmailMessage": "Hello {username}, your temporary password is [{####}]."
        }});
    })
    .await;
    admin(
        &s,
        "c.admin_create_user(UserPoolId=pool, Username='Nina', DesiredDeliveryMediums=['EMAIL'],\n\
         UserAttributes=[{'Name': 'email', 'Value': 'nina@example.test'},\n\
         {'Name': 'email_verified', 'Value': 'true'}])",
    );
    let (subject, temporary) = invitation(&s, "nina@example.test").await;
    assert_eq!(subject, "Subject: Welcome aboard");
    assert!(temporary.len() >= 12, "{temporary}");

    // The temporary password leads to the new-password step.
    let first = Browser::default()
        .sign_in(&s.base, &query(), "nina", &temporary)
        .await;
    assert!(
        first
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/newPassword?")),
        "{:?} {}",
        first.location,
        first.body
    );

    // A permanent password signs in.
    admin(
        &s,
        "c.admin_set_user_password(UserPoolId=pool, Username='nina', Password='Perm-Passw0rd', Permanent=True)",
    );
    let before = tokens(&s, "nina", "Perm-Passw0rd").await;
    let access = before["access_token"].as_str().unwrap();
    assert_eq!(s.userinfo(access).await.0, 200);

    // Signed out everywhere: the access token and the refresh token taken before are dead,
    // a new sign-in works.
    admin(
        &s,
        "c.admin_user_global_sign_out(UserPoolId=pool, Username='nina')",
    );
    assert_eq!(
        s.userinfo(access).await.0,
        401,
        "access token after sign-out"
    );
    let (status, body) = refresh(&s, &before).await;
    assert_eq!(status, 400, "refresh after sign-out: {body}");
    let after = tokens(&s, "nina", "Perm-Passw0rd").await;
    let access = after["access_token"].as_str().unwrap();
    assert_eq!(s.userinfo(access).await.0, 200, "a sign-in after sign-out");

    // Disabled: sign-in refused, the tokens taken before dead.
    admin(&s, "c.admin_disable_user(UserPoolId=pool, Username='nina')");
    let refused = Browser::default()
        .sign_in(&s.base, &query(), "nina", "Perm-Passw0rd")
        .await;
    assert!(
        refused.location_param("code").is_none(),
        "a disabled user gets no code: {:?}",
        refused.location
    );
    assert_eq!(
        s.userinfo(access).await.0,
        401,
        "access token after disable"
    );
    let (status, body) = refresh(&s, &after).await;
    assert_eq!(status, 400, "refresh after disable: {body}");

    // Enabled again: sign-in works.
    admin(&s, "c.admin_enable_user(UserPoolId=pool, Username='nina')");
    tokens(&s, "nina", "Perm-Passw0rd").await;

    // A required reset: sign-in refused, the code is in the outbox.
    admin(
        &s,
        "c.admin_reset_user_password(UserPoolId=pool, Username='nina')",
    );
    let code = s.outbox_code("nina@example.test").await;
    assert_eq!(code.len(), 6);
    let reset = Browser::default()
        .sign_in(&s.base, &query(), "nina", "Perm-Passw0rd")
        .await;
    assert!(
        reset.location_param("code").is_none(),
        "no code while a reset is required: {:?}",
        reset.location
    );
}

#[tokio::test]
async fn a_forced_alias_signs_in_its_new_holder() {
    let s = OAuthServer::start_with(&["--accept-any-credentials"], |pool| {
        pool["AliasAttributes"] = json!(["email"]);
    })
    .await;
    // Alice signs in by her verified email to begin with.
    tokens(&s, "alice@example.test", "Passw0rd!").await;
    admin(
        &s,
        "c.admin_create_user(UserPoolId=pool, Username='newcomer', MessageAction='SUPPRESS',\n\
         TemporaryPassword='Temp-passw0rd1', ForceAliasCreation=True,\n\
         UserAttributes=[{'Name': 'email', 'Value': 'alice@example.test'},\n\
                         {'Name': 'email_verified', 'Value': 'true'}])\n\
         c.admin_set_user_password(UserPoolId=pool, Username='newcomer',\n\
         Password='Newc0mer-passw0rd', Permanent=True)",
    );
    // The alias moved: it now signs in the newcomer, not alice (who still holds the value,
    // unverified).
    let t = tokens(&s, "alice@example.test", "Newc0mer-passw0rd").await;
    let c = claims(t["id_token"].as_str().unwrap());
    assert_eq!(c["cognito:username"], "newcomer", "{c}");
}
