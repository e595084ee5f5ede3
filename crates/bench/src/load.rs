//! The scenarios and the load loop: a fixed number of requests in flight for a fixed time,
//! every latency recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, HOST, LOCATION, SET_COOKIE};

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

    async fn once(&self, scenario: Scenario, code: Option<&str>) -> bool {
        let result = match scenario {
            Scenario::ClientCredentials => {
                self.request(reqwest::Method::POST, "/oauth2/token")
                    .basic_auth(M2M, Some(M2M_SECRET))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
            }
            Scenario::ClientCredentialsEs256 => self.cc_es256().send().await,
            Scenario::RedeemCode => self.redeem(code.unwrap_or("")).await,
            Scenario::Jwks => {
                self.request(
                    reqwest::Method::GET,
                    &format!("/{POOL}/.well-known/jwks.json"),
                )
                .send()
                .await
            }
            Scenario::UserInfo => {
                self.request(reqwest::Method::GET, "/oauth2/userInfo")
                    .bearer_auth(&self.access_token)
                    .send()
                    .await
            }
        };
        match result {
            Ok(r) => {
                let ok = r.status().is_success();
                let _ = r.bytes().await;
                ok
            }
            Err(_) => false,
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

/// `scenario` for `duration` with `concurrency` requests in flight, spread over `setups` (one
/// per node: worker `i` talks to node `i % n`), with the CPU time of the servers `pids`.
pub(crate) async fn run(
    setups: &[&Setup],
    pids: &[u32],
    scenario: Scenario,
    duration: Duration,
    concurrency: usize,
    codes: Vec<String>,
) -> anyhow::Result<Row> {
    let setups: Vec<Arc<Setup>> = setups
        .iter()
        .map(|s| {
            Arc::new(Setup {
                http: s.http.clone(),
                base: s.base.clone(),
                host: s.host.clone(),
                session_cookie: s.session_cookie.clone(),
                access_token: s.access_token.clone(),
            })
        })
        .collect();
    let codes = Arc::new(codes);
    let next_code = Arc::new(AtomicUsize::new(0));
    let ticks = crate::server::clock_ticks();
    let cpu = |pids: &[u32]| -> f64 {
        pids.iter()
            .filter_map(|p| crate::server::cpu_seconds(&p.to_string(), ticks).ok())
            .sum()
    };
    let cpu_before = cpu(pids);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let setup = setups[i % setups.len()].clone();
        let (codes, next_code) = (codes.clone(), next_code.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let code = if scenario == Scenario::RedeemCode {
                    match codes.get(next_code.fetch_add(1, Ordering::SeqCst)) {
                        Some(c) => Some(c.as_str()),
                        None => break,
                    }
                } else {
                    None
                };
                let t = Instant::now();
                let ok = setup.once(scenario, code).await;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    let server_cpu = cpu(pids) - cpu_before;
    // Code redemption may end early, when the codes run out.
    let mut row = summarize(scenario.name(), all, errors, elapsed);
    row.server_cores = (!pids.is_empty()).then(|| server_cpu / elapsed.as_secs_f64());
    Ok(row)
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
