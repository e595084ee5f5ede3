//! Text messages through Amazon SNS (`--sms-sns`): `SMS_OTP` and `SMS_MFA` codes published to
//! moto's SNS API, which `tests/api/sms_sns.py` runs and reads the messages from, on SQLite.

use crate::boto3::run_script;
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
