//! `userpool-bench`: starts a userpool build on loopback, drives its hot endpoints with
//! bounded concurrent load, and reports throughput, latency and peak memory next to the RS256
//! signing rate of this machine measured in the same run; `userpool-bench users` measures the
//! Cognito API's user calls on a pool of a million users; `userpool-bench srp` whole SRP and
//! password sign-ins; `userpool-bench triggers` what a webhook trigger adds to token issuance.
//! A measuring tool, not a test.

mod load;
mod server;
mod sign;
mod srp;
mod triggers;
mod users;

use std::time::{Duration, Instant};

use clap::Parser;
use userpool_core::keys::{KeyPurpose, KeyRing, MasterKey, new_signing_key};

/// Measures userpool's token issuance, code redemption, JWKS and userInfo (no subcommand), or
/// the Cognito API's user calls on a pool of a million users (`users`), whole sign-ins
/// (`srp`), or a pre-token-generation webhook's cost (`triggers`).
#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, global = true, default_value = "target/release/userpool")]
    server: String,
    /// Seconds per scenario.
    #[arg(long, global = true, default_value_t = 10)]
    seconds: u64,
    /// Concurrent requests in flight.
    #[arg(long, global = true, default_value_t = 16)]
    concurrency: usize,
    /// Pin the server to CPU 0 and this process to CPU 1 (with `taskset`), so that the load
    /// generator does not take the server's core.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set)]
    pin: bool,
    /// Write the report to this Markdown file as well.
    #[arg(long, global = true)]
    write: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// One pool with `--count` users (a million by default) bulk-loaded through the store (one
    /// password hash reused, one transaction per `--batch`), on SQLite or PostgreSQL; then
    /// SigV4-signed ListUsers (no filter, Limit 60, from a random page; `email = "…"`;
    /// `family_name ^= "…"`), AdminGetUser and AdminUpdateUserAttributes for random users,
    /// against the server pinned to one core: each call with `--concurrency` requests in flight,
    /// then alone (one in flight) for its own latency. For PostgreSQL, start a throwaway cluster
    /// (`taskset -c 1 scripts/postgres.sh start DIR PORT` keeps it off the server's core) and
    /// pass its URL.
    Users(users::UsersArgs),
    /// Whole sign-ins through the Cognito API, one user, against the server pinned to one core:
    /// `USER_SRP_AUTH` (InitiateAuth with SRP_A, RespondToAuthChallenge with the password claim,
    /// tokens; the client reuses one `a`) and `USER_PASSWORD_AUTH` (Argon2id), each with
    /// `--concurrency` in flight, beside the RS256 ceiling, with the server's CPU time per
    /// sign-in from `/proc/PID/stat` (the client half of SRP is heavy too).
    Srp,
    /// `client_credentials` tokens from two pools in one server pinned to one core, one without
    /// triggers and one with a V3 pre-token-generation webhook on loopback (a receiver in this
    /// process checks the HMAC signature and adds `tier: gold` to the access token): rate,
    /// latency and the server's CPU per token of each, loaded and alone, beside the RS256
    /// ceiling; the difference is the webhook call's cost.
    Triggers,
}

/// RS256 signatures per second on one core, with a key parsed once: the ceiling of token
/// issuance per core.
fn signing_rate(seconds: f64) -> f64 {
    let master = MasterKey::from_bytes(&[1u8; 32]);
    let rec = new_signing_key("bench_1", KeyPurpose::Access, &master, 0, 0);
    let ring = KeyRing::load(&[rec], &master, 0).expect("a key ring");
    let key = ring.signer(KeyPurpose::Access, 0).expect("a signer");
    let claims = br#"{"sub":"m2m0000000000000000000000001","client_id":"m2m0000000000000000000000001","token_use":"access","scope":"https://api.test/read https://api.test/write","auth_time":1800000000,"iss":"http://127.0.0.1:9229/us-east-1_Bench0001","exp":1800003600,"iat":1800000000,"jti":"0b6c6a86-8a5b-4f6e-9b1a-7f1f6f2e5a11","version":2}"#;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        std::hint::black_box(key.sign_jwt(claims));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map_or("?".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    format!("{model}, {cores} cores visible, {mem} RAM")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let machine = machine();
    let pinned = args.pin && server::pin_self(1);
    if let Some(command) = &args.command {
        let report = match command {
            Command::Users(users) => {
                users::run(
                    users,
                    &args.server,
                    args.seconds,
                    args.concurrency,
                    pinned,
                    &machine,
                )
                .await?
            }
            Command::Srp => {
                srp::run(
                    &args.server,
                    args.seconds,
                    args.concurrency,
                    pinned,
                    &machine,
                )
                .await?
            }
            Command::Triggers => {
                triggers::run(
                    &args.server,
                    args.seconds,
                    args.concurrency,
                    pinned,
                    &machine,
                )
                .await?
            }
        };
        println!("{report}");
        if let Some(path) = &args.write {
            std::fs::write(path, report)?;
            eprintln!("wrote {path}");
        }
        return Ok(());
    }
    eprintln!("measuring the RS256 signing ceiling…");
    let ceiling_before = signing_rate(3.0);
    let srv = server::Running::start(&args.server, pinned).await?;
    let setup = load::Setup::prepare(&srv).await?;
    let mut rows = Vec::new();
    let duration = Duration::from_secs(args.seconds);
    for scenario in load::Scenario::ALL {
        eprintln!("running {}…", scenario.name());
        let codes = if scenario == load::Scenario::RedeemCode {
            // Enough codes for the run, made before the clock starts.
            let want = (ceiling_before as usize / 2).max(200) * args.seconds as usize;
            setup.mint_codes(want.min(40_000), args.concurrency).await?
        } else {
            Vec::new()
        };
        rows.push(load::run(&setup, scenario, duration, args.concurrency, codes).await?);
    }
    let peak_kib = srv.peak_memory_kib();
    drop(srv);
    // Shared machines drift: the ceiling is the mean of a measurement before and after the load.
    let ceiling_after = signing_rate(3.0);
    let ceiling = (ceiling_before + ceiling_after) / 2.0;

    let issue = rows[0].rate;
    let cores = if pinned { "1 (pinned)" } else { "all" };
    let mut report = String::new();
    report.push_str(&format!(
        "Machine: {}\nServer: release build, SQLite, on {cores} core(s); load from another core, {} requests in flight, {} s per scenario.\n\n",
        machine,
        args.concurrency,
        args.seconds
    ));
    report.push_str("| measure | per second | p50 | p99 | errors |\n|---|---|---|---|---|\n");
    report.push_str(&format!(
        "| RS256 signatures, one core, key parsed once (ceiling; mean of {ceiling_before:.0} before and {ceiling_after:.0} after the load) | {ceiling:.0} | | | |\n"
    ));
    for r in &rows {
        report.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} |\n",
            r.name, r.rate, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    report.push_str(&format!(
        "\nToken issuance (client_credentials) reaches **{:.0} %** of the signing ceiling of the core it runs on. Peak server memory (VmHWM): **{:.1} MiB**.\n",
        100.0 * issue / ceiling,
        peak_kib as f64 / 1024.0
    ));
    println!("{report}");
    if let Some(path) = args.write {
        std::fs::write(&path, report)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}
