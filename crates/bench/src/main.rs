//! `userpool-bench`: starts a userpool build on loopback, drives its hot endpoints with
//! bounded concurrent load, and reports throughput, latency and peak memory next to the RS256
//! signing rate of this machine measured in the same run; `userpool-bench users` measures the
//! Cognito API's user calls on a pool of a million users; `userpool-bench srp` whole SRP and
//! password sign-ins; `userpool-bench passkeys` whole passkey sign-ins; `userpool-bench triggers` what a webhook trigger adds to token issuance.
//! A measuring tool, not a test.

mod load;
mod passkeys;
mod postgres;
mod raw;
mod server;
mod sign;
mod sign_ins;
mod srp;
mod triggers;
mod users;

use std::time::{Duration, Instant};

use clap::Parser;
use userpool_core::keys::{KeyPurpose, KeyRing, MasterKey, SigningAlg, new_key_of};

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
    /// PostgreSQL for the code redemption and two-node figures: `auto` starts a throwaway
    /// cluster with durable commits (fsync on) through `scripts/postgres.sh`, pinned to CPU 1;
    /// a `postgres://` URL uses that database; `none` skips them.
    #[arg(long, default_value = "auto")]
    postgres: String,
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
    /// Whole passkey sign-ins through the Cognito API, one user with one ES256 passkey,
    /// against the server pinned to one core: `USER_AUTH` with `PREFERRED_CHALLENGE=WEB_AUTHN`,
    /// then `RespondToAuthChallenge` with the assertion and the tokens, with `--concurrency` in
    /// flight, beside the RS256 ceiling.
    Passkeys,
    /// `client_credentials` tokens from two pools in one server pinned to one core, one without
    /// triggers and one with a V3 pre-token-generation webhook on loopback (a receiver in this
    /// process checks the HMAC signature and adds `tier: gold` to the access token): rate,
    /// latency and the server's CPU per token of each, loaded and alone, beside the RS256
    /// ceiling; the difference is the webhook call's cost.
    Triggers,
}

/// Signatures per second of `alg` on one core, with a key parsed once: the ceiling of token
/// issuance per core.
fn signing_rate(alg: SigningAlg, seconds: f64) -> f64 {
    let master = MasterKey::from_bytes(&[1u8; 32]);
    let rec = new_key_of(alg, "bench_1", KeyPurpose::Access, &master, 0, 0);
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

/// A signing ceiling: signatures per second of wall time, and per second of the signing
/// thread's own CPU time (what the core gives when nothing else takes it).
#[derive(Clone, Copy)]
struct Ceiling {
    wall: f64,
    cpu: f64,
}

impl Ceiling {
    fn mean(a: Ceiling, b: Ceiling) -> Ceiling {
        Ceiling {
            wall: (a.wall + b.wall) / 2.0,
            cpu: (a.cpu + b.cpu) / 2.0,
        }
    }

    fn times(self, k: f64) -> Ceiling {
        Ceiling {
            wall: self.wall * k,
            cpu: self.cpu * k,
        }
    }
}

/// [`signing_rate`] on a thread pinned to `cpu` (the server's core, between its scenarios,
/// when it idles), or on this thread's core when pinning is off.
fn signing_rate_on(cpu: Option<usize>, alg: SigningAlg, seconds: f64) -> Ceiling {
    std::thread::spawn(move || {
        if let Some(cpu) = cpu {
            server::pin_thread(cpu);
        }
        let ticks = server::clock_ticks();
        let before = server::cpu_seconds("thread-self", ticks).unwrap_or(0.0);
        let start = Instant::now();
        let wall = signing_rate(alg, seconds);
        let n = wall * start.elapsed().as_secs_f64();
        let used = server::cpu_seconds("thread-self", ticks).unwrap_or(0.0) - before;
        Ceiling {
            wall,
            cpu: if used > 0.0 { n / used } else { wall },
        }
    })
    .join()
    .expect("the signing thread")
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
            Command::Passkeys => {
                passkeys::run(
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
    let report = production(&args, pinned, &machine).await?;
    println!("{report}");
    if let Some(path) = args.write {
        std::fs::write(&path, report)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

/// A figure of the report: the row, and the ceiling it is read against (for two nodes, that of
/// two cores by the wall clock; per CPU-second, that of one core).
struct Figure {
    row: load::Row,
    ceiling: Option<(Ceiling, &'static str)>,
}

/// Rounds of a `client_credentials` run, with `alg`'s ceiling measured on the server's core
/// between them.
const ROUNDS: u32 = 4;

/// The ceiling an issuance run is read against, and the range of its samples.
struct Around {
    /// Each round's ceiling (the mean of the samples before and after it), weighted by the
    /// round's wall time (`wall`) and by the server's CPU time in it (`cpu`).
    ceiling: Ceiling,
    samples: usize,
    lowest: f64,
    highest: f64,
}

/// A `client_credentials` run of `scenario` in [`ROUNDS`] rounds, with `alg`'s ceiling measured
/// on the server's core (`cpu`) before, between and after them, so that each round is read
/// against the core's speed at that moment (a shared machine's speed drifts within seconds).
async fn issuance_run(
    setup: &load::Setup,
    pid: &[u32],
    scenario: load::Scenario,
    alg: SigningAlg,
    cpu: Option<usize>,
    args: &Args,
) -> anyhow::Result<(load::Row, Around)> {
    let round = Duration::from_secs(args.seconds) / ROUNDS;
    let mut ceilings = vec![signing_rate_on(cpu, alg, 1.0)];
    let (mut samples, mut by_wall, mut by_cpu) = (Vec::new(), 0.0, 0.0);
    for _ in 0..ROUNDS {
        let s = load::sample(&[setup], pid, scenario, round, args.concurrency, Vec::new()).await?;
        ceilings.push(signing_rate_on(cpu, alg, 1.0));
        let near = Ceiling::mean(ceilings[ceilings.len() - 2], ceilings[ceilings.len() - 1]);
        let rate = s.answered as f64 / s.elapsed.as_secs_f64();
        eprintln!(
            "  round: {rate:.0}/s against {:.0}/s ({:.2})",
            near.wall,
            rate / near.wall
        );
        by_wall += near.wall * s.elapsed.as_secs_f64();
        by_cpu += near.cpu * s.server_cpu;
        samples.push(s);
    }
    let wall: f64 = samples.iter().map(|s| s.elapsed.as_secs_f64()).sum();
    let server_cpu: f64 = samples.iter().map(|s| s.server_cpu).sum();
    let walls = ceilings.iter().map(|c| c.wall);
    let around = Around {
        ceiling: Ceiling {
            wall: by_wall / wall,
            cpu: if server_cpu > 0.0 {
                by_cpu / server_cpu
            } else {
                by_wall / wall
            },
        },
        samples: ceilings.len(),
        lowest: walls.clone().fold(f64::INFINITY, f64::min),
        highest: walls.fold(0.0, f64::max),
    };
    Ok((
        load::row_of(scenario.name(), samples, !pid.is_empty()),
        around,
    ))
}

/// The codes a redemption run needs, made before its clock starts.
async fn codes_for(setup: &load::Setup, ceiling: f64, args: &Args) -> anyhow::Result<Vec<String>> {
    let want = (ceiling as usize / 2).max(200) * args.seconds as usize;
    setup.mint_codes(want.min(60_000), args.concurrency).await
}

/// The production figures in one run: the signing ceilings of the server's core; on SQLite,
/// `client_credentials` with RS256 and with ES256 keys, code redemption, JWKS and userInfo; on
/// PostgreSQL, code redemption on one node, then `client_credentials` and code redemption on
/// two nodes at once.
async fn production(args: &Args, pinned: bool, machine: &str) -> anyhow::Result<String> {
    let cpu0 = pinned.then_some(0);
    let duration = Duration::from_secs(args.seconds);
    eprintln!("measuring the signing ceilings…");
    let rs_before = signing_rate_on(cpu0, SigningAlg::RS256, 3.0);
    let es_before = signing_rate_on(cpu0, SigningAlg::ES256, 3.0);
    let srv = server::Running::start(&args.server, cpu0, None).await?;
    srv.rotate_keys(&args.server, server::ES_POOL, "ES256")?;
    let setup = load::Setup::prepare(&srv).await?;
    // The server loads the rotated keys at its next refresh (every 5 s by default).
    let waited = Instant::now();
    loop {
        let token = setup.es256_token().await?;
        if jws_alg(&token).as_deref() == Some("ES256") {
            break;
        }
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(30),
            "the ES256 pool still signs with {:?}",
            jws_alg(&token)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let pid = [srv.pid()];
    eprintln!("running client_credentials (RS256)…");
    let (cc, rs_around) = issuance_run(
        &setup,
        &pid,
        load::Scenario::ClientCredentials,
        SigningAlg::RS256,
        cpu0,
        args,
    )
    .await?;
    let rs = rs_around.ceiling;
    let rs_ceiling = rs.wall;
    let mut figures = vec![Figure {
        row: cc,
        ceiling: Some((rs, "RS256 ceiling")),
    }];
    eprintln!("running client_credentials (ES256)…");
    let (es_row, es_around) = issuance_run(
        &setup,
        &pid,
        load::Scenario::ClientCredentialsEs256,
        SigningAlg::ES256,
        cpu0,
        args,
    )
    .await?;
    let es = es_around.ceiling;
    let es_ceiling = es.wall;
    figures.push(Figure {
        row: es_row,
        ceiling: Some((es, "ES256 ceiling")),
    });
    eprintln!("running code redemption (SQLite)…");
    let codes = codes_for(&setup, rs_ceiling, args).await?;
    let mut row = load::run(
        &[&setup],
        &pid,
        load::Scenario::RedeemCode,
        duration,
        args.concurrency,
        codes,
    )
    .await?;
    row.name = "authorization codes redeemed, SQLite (ID + access + refresh token)";
    figures.push(Figure {
        row,
        ceiling: Some((rs.times(0.5), "RS256 ceiling / 2")),
    });
    for scenario in [load::Scenario::Jwks, load::Scenario::UserInfo] {
        eprintln!("running {}…", scenario.name());
        let row = load::run(
            &[&setup],
            &pid,
            scenario,
            duration,
            args.concurrency,
            Vec::new(),
        )
        .await?;
        figures.push(Figure { row, ceiling: None });
    }
    let peak_kib = srv.peak_memory_kib();
    drop(srv);

    let mut cluster = None;
    let database = match args.postgres.as_str() {
        "none" => None,
        "auto" => {
            let c = postgres::Cluster::start(pinned)?;
            let url = c.url.clone();
            cluster = Some(c);
            Some(url)
        }
        url => Some(url.to_string()),
    };
    if let Some(url) = &database {
        eprintln!("running code redemption (PostgreSQL, one node)…");
        let a = server::Running::start(&args.server, cpu0, Some(url)).await?;
        let on_a = load::Setup::prepare(&a).await?;
        let codes = codes_for(&on_a, rs_ceiling, args).await?;
        let mut row = load::run(
            &[&on_a],
            &[a.pid()],
            load::Scenario::RedeemCode,
            duration,
            args.concurrency,
            codes,
        )
        .await?;
        row.name = "authorization codes redeemed, PostgreSQL (one node)";
        figures.push(Figure {
            row,
            ceiling: Some((rs.times(0.5), "RS256 ceiling / 2")),
        });
        // The second node on the other core: the load generator and PostgreSQL share it.
        let b = a.another_node(&args.server, pinned.then_some(1)).await?;
        let on_b = on_a.on_node(&b);
        let pids = [a.pid(), b.pid()];
        eprintln!("running client_credentials (two nodes)…");
        let mut row = load::run(
            &[&on_a, &on_b],
            &pids,
            load::Scenario::ClientCredentials,
            duration,
            args.concurrency,
            Vec::new(),
        )
        .await?;
        row.name = "client_credentials tokens, RS256, two nodes on PostgreSQL (combined)";
        figures.push(Figure {
            row,
            ceiling: Some((
                Ceiling {
                    wall: 2.0 * rs.wall,
                    cpu: rs.cpu,
                },
                "2 × RS256 ceiling",
            )),
        });
        eprintln!("running code redemption (two nodes)…");
        let codes = codes_for(&on_a, 2.0 * rs_ceiling, args).await?;
        let mut row = load::run(
            &[&on_a, &on_b],
            &pids,
            load::Scenario::RedeemCode,
            duration,
            args.concurrency,
            codes,
        )
        .await?;
        row.name = "authorization codes redeemed, two nodes on PostgreSQL (combined)";
        figures.push(Figure {
            row,
            ceiling: Some((
                Ceiling {
                    wall: rs.wall,
                    cpu: rs.cpu / 2.0,
                },
                "2 × RS256 ceiling / 2",
            )),
        });
    }
    drop(cluster);
    let rs_after = signing_rate_on(cpu0, SigningAlg::RS256, 3.0);
    let es_after = signing_rate_on(cpu0, SigningAlg::ES256, 3.0);

    let cores = if pinned { "1 (pinned to CPU 0)" } else { "all" };
    let mut report = String::new();
    report.push_str(&format!(
        "Machine: {machine}\nServer: release build on {cores} core(s); load from the other core, {} requests in flight, {} s per scenario. SQLite with `synchronous=FULL` (WAL); PostgreSQL: {}.\n\n",
        args.concurrency,
        args.seconds,
        match args.postgres.as_str() {
            "none" => "skipped",
            "auto" => "a throwaway cluster (`scripts/postgres.sh`, fsync on, default `synchronous_commit`) pinned to CPU 1",
            _ => "the given database",
        }
    ));
    report.push_str("| measure | per second | p50 | p99 | errors | server CPU | ceiling | ratio | ratio per CPU-second |\n|---|---|---|---|---|---|---|---|---|\n");
    report.push_str(&format!(
        "| RS256 signatures on the server's core, key parsed once | {rs_ceiling:.0} | | | | | each of the RS256 `client_credentials` run's {ROUNDS} rounds read against the mean of the samples before and after it ({} samples, {:.0} to {:.0}; {:.0} at the start, {:.0} at the end); {:.0} per CPU-second | | |\n",
        rs_around.samples, rs_around.lowest, rs_around.highest, rs_before.wall, rs_after.wall, rs.cpu
    ));
    report.push_str(&format!(
        "| ES256 signatures on the server's core, key parsed once | {es_ceiling:.0} | | | | | read as the RS256 one, around the ES256 run ({} samples, {:.0} to {:.0}; {:.0} at the start, {:.0} at the end); {:.0} per CPU-second | | |\n",
        es_around.samples, es_around.lowest, es_around.highest, es_before.wall, es_after.wall, es.cpu
    ));
    for f in &figures {
        let r = &f.row;
        let cpu = r
            .server_cores
            .map_or(String::new(), |c| format!("{:.0} %", 100.0 * c));
        let (ceiling, ratio, per_cpu) = match (f.ceiling, r.server_cores) {
            (Some((c, what)), cores) => (
                format!("{:.0} ({what})", c.wall),
                format!("**{:.2}**", r.rate / c.wall),
                cores.map_or(String::new(), |k| format!("{:.2}", r.rate / k / c.cpu)),
            ),
            (None, _) => (String::new(), String::new(), String::new()),
        };
        report.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {cpu} | {ceiling} | {ratio} | {per_cpu} |\n",
            r.name, r.rate, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    report.push_str(&format!(
        "\nServer CPU is the server processes' CPU time over the run's wall time (100 % = one core busy throughout). The ratio is the rate over the ceiling by the wall clock; the ratio per CPU-second is the rate per second of the servers' CPU time over the signatures per second of the signing thread's CPU time: what the server makes of the CPU it gets, whatever else the shared machine runs. Peak memory of the SQLite server (VmHWM): **{:.1} MiB**.\n",
        peak_kib as f64 / 1024.0
    ));
    Ok(report)
}

/// The `alg` of a compact JWS's header.
fn jws_alg(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next()?)
        .ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header["alg"].as_str().map(str::to_string)
}
