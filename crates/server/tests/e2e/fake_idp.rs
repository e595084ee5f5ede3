//! A deliberately misbehaving OpenID Provider for the federation negative tests: it signs in
//! anyone at once and answers the token request with whichever defect the test asks for. The
//! positive flows run against panva's oidc-provider (tests/node); this one exists to break rules.
//! It also counts the discovery and JWKS requests it gets, can fail discovery, serve an
//! oversized key set and rotate its key, for the tests of the connector's cache.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use userpool_core::keys::{KeyPurpose, KeyRing, MasterKey, new_signing_key};

/// What the provider gets wrong on the next sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    None,
    WrongNonce,
    WrongIssuer,
    WrongAudience,
    Expired,
    ForeignKey,
    NoIdToken,
    TokenError500,
    SlowToken,
    DenyAtAuthorize,
    NoEmail,
}

/// How the key set is made too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// With a Content-Length that says so.
    Declared,
    /// Streamed in chunks, with no length given.
    Streamed,
}

/// A 5 MiB key set: the real keys and a padding member, valid JSON that would verify tokens.
const OVERSIZED_BYTES: usize = 5 << 20;

struct Inner {
    issuer: String,
    discovery_hits: usize,
    jwks_hits: usize,
    fail_discovery: bool,
    oversize: Option<Oversize>,
    client_id: String,
    defect: Defect,
    subject: String,
    nonce: Option<String>,
    keys: KeyRing,
    foreign: KeyRing,
}

#[derive(Clone)]
pub struct FakeIdp {
    inner: Arc<Mutex<Inner>>,
    pub issuer: String,
    server: Arc<tokio::task::JoinHandle<()>>,
}

fn ring(seed: u8) -> KeyRing {
    let m = MasterKey::from_bytes(&[seed; 32]);
    let rec = new_signing_key("idp_1", KeyPurpose::Id, &m, 0, 0);
    KeyRing::load(&[rec], &m, 0).unwrap()
}

impl FakeIdp {
    pub async fn start(client_id: &str) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner {
            issuer: issuer.clone(),
            discovery_hits: 0,
            jwks_hits: 0,
            fail_discovery: false,
            oversize: None,
            client_id: client_id.to_string(),
            defect: Defect::None,
            subject: "sub-0".into(),
            nonce: None,
            keys: ring(11),
            foreign: ring(12),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token).get(token))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeIdp {
            inner,
            issuer,
            server: Arc::new(server),
        }
    }

    /// The next sign-in is of `subject`, with `defect`.
    pub fn next(&self, subject: &str, defect: Defect) {
        let mut i = self.inner.lock().unwrap();
        i.subject = subject.to_string();
        i.defect = defect;
    }

    /// How many times discovery and the JWKS were asked for.
    pub fn hits(&self) -> (usize, usize) {
        let i = self.inner.lock().unwrap();
        (i.discovery_hits, i.jwks_hits)
    }

    /// Discovery answers 503 while `fail` holds.
    pub fn fail_discovery(&self, fail: bool) {
        self.inner.lock().unwrap().fail_discovery = fail;
    }

    /// The key set is served 5 MiB large, as `how` says, or normally.
    pub fn oversized_jwks(&self, how: Option<Oversize>) {
        self.inner.lock().unwrap().oversize = how;
    }

    /// A new signing key replaces the old one, in the key set and in the tokens.
    pub fn rotate_keys(&self) {
        self.inner.lock().unwrap().keys = ring(13);
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn discovery(State(s): Shared) -> Response {
    let iss = {
        let mut i = s.lock().unwrap();
        i.discovery_hits += 1;
        if i.fail_discovery {
            return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
        }
        i.issuer.clone()
    };
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

async fn jwks(State(s): Shared) -> Response {
    let (set, oversize) = {
        let mut i = s.lock().unwrap();
        i.jwks_hits += 1;
        (serde_json::to_value(i.keys.jwks()).unwrap(), i.oversize)
    };
    let Some(how) = oversize else {
        return axum::Json(set).into_response();
    };
    let keys = set["keys"].to_string();
    let head = format!("{{\"keys\":{keys},\"padding\":\"");
    let pad = OVERSIZED_BYTES - head.len() - 2;
    match how {
        Oversize::Declared => {
            let body = format!("{head}{}\"}}", " ".repeat(pad));
            ([("content-type", "application/json")], body).into_response()
        }
        Oversize::Streamed => {
            const CHUNK: usize = 64 * 1024;
            let parts = std::iter::once(head.into_bytes())
                .chain(
                    (0..pad.div_ceil(CHUNK)).map(move |n| vec![b' '; CHUNK.min(pad - n * CHUNK)]),
                )
                .chain(std::iter::once(b"\"}".to_vec()))
                .map(Ok::<_, std::io::Error>);
            (
                [("content-type", "application/json")],
                axum::body::Body::from_stream(futures::stream::iter(parts)),
            )
                .into_response()
        }
    }
}

async fn authorize(
    State(s): Shared,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut i = s.lock().unwrap();
    i.nonce = q.get("nonce").cloned();
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let sep = if redirect.contains('?') { '&' } else { '?' };
    if i.defect == Defect::DenyAtAuthorize {
        return Redirect::to(&format!(
            "{redirect}{sep}error=access_denied&error_description=The+user+said+no&state={state}"
        ))
        .into_response();
    }
    Redirect::to(&format!(
        "{redirect}{sep}code=code-for-{}&state={state}",
        i.subject
    ))
    .into_response()
}

async fn token(State(s): Shared) -> Response {
    let (defect, claims, keys_are_foreign) = {
        let i = s.lock().unwrap();
        let now = crate::helpers::now();
        let mut c = json!({
            "iss": i.issuer, "aud": i.client_id, "sub": i.subject, "iat": now, "exp": now + 300,
            "nonce": i.nonce, "email": format!("{}@corp.test", i.subject), "email_verified": true,
        });
        match i.defect {
            Defect::WrongNonce => c["nonce"] = json!("not-the-nonce"),
            Defect::WrongIssuer => c["iss"] = json!("http://127.0.0.1:1/other"),
            Defect::WrongAudience => c["aud"] = json!("someone-else"),
            Defect::Expired => {
                c["exp"] = json!(now - 600);
                c["iat"] = json!(now - 1200);
            }
            Defect::NoEmail => {
                c.as_object_mut().unwrap().remove("email");
            }
            _ => {}
        }
        (i.defect, c, i.defect == Defect::ForeignKey)
    };
    match defect {
        Defect::TokenError500 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        Defect::SlowToken => tokio::time::sleep(Duration::from_secs(5)).await,
        _ => {}
    }
    let id_token = {
        let i = s.lock().unwrap();
        let ring = if keys_are_foreign {
            &i.foreign
        } else {
            &i.keys
        };
        ring.signer(KeyPurpose::Id, 0)
            .unwrap()
            .sign_jwt(claims.to_string().as_bytes())
    };
    let mut body = json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "id_token": id_token});
    if defect == Defect::NoIdToken {
        body.as_object_mut().unwrap().remove("id_token");
    }
    axum::Json(body).into_response()
}

async fn userinfo(State(s): Shared) -> axum::Json<Value> {
    let i = s.lock().unwrap();
    // `sub` for OIDC providers, `id` as Facebook's Graph API names it.
    let mut c = json!({"sub": i.subject, "id": i.subject, "name": format!("User {}", i.subject), "email": format!("{}@corp.test", i.subject)});
    if i.defect == Defect::NoEmail {
        c.as_object_mut().unwrap().remove("email");
    }
    axum::Json(c)
}
