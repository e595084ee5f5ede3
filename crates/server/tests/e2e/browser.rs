//! A scripted browser for the managed-login pages: follows nothing by itself, keeps cookies,
//! and fills in the sign-in form the way a person would.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::*;

pub struct Browser {
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden `_csrf` input.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"_csrf\" value=\"")
            .expect("a CSRF field")
            + 20;
        self.body[at..].split('"').next().unwrap().to_string()
    }

    /// A query parameter of the redirect target.
    pub fn location_param(&self, name: &str) -> Option<String> {
        let loc = self.location.as_ref()?;
        let query = loc.split_once(['?', '#'])?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            client: client(),
            cookies: BTreeMap::new(),
        }
    }
}

impl Browser {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header(COOKIE, cookie)
        };
        let r = req.send().await.expect("request");
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_string()),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let req = self.client.get(url);
        self.send(req).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let req = self.client.post(url).form(form);
        self.send(req).await
    }

    /// Follows a redirect that stays on the server at `base`.
    pub async fn follow(&mut self, base: &str, page: &Page) -> Page {
        let loc = page.location.clone().expect("a redirect");
        assert!(loc.starts_with('/'), "stays on the server: {loc}");
        self.get(&format!("{base}{loc}")).await
    }

    /// Posts a form page back to its own action with `fields` and its CSRF token.
    pub async fn submit(&mut self, base: &str, page: &Page, fields: &[(&str, &str)]) -> Page {
        let at = page
            .body
            .find("<form method=\"post\" action=\"")
            .expect("a form")
            + 28;
        let action = page.body[at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let csrf = page.csrf();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &csrf));
        self.post_form(&format!("{base}{action}"), &form).await
    }

    /// authorize → /login → submit the form; returns the page that answered the submission.
    pub async fn sign_in(
        &mut self,
        base: &str,
        authorize_query: &str,
        username: &str,
        password: &str,
    ) -> Page {
        let first = self
            .get(&format!("{base}/oauth2/authorize?{authorize_query}"))
            .await;
        assert_eq!(
            first.status, 302,
            "authorize redirects to sign-in: {}",
            first.body
        );
        let login_url = format!("{base}{}", first.location.unwrap());
        let form = self.get(&login_url).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post_form(
            &login_url,
            &[
                ("username", username),
                ("password", password),
                ("_csrf", &csrf),
            ],
        )
        .await
    }
}

/// A seed for OAuth tests: one pool whose custom domain is the server's own address.
pub fn oauth_seed(pool_id: &str, domain: &str) -> Value {
    json!({"UserPools": [{
        "Id": pool_id,
        "PoolName": "oauth",
        "UsernameConfiguration": {"CaseSensitive": false},
        "Domains": [{"Domain": domain}],
        "ResourceServers": [{"Identifier": "https://api.test", "Name": "api",
            "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}, {"ScopeName": "write", "ScopeDescription": "Write"}]}],
        "Groups": [{"GroupName": "admins", "Precedence": 1}, {"GroupName": "staff"}],
        "Clients": [
            {"ClientName": "spa", "ClientId": "spa0000000000000000000000001",
             "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code", "implicit"],
             "AllowedOAuthScopes": ["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin", "https://api.test/read"],
             "CallbackURLs": ["https://app.test/cb", "http://localhost:3000/cb"],
             "LogoutURLs": ["https://app.test/bye"],
             "SupportedIdentityProviders": ["COGNITO"]},
            {"ClientName": "web", "ClientId": "web0000000000000000000000001",
             "ClientSecret": "websecret000000000000000000000000001",
             "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code"],
             "AllowedOAuthScopes": ["openid", "email"],
             "CallbackURLs": ["https://web.test/cb"],
             "RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 0},
             "SupportedIdentityProviders": ["COGNITO"]},
            {"ClientName": "norevoke", "ClientId": "nor0000000000000000000000001",
             "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code"],
             "AllowedOAuthScopes": ["openid"], "CallbackURLs": ["https://app.test/cb"],
             "EnableTokenRevocation": false, "SupportedIdentityProviders": ["COGNITO"]},
            {"ClientName": "m2m", "ClientId": "m2m0000000000000000000000001",
             "ClientSecret": "m2msecret000000000000000000000000001",
             "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["client_credentials"],
             "AllowedOAuthScopes": ["https://api.test/read", "https://api.test/write"]}
        ],
        "Users": [
            {"Username": "alice", "Password": "Passw0rd!", "Groups": ["admins", "staff"],
             "UserAttributes": [
                {"Name": "email", "Value": "alice@example.test"},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": "Alice Liddell"},
                {"Name": "phone_number", "Value": "+15550101"}]},
            {"Username": "bob", "Password": "Passw0rd!", "Enabled": false},
            {"Username": "tess", "TemporaryPassword": "Temp0rary!",
             "UserAttributes": [{"Name": "email", "Value": "tess@example.test"}]}
        ]
    }]})
}

pub const SPA: &str = "spa0000000000000000000000001";
pub const WEB: &str = "web0000000000000000000000001";
pub const WEB_SECRET: &str = "websecret000000000000000000000000001";
pub const M2M: &str = "m2m0000000000000000000000001";
pub const M2M_SECRET: &str = "m2msecret000000000000000000000000001";

/// A server for OAuth tests, on a port chosen first so the pool's domain can name it. With
/// `USERPOOL_E2E_BACKEND=postgres` (and `USERPOOL_TEST_POSTGRES_URL`) it runs on a fresh
/// PostgreSQL database, dropped afterwards; otherwise on SQLite.
pub struct OAuthServer {
    server: Option<Server>,
    pg: Option<PgDatabase>,
    pub pool_id: String,
    pub base: String,
    /// The loopback address it listens on (the same as `base` unless `--public-url` is given).
    pub local: String,
    pub dir: tempfile::TempDir,
    pub database: String,
    seed: String,
}

impl OAuthServer {
    pub async fn start(extra: &[&str]) -> OAuthServer {
        Self::start_with(extra, |_| {}).await
    }

    /// Starts with the seed changed by `mutate` first (for example to turn MFA on).
    pub async fn start_with(extra: &[&str], mutate: impl FnOnce(&mut Value)) -> OAuthServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let pool_id = unique_pool_id("us-east-1");
        let domain = format!("127.0.0.1:{port}");
        let mut seed = oauth_seed(&pool_id, &domain);
        mutate(&mut seed["UserPools"][0]);
        let seed = write_seed(dir.path(), &seed);
        let listen = format!("127.0.0.1:{port}");
        let pg = match (
            std::env::var("USERPOOL_E2E_BACKEND").as_deref(),
            postgres_url(),
        ) {
            (Ok("postgres"), Some(admin)) => Some(PgDatabase::create(&admin).await),
            (Ok("postgres"), None) => {
                panic!("USERPOOL_E2E_BACKEND=postgres needs USERPOOL_TEST_POSTGRES_URL")
            }
            _ => None,
        };
        let db = pg
            .as_ref()
            .map_or_else(|| sqlite_url(dir.path()), |p| p.url.clone());
        let mut args = vec!["--listen", &listen, "--database", &db, "--seed", &seed];
        args.extend_from_slice(extra);
        let server = Server::start(dir.path(), &args);
        OAuthServer {
            base: server.url.clone(),
            local: format!("http://{listen}"),
            server: Some(server),
            pg,
            pool_id,
            dir,
            database: db,
            seed,
        }
    }

    /// Another node on the same database and seed (it answers for the pool when asked with
    /// the first node's Host).
    pub fn second_node(&self) -> Server {
        Server::start(
            self.dir.path(),
            &["--database", &self.database, "--seed", &self.seed],
        )
    }

    /// The server process's ID.
    pub fn pid(&self) -> u32 {
        self.server.as_ref().expect("a running server").pid()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.server
            .as_ref()
            .map(Server::log_text)
            .unwrap_or_default()
    }

    /// The newest code in the development outbox sent to `to` (waits briefly for it).
    pub async fn outbox_code(&self, to: &str) -> String {
        self.outbox_code_of(to, 1).await
    }

    /// The code of the newest of at least `count` messages sent to `to` (messages go out in
    /// the background: waits until that many are written).
    pub async fn outbox_code_of(&self, to: &str, count: usize) -> String {
        for _ in 0..50 {
            // Names start `{millis}-{seq}-`: sorted by both, the newest is last.
            let mut found: Vec<((u128, u64), String)> = Vec::new();
            if let Ok(entries) = std::fs::read_dir(self.dir.path().join("outbox")) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().to_string();
                    let mut parts = name.splitn(3, '-');
                    let order = (parts.next(), parts.next());
                    let (Some(Ok(millis)), Some(Ok(seq))) = (
                        order.0.map(str::parse::<u128>),
                        order.1.map(str::parse::<u64>),
                    ) else {
                        continue;
                    };
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    if text.contains(&format!("To: {to}")) {
                        found.push(((millis, seq), text));
                    }
                }
            }
            found.sort_by_key(|(order, _)| *order);
            if found.len() >= count
                && let Some(code) = found.last().and_then(|(_, text)| six_digits(text))
            {
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no message to {to} in the outbox");
    }

    pub fn issuer(&self) -> String {
        format!("{}/{}", self.base, self.pool_id)
    }

    pub async fn token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        let mut req = client()
            .post(format!("{}/oauth2/token", self.base))
            .form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Redeems a code of the public `spa` client issued for `https://app.test/cb`.
    pub async fn redeem_spa(&self, code: &str) -> (u16, Value) {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", code),
                ("redirect_uri", "https://app.test/cb"),
            ],
            None,
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> (u16, Value) {
        let r = client()
            .get(format!("{}/oauth2/userInfo", self.base))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Decodes a JWT's payload without verifying it (the tests verify signatures elsewhere).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        drop(self.server.take());
        if let Some(pg) = self.pg.take() {
            // Drop runs outside async code: a short-lived runtime of its own drops the database.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(pg.drop_database())
            })
            .join()
            .unwrap();
        }
    }
}

/// The first run of exactly six digits in a message body.
pub fn six_digits(text: &str) -> Option<String> {
    let body = text.split("\r\n\r\n").nth(1).unwrap_or(text);
    body.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(String::from)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
