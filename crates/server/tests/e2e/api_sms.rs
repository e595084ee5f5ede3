//! Text messages through Amazon SNS (`--sms-sns`): `SMS_OTP` and `SMS_MFA` codes published to
//! moto's SNS API, which `tests/api/sms_sns.py` runs and reads the messages from, on SQLite.
//! And verification and reset codes by text message (`tests/api/sms_codes.py`), read from the
//! development outbox, on SQLite and on PostgreSQL: sign-up confirmation by the pool's
//! `AutoVerifiedAttributes`, the SMS verification texts, `ForgotPassword` by the pool's
//! `AccountRecoverySetting`, phone-number verification and changes, `AdminCreateUser`
//! invitations by SMS, and the deliveries answered for unknown names.

use crate::boto3::{Backend, run_script, run_with_outbox};
use crate::browser::free_port;
use crate::helpers::*;

#[tokio::test]
async fn codes_by_text_go_through_sns() {
    let dir = tempfile::tempdir().unwrap();
    let sns_port = free_port().to_string();
    let sns = format!("http://127.0.0.1:{sns_port}");
    let server = Server::start(
        dir.path(),
        &[
            "--accept-any-credentials",
            "--no-demo",
            "--sms-sns",
            &sns,
            "--lambda-access-key-id",
            "AKIAIOSFODNN7EXAMPLE",
            "--lambda-secret-access-key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ],
    );
    run_script(&server, "sms_sns.py", &[&sns_port]);
}

#[tokio::test]
async fn boto3_sends_verification_and_reset_codes_by_text_on_sqlite() {
    run_with_outbox(Backend::Sqlite, "sms_codes.py", &[]).await;
}

#[tokio::test]
async fn boto3_sends_verification_and_reset_codes_by_text_on_postgres() {
    run_with_outbox(Backend::Postgres, "sms_codes.py", &[]).await;
}
