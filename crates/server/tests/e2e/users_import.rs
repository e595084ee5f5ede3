//! Moving users in and out with their passwords (`userpool users import|export`), on SQLite and
//! PostgreSQL: 100,000 users whose hashes were made by other libraries (bcrypt, argon2-cffi,
//! hashlib's scrypt and PBKDF2, Django's form, Firebase's scrypt; `tests/import/make_users.py`)
//! are loaded; every hash, read back through the export, verifies with its user's password;
//! users of every format sign in over the API, which replaces their hash with ours, and then
//! with SRP; the export round-trips everything else. Firebase's export and Cognito's CSV load
//! too.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use futures::StreamExt as _;
use serde_json::{Value, json};
use userpool_core::auth::import::UserLine;
use userpool_core::password::verify_password;

use crate::api_sign_in::{SrpClient, sign_in_call_with};
use crate::boto3::{Backend, Database};
use crate::helpers::*;
use crate::saml_idp::repo_file;

const POOL: &str = "us-east-1_ImportTest";
const CLIENT: &str = "importclient00000000000001";
/// Users of each format that sign in over the API.
const SIGN_INS_PER_FORMAT: usize = 12;

/// Users of each format that sign in over the API: a sample, or with
/// `USERPOOL_IMPORT_SIGN_INS=all` every one.
fn sign_ins_per_format() -> usize {
    match std::env::var("USERPOOL_IMPORT_SIGN_INS").as_deref() {
        Ok("all") => usize::MAX,
        _ => SIGN_INS_PER_FORMAT,
    }
}

fn users() -> usize {
    std::env::var("USERPOOL_IMPORT_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

fn seed() -> Value {
    json!({"UserPools": [{
        "Id": POOL,
        "PoolName": "import",
        "UsernameConfiguration": {"CaseSensitive": false},
        "Schema": [{"Name": "tier", "AttributeDataType": "String", "Mutable": true}],
        "Clients": [{
            "ClientId": CLIENT,
            "ClientName": "import",
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        }]
    }]})
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn userpool(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "userpool {args:?}: {text}");
    text
}

/// `userpool users import` of `file` (more arguments before it, such as `--format`).
fn import(dir: &Path, db: &str, args: &[&str]) -> String {
    let mut all = vec!["users", "import", "--database", db, "--pool-id", POOL];
    all.extend_from_slice(args);
    userpool(dir, &all)
}

fn export(dir: &Path, db: &str) -> HashMap<String, UserLine> {
    let out = dir.join("export.jsonl");
    let out_path = out.display().to_string();
    userpool(
        dir,
        &[
            "users",
            "export",
            "--database",
            db,
            "--pool-id",
            POOL,
            "--out",
            &out_path,
        ],
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let line: UserLine = serde_json::from_str(l).unwrap();
            (line.username.clone().unwrap(), line)
        })
        .collect()
}

/// One client for the test's many calls.
fn http() -> &'static reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    // Idle connections are dropped before the server's keep-alive deadline closes them.
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap()
    })
}

async fn password_sign_in(base: &str, username: &str, password: &str) -> (u16, Value) {
    let body = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": CLIENT,
        "AuthParameters": {"USERNAME": username, "PASSWORD": password}});
    sign_in_call_with(http(), base, "InitiateAuth", body).await
}

async fn srp_sign_in(base: &str, username: &str, password: &str) -> (u16, Value) {
    let srp = SrpClient::new();
    let start = srp.start(CLIENT, username);
    let (status, challenge) = sign_in_call_with(http(), base, "InitiateAuth", start).await;
    assert_eq!(status, 200, "{challenge}");
    let proof = srp.proof(POOL, CLIENT, &challenge["ChallengeParameters"], password);
    sign_in_call_with(http(), base, "RespondToAuthChallenge", proof).await
}

async fn round_trip(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let data = dir.path().join("data");
    let made = Command::new("python3")
        .arg(repo_file("tests/import/make_users.py"))
        .args([
            "--count",
            &users().to_string(),
            "--seed",
            "7",
            "--fast",
            "--out",
        ])
        .arg(&data)
        .output()
        .expect("python3 tests/import/make_users.py (see tests/python/requirements.txt)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start(
        dir.path(),
        &[
            "--database",
            &db.url,
            "--seed",
            &write_seed(dir.path(), &seed()),
            "--no-demo",
        ],
    );
    let d = |name: &str| data.join(name).display().to_string();
    let db_url = db.url.as_str();
    let imported = import(dir.path(), db_url, &[&d("users.jsonl")]);
    assert!(
        imported.contains(&format!("imported {} users", users())),
        "{imported}"
    );
    assert!(imported.contains("0 refused"), "{imported}");
    let again = import(dir.path(), db_url, &[&d("users.jsonl")]);
    assert!(
        again.contains(&format!(
            "imported 0 users into {POOL}; {} skipped",
            users()
        )),
        "{again}"
    );

    // Everything but nothing lost: each exported user is the imported one.
    let given: HashMap<String, UserLine> = std::fs::read_to_string(data.join("users.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let line: UserLine = serde_json::from_str(l).unwrap();
            (line.username.clone().unwrap().to_lowercase(), line)
        })
        .collect();
    let exported = export(dir.path(), db_url);
    assert_eq!(exported.len(), given.len());
    for (name, line) in &given {
        let out = &exported[name];
        assert_eq!(out.sub, line.sub, "{name}");
        assert_eq!(out.user_status, line.user_status, "{name}");
        assert_eq!(out.enabled, line.enabled, "{name}");
        assert_eq!(out.password_hash, line.password_hash, "{name}");
        let mut a = out.attributes.clone();
        let mut b = line.attributes.clone();
        a.sort_by(|x, y| x.name.cmp(&y.name));
        b.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(a, b, "{name}");
        let mut g = line.groups.clone();
        g.sort();
        assert_eq!(out.groups, g, "{name}");
    }

    // Every stored hash verifies with its user's password (and not with another).
    let passwords = read_jsonl(&data.join("passwords.jsonl"));
    let failures = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for half in passwords.chunks(passwords.len().div_ceil(2)) {
            let (exported, failures) = (&exported, &failures);
            s.spawn(move || {
                for p in half {
                    let name = p["Username"].as_str().unwrap().to_lowercase();
                    let hash = exported[&name].password_hash.clone().unwrap();
                    let password = p["Password"].as_str().unwrap();
                    if !verify_password(password, &hash) || verify_password("Wrong-pass1!", &hash) {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(failures.into_inner(), 0, "hashes that did not verify");

    // Users of every format sign in with their old password; their hash becomes ours, and
    // SRP works from then on. (`USERPOOL_IMPORT_SIGN_INS=all`: every ready user, the long
    // form, whose last result is in docs/benchmarks.md.)
    let mut per_format: HashMap<String, usize> = HashMap::new();
    let mut chosen = Vec::new();
    for p in &passwords {
        let name = p["Username"].as_str().unwrap().to_lowercase();
        let line = &given[&name];
        if line.user_status.as_deref() != Some("CONFIRMED") || !line.enabled {
            continue;
        }
        let format = p["Format"].as_str().unwrap().to_string();
        let seen = per_format.entry(format.clone()).or_default();
        if *seen >= sign_ins_per_format() {
            continue;
        }
        *seen += 1;
        let password = p["Password"].as_str().unwrap().to_string();
        chosen.push((name, password, format, *seen));
    }
    let base = server.url.clone();
    let started = std::time::Instant::now();
    futures::stream::iter(chosen.iter())
        .for_each_concurrent(4, |(name, password, format, nth)| {
            let base = base.clone();
            async move {
                let (status, answer) = password_sign_in(&base, name, password).await;
                assert_eq!(status, 200, "{format} {name}: {answer}");
                assert!(
                    answer["AuthenticationResult"]["AccessToken"].is_string(),
                    "{answer}"
                );
                if *nth <= SIGN_INS_PER_FORMAT {
                    let (status, answer) = password_sign_in(&base, name, "Wrong-pass1!").await;
                    assert_eq!(
                        (status, answer["__type"].as_str()),
                        (400, Some("NotAuthorizedException"))
                    );
                }
                if *nth <= 2 {
                    let (status, answer) = srp_sign_in(&base, name, password).await;
                    assert_eq!(status, 200, "SRP after {format}: {answer}");
                }
            }
        })
        .await;
    eprintln!(
        "{} users signed in with their old passwords in {:.1} s",
        chosen.len(),
        started.elapsed().as_secs_f64()
    );
    let signed_in: Vec<String> = chosen.into_iter().map(|(name, ..)| name).collect();
    assert!(per_format.len() >= 7, "formats seen: {per_format:?}");
    let after = export(dir.path(), db_url);
    for name in &signed_in {
        let hash = after[name].password_hash.as_deref().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{name}: {hash}"
        );
    }

    // Accounts that are not ready do not sign in, one of each kind.
    let mut kinds_seen = std::collections::HashSet::new();
    for p in &passwords {
        let name = p["Username"].as_str().unwrap().to_lowercase();
        let line = &given[&name];
        let expected = match (line.user_status.as_deref(), line.enabled) {
            (_, false) => "NotAuthorizedException",
            (Some("RESET_REQUIRED"), _) => "PasswordResetRequiredException",
            (Some("UNCONFIRMED"), _) => "UserNotConfirmedException",
            _ => continue,
        };
        if !kinds_seen.insert(expected) {
            continue;
        }
        let password = p["Password"].as_str().unwrap();
        let (status, answer) = password_sign_in(&server.url, &name, password).await;
        assert_eq!(
            (status, answer["__type"].as_str()),
            (400, Some(expected)),
            "{name}"
        );
    }
    assert_eq!(kinds_seen.len(), 3, "{kinds_seen:?}");

    // Firebase's export, with the project's parameters; Cognito's CSV, whose users reset.
    let firebase = import(
        dir.path(),
        db_url,
        &[
            "--format",
            "firebase",
            "--firebase-params",
            &d("firebase-params.json"),
            &d("firebase.json"),
        ],
    );
    assert!(firebase.contains("0 refused"), "{firebase}");
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("firebase.json")).unwrap())
            .unwrap();
    let disabled: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["disabled"] == true)
        .map(|u| u["localId"].as_str().unwrap())
        .collect();
    let firebase_users = read_jsonl(&data.join("firebase-passwords.jsonl"));
    let enabled = firebase_users
        .iter()
        .filter(|p| !disabled.contains(&p["LocalId"].as_str().unwrap()));
    for p in enabled.take(3) {
        let name = p["LocalId"].as_str().unwrap();
        let (status, answer) =
            password_sign_in(&server.url, name, p["Password"].as_str().unwrap()).await;
        assert_eq!(status, 200, "Firebase user {name}: {answer}");
    }
    let csv = import(
        dir.path(),
        db_url,
        &["--format", "cognito-csv", &d("cognito.csv")],
    );
    assert!(csv.contains("0 refused"), "{csv}");
    // They have no password yet (they reset it): any password is a wrong one [I].
    let (status, answer) = password_sign_in(&server.url, "csv00000", "Anything-1!").await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{answer}"
    );
    drop(server);
    db.drop().await;
}

#[tokio::test]
async fn users_move_in_with_their_passwords_on_sqlite() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn users_move_in_with_their_passwords_on_postgres() {
    round_trip(Backend::Postgres).await;
}
