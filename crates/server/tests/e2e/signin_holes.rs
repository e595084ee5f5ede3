//! Regression tests for holes in the managed-login pages: what a client without `COGNITO` and a
//! pool without self sign-up refuse, Argon2 work bounded under floods and busy queues, answers
//! that tell nothing about who exists, codes keyed at rest, temporary passwords that expire, and
//! access tokens that die with a password reset.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio::io::AsyncWriteExt as _;
use tokio::task::JoinHandle;

use crate::browser::*;
use crate::fake_idp::FakeIdp;

const CB: &str = "https://app.test/cb";
const ALICE_PASSWORD: &str = "Passw0rd!";
const ALICE_MAIL: &str = "alice@example.test";
const TEMP_PASSWORD: &str = "Temp0rary!";
const NOREVOKE: &str = "nor0000000000000000000000001";
const FED_ONLY: &str = "fed0000000000000000000000001";
const FED_TWO: &str = "fed0000000000000000000000002";
const STRICT: &str = "str0000000000000000000000001";
const LEGACY: &str = "leg0000000000000000000000001";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The authorize parameters a managed-login page of `client` carries.
fn query(client: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", CB)
        .append_pair("state", "st")
        .finish()
}

/// Adds a public code-flow client of `id` to the pool, with `extra` settings.
fn add_client(pool: &mut Value, id: &str, extra: Value) {
    let mut client = json!({
        "ClientName": &id[..3], "ClientId": id,
        "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid", "email"], "CallbackURLs": [CB],
        "SupportedIdentityProviders": ["COGNITO"]
    });
    for (k, v) in extra.as_object().unwrap() {
        client[k] = v.clone();
    }
    pool["Clients"].as_array_mut().unwrap().push(client);
}

/// Adds users who hold the temporary password `TEMP_PASSWORD`.
fn add_temporary_users(pool: &mut Value, names: &[&str]) {
    let users = pool["Users"].as_array_mut().unwrap();
    users.extend(
        names
            .iter()
            .map(|n| json!({"Username": n, "TemporaryPassword": TEMP_PASSWORD})),
    );
}

/// A unique name that no user has.
fn unknown_name() -> String {
    format!("ghost-{}", uuid::Uuid::new_v4().simple())
}

/// The text of the page's `role="alert"` message, or what the page was instead.
fn alert(page: &Page) -> String {
    let Some(at) = page.body.find("role=\"alert\"") else {
        return format!("(no alert: {} {:?})", page.status, page.location);
    };
    let text = &page.body[at..];
    let start = text.find('>').map_or(0, |i| i + 1);
    text[start..].split('<').next().unwrap_or("").to_string()
}

fn is_client_error(page: &Page) -> bool {
    (400..500).contains(&page.status)
}

/// True for a 503 "try again" page; false for anything else.
fn is_busy(page: &Page) -> bool {
    if page.status != 503 {
        return false;
    }
    assert!(
        page.body.to_lowercase().contains("try again"),
        "a 503 page asks to try again: {}",
        page.body
    );
    true
}

/// Asserts the redirect that ends a successful password reset.
fn assert_reset(page: &Page) {
    let to = page.location.clone().unwrap_or_default();
    assert!(
        page.status == 302 && to.starts_with("/login?") && to.contains("notice=password_reset"),
        "the reset succeeds: {} {to} {}",
        page.status,
        page.body
    );
}

/// How many outbox messages went to `to`.
fn mails_to(s: &OAuthServer, to: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(s.dir.path().join("outbox")) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&format!("To: {to}")))
        })
        .count()
}

/// The code of the `n`th message to `to` (waits for it).
async fn nth_code(s: &OAuthServer, to: &str, n: usize) -> String {
    for _ in 0..100 {
        if mails_to(s, to) >= n {
            return s.outbox_code(to).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {n} to {to} never arrived");
}

/// Asserts, after giving a background send time to happen, that nothing went to `to`.
async fn assert_no_mail(s: &OAuthServer, to: &str) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails_to(s, to), 0, "no message to {to}");
}

/// The server's SQLite file.
async fn db(s: &OAuthServer) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&crate::helpers::sqlite_url(s.dir.path()))
        .await
        .expect("open the server's SQLite file")
}

async fn user_exists(s: &OAuthServer, username: &str) -> bool {
    let mut c = db(s).await;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users WHERE pool_id = ? AND lower(username) = lower(?)",
    )
    .bind(&s.pool_id)
    .bind(username)
    .fetch_one(&mut c)
    .await
    .unwrap();
    c.close().await.ok();
    n > 0
}

/// A browser on one client's pages, holding the CSRF pair of a sign-in page of the pool.
struct Visitor<'s> {
    s: &'s OAuthServer,
    b: Browser,
    query: String,
    csrf: String,
}

impl<'s> Visitor<'s> {
    /// The CSRF pair comes from the `COGNITO` client's sign-in page (the pair is the browser's,
    /// not the client's), so it exists even where `client` shows no form.
    async fn new(s: &'s OAuthServer, client: &str) -> Visitor<'s> {
        let mut b = Browser::default();
        let page = b.get(&format!("{}/login?{}", s.base, query(SPA))).await;
        assert_eq!(page.status, 200, "{}", page.body);
        Visitor {
            s,
            csrf: page.csrf(),
            b,
            query: query(client),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}?{}", self.s.base, self.query)
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = self.url(path);
        self.b.get(&url).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = self.url(path);
        let mut form = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        self.b.post_form(&url, &form).await
    }

    async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    /// Asks for a reset code for `username` and returns the code this request mailed to `mail`.
    async fn reset_code(&mut self, username: &str, mail: &str) -> String {
        let before = mails_to(self.s, mail);
        let sent = self
            .post("/forgotPassword", &[("username", username)])
            .await;
        assert_eq!(sent.status, 302, "{}", sent.body);
        nth_code(self.s, mail, before + 1).await
    }

    async fn confirm_reset(&mut self, username: &str, code: &str, password: &str) -> Page {
        let fields = [
            ("username", username),
            ("code", code),
            ("password", password),
        ];
        self.post("/confirmforgotPassword", &fields).await
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .b
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }
}

/// Asserts that `username` signs in with `password` through the `spa` client.
async fn assert_signs_in(s: &OAuthServer, username: &str, password: &str) {
    let done = Visitor::new(s, SPA).await.sign_in(username, password).await;
    assert!(
        done.location_param("code").is_some(),
        "{username} signs in: {} {:?} {}",
        done.status,
        done.location,
        done.body
    );
}

// ---------------------------------------------------------------------------------------------
// 1. A client without COGNITO has no local sign-in.

fn oidc_provider(name: &str, issuer: &str) -> Value {
    json!({"ProviderName": name, "ProviderType": "OIDC",
        "ProviderDetails": {"client_id": "userpool-rp", "client_secret": "fake-secret",
            "authorize_scopes": "openid email", "oidc_issuer": issuer},
        "AttributeMapping": {"email": "email"}})
}

/// A pool with two outside providers, a client with only `Fake` and one with both (no
/// `COGNITO` in either), beside the local users of the OAuth seed.
async fn federated_server() -> (OAuthServer, FakeIdp) {
    let idp = FakeIdp::start("userpool-rp").await;
    let s = OAuthServer::start_with(&[], |pool| {
        pool["IdentityProviders"] = json!([
            oidc_provider("Fake", &idp.issuer),
            oidc_provider("Other", &idp.issuer)
        ]);
        add_client(
            pool,
            FED_ONLY,
            json!({"SupportedIdentityProviders": ["Fake"]}),
        );
        add_client(
            pool,
            FED_TWO,
            json!({"SupportedIdentityProviders": ["Fake", "Other"]}),
        );
    })
    .await;
    (s, idp)
}

#[tokio::test]
async fn a_client_without_cognito_shows_only_provider_buttons() {
    let (s, _idp) = federated_server().await;
    for (client, providers) in [(FED_ONLY, &["Fake"][..]), (FED_TWO, &["Fake", "Other"][..])] {
        let page = Visitor::new(&s, client).await.get("/login").await;
        assert_eq!(page.status, 200, "{client}: {}", page.body);
        for name in providers {
            assert!(
                page.body.contains(&format!("Continue with {name}")),
                "{client}: a button for {name}"
            );
        }
        assert!(
            !page.body.contains("name=\"password\""),
            "{client}: no password field: {}",
            page.body
        );
        assert!(!page.body.contains("/signup"), "{client}: no sign-up link");
    }
}

#[tokio::test]
async fn a_client_without_cognito_refuses_passwords_sign_up_and_codes() {
    let (s, _idp) = federated_server().await;
    let mallory = "mallory@example.test";
    let posts: [(&str, &[(&str, &str)]); 4] = [
        (
            "/signup",
            &[
                ("username", "mallory"),
                ("email", mallory),
                ("password", "Sup3r-secret"),
            ],
        ),
        ("/confirm", &[("username", "mallory"), ("code", "123456")]),
        ("/forgotPassword", &[("username", "alice")]),
        (
            "/confirmforgotPassword",
            &[
                ("username", "alice"),
                ("code", "123456"),
                ("password", "Sup3r-secret"),
            ],
        ),
    ];
    for client in [FED_ONLY, FED_TWO] {
        let mut v = Visitor::new(&s, client).await;
        let login = v.sign_in("alice", ALICE_PASSWORD).await;
        assert!(
            is_client_error(&login) && login.location_param("code").is_none(),
            "{client}: a local password delivers no code: {} {:?}",
            login.status,
            login.location
        );
        for (path, fields) in posts {
            let page = v.post(path, fields).await;
            assert!(
                is_client_error(&page),
                "{client}: POST {path} is refused: {} {:?}",
                page.status,
                page.location
            );
        }
    }
    assert!(!user_exists(&s, "mallory").await, "no user was created");
    assert_no_mail(&s, mallory).await;
    assert_no_mail(&s, ALICE_MAIL).await;
}

#[tokio::test]
async fn a_client_with_one_outside_provider_authorizes_straight_to_it() {
    let (s, idp) = federated_server().await;
    let start = Browser::default()
        .get(&format!("{}/oauth2/authorize?{}", s.base, query(FED_ONLY)))
        .await;
    let to = start.location.clone().unwrap_or_default();
    assert_eq!(start.status, 302, "{}", start.body);
    assert!(
        to.starts_with(&format!("{}/authorize?", idp.issuer)),
        "straight to the provider, not {to}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. AllowAdminCreateUserOnly: no self sign-up.

#[tokio::test]
async fn admin_only_pools_refuse_self_sign_up() {
    let s = OAuthServer::start_with(&[], |pool| {
        pool["AdminCreateUserConfig"] = json!({"AllowAdminCreateUserOnly": true});
    })
    .await;
    let mut v = Visitor::new(&s, SPA).await;
    let login = v.get("/login").await;
    assert!(!login.body.contains("/signup"), "no sign-up link");
    let form = v.get("/signup").await;
    assert!(is_client_error(&form), "GET /signup: {}", form.status);
    let mail = "intruder@example.test";
    let fields = [
        ("username", "intruder"),
        ("email", mail),
        ("password", "Sup3r-secret"),
    ];
    let posted = v.post("/signup", &fields).await;
    assert!(
        is_client_error(&posted),
        "POST /signup: {} {:?}",
        posted.status,
        posted.location
    );
    assert!(
        posted
            .body
            .contains("SignUp is not permitted for this user pool"),
        "{}",
        posted.body
    );
    assert!(!user_exists(&s, "intruder").await, "no user was created");
    assert_no_mail(&s, mail).await;
    let attempt = v.sign_in("intruder", "Sup3r-secret").await;
    assert!(
        attempt.location_param("code").is_none(),
        "the name does not sign in"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Cancelled sign-ins leave no Argon2 work behind.

/// The resident memory of process `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the server's memory and `/health` every 100 ms until `stop` (at least five times):
/// the largest VmRSS in KiB, and every health check that was not a 200 within a second.
async fn watch(base: String, pid: u32, stop: Arc<AtomicBool>) -> (u64, Vec<String>) {
    let client = crate::helpers::client();
    let (mut max, mut bad) = (0, Vec::new());
    let mut samples = 0;
    while samples < 5 || !stop.load(Ordering::Relaxed) {
        max = max.max(vm_rss_kib(pid));
        let health = client.get(format!("{base}/health")).send();
        match tokio::time::timeout(Duration::from_secs(1), health).await {
            Ok(Ok(r)) if r.status() == 200 => {}
            Ok(Ok(r)) => bad.push(format!("sample {samples}: status {}", r.status())),
            Ok(Err(e)) => bad.push(format!("sample {samples}: {e}")),
            Err(_) => bad.push(format!("sample {samples}: no answer within 1 s")),
        }
        max = max.max(vm_rss_kib(pid));
        samples += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (max, bad)
}

/// A whole `POST /login` with an unknown name, written on a raw connection.
fn raw_sign_in(host: &str, v: &Visitor<'_>) -> String {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", &unknown_name())
        .append_pair("password", "Wr0ng-passw0rd")
        .append_pair("_csrf", &v.csrf)
        .finish();
    format!(
        "POST /login?{} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        v.query,
        v.cookie_header(),
        body.len()
    )
}

/// Sends `request` and closes the connection 20 ms later without reading the answer.
async fn cancelled(host: String, request: String) {
    let mut tcp = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_flood_of_cancelled_sign_ins_keeps_memory_and_health() {
    let s = OAuthServer::start(&[]).await;
    let v = Visitor::new(&s, SPA).await;
    let host = s.base.trim_start_matches("http://").to_string();
    // The raw request is a real sign-in attempt: read to the end, it is refused.
    let answer = {
        use tokio::io::AsyncReadExt as _;
        let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
        let request = raw_sign_in(&host, &v).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch(s.base.clone(), s.pid(), stop.clone()));
    for _ in 0..10 {
        let batch = (0..20).map(|_| cancelled(host.clone(), raw_sign_in(&host, &v)));
        futures::future::join_all(batch).await;
    }
    // Right after: whatever work the flood left behind runs now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let (max_rss, bad) = watcher.await.unwrap();
    assert!(bad.is_empty(), "/health stayed quick: {bad:?}");
    assert!(
        max_rss < 200 * 1024,
        "peak RSS {} MiB after 200 cancelled sign-ins",
        max_rss / 1024
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A busy hash queue answers 503 and spends nothing.

/// Sign-ins with unknown names kept in flight until stopped, each costing the server one Argon2
/// verification; counts the 503 answers.
struct Flood {
    stop: Arc<AtomicBool>,
    busy: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Flood {
    fn start(v: &Visitor<'_>, n: usize) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicUsize::new(0));
        let client = crate::helpers::client();
        let (url, cookie) = (v.url("/login"), v.cookie_header());
        let tasks = (0..n)
            .map(|_| {
                let (url, cookie, csrf) = (url.clone(), cookie.clone(), v.csrf.clone());
                let (client, stop, busy) = (client.clone(), stop.clone(), busy.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let name = unknown_name();
                        let form = [
                            ("username", name.as_str()),
                            ("password", "Wr0ng-passw0rd"),
                            ("_csrf", &csrf),
                        ];
                        let sent = client.post(&url).header("cookie", &cookie).form(&form);
                        match sent.send().await {
                            Ok(r) if r.status() == 503 => _ = busy.fetch_add(1, Ordering::Relaxed),
                            Ok(_) => {}
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                })
            })
            .collect();
        Flood { stop, busy, tasks }
    }

    /// Stops and waits until no sign-in of the flood is in flight.
    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        futures::future::join_all(self.tasks).await;
    }
}

/// A flood that fills the hash queue: bigger each round, and waited on (a while at most) until
/// its own sign-ins meet a full queue.
async fn full_queue(v: &Visitor<'_>, round: usize) -> Flood {
    let flood = Flood::start(v, 64 * (round + 1));
    for _ in 0..200 {
        if flood.busy.load(Ordering::Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    flood
}

/// A server whose Argon2 queue gives up after 50 ms, with users holding temporary passwords.
/// Without request quotas: the flood comes from one address, and its sign-ins must reach the
/// queue rather than the per-address limit.
async fn impatient_server(temporary: &[&str]) -> OAuthServer {
    let args = ["--hash-queue-timeout-ms", "50", "--rate-limit", "off"];
    OAuthServer::start_with(&args, |pool| add_temporary_users(pool, temporary)).await
}

const ROUNDS: usize = 4;

#[tokio::test]
async fn a_busy_hash_queue_spends_no_reset_code() {
    let s = impatient_server(&[]).await;
    let mut v = Visitor::new(&s, SPA).await;
    for round in 0..ROUNDS {
        // Codes are asked for with no flood running; only the reset meets the full queue.
        let code = v.reset_code("alice", ALICE_MAIL).await;
        let password = format!("Busy-passw0rd-{round}");
        let flood = full_queue(&v, round).await;
        let answer = v.confirm_reset("alice", &code, &password).await;
        flood.stop().await;
        if is_busy(&answer) {
            // The code was not spent: it works once the queue has room.
            assert_reset(&v.confirm_reset("alice", &code, &password).await);
            assert_signs_in(&s, "alice", &password).await;
            return;
        }
        assert_reset(&answer);
    }
    panic!("no 503 in {ROUNDS} rounds: the hash queue never filled");
}

#[tokio::test]
async fn a_busy_hash_queue_spends_no_new_password_step() {
    let users = ["temp0", "temp1", "temp2", "temp3"];
    let s = impatient_server(&users).await;
    // Each user reaches the new-password step before any flood (the sign-in hashes too).
    let mut steps = Vec::new();
    for user in users {
        let mut v = Visitor::new(&s, SPA).await;
        let first = v.sign_in(user, TEMP_PASSWORD).await;
        let to = first.location.clone().unwrap_or_default();
        assert!(
            to.starts_with("/newPassword?"),
            "{user}: {to} {}",
            first.body
        );
        steps.push((user, v));
    }
    for (round, (user, v)) in steps.iter_mut().enumerate() {
        let password = format!("Chosen-passw0rd-{user}");
        let flood = full_queue(v, round).await;
        let answer = v.post("/newPassword", &[("password", &password)]).await;
        flood.stop().await;
        if is_busy(&answer) {
            let done = v.post("/newPassword", &[("password", &password)]).await;
            assert!(
                done.location_param("code").is_some(),
                "the step is still usable: {} {:?} {}",
                done.status,
                done.location,
                done.body
            );
            assert_signs_in(&s, user, &password).await;
            return;
        }
        let code = answer.location_param("code");
        assert!(code.is_some(), "{} {:?}", answer.status, answer.location);
    }
    panic!(
        "no 503 for {} users: the hash queue never filled",
        users.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Reset and sign-in answers tell nothing about who exists (unless LEGACY).

/// The alerts of six wrong reset codes for `username`.
async fn wrong_code_alerts(v: &mut Visitor<'_>, username: &str, wrong: &str) -> Vec<String> {
    let mut alerts = Vec::new();
    for _ in 0..6 {
        let page = v.confirm_reset(username, wrong, "Guess-passw0rd1").await;
        alerts.push(alert(&page));
    }
    alerts
}

/// The redirect of `POST /forgotPassword` for `username`, with the name itself blanked out.
async fn forgot_redirect(v: &mut Visitor<'_>, username: &str) -> (u16, String) {
    let page = v.post("/forgotPassword", &[("username", username)]).await;
    let to = page.location.unwrap_or_default().replace(username, "NAME");
    (page.status, to)
}

async fn reset_answers_alike(client: &str) {
    let s = OAuthServer::start_with(&[], |pool| {
        add_client(
            pool,
            STRICT,
            json!({"PreventUserExistenceErrors": "ENABLED"}),
        );
    })
    .await;
    let mut v = Visitor::new(&s, client).await;
    let known = forgot_redirect(&mut v, "alice").await;
    assert_eq!(known, forgot_redirect(&mut v, "nobody").await);
    let sent = nth_code(&s, ALICE_MAIL, 1).await;
    let wrong = if sent == "000000" { "111111" } else { "000000" };
    let alice = wrong_code_alerts(&mut v, "alice", wrong).await;
    let nobody = wrong_code_alerts(&mut v, "nobody", wrong).await;
    assert_eq!(alice, nobody, "the same answers for a user and for no one");
    // The guesses do not keep alice from resetting.
    let code = v.reset_code("alice", ALICE_MAIL).await;
    assert_reset(&v.confirm_reset("alice", &code, "Fresh-passw0rd1").await);
    assert_signs_in(&s, "alice", "Fresh-passw0rd1").await;
}

#[tokio::test]
async fn reset_answers_tell_nothing_by_default() {
    reset_answers_alike(SPA).await;
}

#[tokio::test]
async fn reset_answers_tell_nothing_when_enabled() {
    reset_answers_alike(STRICT).await;
}

#[tokio::test]
async fn legacy_clients_name_unknown_users() {
    let s = OAuthServer::start_with(&[], |pool| {
        add_client(
            pool,
            LEGACY,
            json!({"PreventUserExistenceErrors": "LEGACY"}),
        );
    })
    .await;
    let mut v = Visitor::new(&s, LEGACY).await;
    let cases = [
        (
            "/forgotPassword",
            "nobody",
            None,
            "Username/client id combination not found.",
        ),
        (
            "/login",
            "nobody",
            Some("Wr0ng-passw0rd"),
            "User does not exist.",
        ),
        (
            "/login",
            "alice",
            Some("Wr0ng-passw0rd"),
            "Incorrect username or password.",
        ),
    ];
    for (path, username, password, message) in cases {
        let mut fields = vec![("username", username)];
        fields.extend(password.map(|p| ("password", p)));
        let page = v.post(path, &fields).await;
        assert!(
            page.body.contains(message),
            "{path} {username}: {message}: {} {:?} {}",
            page.status,
            page.location,
            page.body
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. One-time codes are keyed at rest.

#[tokio::test]
async fn one_time_codes_are_not_plain_hashes_at_rest() {
    let s = OAuthServer::start(&[]).await;
    let code = Visitor::new(&s, SPA)
        .await
        .reset_code("alice", ALICE_MAIL)
        .await;
    let digest = userpool_core::crypto::sha256(code.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = &base64::engine::general_purpose::STANDARD;
    let b64_bare = &base64::engine::general_purpose::STANDARD_NO_PAD;
    let url = &base64::engine::general_purpose::URL_SAFE;
    let url_bare = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let plain = [
        code.clone(),
        hex,
        b64.encode(digest),
        b64_bare.encode(digest),
        url.encode(digest),
        url_bare.encode(digest),
    ];
    let mut c = db(&s).await;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT username, purpose, code_hash FROM user_codes WHERE pool_id = ?")
            .bind(&s.pool_id)
            .fetch_all(&mut c)
            .await
            .unwrap();
    c.close().await.ok();
    assert!(
        rows.iter().any(|(user, _, _)| user == "alice"),
        "alice's code is stored: {rows:?}"
    );
    for (user, purpose, stored) in &rows {
        assert!(
            !plain.iter().any(|p| p.eq_ignore_ascii_case(stored)),
            "{user}'s {purpose} code is stored as its plain SHA-256"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Temporary passwords expire.

#[tokio::test]
async fn an_expired_temporary_password_no_longer_signs_in() {
    let s = OAuthServer::start_with(&[], |pool| {
        pool["Policies"] = json!({"PasswordPolicy": {"TemporaryPasswordValidityDays": 1}});
        add_temporary_users(pool, &["tara"]);
    })
    .await;
    let mut c = db(&s).await;
    let aged =
        sqlx::query("UPDATE users SET password_set_at = ? WHERE pool_id = ? AND username = 'tess'")
            .bind(crate::helpers::now() - 2 * 86_400)
            .bind(&s.pool_id)
            .execute(&mut c)
            .await
            .expect("the users table has password_set_at");
    c.close().await.ok();
    assert_eq!(aged.rows_affected(), 1);

    let expired = Visitor::new(&s, SPA)
        .await
        .sign_in("tess", TEMP_PASSWORD)
        .await;
    assert!(
        !expired
            .location
            .clone()
            .unwrap_or_default()
            .starts_with("/newPassword"),
        "an expired temporary password reaches no new-password step"
    );
    assert!(
        expired
            .body
            .contains("Temporary password has expired and must be reset by an administrator."),
        "{} {}",
        expired.status,
        expired.body
    );
    let fresh = Visitor::new(&s, SPA)
        .await
        .sign_in("tara", TEMP_PASSWORD)
        .await;
    assert!(
        fresh
            .location
            .unwrap_or_default()
            .starts_with("/newPassword?"),
        "a fresh temporary password still leads to the new-password step"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Access tokens die with a password reset, whatever the client's revocation setting.

async fn access_token_dies_with_reset(client: &str) {
    let s = OAuthServer::start(&[]).await;
    let mut v = Visitor::new(&s, client).await;
    let signed_in = v.sign_in("alice", ALICE_PASSWORD).await;
    let code = signed_in.location_param("code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client),
        ("code", &code),
        ("redirect_uri", CB),
    ];
    let (status, tokens) = s.token(&form, None).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(s.userinfo(access).await.0, 200, "the token works");
    let reset = v.reset_code("alice", ALICE_MAIL).await;
    assert_reset(&v.confirm_reset("alice", &reset, "N3w-passw0rd").await);
    assert_eq!(
        s.userinfo(access).await.0,
        401,
        "the token died with the reset"
    );
}

#[tokio::test]
async fn a_password_reset_kills_access_tokens_without_revocation() {
    access_token_dies_with_reset(NOREVOKE).await;
}

#[tokio::test]
async fn a_password_reset_kills_access_tokens_with_revocation() {
    access_token_dies_with_reset(SPA).await;
}

// ---------------------------------------------------------------------------------------------
// Found in review: sessions, pending steps and code sends.

#[tokio::test]
async fn a_local_session_is_no_way_into_a_client_without_cognito() {
    let (s, idp) = federated_server().await;
    let mut v = Visitor::new(&s, SPA).await;
    let local = v.sign_in("alice", ALICE_PASSWORD).await;
    assert!(
        local.location_param("code").is_some(),
        "{:?}",
        local.location
    );
    // The same browser, now at the SSO-only client: no silent grant from the local session.
    let url = format!("{}/oauth2/authorize?{}", s.base, query(FED_ONLY));
    let next = v.b.get(&url).await;
    let to = next.location.clone().unwrap_or_default();
    assert!(
        next.status == 302 && to.starts_with(&idp.issuer),
        "on to the client's provider, not a code: {} {to}",
        next.status
    );
    // `prompt=none` cannot use it either.
    let none = v.b.get(&format!("{url}&prompt=none")).await;
    let to = none.location.clone().unwrap_or_default();
    assert!(
        to.starts_with(CB) && to.contains("error=login_required") && !to.contains("code="),
        "{to}"
    );
}

#[tokio::test]
async fn a_step_pending_at_a_password_reset_dies_with_it() {
    let s = OAuthServer::start_with(&[], |pool| add_temporary_users(pool, &["tina"])).await;
    // Someone holding the temporary password parks at the new-password step…
    let mut attacker = Visitor::new(&s, SPA).await;
    let step = attacker.sign_in("tina", TEMP_PASSWORD).await;
    assert!(
        step.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/newPassword?")),
        "{:?}",
        step.location
    );
    // …while the owner resets the password by email (the seeded user has no email: add a
    // verified one, as resets go only to verified addresses).
    let mut c = db(&s).await;
    sqlx::query(
        "UPDATE users SET attributes = ?, email = ? WHERE pool_id = ? AND username = 'tina'",
    )
    .bind(
        r#"[{"Name":"email","Value":"tina@example.test"},{"Name":"email_verified","Value":"true"}]"#,
    )
    .bind("tina@example.test")
    .bind(&s.pool_id)
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.ok();
    let mut owner = Visitor::new(&s, SPA).await;
    let code = owner.reset_code("tina", "tina@example.test").await;
    assert_reset(&owner.confirm_reset("tina", &code, "Owner-passw0rd1").await);
    // The parked step is dead: the attacker starts over and the owner's password stands.
    let late = attacker
        .post("/newPassword", &[("password", "Attacker-passw0rd1")])
        .await;
    let to = late.location.clone().unwrap_or_default();
    assert!(
        late.status == 302 && to.starts_with("/login?") && late.location_param("code").is_none(),
        "{} {to}",
        late.status
    );
    assert_signs_in(&s, "tina", "Owner-passw0rd1").await;
}

#[tokio::test]
async fn at_most_five_codes_an_hour_go_out_however_fast_they_are_asked_for() {
    let s = OAuthServer::start(&[]).await;
    let mut v = Visitor::new(&s, SPA).await;
    // A burst in parallel, each request from its own client with the browser's cookies.
    let asks = (0..8).map(|_| {
        let url = v.url("/forgotPassword");
        let csrf = v.csrf.clone();
        let mut b = Browser::default();
        b.cookies = v.b.cookies.clone();
        async move {
            let form = [("username", "alice"), ("_csrf", csrf.as_str())];
            b.post_form(&url, &form).await.status
        }
    });
    let statuses = futures::future::join_all(asks).await;
    assert!(statuses.iter().all(|s| *s == 302), "{statuses:?}");
    for _ in 0..3 {
        v.post("/forgotPassword", &[("username", "alice")]).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        mails_to(&s, ALICE_MAIL),
        5,
        "five codes, then sending pauses"
    );
}
