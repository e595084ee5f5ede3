//! The Cognito API's sign-in plane driven by boto3, pycognito and warrant-lite
//! (`tests/api/sign_in.py`), on SQLite and on PostgreSQL: SignUp and its codes, InitiateAuth and
//! the challenges (password, SRP, TOTP, MFA set-up, new password), SECRET_HASH, refresh and
//! revocation, the access-token operations, ForgotPassword and the lockout. The script reads the
//! codes from the server's development outbox, whose directory it is given. And a session or
//! `SECRET_BLOCK` past its lifetime answers nothing.

use serde_json::{Value, json};
use userpool_core::auth::srp_realm;
use userpool_core::srp;

use crate::boto3::{Backend, run_with_outbox};
use crate::browser::{OAuthServer, SPA};
use crate::helpers::*;

#[tokio::test]
async fn boto3_signs_users_in_on_sqlite() {
    run_with_outbox(Backend::Sqlite, "sign_in.py", &[]).await;
}

#[tokio::test]
async fn boto3_signs_users_in_on_postgres() {
    run_with_outbox(Backend::Postgres, "sign_in.py", &[]).await;
}

/// An unsigned call of the sign-in plane: status and body.
pub(crate) async fn sign_in_call(base: &str, operation: &str, body: Value) -> (u16, Value) {
    sign_in_call_with(&client(), base, operation, body).await
}

/// [`sign_in_call`] on a client the caller keeps (many calls, one connection pool).
pub(crate) async fn sign_in_call_with(
    http: &reqwest::Client,
    base: &str,
    operation: &str,
    body: Value,
) -> (u16, Value) {
    let r = http
        .post(format!("{base}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityProviderService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A client's side of `USER_SRP_AUTH`: `SRP_A` to start with, then the `PASSWORD_VERIFIER`
/// answer to the server's challenge, as Cognito's SDKs compute it.
pub(crate) struct SrpClient {
    a: srp::client::ClientSecret,
    a_hex: String,
}

impl SrpClient {
    pub(crate) fn new() -> Self {
        let (a, a_hex) = srp::client::ephemeral();
        Self { a, a_hex }
    }

    /// `InitiateAuth`'s body.
    pub(crate) fn start(&self, client_id: &str, username: &str) -> Value {
        json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "SRP_A": self.a_hex}})
    }

    /// `RespondToAuthChallenge`'s body for the challenge's `ChallengeParameters`.
    pub(crate) fn proof(
        &self,
        pool_id: &str,
        client_id: &str,
        params: &Value,
        password: &str,
    ) -> Value {
        let field = |name: &str| params[name].as_str().unwrap().to_string();
        let realm = srp_realm(pool_id);
        let user = field("USER_ID_FOR_SRP");
        let key = srp::client::session_key(
            &self.a,
            &self.a_hex,
            realm,
            &user,
            password,
            &field("SALT"),
            &field("SRP_B"),
        )
        .unwrap();
        let timestamp = "Sat Dec 5 21:20:00 UTC 2026";
        let signature =
            srp::client::claim_signature(&key, realm, &user, &field("SECRET_BLOCK"), timestamp)
                .unwrap();
        json!({"ChallengeName": "PASSWORD_VERIFIER", "ClientId": client_id,
            "ChallengeResponses": {"USERNAME": user, "TIMESTAMP": timestamp,
                "PASSWORD_CLAIM_SECRET_BLOCK": field("SECRET_BLOCK"),
                "PASSWORD_CLAIM_SIGNATURE": signature}})
    }
}

/// Ends every pending step at once, as the clock would after `AuthSessionValidity`.
async fn expire_pending_steps(s: &OAuthServer) {
    use sqlx::Connection;
    let sql = "UPDATE auth_challenges SET expires_at = 0";
    if s.database.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&s.database).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&s.database).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn an_expired_session_or_secret_block_answers_nothing() {
    let s = OAuthServer::start_with(&[], |pool| {
        pool["Clients"][0]["ExplicitAuthFlows"] = json!([
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH"
        ]);
    })
    .await;
    let temporary = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": SPA,
        "AuthParameters": {"USERNAME": "tess", "PASSWORD": "Temp0rary!"}});
    let (status, step) = sign_in_call(&s.local, "InitiateAuth", temporary).await;
    assert_eq!(
        (status, step["ChallengeName"].as_str()),
        (200, Some("NEW_PASSWORD_REQUIRED"))
    );
    let srp_client = SrpClient::new();
    let srp_start = srp_client.start(SPA, "alice");
    let (status, verifier) = sign_in_call(&s.local, "InitiateAuth", srp_start).await;
    assert_eq!(status, 200, "{verifier}");

    expire_pending_steps(&s).await;

    let expired = json!({"__type": "NotAuthorizedException",
        "message": "Invalid session for the user, session is expired."});
    let answer = json!({"ChallengeName": "NEW_PASSWORD_REQUIRED", "ClientId": SPA,
        "Session": step["Session"],
        "ChallengeResponses": {"USERNAME": "tess", "NEW_PASSWORD": "N3w-Passw0rd!"}});
    assert_eq!(
        sign_in_call(&s.local, "RespondToAuthChallenge", answer).await,
        (400, expired.clone()),
        "an expired session"
    );
    // The right proof, too late.
    let proof = srp_client.proof(
        &s.pool_id,
        SPA,
        &verifier["ChallengeParameters"],
        "Passw0rd!",
    );
    assert_eq!(
        sign_in_call(&s.local, "RespondToAuthChallenge", proof).await,
        (400, expired),
        "an expired SECRET_BLOCK"
    );
}
