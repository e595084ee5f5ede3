//! The managed-login pages (spec §5): sign-in, sign-up and confirmation, password reset, new
//! password, TOTP set-up and verification, and the error page. Every page carries the authorize
//! parameters in its query string through the whole flow and ends in the grant.

mod challenge;
mod flow;
mod forgot;
mod form;
pub(crate) mod html;
pub(crate) mod session;
mod signup;

pub(crate) use challenge::{mfa_get, mfa_post, new_password_get, new_password_post};
pub(crate) use flow::finish;
pub(crate) use forgot::{confirm_forgot_get, confirm_forgot_post, forgot_get, forgot_post};
pub(crate) use signup::{confirm_get, confirm_post, resend_code, signup_get, signup_post};

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{self, AuthorizeParams, AuthorizeRequest};
use userpool_core::password::{dummy_hash, verify_password};
use userpool_core::signin::{self, SignInOutcome, lockout};

use crate::host::DomainPool;
use crate::oauth::Form;
use crate::oauth::authorize::{redirect, reject};
use crate::state::AppState;
use form::{Field, FormPage, page_url};

/// The checked request, or the response that ends it here (boxed: responses are large).
fn checked(view: &PoolView, params: &AuthorizeParams) -> Result<AuthorizeRequest, Box<Response>> {
    let req = authorize::check(view, params).map_err(|r| Box::new(reject(r)))?;
    match &req.external_provider {
        // An outside provider: the authorization endpoint starts that sign-in.
        Some(_) => Err(Box::new(redirect(&page_url(
            "/oauth2/authorize",
            params,
            &[],
        )))),
        None => Ok(req),
    }
}

/// A managed-login page request: the pool (by Host), the headers, and the authorize
/// parameters the page carries in its query, checked as `/oauth2/authorize` checks them.
pub(crate) struct Page {
    view: Arc<PoolView>,
    headers: HeaderMap,
    params: AuthorizeParams,
    req: AuthorizeRequest,
}

impl Page {
    /// The page of `view` that `parts` asks for.
    fn of(view: Arc<PoolView>, parts: &Parts) -> Result<Self, Box<Response>> {
        let params = AuthorizeParams::from_query(parts.uri.query().unwrap_or(""));
        let req = checked(&view, &params)?;
        Ok(Page {
            view,
            headers: parts.headers.clone(),
            params,
            req,
        })
    }
}

async fn domain_pool(parts: &mut Parts, state: &AppState) -> Result<Arc<PoolView>, Response> {
    DomainPool::from_request_parts(parts, state)
        .await
        .map(|DomainPool(view)| view)
        .map_err(IntoResponse::into_response)
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Page::of(domain_pool(parts, state).await?, parts).map_err(|r| *r)
    }
}

/// A form post to a managed-login page: the form parsed and its CSRF token checked, then the
/// page's parameters.
pub(crate) struct Posted {
    page: Page,
    form: Form,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let view = domain_pool(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Ok(form) = Form::parse(&parts.headers, &body) else {
            return Err(html::error_page("invalid_request"));
        };
        if !session::csrf_ok(state, &parts.headers, form.get("_csrf").as_deref()) {
            let body = r#"<h1>Please try again</h1>
<p role="alert" class="alert">This form expired or did not come from this page. Go back, reload the page and try again.</p>"#;
            return Err(html::page(StatusCode::FORBIDDEN, "Please try again", body));
        }
        let page = Page::of(view, &parts).map_err(|r| *r)?;
        Ok(Posted { page, form })
    }
}

/// Runs Argon2 work on the blocking pool, a few at a time (each takes 19 MiB and ~50 ms of a
/// core); `None` when the queue did not clear within ten seconds.
async fn argon2<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let permit = argon2_permit(state).await?;
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .ok()
}

/// A place in the Argon2 queue; `None` when it did not clear within ten seconds.
async fn argon2_permit(state: &AppState) -> Option<tokio::sync::OwnedSemaphorePermit> {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        state.argon2.clone().acquire_owned(),
    )
    .await
    .ok()?
    .ok()
}

/// Serializes, on this node, the check → verify → count of one lockout counter, so a burst of
/// guesses cannot all pass the lock check before any of them is counted (checklist AU01,
/// AU03). Striped: unrelated names rarely wait for each other.
pub(crate) async fn lockout_turn(key: &str) -> tokio::sync::MutexGuard<'static, ()> {
    const STRIPES: usize = 64;
    static TURNS: [tokio::sync::Mutex<()>; STRIPES] =
        [const { tokio::sync::Mutex::const_new(()) }; STRIPES];
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    TURNS[usize::from(digest.as_ref()[0]) % STRIPES]
        .lock()
        .await
}

/// The answer when Argon2 work is queued too long: try again shortly.
fn busy() -> Response {
    let body = r#"<h1>Please try again</h1>
<p role="alert" class="alert">Too many sign-ins at once. Wait a moment and try again.</p>"#;
    html::page(StatusCode::SERVICE_UNAVAILABLE, "Please try again", body)
}

/// Hashes a new password (Argon2, queued like sign-ins).
async fn hash_new_password(state: &AppState, password: String) -> Option<String> {
    let params = userpool_core::password::HashParams::default();
    argon2(state, move || {
        userpool_core::password::hash_password(&password, params)
    })
    .await
}

/// What checking a one-time code left to do: nothing (it was right), a message for the page,
/// or a finished response (a storage failure).
enum CodeOutcome {
    Valid,
    Wrong(&'static str),
    Failed(Response),
}

/// Checks the user's one-time code of `purpose` (Cognito's messages for wrong and dead codes).
async fn check_code(
    state: &AppState,
    view: &PoolView,
    username: &str,
    purpose: &str,
    code: &str,
) -> CodeOutcome {
    use userpool_core::store::CodeCheck;
    // Guesses are counted across codes: asking for a new code buys no new guesses.
    let key = lockout::code_key(purpose, username);
    let _turn = lockout_turn(&format!("{}/{key}", view.pool.id)).await;
    let now = state.clock.now();
    match state.store.get_sign_in_failures(&view.pool.id, &key).await {
        Ok(f) if lockout::is_locked(f.as_ref(), now) => {
            return CodeOutcome::Wrong("Attempt limit exceeded, please try after some time.");
        }
        Ok(_) => {}
        Err(e) => return CodeOutcome::Failed(failed("reading code failures", e)),
    }
    let check = state
        .store
        .check_user_code(
            &view.pool.id,
            username,
            purpose,
            &userpool_core::crypto::TokenHash::of(code.trim()),
            now,
            userpool_core::lifecycle::CODE_ATTEMPTS,
        )
        .await;
    let outcome = match check {
        Ok(CodeCheck::Valid) => state
            .store
            .clear_sign_in_failures(&view.pool.id, &key)
            .await
            .map(|()| CodeOutcome::Valid),
        // Wrong and dead codes answer alike, so the answer tells nothing about the account.
        Ok(CodeCheck::Mismatch | CodeCheck::Expired) => state
            .store
            .record_sign_in_failure(&view.pool.id, &key, now, lockout::MAX_LOCK)
            .await
            .map(|_| CodeOutcome::Wrong(CODE_MISMATCH)),
        Err(e) => Err(e),
    };
    outcome.unwrap_or_else(|e| CodeOutcome::Failed(failed("checking the code", e)))
}

const CODE_MISMATCH: &str = "Invalid verification code provided, please try again.";

/// Makes, stores and sends a one-time code of `purpose` to the user's email. Sending follows
/// the lockout curve per user and purpose (no mail flood), and happens in the background, so
/// the answer takes the same time whether or not a message goes out.
async fn send_code(
    state: &AppState,
    view: &PoolView,
    user: &userpool_core::store::UserRecord,
    purpose: &str,
    lifetime: i64,
    message: fn(&PoolView, &str) -> (String, String),
) -> Result<(), userpool_core::store::StoreError> {
    let Some(email) = userpool_core::lifecycle::email_of(user) else {
        return Ok(());
    };
    let now = state.clock.now();
    let key = lockout::send_key(purpose, &user.username);
    if lockout::is_locked(
        state
            .store
            .get_sign_in_failures(&view.pool.id, &key)
            .await?
            .as_ref(),
        now,
    ) {
        tracing::warn!(user = %user.username, purpose, "code not sent: too many requests");
        return Ok(());
    }
    state
        .store
        .record_sign_in_failure(&view.pool.id, &key, now, lockout::MAX_LOCK)
        .await?;
    let (code, hash) = userpool_core::lifecycle::new_code();
    state
        .store
        .put_user_code(
            &view.pool.id,
            &user.username,
            purpose,
            &hash,
            now + lifetime,
        )
        .await?;
    let (subject, body) = message(view, &code);
    let (mailer, to) = (state.mailer.clone(), email.to_string());
    tokio::spawn(async move {
        if let Err(e) = mailer.send(&to, &subject, &body).await {
            tracing::error!(error = %e, "sending a code failed");
        }
    });
    Ok(())
}

/// Logs a storage failure and answers with the error page.
fn failed(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    html::error_page("server_error")
}

/// A button per outside identity provider of the client (spec §5.1).
fn provider_buttons(view: &PoolView, params: &AuthorizeParams) -> Option<String> {
    let client = params
        .client_id
        .as_ref()
        .and_then(|c| view.clients.get(c))?;
    let buttons: Vec<String> = client
        .config
        .supported_identity_providers
        .iter()
        .filter(|name| view.identity_providers.contains_key(*name))
        .map(|name| {
            let mut p = params.clone();
            p.identity_provider = Some(name.clone());
            p.idp_identifier = None;
            format!(
                r#"<a class="button secondary" href="{}">Continue with {}</a>"#,
                html::escape(&page_url("/oauth2/authorize", &p, &[])),
                html::escape(name)
            )
        })
        .collect();
    if buttons.is_empty() {
        return None;
    }
    let local = client
        .config
        .supported_identity_providers
        .iter()
        .any(|n| n == "COGNITO");
    let divider = if local {
        "<p class=\"divider\"><span>or</span></p>\n"
    } else {
        ""
    };
    Some(format!(
        "<div class=\"providers\">{}</div>\n{divider}",
        buttons.join("\n")
    ))
}

fn sign_in_page<'a>(
    view: &PoolView,
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
) -> FormPage<'a> {
    FormPage {
        title: "Sign in",
        action: "/login",
        intro: None,
        extra_html: provider_buttons(view, params),
        fields: vec![
            Field {
                name: "username",
                label: "Username",
                kind: "text",
                value: username,
                autocomplete: "username",
            },
            Field {
                name: "password",
                label: "Password",
                kind: "password",
                value: "",
                autocomplete: "current-password",
            },
        ],
        hidden: vec![],
        submit: "Sign in",
        links: vec![
            (
                "Forgot your password?",
                page_url("/forgotPassword", params, &[]),
            ),
            ("Need an account? Sign up", page_url("/signup", params, &[])),
        ],
        error,
        notice,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    notice: Option<String>,
}

/// Messages a page may show after a redirect (a fixed set: no reflected text).
fn notice_text(n: &Notice) -> Option<&'static str> {
    match n.notice.as_deref() {
        Some("password_reset") => Some("Your password has been reset. Sign in with the new one."),
        Some("code_sent") => Some("We sent a code to your email address."),
        _ => None,
    }
}

/// `GET /login`.
pub(crate) async fn login_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
    Query(notice): Query<Notice>,
) -> Response {
    let hint = params.login_hint.clone().unwrap_or_default();
    sign_in_page(&view, &params, &hint, None, notice_text(&notice))
        .render(&state, &view, &headers, &params)
}

/// `POST /login`: checks the lock, the password and the account, then goes on to the next step
/// (new password, MFA) or starts a session and delivers the grant.
pub(crate) async fn login_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                req,
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let again = |error: &'static str| {
        sign_in_page(&view, &params, &username, Some(error), None)
            .render(&state, &view, &headers, &params)
    };
    let now = state.clock.now();
    if password.chars().count() > 256 {
        return again("Incorrect username or password.");
    }
    let user = match signin::find_user(&*state.store, &view, &username).await {
        Ok(u) => u,
        Err(e) => return failed("looking up the user", e),
    };
    let lock_key = match &user {
        Some(u) => lockout::user_key(&u.username),
        None => lockout::name_key(&username),
    };
    // The lock is read and the attempt counted in this name's turn on this node: a burst
    // cannot pass the check all at once before any failure is counted (one racer per node).
    let turn = lockout_turn(&format!("{}/{lock_key}", view.pool.id)).await;
    let Some(permit) = argon2_permit(&state).await else {
        return busy();
    };
    let failures = match state
        .store
        .get_sign_in_failures(&view.pool.id, &lock_key)
        .await
    {
        Ok(f) => f,
        Err(e) => return failed("reading sign-in failures", e),
    };
    if lockout::is_locked(failures.as_ref(), now) {
        return again("Password attempts exceeded. Wait a moment and try again.");
    }
    // Unknown users cost the same Argon2 work as known ones.
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let Ok(matched) = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await
    else {
        return busy();
    };
    let matched = matched && user.as_ref().is_some_and(|u| u.password_hash.is_some());
    let outcome = signin::decide(user, matched);
    let counted = match &outcome {
        SignInOutcome::Failed => state
            .store
            .record_sign_in_failure(&view.pool.id, &lock_key, now, lockout::MAX_LOCK)
            .await
            .map(|_| ()),
        _ if failures.is_some() => {
            state
                .store
                .clear_sign_in_failures(&view.pool.id, &lock_key)
                .await
        }
        _ => Ok(()),
    };
    drop((permit, turn));
    if let Err(e) = counted {
        return failed("recording the sign-in attempt", e);
    }
    match outcome {
        SignInOutcome::Success(user) => {
            flow::after_password(&state, &view, &params, &req, user).await
        }
        SignInOutcome::NewPasswordRequired(user) => {
            flow::start_challenge(&state, &view, &params, &user, flow::NEW_PASSWORD, "{}").await
        }
        SignInOutcome::NotConfirmed(user) => {
            // As Cognito's hosted UI: confirm the account first, with a fresh code.
            if let Err(e) = signup::send_confirmation(&state, &view, &user).await {
                return failed("sending a confirmation code", e);
            }
            redirect(&page_url(
                "/confirm",
                &params,
                &[("username", &username), ("notice", "code_sent")],
            ))
        }
        SignInOutcome::Failed => again("Incorrect username or password."),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorParams {
    error: Option<String>,
}

/// `GET /error`: the generic error page (HTTP 400).
pub(crate) async fn error(Query(p): Query<ErrorParams>) -> Response {
    html::error_page(p.error.as_deref().unwrap_or("invalid_request"))
}
