//! `userpool-bench users`: one pool with many users (a million by default), loaded in bulk
//! through the store (one password hash for all, one transaction per batch), then the Cognito
//! API driven with SigV4-signed requests: ListUsers unfiltered and filtered, AdminGetUser and
//! AdminUpdateUserAttributes, against the release server pinned to one core.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use userpool_core::crypto::hex;
use userpool_core::keys::MasterKey;
use userpool_core::model::{AttributeType, UserStatus};
use userpool_core::password::{HashParams, hash_password};
use userpool_core::store::{AccessKeyRecord, AccessKeyStore, PoolStore, UserRecord};
use userpool_store::SqlStore;

use crate::load::{Row, closed_loop, summarize};
use crate::server::{Running, free_port};
use crate::sign::Signer;

const POOL: &str = "us-east-1_Users0001";
const REGION: &str = "us-east-1";

const GIVEN_NAMES: &[&str] = &[
    "Ada", "Alan", "Alice", "Amara", "Ana", "Ben", "Carla", "Chen", "Dara", "David", "Elena",
    "Emma", "Farid", "Grace", "Hana", "Ivan", "Jamal", "Jin", "John", "Kai", "Lara", "Leo",
    "Lucia", "Maya", "Mei", "Nadia", "Noah", "Olga", "Omar", "Paul", "Priya", "Rosa", "Sam",
    "Sara", "Tom", "Uma", "Victor", "Wei", "Yara", "Zoe",
];

const FAMILY_NAMES: &[&str] = &[
    "Adams", "Baker", "Brown", "Carter", "Chen", "Clark", "Davis", "Diaz", "Evans", "Garcia",
    "Gonzalez", "Green", "Hall", "Harris", "Hill", "Jackson", "Johnson", "Jones", "Khan", "King",
    "Lee", "Lewis", "Lopez", "Martin", "Miller", "Moore", "Nguyen", "Patel", "Perez", "Roberts",
    "Robinson", "Sanchez", "Scott", "Smith", "Taylor", "Thomas", "Walker", "White", "Wilson",
    "Young",
];

/// A well-mixed 64-bit value of `x` (splitmix64): the user's names, and the load's choices.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// User `i`'s username, names, email and phone number: a function of `i`, so the load
/// generator knows what to search for without keeping a million users.
struct Person {
    username: String,
    given: &'static str,
    family: &'static str,
    email: String,
    phone: String,
}

impl Person {
    fn of(i: u64) -> Person {
        let h = mix(i);
        let given = GIVEN_NAMES[(h % GIVEN_NAMES.len() as u64) as usize];
        let family = FAMILY_NAMES[((h >> 32) % FAMILY_NAMES.len() as u64) as usize];
        Person {
            username: format!("user{i:07}"),
            given,
            family,
            email: format!(
                "{}.{}.{i}@example.test",
                given.to_lowercase(),
                family.to_lowercase()
            ),
            phone: format!("+1555{i:07}"),
        }
    }

    fn record(&self, hash: &userpool_core::password::PasswordHash, now: i64) -> UserRecord {
        let attribute = |name: &str, value: &str| AttributeType {
            name: name.into(),
            value: value.into(),
        };
        UserRecord {
            pool_id: POOL.into(),
            username: self.username.clone(),
            sub: uuid::Uuid::new_v4().to_string(),
            status: UserStatus::Confirmed,
            enabled: true,
            password_hash: Some(hash.clone()),
            password_set_at: Some(now),
            tokens_valid_from_ms: None,
            totp_secret: None,
            mfa_preference: None,
            srp_verifier: None,
            attributes: vec![
                attribute("email", &self.email),
                attribute("email_verified", "true"),
                attribute("given_name", self.given),
                attribute("family_name", self.family),
                attribute("phone_number", &self.phone),
            ],
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

/// The calls measured, in the report's order.
#[derive(Debug, Clone, Copy)]
enum Call {
    ListUsers,
    ListByEmail,
    ListByFamilyPrefix,
    AdminGetUser,
    AdminUpdateUserAttributes,
}

impl Call {
    const ALL: [Call; 5] = [
        Call::ListUsers,
        Call::ListByEmail,
        Call::ListByFamilyPrefix,
        Call::AdminGetUser,
        Call::AdminUpdateUserAttributes,
    ];

    fn name(self) -> &'static str {
        match self {
            Call::ListUsers => "ListUsers, no filter, Limit 60, from a random page",
            Call::ListByEmail => "ListUsers `email = \"…\"` (one match)",
            Call::ListByFamilyPrefix => {
                "ListUsers `family_name ^= \"…\"` (3-letter prefix, ~1/40 of users match; first page of 60)"
            }
            Call::AdminGetUser => "AdminGetUser",
            Call::AdminUpdateUserAttributes => "AdminUpdateUserAttributes (given_name)",
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Call::ListUsers | Call::ListByEmail | Call::ListByFamilyPrefix => "ListUsers",
            Call::AdminGetUser => "AdminGetUser",
            Call::AdminUpdateUserAttributes => "AdminUpdateUserAttributes",
        }
    }

    /// The request body for user `i` (and `r`, another random number).
    fn body(self, i: u64, r: u64) -> Value {
        let p = Person::of(i);
        match self {
            Call::ListUsers => json!({"UserPoolId": POOL, "Limit": 60,
                "PaginationToken": hex(p.username.as_bytes())}),
            Call::ListByEmail => json!({"UserPoolId": POOL,
                "Filter": format!("email = \"{}\"", p.email)}),
            Call::ListByFamilyPrefix => json!({"UserPoolId": POOL, "Limit": 60,
                "Filter": format!("family_name ^= \"{}\"", &p.family[..3])}),
            Call::AdminGetUser => json!({"UserPoolId": POOL, "Username": p.username}),
            Call::AdminUpdateUserAttributes => json!({"UserPoolId": POOL, "Username": p.username,
                "UserAttributes": [{"Name": "given_name",
                    "Value": GIVEN_NAMES[(r % GIVEN_NAMES.len() as u64) as usize]}]}),
        }
    }

    /// What a correct answer for user `i` holds (checked once before the clock starts).
    fn check(self, i: u64, answer: &Value) -> bool {
        let p = Person::of(i);
        let users = answer["Users"].as_array();
        match self {
            Call::ListUsers => {
                users.is_some_and(|u| u.len() == 60 || answer["PaginationToken"].is_null())
            }
            Call::ListByEmail => {
                users.is_some_and(|u| u.len() == 1 && u[0]["Username"] == p.username.as_str())
            }
            Call::ListByFamilyPrefix => users.is_some_and(|u| {
                u.len() == 60
                    && u.iter().all(|u| {
                        u["Attributes"].as_array().is_some_and(|a| {
                            a.iter().any(|a| {
                                a["Name"] == "family_name"
                                    && a["Value"]
                                        .as_str()
                                        .is_some_and(|v| v.starts_with(&p.family[..3]))
                            })
                        })
                    })
            }),
            Call::AdminGetUser => answer["Username"] == p.username.as_str(),
            Call::AdminUpdateUserAttributes => answer.as_object().is_some_and(|o| o.is_empty()),
        }
    }
}

/// The `users` scenario set's options.
#[derive(Debug, clap::Args)]
pub(crate) struct UsersArgs {
    /// Users in the pool.
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// `sqlite` (a temporary file, deleted afterwards), `sqlite://PATH` (kept), or
    /// `postgres://…` (an empty database of its own: e.g. `scripts/postgres.sh start DIR PORT`).
    /// A database that already holds the benchmark pool with exactly `--count` users is
    /// measured as it is, without loading.
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// Users per transaction of the bulk load.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

/// The report of the `users` set.
pub(crate) async fn run(
    args: &UsersArgs,
    binary: &str,
    seconds: u64,
    concurrency: usize,
    pinned: bool,
    machine: &str,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        args.count >= 10_000 && args.batch > 0,
        "--count is at least 10000 (a prefix search must fill pages of 60) and --batch at least 1"
    );
    let temp = tempfile::tempdir()?;
    let (url, backend) = match args.database.as_str() {
        "sqlite" => (
            format!("sqlite://{}", temp.path().join("users.db").display()),
            "SQLite",
        ),
        u if u.starts_with("sqlite:") => (u.to_string(), "SQLite"),
        u if u.starts_with("postgres") => (u.to_string(), "PostgreSQL"),
        _ => anyhow::bail!("--database is sqlite, sqlite://PATH or postgres://…"),
    };
    let port = free_port()?;
    // No domain: the API needs none, and a kept database is seeded again on the next run.
    let seed = json!({"UserPools": [{"Id": POOL, "PoolName": "users"}]});
    // The server migrates the database and creates the pool; the load goes in beside it.
    let srv = Running::start_with(binary, pinned, port, &seed, Some(&url), &[]).await?;
    let store = SqlStore::open(&url).await?;
    let loaded = load(&store, args).await?;
    let master = MasterKey::from_bytes(&[1u8; 32]);
    let now = unix_now();
    let (key, secret) = AccessKeyRecord::generate(&master, "userpool-bench users", now);
    store.insert_access_key(&key).await?;
    let signer = Arc::new(Signer {
        key_id: key.id.clone(),
        secret,
        region: REGION.into(),
    });
    let size = database_size(&url);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let mut rows = Vec::new();
    for call in Call::ALL {
        eprintln!("running {}…", call.name());
        for i in [0, args.count / 2, args.count - 1] {
            let (status, answer) = send(&http, &srv, &signer, call, i, i).await?;
            anyhow::ensure!(
                status == 200 && call.check(i, &answer),
                "{} for user {i} answered {status}: {answer}",
                call.operation()
            );
        }
        let loaded = drive(&http, &srv, &signer, call, args.count, seconds, concurrency).await?;
        // The same call alone: its own latency, without the queue of the loaded run.
        let alone = drive(
            &http,
            &srv,
            &signer,
            call,
            args.count,
            seconds.div_ceil(2),
            1,
        )
        .await?;
        rows.push((loaded, alone));
    }
    let peak_kib = srv.peak_memory_kib();
    drop(srv);
    store.close().await;
    drop(temp);

    let cores = if pinned { "1 (pinned)" } else { "all" };
    let mut report = format!(
        "Machine: {machine}\nServer: release build, {backend}, on {cores} core(s); load from another core, {concurrency} requests in flight, {seconds} s per scenario, SigV4 checked against an access key.\nPool: {} users; {}{}\n\n",
        args.count,
        match loaded {
            Some((took, batch)) => format!(
                "bulk-loaded in {:.1} s ({:.0} users/s, {batch} per transaction)",
                took.as_secs_f64(),
                args.count as f64 / took.as_secs_f64(),
            ),
            None => "already loaded".into(),
        },
        size.map_or(String::new(), |s| format!(
            "; database file {:.0} MiB",
            s as f64 / 1024.0 / 1024.0
        )),
    );
    report.push_str(
        "| call | per second | p50 | p99 | errors | alone: p50 / p99 |\n|---|---|---|---|---|---|\n",
    );
    for (r, alone) in &rows {
        report.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.2} / {:.2} ms |\n",
            r.name,
            r.rate,
            r.p50_ms,
            r.p99_ms,
            r.errors + alone.errors,
            alone.p50_ms,
            alone.p99_ms
        ));
    }
    report.push_str(&format!(
        "\n\"alone\": the same call with one request in flight ({} s), its latency without the queue of {concurrency} in flight on one core.\n",
        seconds.div_ceil(2)
    ));
    report.push_str(&format!(
        "\nPeak server memory (VmHWM): **{:.1} MiB**.\n",
        peak_kib as f64 / 1024.0
    ));
    Ok(report)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The size of a SQLite database (with its WAL), if it is one.
fn database_size(url: &str) -> Option<u64> {
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    let size = |p: &str| std::fs::metadata(p).map_or(0, |m| m.len());
    Some(size(path) + size(&format!("{path}-wal")))
}

/// Loads `args.count` users unless the pool holds them already: the time it took and the batch.
async fn load(store: &SqlStore, args: &UsersArgs) -> anyhow::Result<Option<(Duration, usize)>> {
    let have = store.count_users(POOL).await?;
    if have == args.count as i64 {
        eprintln!("the pool holds {have} users already: not loading");
        return Ok(None);
    }
    anyhow::ensure!(
        have == 0,
        "the pool holds {have} users, not 0 or {}: give an empty database",
        args.count
    );
    anyhow::ensure!(
        store.get_pool(POOL).await?.is_some(),
        "the pool was not created"
    );
    // One Argon2 hash for everyone: the load measures the database, not the hashing.
    let hash = hash_password("Bench-pass-1!", HashParams::default());
    let now = unix_now();
    let start = Instant::now();
    let mut next = 0u64;
    while next < args.count {
        let end = (next + args.batch as u64).min(args.count);
        let batch: Vec<UserRecord> = (next..end)
            .map(|i| Person::of(i).record(&hash, now))
            .collect();
        let inserted = store.insert_users_bulk(&batch).await?;
        anyhow::ensure!(
            inserted == batch.len() as u64,
            "inserted {inserted} of {}",
            batch.len()
        );
        next = end;
        if next.is_multiple_of(args.batch as u64 * 10) || next == args.count {
            eprintln!(
                "loaded {next} users in {:.1} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    store.analyze_users().await?;
    Ok(Some((start.elapsed(), args.batch)))
}

/// One signed call for user `i`: the status and the answer.
async fn send(
    http: &reqwest::Client,
    srv: &Running,
    signer: &Signer,
    call: Call,
    i: u64,
    r: u64,
) -> anyhow::Result<(u16, Value)> {
    let body = call.body(i, r).to_string();
    let target = format!("AWSCognitoIdentityProviderService.{}", call.operation());
    let host = srv.base.trim_start_matches("http://");
    let mut request = http
        .post(format!("{}/", srv.base))
        .header("content-type", "application/x-amz-json-1.1");
    for (name, value) in signer.headers(host, &target, body.as_bytes(), unix_now()) {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// `concurrency` requests in flight for `seconds`, each for a random user.
async fn drive(
    http: &reqwest::Client,
    srv: &Running,
    signer: &Arc<Signer>,
    call: Call,
    count: u64,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let start = Instant::now();
    let srv = Arc::new((srv.base.clone(), http.clone()));
    let seed = unix_now() as u64;
    let target = format!("AWSCognitoIdentityProviderService.{}", call.operation());
    let signer = signer.clone();
    let once = move |worker: u64, n: u64| {
        let (srv, signer, target) = (srv.clone(), signer.clone(), target.clone());
        async move {
            let (base, http) = (&srv.0, &srv.1);
            let host = base.trim_start_matches("http://");
            let r = mix(seed ^ (worker << 40) ^ n);
            let body = call.body(r % count, r >> 32).to_string();
            let mut request = http
                .post(format!("{base}/"))
                .header("content-type", "application/x-amz-json-1.1");
            for (name, value) in signer.headers(host, &target, body.as_bytes(), unix_now()) {
                request = request.header(name, value);
            }
            let r = request.body(body).send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            let bytes = r.bytes().await.unwrap_or_default();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)))
            }
        }
    };
    let (all, errors) = closed_loop(concurrency, seconds, once).await?;
    Ok(summarize(call.name(), all, errors, start.elapsed()))
}
