//! The Cognito API's SigV4, signed by botocore: keys made with `userpool access-keys` and the
//! demo's key work; a wrong secret, an unknown or deleted key, a body changed after signing, a
//! request signed 20 minutes ago and a foreign region are refused with AWS's exceptions;
//! `--accept-any-credentials` takes dummy keys and is refused behind https.

use std::process::Command;

use serde_json::Value;

use crate::boto3::{create_access_key, field};
use crate::helpers::*;

/// Signs and sends the cases with botocore; prints one JSON object, a result per case:
/// `{"ok": true, "pools": [...]}` or `{"ok": false, "status", "code", "message"}`.
const SCRIPT: &str = r#"
import datetime, json, sys, urllib.error, urllib.request
from unittest import mock

import boto3, botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

url, key, secret, mode = sys.argv[1:5]
BODY = b'{"MaxResults": 10}'

def call(k, s, region="us-east-1"):
    c = boto3.client("cognito-idp", endpoint_url=url, region_name=region,
                     aws_access_key_id=k, aws_secret_access_key=s,
                     config=Config(retries={"total_max_attempts": 1}))
    try:
        r = c.list_user_pools(MaxResults=10)
        return {"ok": True, "pools": [p["Id"] for p in r["UserPools"]]}
    except botocore.exceptions.ClientError as e:
        return {"ok": False, "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}

def send(headers, body):
    req = urllib.request.Request(url + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return {"ok": True, "status": r.status}
    except urllib.error.HTTPError as e:
        b = json.loads(e.read())
        return {"ok": False, "status": e.code, "code": b.get("__type"), "message": b.get("message")}

def signed(sent_body=BODY, minutes_ago=0):
    req = AWSRequest(method="POST", url=url + "/", data=BODY, headers={
        "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
        "Content-Type": "application/x-amz-json-1.1"})
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    when -= datetime.timedelta(minutes=minutes_ago)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(Credentials(key, secret), "cognito-idp", "us-east-1").add_auth(req)
    return send(dict(req.headers.items()), sent_body)

unsigned = {"X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
            "Content-Type": "application/x-amz-json-1.1"}
if mode == "valid":
    out = {"valid": call(key, secret)}
elif mode == "any":
    out = {"dummy": call("test", "test"), "unsigned": send(unsigned, BODY)}
else:
    out = {
        "valid": call(key, secret),
        "signed_by_hand": signed(),
        "wrong_secret": call(key, secret[:-1] + ("a" if secret[-1] != "a" else "b")),
        "unknown_key": call("AKIAAAAAAAAAAAAAAAAA", secret),
        "other_region": call(key, secret, "eu-west-1"),
        "changed_body": signed(sent_body=b'{"MaxResults": 60}'),
        "signed_20_minutes_ago": signed(minutes_ago=20),
        "unsigned": send(unsigned, BODY),
    }
print(json.dumps(out))
"#;

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
                        provided. Check your AWS Secret Access Key and signing method. Consult the \
                        service documentation for details.";

/// botocore and boto3 come from tests/python/requirements.txt; CI must have them.
fn boto3_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install boto3 (tests/python/requirements.txt)"
        );
        eprintln!("skipped: pip install -r tests/python/requirements.txt to run the SigV4 tests");
    }
    ok
}

fn botocore(server: &Server, key: &str, secret: &str, mode: &str) -> Value {
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &server.url, key, secret, mode])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}

fn refused(result: &Value, code: &str) -> String {
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["code"], code, "{result}");
    assert_eq!(result["status"], 400, "{result}");
    result["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn keys_made_with_the_cli_sign_and_everything_else_is_refused() {
    if !boto3_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let server = Server::start(dir.path(), &["--database", &db, "--no-demo"]);
    // Made while the server runs: keys are looked up per request, so no restart is needed.
    let (key, secret) = create_access_key(dir.path(), &db, "e2e");
    assert!(key.starts_with("AKIA") && key.len() == 20, "{key}");
    assert_eq!(secret.len(), 40);

    let listed =
        String::from_utf8(run(dir.path(), &["access-keys", "list", "--database", &db]).stdout)
            .unwrap();
    assert!(listed.contains(&key) && listed.contains("e2e"), "{listed}");
    assert!(!listed.contains(&secret), "list never shows a secret");

    let r = botocore(&server, &key, &secret, "all");
    assert_eq!(r["valid"]["ok"], true, "{r}");
    assert_eq!(r["valid"]["pools"], serde_json::json!([]), "{r}");
    assert_eq!(r["signed_by_hand"]["ok"], true, "{r}");
    assert_eq!(
        refused(&r["wrong_secret"], "InvalidSignatureException"),
        MISMATCH
    );
    assert_eq!(
        refused(&r["changed_body"], "InvalidSignatureException"),
        MISMATCH
    );
    assert_eq!(
        refused(&r["unknown_key"], "UnrecognizedClientException"),
        "The security token included in the request is invalid."
    );
    let expired = refused(&r["signed_20_minutes_ago"], "InvalidSignatureException");
    assert!(
        expired.starts_with("Signature expired: ") && expired.ends_with(" - 15 min.)"),
        "{expired}"
    );
    assert_eq!(
        refused(&r["other_region"], "InvalidSignatureException"),
        "Credential should be scoped to a valid region, not 'eu-west-1'."
    );
    assert_eq!(
        refused(&r["unsigned"], "MissingAuthenticationTokenException"),
        "Missing Authentication Token"
    );
    assert!(
        !server.log_text().contains(&secret),
        "the secret never reaches the log"
    );

    // A deleted key is refused at once.
    let out = run(
        dir.path(),
        &["access-keys", "delete", "--database", &db, &key],
    );
    assert!(out.status.success(), "{out:?}");
    let r = botocore(&server, &key, &secret, "valid");
    refused(&r["valid"], "UnrecognizedClientException");
    let again = run(
        dir.path(),
        &["access-keys", "delete", "--database", &db, &key],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("does not exist"));
}

#[tokio::test]
async fn the_demo_prints_a_working_key_pair_once() {
    if !boto3_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let server = Server::start(dir.path(), &["--database", &db]);
    let pool = field(&server.stdout, "pool id");
    let key = field(&server.stdout, "access key");
    let secret = field(&server.stdout, "secret key");
    let line = format!(
        "aws --endpoint-url {} cognito-idp list-user-pools --max-results 10",
        server.url
    );
    assert!(server.stdout.contains(&line), "{}", server.stdout);
    assert!(
        server.stdout.contains(&format!(
            "export AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION=us-east-1"
        )),
        "{}",
        server.stdout
    );
    let r = botocore(&server, &key, &secret, "valid");
    assert_eq!(r["valid"]["pools"], serde_json::json!([pool]), "{r}");
    // The printed line itself, when the AWS CLI is installed.
    if Command::new("aws").arg("--version").output().is_ok() {
        let out = Command::new("sh")
            .args(["-c", &line])
            .env("AWS_ACCESS_KEY_ID", &key)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&pool),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(server.stop().success());

    // Later starts name the key but never show its secret again.
    let server = Server::start(dir.path(), &["--database", &db]);
    assert_eq!(field(&server.stdout, "access key"), key);
    assert!(!server.stdout.contains(&secret), "{}", server.stdout);
}

#[tokio::test]
async fn accept_any_credentials_takes_dummy_keys_but_still_wants_a_signature() {
    if !boto3_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let server = Server::start(
        dir.path(),
        &["--database", &db, "--no-demo", "--accept-any-credentials"],
    );
    assert!(
        server.log_text().contains("--accept-any-credentials"),
        "the log warns:\n{}",
        server.log_text()
    );
    let r = botocore(&server, "test", "test", "any");
    assert_eq!(r["dummy"]["ok"], true, "{r}");
    refused(&r["unsigned"], "MissingAuthenticationTokenException");
}

#[test]
fn accept_any_credentials_is_refused_behind_https() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &db,
        "--no-demo",
        "--dev-outbox",
        "--public-url",
        "https://auth.example.test",
        "--accept-any-credentials",
    ];
    let err = refused_start(dir.path(), &args);
    assert!(
        err.contains("--accept-any-credentials") && err.contains("https"),
        "names the flag:\n{err}"
    );
    // The same through the environment.
    let mut child = command(dir.path())
        .env("USERPOOL_ACCEPT_ANY_CREDENTIALS", "true")
        .args(&args[..args.len() - 1])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("USERPOOL_ACCEPT_ANY_CREDENTIALS=true with https must not start");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("USERPOOL_ACCEPT_ANY_CREDENTIALS"), "{err}");
}
