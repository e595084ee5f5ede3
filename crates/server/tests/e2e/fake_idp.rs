//! A deliberately misbehaving OpenID Provider for the federation negative tests: it signs in
//! anyone at once and answers the token request with whichever defect the test asks for. The
//! positive flows run against panva's oidc-provider (tests/node); this one exists to break rules.

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

struct Inner {
    issuer: String,
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
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn discovery(State(s): Shared) -> axum::Json<Value> {
    let iss = s.lock().unwrap().issuer.clone();
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
}

async fn jwks(State(s): Shared) -> axum::Json<Value> {
    axum::Json(serde_json::to_value(s.lock().unwrap().keys.jwks()).unwrap())
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
