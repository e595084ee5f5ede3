//! Starting and stopping the real server, and the fixtures the tests share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use userpool_core::keys::{KeyRing, MasterKey};
use userpool_core::store::{KeyStore, PoolStore};
use userpool_store::SqlStore;

pub const BIN: &str = env!("CARGO_BIN_EXE_userpool");

/// The master key every test server uses, so tests can open the keys they sealed.
pub const MASTER_KEY: [u8; 32] = [42u8; 32];

pub fn master_key_env() -> String {
    base64::engine::general_purpose::STANDARD.encode(MASTER_KEY)
}

/// A unique pool ID, so tests can share one PostgreSQL database.
pub fn unique_pool_id(region: &str) -> String {
    userpool_core::ids::new_pool_id(region)
}

/// A running `userpool serve`; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub stdout: String,
    pub log: PathBuf,
}

/// A database for one test: a SQLite file in `dir`, or the shared PostgreSQL when asked.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("userpool.db").display())
}

pub fn postgres_url() -> Option<String> {
    std::env::var("USERPOOL_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database of its own on the test PostgreSQL server, dropped by `drop_database`.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str) -> PgDatabase {
        use sqlx::Connection;
        let name = format!("up_e2e_{}", userpool_core::ids::new_client_id());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        PgDatabase {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub async fn drop_database(self) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.ok();
    }
}

pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env("USERPOOL_MASTER_KEY", master_key_env())
        .env_remove("USERPOOL_LISTEN")
        .env_remove("USERPOOL_DATABASE")
        .env_remove("USERPOOL_SEED")
        .env_remove("USERPOOL_PUBLIC_URL")
        .env_remove("USERPOOL_AWS_ISSUERS")
        .env("RUST_LOG", "info");
    cmd
}

/// Runs the binary to completion.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().expect("run userpool")
}

impl Server {
    /// Starts `userpool serve` with `args` (a free port is chosen unless `--listen` is given)
    /// and waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let log = dir.join(format!("server-{n}.log"));
        let mut cmd = command(dir);
        cmd.arg("serve");
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().expect("spawn userpool");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = String::new();
        let mut url = None;
        while url.is_none() {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("userpool listening on ") {
                        url = rest.split_whitespace().next().map(str::to_string);
                    }
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "userpool did not start; stdout:\n{stdout}\nlog:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        }
        // Collect the demo banner, printed right after the listening line.
        std::thread::sleep(Duration::from_millis(50));
        while let Ok(line) = rx.try_recv() {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        Server {
            child: Some(child),
            url: url.unwrap(),
            stdout,
            log,
        }
    }

    /// Sends SIGTERM and waits for a graceful exit.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        terminate(&mut child)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server process's ID (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("a running server").id()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("JSON")
    }
}

fn terminate(child: &mut Child) -> ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().unwrap()
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Writes `seed` to `dir/seed.json` and returns the path.
pub fn write_seed(dir: &Path, seed: &Value) -> String {
    let path = dir.join("seed.json");
    std::fs::write(&path, serde_json::to_string_pretty(seed).unwrap()).unwrap();
    path.display().to_string()
}

/// Loads a pool's signing keys straight from the database, as a node does.
pub async fn key_ring(database: &str, pool_id: &str, now: i64) -> KeyRing {
    let store = SqlStore::open(database).await.unwrap();
    let records = store.list_signing_keys(pool_id).await.unwrap();
    assert!(store.get_pool(pool_id).await.unwrap().is_some());
    let ring = KeyRing::load(&records, &MasterKey::from_bytes(&MASTER_KEY), now).unwrap();
    store.close().await;
    ring
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the binary with `args` and waits up to `limit` for it to exit; `None` (after killing it)
/// if it is still running then, as a server that should have refused to start would be.
pub fn run_until_exit(dir: &Path, args: &[&str], limit: Duration) -> Option<Output> {
    let out = dir.join("run.stdout");
    let err = dir.join("run.stderr");
    let mut child = command(dir)
        .args(args)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn userpool");
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            terminate(&mut child);
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Some(Output {
        status,
        stdout: std::fs::read(out).unwrap_or_default(),
        stderr: std::fs::read(err).unwrap_or_default(),
    })
}

impl Server {
    /// Like `start`, but stdout and stderr both go to `log` for the server's whole life, so a
    /// test can search everything it ever printed.
    pub fn start_logging_all(dir: &Path, args: &[&str]) -> Server {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let log = dir.join(format!("server-all-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = command(dir);
        cmd.arg("serve");
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(args)
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let mut child = cmd.spawn().expect("spawn userpool");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let url = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("userpool listening on "))
                .and_then(|rest| rest.split_whitespace().next())
            {
                break url.to_string();
            }
            if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("userpool did not start; output:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(50));
        Server {
            child: Some(child),
            url,
            stdout: std::fs::read_to_string(&log).unwrap_or_default(),
            log,
        }
    }
}

/// Runs the binary with `args` (from `serve` on), which must refuse to start: it exits non-zero
/// within 30 s without writing a database. Returns what it said on stderr.
pub fn refused_start(dir: &Path, args: &[&str]) -> String {
    let out = run_until_exit(dir, args, Duration::from_secs(30))
        .expect("the server must refuse to start, not run");
    assert!(!out.status.success());
    assert!(
        !dir.join("userpool.db").exists(),
        "nothing is written before refusing"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}
