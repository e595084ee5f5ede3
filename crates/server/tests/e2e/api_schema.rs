//! Custom attributes, users' MFA preferences and the SAML signing certificate through the
//! Cognito API, driven by boto3 (`tests/api/schema_mfa_certs.py`) on SQLite and on PostgreSQL:
//! AddCustomAttributes and DescribeUserPool's schema, AdminSetUserMFAPreference and
//! AdminGetUser, GetSigningCertificate against the SP metadata. Around the script, the
//! managed-login pages: a user sets up TOTP at sign-in (MFA ON), and once the script has made
//! the pool's MFA OPTIONAL and turned her TOTP off, she signs in without a code.

use userpool_core::lifecycle::totp;

use crate::boto3::{Backend, Database, run_script};
use crate::browser::*;
use crate::helpers::*;

#[tokio::test]
async fn boto3_adds_attributes_sets_mfa_preferences_and_gets_the_certificate_on_sqlite() {
    schema_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn boto3_adds_attributes_sets_mfa_preferences_and_gets_the_certificate_on_postgres() {
    schema_on(Backend::Postgres).await;
}

fn authorize_query() -> String {
    format!(
        "client_id={SPA}&response_type=code&scope=openid+email&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=st"
    )
}

async fn schema_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    // A pool whose custom domain is the server's own address, so its pages answer there.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let pool_id = unique_pool_id("us-east-1");
    let mut seed = oauth_seed(&pool_id, &listen);
    seed["UserPools"][0]["MfaConfiguration"] = "ON".into();
    let seed = write_seed(dir.path(), &seed);
    {
        let server = Server::start(
            dir.path(),
            &[
                "--listen",
                &listen,
                "--database",
                &db.url,
                "--seed",
                &seed,
                "--accept-any-credentials",
            ],
        );
        let base = server.url.clone();
        // alice sets up TOTP at her first sign-in.
        let mut b = Browser::default();
        let first = b
            .sign_in(&base, &authorize_query(), "alice", "Passw0rd!")
            .await;
        let setup = b.follow(&base, &first).await;
        let at = setup
            .body
            .find("id=\"totp-secret\">")
            .expect("a TOTP set-up")
            + 17;
        let secret = totp::from_base32(setup.body[at..].split('<').next().unwrap()).unwrap();
        let code = totp::current(&secret, now());
        let done = b.submit(&base, &setup, &[("code", &code)]).await;
        assert!(
            done.location_param("code").is_some(),
            "{}",
            server.log_text()
        );

        run_script(&server, "schema_mfa_certs.py", &[&pool_id]);

        // MFA OPTIONAL and her TOTP turned off: no code is asked for.
        let mut b = Browser::default();
        let signed_in = b
            .sign_in(&base, &authorize_query(), "alice", "Passw0rd!")
            .await;
        assert!(
            signed_in.location_param("code").is_some(),
            "no MFA step: {:?} {}",
            signed_in.location,
            server.log_text()
        );
    }
    db.drop().await;
}
