//! The server under measurement: started from its binary on a free loopback port with a seed
//! of its own, pinned to one core when asked, stopped (SIGTERM) when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

pub(crate) const POOL: &str = "us-east-1_Bench0001";
pub(crate) const SPA: &str = "spa0000000000000000000000001";
pub(crate) const M2M: &str = "m2m0000000000000000000000001";
pub(crate) const M2M_SECRET: &str = "m2msecret000000000000000000000000001";
/// The second pool, whose keys the benchmark rotates to ES256, and its domain (the Host its
/// requests carry).
pub(crate) const ES_POOL: &str = "us-east-1_Bench0002";
pub(crate) const ES_M2M: &str = "m2m0000000000000000000000002";
pub(crate) const ES_HOST: &str = "es256.bench.test";
/// The benchmark's master key (base64 of 32 bytes of 1).
const MASTER_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// Pins this process to `cpu` with taskset; false when that is not possible.
pub(crate) fn pin_self(cpu: usize) -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus > cpu
        && Command::new("taskset")
            .args([
                "-a",
                "-p",
                "-c",
                &cpu.to_string(),
                &std::process::id().to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Pins the calling thread (only) to `cpu` with taskset; false when that is not possible.
pub(crate) fn pin_thread(cpu: usize) -> bool {
    // `/proc/thread-self` links to `PID/task/TID`.
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str().map(str::to_string));
    tid.is_some_and(|tid| {
        Command::new("taskset")
            .args(["-p", "-c", &cpu.to_string(), &tid])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A free loopback port.
pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) struct Running {
    child: Child,
    pub(crate) base: String,
    /// The database URL it serves from.
    pub(crate) database: String,
    _dir: tempfile::TempDir,
}

impl Running {
    /// The benchmark's server on `database` (a SQLite file of its own when `None`), pinned to
    /// `cpu` when given: the RS256 pool on its loopback address, the ES256 pool on `ES_HOST`.
    pub(crate) async fn start(
        binary: &str,
        cpu: Option<usize>,
        database: Option<&str>,
    ) -> anyhow::Result<Running> {
        Running::start_seeded(binary, cpu, database, None).await
    }

    /// Another node of this server's database and pools, pinned to `cpu` when given (its seed
    /// names the first node's domain: requests to it carry the first node's Host).
    pub(crate) async fn another_node(
        &self,
        binary: &str,
        cpu: Option<usize>,
    ) -> anyhow::Result<Running> {
        let first_port = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no port in {}", self.base))?;
        Running::start_seeded(binary, cpu, Some(&self.database), Some(first_port)).await
    }

    async fn start_seeded(
        binary: &str,
        cpu: Option<usize>,
        database: Option<&str>,
        domain_port: Option<u16>,
    ) -> anyhow::Result<Running> {
        let listen_port = free_port()?;
        let port = domain_port.unwrap_or(listen_port);
        let seed = json!({"UserPools": [{
            "Id": POOL, "PoolName": "bench",
            "Domains": [{"Domain": format!("127.0.0.1:{port}")}],
            "ResourceServers": [{"Identifier": "https://api.test", "Name": "api", "Scopes": [
                {"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}]}],
            "Clients": [
                {"ClientName": "spa", "ClientId": SPA, "AllowedOAuthFlowsUserPoolClient": true,
                 "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": ["openid", "email", "profile"],
                 "CallbackURLs": ["https://app.test/cb"], "SupportedIdentityProviders": ["COGNITO"]},
                {"ClientName": "m2m", "ClientId": M2M, "ClientSecret": M2M_SECRET, "AllowedOAuthFlowsUserPoolClient": true,
                 "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["https://api.test/read", "https://api.test/write"]}],
            "Users": [{"Username": "alice", "Password": "Passw0rd!",
                "UserAttributes": [{"Name": "email", "Value": "alice@example.test"}, {"Name": "email_verified", "Value": "true"}]}]
        }, {
            "Id": ES_POOL, "PoolName": "bench-es256",
            "Domains": [{"Domain": ES_HOST}],
            "ResourceServers": [{"Identifier": "https://api.test", "Name": "api", "Scopes": [
                {"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}]}],
            "Clients": [
                {"ClientName": "m2m", "ClientId": ES_M2M, "ClientSecret": M2M_SECRET, "AllowedOAuthFlowsUserPoolClient": true,
                 "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["https://api.test/read", "https://api.test/write"]}]
        }]});
        Running::start_on(binary, cpu, listen_port, &seed, database, &[]).await
    }

    /// `userpool keys rotate --pool POOL --alg ALG --now` on this server's database (the
    /// server loads the new keys at its next refresh).
    pub(crate) fn rotate_keys(&self, binary: &str, pool: &str, alg: &str) -> anyhow::Result<()> {
        let status = Command::new(binary)
            .args([
                "keys",
                "rotate",
                "--database",
                &self.database,
                "--pool",
                pool,
            ])
            .args(["--alg", alg, "--now"])
            .env("USERPOOL_MASTER_KEY", MASTER_KEY)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "keys rotate failed: {status}");
        Ok(())
    }

    /// The server's process ID (with taskset in front, taskset's exec'd image: the same).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server on `port` with `seed`, on `database` (a SQLite file in a temporary
    /// directory when none).
    pub(crate) async fn start_with(
        binary: &str,
        pinned: bool,
        port: u16,
        seed: &serde_json::Value,
        database: Option<&str>,
        extra: &[&str],
    ) -> anyhow::Result<Running> {
        Running::start_on(binary, pinned.then_some(0), port, seed, database, extra).await
    }

    async fn start_on(
        binary: &str,
        cpu: Option<usize>,
        port: u16,
        seed: &serde_json::Value,
        database: Option<&str>,
        extra: &[&str],
    ) -> anyhow::Result<Running> {
        let dir = tempfile::tempdir()?;
        let seed_path = dir.path().join("seed.json");
        std::fs::write(&seed_path, seed.to_string())?;
        let mut cmd = if let Some(cpu) = cpu {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string(), binary]);
            c
        } else {
            Command::new(binary)
        };
        let database = database.map_or_else(
            || format!("sqlite://{}", dir.path().join("bench.db").display()),
            str::to_string,
        );
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(&database)
            .arg("--seed")
            .arg(&seed_path)
            .arg("--data-dir")
            .arg(dir.path())
            // All the load comes from one address: the quotas would measure themselves.
            .args(["--rate-limit", "off"])
            .args(extra)
            .env("USERPOOL_MASTER_KEY", MASTER_KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("stderr.log"))?);
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("userpool listening on ") => break,
                Some(_) => {}
                None => anyhow::bail!(
                    "the server exited before listening: {}",
                    std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
                ),
            }
        }
        Ok(Running {
            child,
            base: format!("http://127.0.0.1:{port}"),
            database,
            _dir: dir,
        })
    }

    /// The server's peak resident memory (VmHWM), in KiB.
    pub(crate) fn peak_memory_kib(&self) -> u64 {
        // With taskset in front, the server is taskset's exec'd image: same PID.
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The server's process: the one listening on `port` (with taskset in front it is taskset's
/// exec'd image).
pub(crate) fn server_pid(port: u16) -> Option<u32> {
    let listen = format!("127.0.0.1:{port}");
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let entry = entry.ok()?;
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let serves = args.iter().any(|a| *a == b"serve");
        let listens = args
            .windows(2)
            .any(|w| w[0] == b"--listen" && w[1] == listen.as_bytes());
        (serves && listens).then_some(pid)
    })
}

/// Clock ticks per second of `/proc/PID/stat`.
pub(crate) fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A process's CPU time (user + system, all threads) so far, in seconds (`self` for this one).
pub(crate) fn cpu_seconds(pid: &str, ticks: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses: state is field 3, utime 14,
    // stime 15.
    let rest = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow::anyhow!("an unreadable /proc/{pid}/stat"))?
        .1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(n - 3)
            .ok_or_else(|| anyhow::anyhow!("a short /proc/{pid}/stat"))?
            .parse::<f64>()?)
    };
    Ok((field(14)? + field(15)?) / ticks)
}
