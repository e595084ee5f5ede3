//! The scenarios and the load loop: a fixed number of requests in flight for a fixed time,
//! every latency recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, HOST, LOCATION, SET_COOKIE};

use crate::raw;
use crate::server::{ES_HOST, ES_M2M, M2M, M2M_SECRET, POOL, Running, SPA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    ClientCredentials,
    /// `client_credentials` on the pool whose keys are ES256 (its domain is `ES_HOST`).
    ClientCredentialsEs256,
    RedeemCode,
    Jwks,
    UserInfo,
}

impl Scenario {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::ClientCredentials => "client_credentials tokens, RS256 (POST /oauth2/token)",
            Scenario::ClientCredentialsEs256 => {
                "client_credentials tokens, ES256 pool (POST /oauth2/token)"
            }
            Scenario::RedeemCode => "authorization codes redeemed (ID + access + refresh token)",
            Scenario::Jwks => "JWKS (GET …/.well-known/jwks.json)",
            Scenario::UserInfo => "userInfo (GET /oauth2/userInfo)",
        }
    }
}

/// Everything the scenarios need, made before any clock starts.
#[derive(Clone)]
pub(crate) struct Setup {
    http: reqwest::Client,
    /// Where requests go.
    base: String,
    /// The pool domain's host when it is not `base`'s (another node of the same pool).
    host: Option<String>,
    session_cookie: String,
    access_token: String,
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

const AUTHORIZE_QUERY: &str = "client_id=spa0000000000000000000000001&response_type=code&scope=openid+email&redirect_uri=https%3A%2F%2Fapp.test%2Fcb";

impl Setup {
    /// Signs in once through the real form, keeping the session, and gets an access token.
    pub(crate) async fn prepare(srv: &Running) -> anyhow::Result<Setup> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?;
        let login = format!("{}/login?{AUTHORIZE_QUERY}", srv.base);
        let page = http.get(&login).send().await?;
        let csrf_cookie = page
            .headers()
            .get(SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .unwrap_or("")
            .to_string();
        let body = page.text().await?;
        let at = body
            .find("name=\"_csrf\" value=\"")
            .ok_or_else(|| anyhow::anyhow!("no sign-in form"))?
            + 20;
        let csrf = body[at..].split('"').next().unwrap_or("").to_string();
        let done = http
            .post(&login)
            .header(COOKIE, &csrf_cookie)
            .form(&[
                ("username", "alice"),
                ("password", "Passw0rd!"),
                ("_csrf", csrf.as_str()),
            ])
            .send()
            .await?;
        let session_cookie = done
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|c| c.to_str().ok())
            .find(|c| c.starts_with("userpool-session="))
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("sign-in failed"))?
            .to_string();
        let mut setup = Setup {
            http,
            base: srv.base.clone(),
            host: None,
            session_cookie,
            access_token: String::new(),
        };
        let code = param(&location(&done), "code").ok_or_else(|| anyhow::anyhow!("no code"))?;
        let tokens: serde_json::Value = setup.redeem(&code).await?.json().await?;
        setup.access_token = tokens["access_token"].as_str().unwrap_or("").to_string();
        Ok(setup)
    }

    /// The same session and tokens, sent to another node of the same pool (on the same
    /// database), with the first node's pool domain as the Host.
    pub(crate) fn on_node(&self, other: &Running) -> Setup {
        Setup {
            http: self.http.clone(),
            base: other.base.clone(),
            host: Some(self.base.trim_start_matches("http://").to_string()),
            session_cookie: self.session_cookie.clone(),
            access_token: self.access_token.clone(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.host {
            Some(host) => r.header(HOST, host),
            None => r,
        }
    }

    /// A `client_credentials` token of the ES256 pool, to check its header.
    pub(crate) async fn es256_token(&self) -> anyhow::Result<String> {
        let r = self.cc_es256().send().await?;
        let body: serde_json::Value = r.json().await?;
        Ok(body["access_token"].as_str().unwrap_or("").to_string())
    }

    fn cc_es256(&self) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/oauth2/token", self.base))
            .header(HOST, ES_HOST)
            .basic_auth(ES_M2M, Some(M2M_SECRET))
            .form(&[("grant_type", "client_credentials")])
    }

    async fn redeem(&self, code: &str) -> reqwest::Result<reqwest::Response> {
        self.request(reqwest::Method::POST, "/oauth2/token")
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", code),
                ("redirect_uri", "https://app.test/cb"),
            ])
            .send()
            .await
    }

    /// `n` fresh codes from the session (silent sign-in), made `concurrency` at a time.
    pub(crate) async fn mint_codes(
        self: &Setup,
        n: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<String>> {
        let url = format!("{}/oauth2/authorize?{AUTHORIZE_QUERY}", self.base);
        let made = Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
        let left = Arc::new(AtomicUsize::new(n));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (http, url, cookie) = (self.http.clone(), url.clone(), self.session_cookie.clone());
            let (made, left) = (made.clone(), left.clone());
            tasks.push(tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                    .is_ok()
                {
                    let r = http.get(&url).header(COOKIE, &cookie).send().await?;
                    if let Some(code) = param(&location(&r), "code") {
                        made.lock().expect("not poisoned").push(code);
                    }
                }
                Ok::<_, reqwest::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let codes = std::mem::take(&mut *made.lock().expect("not poisoned"));
        Ok(codes)
    }

    /// The server's address, for the raw load client.
    fn addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        Ok(self.base.trim_start_matches("http://").parse()?)
    }

    /// One request of `scenario`, whole, for the raw load client (`code` for a redemption).
    fn raw_request(&self, scenario: Scenario, code: Option<&str>) -> Vec<u8> {
        use base64::Engine as _;
        let host = self
            .host
            .as_deref()
            .unwrap_or(self.base.trim_start_matches("http://"));
        let basic = |id: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{M2M_SECRET}"))
        };
        match scenario {
            Scenario::ClientCredentials => raw::request(
                &format!(
                    "POST /oauth2/token HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {}",
                    basic(M2M)
                ),
                "grant_type=client_credentials",
            ),
            Scenario::ClientCredentialsEs256 => raw::request(
                &format!(
                    "POST /oauth2/token HTTP/1.1\r\nHost: {ES_HOST}\r\nAuthorization: Basic {}",
                    basic(ES_M2M)
                ),
                "grant_type=client_credentials",
            ),
            Scenario::RedeemCode => {
                let body: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "authorization_code")
                    .append_pair("client_id", SPA)
                    .append_pair("code", code.unwrap_or(""))
                    .append_pair("redirect_uri", "https://app.test/cb")
                    .finish();
                raw::request(
                    &format!("POST /oauth2/token HTTP/1.1\r\nHost: {host}"),
                    &body,
                )
            }
            Scenario::Jwks => raw::request(
                &format!("GET /{POOL}/.well-known/jwks.json HTTP/1.1\r\nHost: {host}"),
                "",
            ),
            Scenario::UserInfo => raw::request(
                &format!(
                    "GET /oauth2/userInfo HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}",
                    self.access_token
                ),
                "",
            ),
        }
    }
}

/// One scenario's figures.
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: usize,
    /// The servers' CPU time over the run's wall time (1.0 = one core busy throughout), when
    /// measured.
    pub(crate) server_cores: Option<f64>,
}

/// One load run's raw figures.
pub(crate) struct Sample {
    latencies: Vec<f64>,
    errors: usize,
    pub(crate) elapsed: Duration,
    /// The servers' CPU seconds over the run (zero when no server was measured).
    pub(crate) server_cpu: f64,
    /// Requests answered with success.
    pub(crate) answered: usize,
}

/// `scenario` for `duration` with `concurrency` requests in flight, spread over `setups` (one
/// per node: connection `i` talks to node `i % n`), with the CPU time of the servers `pids`.
pub(crate) async fn run(
    setups: &[&Setup],
    pids: &[u32],
    scenario: Scenario,
    duration: Duration,
    concurrency: usize,
    codes: Vec<String>,
) -> anyhow::Result<Row> {
    let one = sample(setups, pids, scenario, duration, concurrency, codes).await?;
    Ok(row_of(scenario.name(), vec![one], !pids.is_empty()))
}

/// [`run`]'s raw figures.
pub(crate) async fn sample(
    setups: &[&Setup],
    pids: &[u32],
    scenario: Scenario,
    duration: Duration,
    concurrency: usize,
    codes: Vec<String>,
) -> anyhow::Result<Sample> {
    let targets = setups
        .iter()
        .map(|s| s.addr())
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Requests that do not change are made once per node.
    let fixed: Vec<Vec<u8>> = setups
        .iter()
        .map(|s| s.raw_request(scenario, None))
        .collect();
    let redeemers: Vec<Setup> = setups.iter().map(|s| (*s).clone()).collect();
    let ticks = crate::server::clock_ticks();
    let cpu = |pids: &[u32]| -> f64 {
        pids.iter()
            .filter_map(|p| crate::server::cpu_seconds(&p.to_string(), ticks).ok())
            .sum()
    };
    let cpu_before = cpu(pids);
    let (latencies, errors, elapsed) = tokio::task::spawn_blocking(move || {
        let mut codes = codes.into_iter();
        let n = redeemers.len();
        raw::drive(&targets, concurrency, duration, |i| {
            if scenario == Scenario::RedeemCode {
                let code = codes.next()?;
                Some(redeemers[i % n].raw_request(scenario, Some(&code)))
            } else {
                Some(fixed[i % n].clone())
            }
        })
    })
    .await??;
    Ok(Sample {
        answered: latencies.len() - errors,
        latencies,
        errors,
        elapsed,
        server_cpu: cpu(pids) - cpu_before,
    })
}

/// One row of several runs of a scenario, as if they were one (code redemption may end early,
/// when the codes run out).
pub(crate) fn row_of(name: &'static str, samples: Vec<Sample>, measured_cpu: bool) -> Row {
    let elapsed: Duration = samples.iter().map(|s| s.elapsed).sum();
    let server_cpu: f64 = samples.iter().map(|s| s.server_cpu).sum();
    let errors = samples.iter().map(|s| s.errors).sum();
    let all = samples.into_iter().flat_map(|s| s.latencies).collect();
    let mut row = summarize(name, all, errors, elapsed);
    row.server_cores = measured_cpu.then(|| server_cpu / elapsed.as_secs_f64());
    row
}

/// One closed loop's figures: the load's row, the calls that succeeded, and the CPU seconds
/// the server and this process (the load, and whatever else it runs) spent meanwhile.
pub(crate) struct Measured {
    pub(crate) row: Row,
    pub(crate) succeeded: usize,
    pub(crate) server_cpu: f64,
    pub(crate) bench_cpu: f64,
    pub(crate) seconds: f64,
}

impl Measured {
    /// Milliseconds of the server's CPU per successful call.
    pub(crate) fn server_ms_each(&self) -> f64 {
        1000.0 * self.server_cpu / self.succeeded.max(1) as f64
    }
}

/// [`closed_loop`] over `once()`, with the CPU time of the server (process `server_pid`) and
/// of this process around it (`/proc`).
pub(crate) async fn measured_loop<F, Fut>(
    name: &'static str,
    concurrency: usize,
    seconds: u64,
    server_pid: &str,
    once: F,
) -> anyhow::Result<Measured>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    use crate::server::{clock_ticks, cpu_seconds};
    let ticks = clock_ticks();
    let (server_before, bench_before) =
        (cpu_seconds(server_pid, ticks)?, cpu_seconds("self", ticks)?);
    let start = Instant::now();
    let (all, errors) = closed_loop(concurrency, seconds, move |_, _| once()).await?;
    let elapsed = start.elapsed();
    Ok(Measured {
        succeeded: all.len() - errors,
        server_cpu: cpu_seconds(server_pid, ticks)? - server_before,
        bench_cpu: cpu_seconds("self", ticks)? - bench_before,
        seconds: elapsed.as_secs_f64(),
        row: summarize(name, all, errors, elapsed),
    })
}

/// `concurrency` workers each calling `once(worker, n)` back to back until `seconds` pass (the
/// `n`th call of that worker): every latency (ms) and the failures, each worker's first
/// failure printed.
pub(crate) async fn closed_loop<F, Fut>(
    concurrency: usize,
    seconds: u64,
    once: F,
) -> anyhow::Result<(Vec<f64>, usize)>
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency as u64 {
        let once = once.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0usize, None);
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let t = Instant::now();
                let result = once(worker, n).await;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e, first) = t.await?;
        if let Some(first) = first {
            eprintln!("  an error: {first}");
        }
        all.extend(l);
        errors += e;
    }
    Ok((all, errors))
}

/// A scenario's figures from every latency (ms) recorded over `elapsed`.
pub(crate) fn summarize(
    name: &'static str,
    mut all: Vec<f64>,
    errors: usize,
    elapsed: Duration,
) -> Row {
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Row {
        name,
        rate: all.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        server_cores: None,
    }
}
