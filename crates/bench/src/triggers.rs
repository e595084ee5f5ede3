//! `userpool-bench triggers`: what a pre-token-generation trigger called as a webhook on
//! loopback adds to `client_credentials` token issuance. Two pools, one without triggers and one
//! with a V3 webhook answered by a receiver in this process (it checks the HMAC signature and
//! adds `tier: gold` to the access token), against the release server pinned to one core: each
//! pool's rate, latency and server CPU per token, loaded and alone, and the difference.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use aws_lc_rs::hmac;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde_json::{Value, json};
use userpool_core::crypto::hex;

use userpool_core::keys::SigningAlg;

use crate::load::measured_loop;
use crate::server::{Running, free_port, server_pid};

const WEBHOOK_SECRET: &str = "bench-webhook-secret-0123456789";
const SECRET: &str = "ccsecret000000000000000000000000001";

/// A pool, its `client_credentials` client, and the host its domain answers on.
struct Pool {
    id: &'static str,
    client: &'static str,
    host: &'static str,
}

const PLAIN: Pool = Pool {
    id: "us-east-1_TrigBench1",
    client: "cc00000000000000000000000001",
    host: "127.0.0.1",
};
const HOOKED: Pool = Pool {
    id: "us-east-1_TrigBench2",
    client: "cc00000000000000000000000002",
    host: "localhost",
};

fn seed_pool(pool: &Pool, port: u16, lambda: Option<Value>) -> Value {
    let mut seed = json!({
        "Id": pool.id, "PoolName": pool.id,
        "Domains": [{"Domain": format!("{}:{port}", pool.host)}],
        "ResourceServers": [{"Identifier": "https://api.test", "Name": "api",
            "Scopes": [{"ScopeName": "read", "ScopeDescription": "r"}]}],
        "Clients": [{"ClientName": "m2m", "ClientId": pool.client, "ClientSecret": SECRET,
            "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthScopes": ["https://api.test/read"]}]
    });
    if let Some(lambda) = lambda {
        seed["LambdaConfig"] = lambda;
    }
    seed
}

/// The webhook receiver: checks `X-Userpool-Signature` (HMAC-SHA256 of `t.body`, `t` within
/// five minutes), then answers the event with a claim added to the access token.
#[derive(Clone)]
struct Receiver {
    key: hmac::Key,
    calls: Arc<AtomicU64>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Receiver {
    fn signed(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let Some((t, v1)) = headers
            .get("x-userpool-signature")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("t="))
            .and_then(|h| h.split_once(",v1="))
        else {
            return false;
        };
        let fresh = t
            .parse::<u64>()
            .is_ok_and(|t| t.abs_diff(unix_now()) <= 300);
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(t.as_bytes());
        ctx.update(b".");
        ctx.update(body);
        fresh && hex(ctx.sign().as_ref()) == v1
    }
}

async fn hook(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StatusCode> {
    if !receiver.signed(&headers, &body) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let mut event: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    event["response"] = json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration":
        {"claimsToAddOrOverride": {"tier": "gold"}}}});
    receiver.calls.fetch_add(1, Ordering::Relaxed);
    Ok(Json(event))
}

/// Starts the receiver on a loopback port of this process: its address and call counter.
async fn start_receiver() -> anyhow::Result<(SocketAddr, Arc<AtomicU64>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let receiver = Receiver {
        key: hmac::Key::new(hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes()),
        calls: Arc::new(AtomicU64::new(0)),
    };
    let calls = receiver.calls.clone();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, calls))
}

/// One `client_credentials` token of `pool`: its access token's claims.
async fn token(http: &reqwest::Client, port: u16, pool: &Pool) -> Result<Value, String> {
    let r = http
        .post(format!("http://{}:{port}/oauth2/token", pool.host))
        .basic_auth(pool.client, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let payload = answer["access_token"]
        .as_str()
        .and_then(|t| t.split('.').nth(1))
        .ok_or("no access token")?;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&payload).map_err(|e| e.to_string())
}

/// The report of the `triggers` set.
pub(crate) async fn run(
    binary: &str,
    seconds: u64,
    concurrency: usize,
    pinned: bool,
    machine: &str,
) -> anyhow::Result<String> {
    eprintln!("measuring the RS256 signing ceiling…");
    let ceiling_before = crate::signing_rate(SigningAlg::RS256, 3.0);

    let (hook_addr, calls) = start_receiver().await?;
    let port = free_port()?;
    let lambda = json!({"PreTokenGenerationConfig": {"LambdaVersion": "V3_0",
        "LambdaArn": format!("http://{hook_addr}/hook")}});
    let seed = json!({"UserPools": [seed_pool(&PLAIN, port, None),
        seed_pool(&HOOKED, port, Some(lambda))]});
    let secret = ["--trigger-webhook-secret", WEBHOOK_SECRET];
    let srv = Running::start_with(binary, pinned, port, &seed, None, &secret).await?;
    let pid = server_pid(port)
        .ok_or_else(|| anyhow::anyhow!("the server's process not found"))?
        .to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()?;

    // Each pool answers before its clock starts, and the hooked one carries the webhook's claim.
    let plain = token(&http, port, &PLAIN)
        .await
        .map_err(anyhow::Error::msg)?;
    let hooked = token(&http, port, &HOOKED)
        .await
        .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        plain.get("tier").is_none(),
        "a tier without a trigger: {plain}"
    );
    anyhow::ensure!(
        hooked["tier"] == "gold",
        "the webhook's claim is missing: {hooked}"
    );
    let calls_before = calls.load(Ordering::Relaxed);

    let alone_seconds = (seconds / 2).max(2);
    let mut runs = Vec::new();
    for (pool, name, alone) in [
        (&PLAIN, "no trigger", false),
        (&HOOKED, "V3 webhook trigger", false),
        (&PLAIN, "no trigger, alone", true),
        (&HOOKED, "V3 webhook trigger, alone", true),
    ] {
        eprintln!("running {name}…");
        let (s, c) = if alone {
            (alone_seconds, 1)
        } else {
            (seconds, concurrency)
        };
        let http = http.clone();
        let once = move || {
            let http = http.clone();
            async move { token(&http, port, pool).await.map(drop) }
        };
        runs.push(measured_loop(name, c, s, &pid, once).await?);
    }
    let webhook_calls = calls.load(Ordering::Relaxed) - calls_before;
    let peak_kib = srv.peak_memory_kib();
    drop(srv);
    let ceiling_after = crate::signing_rate(SigningAlg::RS256, 3.0);
    let ceiling = (ceiling_before + ceiling_after) / 2.0;

    let cores = if pinned { "1 (pinned)" } else { "all" };
    let mut report = format!(
        "Machine: {machine}\nServer: release build, SQLite, on {cores} core(s); load and the webhook receiver on another core, {concurrency} requests in flight, {seconds} s per pool ({alone_seconds} s alone, one in flight).\n\n"
    );
    report.push_str("| client_credentials tokens (POST /oauth2/token) | per second | p50 | p99 | errors | server CPU per token | ÷ ceiling | server core busy | load + receiver core busy |\n|---|---|---|---|---|---|---|---|---|\n");
    report.push_str(&format!(
        "| RS256 signatures, one core, key parsed once (ceiling; mean of {ceiling_before:.0} before and {ceiling_after:.0} after the load) | {ceiling:.0} | | | | {:.3} ms | 1 | | |\n",
        1000.0 / ceiling
    ));
    for m in &runs {
        report.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.3} ms | {:.2} | {:.0} % | {:.0} % |\n",
            m.row.name,
            m.row.rate,
            m.row.p50_ms,
            m.row.p99_ms,
            m.row.errors,
            m.server_ms_each(),
            m.row.rate / ceiling,
            100.0 * m.server_cpu / m.seconds,
            100.0 * m.bench_cpu / m.seconds
        ));
    }
    let cpu_ms = runs[1].server_ms_each() - runs[0].server_ms_each();
    let alone_cpu_ms = runs[3].server_ms_each() - runs[2].server_ms_each();
    let hooked_tokens = (runs[1].succeeded + runs[3].succeeded) as u64;
    report.push_str(&format!(
        "\nThe webhook call costs the server **{cpu_ms:.3} ms** of CPU per token with {concurrency} in flight ({:.2} RS256 signatures' worth), {alone_cpu_ms:.3} ms alone: issuance with the trigger reaches **{:.0} %** of the signing ceiling, against {:.0} % without. Alone, the call adds {:.2} ms to the p50 latency ({:.2} ms to the p99); with {concurrency} in flight, {:.2} ms to the p50. The receiver answered {webhook_calls} calls for the {hooked_tokens} tokens issued with the trigger; before the clock, the trigger pool's access token carried `tier: gold` and the other pool's no `tier`. Peak server memory (VmHWM): {:.1} MiB.\n",
        cpu_ms / 1000.0 * ceiling,
        100.0 * runs[1].row.rate / ceiling,
        100.0 * runs[0].row.rate / ceiling,
        runs[3].row.p50_ms - runs[2].row.p50_ms,
        runs[3].row.p99_ms - runs[2].row.p99_ms,
        runs[1].row.p50_ms - runs[0].row.p50_ms,
        peak_kib as f64 / 1024.0
    ));
    Ok(report)
}
