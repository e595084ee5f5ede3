//! `userpool-bench srp`: whole sign-ins through the Cognito API against the release server
//! pinned to one core. `USER_SRP_AUTH` (InitiateAuth with `SRP_A`, then RespondToAuthChallenge
//! with the password claim: two round trips, the server's modular exponentiations and the
//! tokens) and `USER_PASSWORD_AUTH` (one round trip, Argon2id), each with the server's own CPU
//! time per sign-in read from `/proc`, since the client half of SRP is as heavy as the server's
//! and the load generator has one core of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use userpool_core::keys::SigningAlg;
use userpool_core::password::HashParams;
use userpool_core::srp::{self, client};

use crate::load::measured_loop;
use crate::server::{Running, free_port, server_pid};
use crate::sign_ins::{
    Api, admin_signer, has_tokens, per_cpu_second, signatures_worth, table_head, table_row,
};

const POOL: &str = "us-east-1_SrpBench1";
const USERNAME: &str = "bench-user";
const PASSWORD: &str = "Bench-pass-1!";

/// The pool's name as Cognito's SRP uses it: the part of the pool ID after `_`.
fn realm() -> &'static str {
    POOL.split_once('_').map_or(POOL, |(_, name)| name)
}

/// TIMESTAMP as the SDKs write it ("Sat Dec 5 20:13:46 UTC 2026"); the server only checks that
/// it is signed.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let weekday = &format!("{}", now.weekday())[..3];
    let month = &format!("{}", now.month())[..3];
    format!(
        "{weekday} {month} {} {:02}:{:02}:{:02} UTC {}",
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.year()
    )
}

/// The client's SRP ephemeral, reused across sign-ins to spare the load generator's core (the
/// server draws a fresh b every time).
struct Ephemeral {
    a: client::ClientSecret,
    a_hex: String,
}

/// One whole `USER_SRP_AUTH` sign-in: the challenge, the claim, the tokens.
async fn srp_sign_in(api: &Api, client_id: &str, eph: &Ephemeral) -> Result<(), String> {
    let challenge = api
        .call(
            None,
            "InitiateAuth",
            &json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": USERNAME, "SRP_A": eph.a_hex}}),
        )
        .await?;
    if challenge["ChallengeName"] != "PASSWORD_VERIFIER" {
        return Err(format!("not a PASSWORD_VERIFIER challenge: {challenge}"));
    }
    let p = &challenge["ChallengeParameters"];
    let param = |name: &str| {
        p[name]
            .as_str()
            .ok_or_else(|| format!("no {name} in {challenge}"))
    };
    let user_id = param("USER_ID_FOR_SRP")?;
    let block = param("SECRET_BLOCK")?;
    let key = client::session_key(
        &eph.a,
        &eph.a_hex,
        realm(),
        user_id,
        PASSWORD,
        param("SALT")?,
        param("SRP_B")?,
    )
    .ok_or("an unusable SRP_B")?;
    let ts = timestamp();
    let signature = client::claim_signature(&key, realm(), user_id, block, &ts)
        .ok_or("SECRET_BLOCK is not base64")?;
    let mut respond = json!({"ChallengeName": "PASSWORD_VERIFIER", "ClientId": client_id,
        "ChallengeResponses": {"USERNAME": param("USERNAME")?,
            "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": signature,
            "TIMESTAMP": ts}});
    if let Some(session) = challenge["Session"].as_str() {
        respond["Session"] = session.into();
    }
    has_tokens(&api.call(None, "RespondToAuthChallenge", &respond).await?)
}

/// One `USER_PASSWORD_AUTH` sign-in.
async fn password_sign_in(api: &Api, client_id: &str) -> Result<(), String> {
    let answer = api
        .call(
            None,
            "InitiateAuth",
            &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": USERNAME, "PASSWORD": PASSWORD}}),
        )
        .await?;
    has_tokens(&answer)
}

/// Milliseconds of one core for the server's SRP math of one sign-in alone (`server_ephemeral`
/// and `session_key`, no HTTP, no store, no tokens), measured in this process.
fn srp_math_ms(seconds: f64) -> f64 {
    let verifier = srp::make_verifier(realm(), "math", PASSWORD);
    let (_, a_hex) = client::ephemeral();
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let (b, b_hex) = srp::server_ephemeral(&verifier).expect("a usable verifier");
        std::hint::black_box(srp::session_key(&verifier, &b, &a_hex, &b_hex));
        n += 1;
    }
    1000.0 * start.elapsed().as_secs_f64() / f64::from(n)
}

/// The report of the `srp` set.
pub(crate) async fn run(
    binary: &str,
    seconds: u64,
    concurrency: usize,
    pinned: bool,
    machine: &str,
) -> anyhow::Result<String> {
    eprintln!("measuring the RS256 signing ceiling…");
    let ceiling_before = crate::signing_rate(SigningAlg::RS256, 3.0);
    eprintln!("measuring the server's SRP math alone…");
    let math_ms = srp_math_ms(3.0);

    let temp = tempfile::tempdir()?;
    let url = format!("sqlite://{}", temp.path().join("srp.db").display());
    let port = free_port()?;
    let seed = json!({"UserPools": [{"Id": POOL, "PoolName": "srp"}]});
    let srv = Running::start_with(binary, pinned, port, &seed, Some(&url), &[]).await?;
    let pid = server_pid(port).ok_or_else(|| anyhow::anyhow!("the server's process not found"))?;
    let pid = pid.to_string();

    let signer = admin_signer(&url).await?;
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        base: srv.base.clone(),
    };
    let created = api
        .call(
            Some(&signer),
            "CreateUserPoolClient",
            &json!({"UserPoolId": POOL, "ClientName": "srp-bench",
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH"]}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    let client_id = created["UserPoolClient"]["ClientId"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no ClientId in {created}"))?
        .to_string();
    api.call(
        Some(&signer),
        "AdminCreateUser",
        &json!({"UserPoolId": POOL, "Username": USERNAME, "MessageAction": "SUPPRESS"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    api.call(
        Some(&signer),
        "AdminSetUserPassword",
        &json!({"UserPoolId": POOL, "Username": USERNAME, "Password": PASSWORD,
            "Permanent": true}),
    )
    .await
    .map_err(anyhow::Error::msg)?;

    let (a, a_hex) = client::ephemeral();
    let eph = Arc::new(Ephemeral { a, a_hex });
    let client_id = Arc::new(client_id);
    // Each flow works once before its clock starts.
    srp_sign_in(&api, &client_id, &eph)
        .await
        .map_err(anyhow::Error::msg)?;
    password_sign_in(&api, &client_id)
        .await
        .map_err(anyhow::Error::msg)?;

    let mut measured = Vec::new();
    eprintln!("running USER_SRP_AUTH…");
    let (api2, id2) = (api.clone(), client_id.clone());
    measured.push(
        measured_loop(
            "USER_SRP_AUTH sign-ins (InitiateAuth + RespondToAuthChallenge, tokens)",
            concurrency,
            seconds,
            &pid,
            move || {
                let (api, id, eph) = (api2.clone(), id2.clone(), eph.clone());
                async move { srp_sign_in(&api, &id, &eph).await }
            },
        )
        .await?,
    );
    eprintln!("running USER_PASSWORD_AUTH…");
    measured.push(
        measured_loop(
            "USER_PASSWORD_AUTH sign-ins (InitiateAuth, tokens)",
            concurrency,
            seconds,
            &pid,
            move || {
                let (api, id) = (api.clone(), client_id.clone());
                async move { password_sign_in(&api, &id).await }
            },
        )
        .await?,
    );
    let peak_kib = srv.peak_memory_kib();
    drop(srv);
    drop(temp);
    let ceiling_after = crate::signing_rate(SigningAlg::RS256, 3.0);
    let ceiling = (ceiling_before + ceiling_after) / 2.0;

    let argon = HashParams::default();
    let cores = if pinned { "1 (pinned)" } else { "all" };
    let mut report = format!(
        "Machine: {machine}\nServer: release build, SQLite, on {cores} core(s); load from another core, {concurrency} sign-ins in flight, {seconds} s per flow; one user, one app client without a secret.\n\n"
    );
    report.push_str(&table_head(ceiling_before, ceiling_after));
    report.push_str(&format!(
        "| the server's SRP math of one sign-in alone (B = k·v + g^b, then S = (A·v^u)^b and the key), in this process | {:.0} | | | | {math_ms:.2} ms | {:.0} | {:.2} |\n",
        1000.0 / math_ms,
        1000.0 / math_ms,
        math_ms / 1000.0 * ceiling
    ));
    for m in &measured {
        report.push_str(&table_row(m, ceiling));
    }
    let srp = &measured[0];
    let worth = signatures_worth(srp, ceiling);
    report.push_str(&format!(
        "\nServer CPU: utime + stime of the server's process (all its threads) over each run, from `/proc/PID/stat`, divided by the sign-ins; the client half of SRP runs on the load generator's one core and bounds \"per second\", not the server.\n\nA whole SRP sign-in costs the server **{:.2} ms** of CPU, **{worth:.2} RS256 signatures' worth**: {:.0} sign-ins per server-CPU-second, **{:.3}** of the ceiling (goal: at most 5 signatures' worth, at least 0.20 of the ceiling: {}).\n",
        srp.server_ms_each(),
        per_cpu_second(srp),
        per_cpu_second(srp) / ceiling,
        if worth <= 5.0 {
            format!("met, with {:.0} % to spare", 100.0 * (5.0 - worth) / 5.0)
        } else {
            format!("missed, at {:.1} times the budget", worth / 5.0)
        }
    ));
    report.push_str(&format!(
        "USER_PASSWORD_AUTH is bound by Argon2id (m = {} KiB, t = {}, p = 1): {:.1} ms of server CPU per sign-in.\n",
        argon.memory_kib,
        argon.iterations,
        measured[1].server_ms_each()
    ));
    report.push_str(&format!(
        "\nPeak server memory (VmHWM): **{:.1} MiB**.\n",
        peak_kib as f64 / 1024.0
    ));
    Ok(report)
}
