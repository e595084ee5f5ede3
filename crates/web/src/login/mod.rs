//! The managed-login pages: sign-in (`/login`) and the error page (`/error`). Pages carry the
//! authorize parameters in their query string through the whole flow and end in the grant.

pub(crate) mod html;
pub(crate) mod session;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{self, Authenticated, AuthorizeParams, AuthorizeRequest};
use userpool_core::oauth::grant::new_uuid;
use userpool_core::password::{dummy_hash, verify_password};
use userpool_core::signin::{self, SignInOutcome, lockout};

use crate::host::DomainPool;
use crate::oauth::Form;
use crate::oauth::authorize::{deliver, external_unavailable, reject};
use crate::state::AppState;
use html::escape;

/// What the sign-in form shows besides its fields.
struct LoginForm<'a> {
    params: &'a AuthorizeParams,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

fn login_page(view: &PoolView, f: LoginForm<'_>, status: StatusCode) -> Response {
    let alert = f
        .error
        .map(|e| {
            format!(
                r#"<p role="alert" class="alert" id="error">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let autofocus_user = if f.username.is_empty() {
        " autofocus"
    } else {
        ""
    };
    let autofocus_password = if f.username.is_empty() {
        ""
    } else {
        " autofocus"
    };
    let described = if f.error.is_some() {
        r#" aria-describedby="error""#
    } else {
        ""
    };
    let body = format!(
        r#"<p class="brand">{pool}</p>
<h1>Sign in</h1>
{alert}<form method="post" action="/login?{query}" novalidate>
<input type="hidden" name="_csrf" value="{csrf}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username" autocapitalize="none" spellcheck="false" required{autofocus_user}{described}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{autofocus_password}{described}>
<button type="submit">Sign in</button>
</form>"#,
        pool = escape(&view.pool.config.pool_name),
        query = escape(&f.params.to_query()),
        csrf = escape(f.csrf),
        username = escape(f.username),
    );
    html::page(status, "Sign in", &body)
}

/// Renders the sign-in form, setting the CSRF cookie when the browser has none.
fn show_form(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    username: &str,
    error: Option<&str>,
) -> Response {
    let (cookie_value, set) = session::csrf_cookie(state, headers);
    let csrf = session::csrf_token(state, &cookie_value);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let form = LoginForm {
        params,
        csrf: &csrf,
        username,
        error,
    };
    let mut r = login_page(view, form, status);
    if let Some(c) = set {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// The checked request, or the response that ends it here (boxed: responses are large).
fn checked(view: &PoolView, params: &AuthorizeParams) -> Result<AuthorizeRequest, Box<Response>> {
    let req = authorize::check(view, params).map_err(|r| Box::new(reject(r)))?;
    match &req.external_provider {
        Some(name) => Err(Box::new(external_unavailable(&req, name))),
        None => Ok(req),
    }
}

/// `GET /login`.
pub(crate) async fn login_get(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = AuthorizeParams::from_query(query.as_deref().unwrap_or(""));
    if let Err(r) = checked(&view, &params) {
        return *r;
    }
    let hint = params.login_hint.clone().unwrap_or_default();
    show_form(&state, &view, &headers, &params, &hint, None)
}

/// `POST /login`: checks the form's CSRF token, the authorize parameters and the password,
/// then starts a session and delivers the grant.
pub(crate) async fn login_post(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = AuthorizeParams::from_query(query.as_deref().unwrap_or(""));
    let Ok(form) = Form::parse(&headers, &body) else {
        return html::error_page("invalid_request");
    };
    if !session::csrf_ok(&state, &headers, form.get("_csrf").as_deref()) {
        let body = r#"<h1>Please try again</h1>
<p role="alert" class="alert">This form expired or did not come from this page. Go back, reload the page and sign in again.</p>"#;
        return html::page(StatusCode::FORBIDDEN, "Please try again", body);
    }
    let req = match checked(&view, &params) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let now = state.clock.now();
    let lock_key = lockout::key(&username, view.pool.config.case_sensitive());
    let failures = match state
        .store
        .get_sign_in_failures(&view.pool.id, &lock_key)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "reading sign-in failures failed");
            return html::error_page("server_error");
        }
    };
    if lockout::is_locked(failures.as_ref(), now) {
        return show_form(
            &state,
            &view,
            &headers,
            &params,
            &username,
            Some("Password attempts exceeded. Wait a moment and try again."),
        );
    }
    let user = match signin::find_user(&*state.store, &view, &username).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "looking up the user failed");
            return html::error_page("server_error");
        }
    };
    // Unknown users cost the same Argon2 work as known ones.
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let matched = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
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
    if let Err(e) = counted {
        tracing::error!(error = %e, "recording the sign-in attempt failed");
        return html::error_page("server_error");
    }
    match outcome {
        SignInOutcome::Success(user) => {
            let payload = session::SessionPayload {
                event_id: new_uuid(),
            };
            let cookie: HeaderValue =
                match session::start(&state, &view, &user, &payload, now).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(error = %e, "starting the session failed");
                        return html::error_page("server_error");
                    }
                };
            let who = Authenticated {
                user: &user,
                auth_time: now,
                event_id: &payload.event_id,
            };
            deliver(&state, &view, &req, who, Some(cookie)).await
        }
        SignInOutcome::Failed => show_form(
            &state,
            &view,
            &headers,
            &params,
            &username,
            Some("Incorrect username or password."),
        ),
        SignInOutcome::NotConfirmed(_) => show_form(
            &state,
            &view,
            &headers,
            &params,
            &username,
            Some("User is not confirmed."),
        ),
        SignInOutcome::NewPasswordRequired(_) => show_form(
            &state,
            &view,
            &headers,
            &params,
            &username,
            Some(
                "Your password must be changed before you can sign in. An administrator must set a new password for you.",
            ),
        ),
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
