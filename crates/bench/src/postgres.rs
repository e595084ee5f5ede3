//! A throwaway PostgreSQL cluster for the benchmark, started and stopped with
//! `scripts/postgres.sh` (the tests' script), with fsync on: the figures are those of durable
//! commits.

use std::process::{Command, Stdio};

use crate::server::free_port;

pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl Cluster {
    /// Starts a cluster in a temporary directory; pinned to CPU 1 (away from the server's core)
    /// when `pinned`.
    pub(crate) fn start(pinned: bool) -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?.to_string();
        let data = dir.path().join("pg");
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "1", "scripts/postgres.sh"]);
            c
        } else {
            Command::new("scripts/postgres.sh")
        };
        let out = cmd
            .arg("start")
            .arg(&data)
            .arg(&port)
            .env("USERPOOL_PG_FSYNC", "on")
            .stderr(Stdio::inherit())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "scripts/postgres.sh start failed (run from the repository's root)"
        );
        let url = String::from_utf8(out.stdout)?
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        anyhow::ensure!(
            url.starts_with("postgres://"),
            "no URL from scripts/postgres.sh"
        );
        Ok(Cluster { dir, url })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("scripts/postgres.sh")
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
