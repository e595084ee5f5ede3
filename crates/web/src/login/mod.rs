//! The managed-login pages (spec §5): sign-in, sign-up and confirmation, password reset, new
//! password, TOTP set-up and verification, and the error page. Every page carries the authorize
//! parameters in its query string through the whole flow and ends in the grant.

mod challenge;
mod flow;
mod forgot;
mod form;
mod passwordless;
mod signup;

pub(crate) use challenge::{mfa_get, mfa_post, new_password_get, new_password_post};
pub(crate) use forgot::{confirm_forgot_get, confirm_forgot_post, forgot_get, forgot_post};
pub(crate) use passwordless::{
    add_passkey_get, add_passkey_post, factor_post, passkey_get, passkey_post, passkeys_get,
    passkeys_post,
};
pub(crate) use signup::{confirm_get, confirm_post, resend_code, signup_get, signup_post};

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use userpool_core::auth::{AuthError, Delivery, ErrorKind};
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{self, AuthorizeParams, AuthorizeRequest};
use userpool_core::store::ClientRecord;
use userpool_core::triggers::TriggerInput;

use crate::host::DomainPool;
use crate::oauth::Form;
use crate::respond::{redirect, reject};
use crate::state::AppState;
use crate::{html, session};
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
    client: ClientRecord,
}

impl Page {
    /// The page of `view` that `parts` asks for. A client that does not offer `COGNITO`
    /// (local users) gets only the sign-in page, showing its providers: every local form
    /// (sign-in, sign-up, confirmation, reset, the steps after a password) is refused.
    fn of(view: Arc<PoolView>, parts: &Parts) -> Result<Self, Box<Response>> {
        let params = AuthorizeParams::from_query(parts.uri.query().unwrap_or(""));
        let req = checked(&view, &params)?;
        let Some(client) = view.clients.get(&req.client_id).cloned() else {
            return Err(Box::new(html::error_page("invalid_request")));
        };
        let local = authorize::offers_local_sign_in(&client);
        if !local && (parts.method != axum::http::Method::GET || parts.uri.path() != "/login") {
            return Err(Box::new(html::error_page("invalid_request")));
        }
        Ok(Page {
            view,
            headers: parts.headers.clone(),
            params,
            req,
            client,
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

/// The answer when Argon2 work is queued too long: try again shortly (nothing was spent).
fn busy() -> Response {
    let body = r#"<h1>Please try again</h1>
<p role="alert" class="alert">Too many sign-ins at once. Wait a moment and try again.</p>"#;
    html::page(StatusCode::SERVICE_UNAVAILABLE, "Please try again", body)
}

/// The message a page shows for a refusal, or the response that ends the request instead (a
/// busy server, an internal failure; boxed: responses are large).
fn refusal(e: AuthError) -> Result<String, Box<Response>> {
    match e.kind {
        ErrorKind::TooManyRequests => Err(Box::new(busy())),
        ErrorKind::Internal => Err(Box::new(html::error_page("server_error"))),
        _ => Ok(e.message),
    }
}

/// Logs a storage failure and answers with the error page.
fn failed(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    html::error_page("server_error")
}

/// A button per outside identity provider of the client (spec §5.1).
fn provider_buttons(
    view: &PoolView,
    client: &ClientRecord,
    params: &AuthorizeParams,
) -> Option<String> {
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
    let divider = if authorize::offers_local_sign_in(client) {
        "<p class=\"divider\"><span>or</span></p>\n"
    } else {
        ""
    };
    Some(format!(
        "<div class=\"providers\">{}</div>\n{divider}",
        buttons.join("\n")
    ))
}

/// The sign-in page: the client's providers, then (when the client offers local users) the
/// password form, the reset link, and the sign-up link unless only administrators create users.
fn sign_in_page<'a>(
    view: &PoolView,
    client: &ClientRecord,
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
) -> FormPage<'a> {
    let local = authorize::offers_local_sign_in(client);
    let mut links = Vec::new();
    if local {
        links.push((
            "Forgot your password?",
            page_url("/forgotPassword", params, &[]),
        ));
        if !view.pool.config.admin_create_user_only() {
            links.push(("Need an account? Sign up", page_url("/signup", params, &[])));
        }
    }
    let fields = if local {
        vec![
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
        ]
    } else {
        vec![]
    };
    FormPage {
        title: "Sign in",
        action: "/login",
        intro: None,
        extra_html: provider_buttons(view, client, params),
        fields,
        hidden: vec![],
        submit: if local { "Sign in" } else { "" },
        links,
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
        Some("code_texted") => Some("We sent a code to your phone by text message."),
        _ => None,
    }
}

/// The notice of a page after a code went to `to` (for unknown names, a stand-in of the
/// pool's shape: the notice tells nothing about the account).
fn code_notice(to: &Delivery) -> &'static str {
    match to {
        Delivery::Sms(_) => "code_texted",
        Delivery::Email(_) => "code_sent",
    }
}

/// `GET /login`.
pub(crate) async fn login_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        client,
        ..
    }: Page,
    Query(notice): Query<Notice>,
) -> Response {
    let hint = params.login_hint.clone().unwrap_or_default();
    let page = if passwordless::username_first(&view) {
        passwordless::username_page(&view, &client, &params, &hint, None, notice_text(&notice))
    } else {
        sign_in_page(&view, &client, &params, &hint, None, notice_text(&notice))
    };
    page.render(&state, &view, &headers, &params)
}

/// `POST /login`: the password sign-in use case, then its next step (new password, MFA), a
/// confirmation code for an unconfirmed account, or the session and the grant.
pub(crate) async fn login_post(State(state): State<AppState>, posted: Posted) -> Response {
    let username = posted.form.get("username").unwrap_or_default();
    // A username-first pool's first page sends the name alone: its factors come next.
    if posted.form.get("password").is_none() && passwordless::username_first(&posted.page.view) {
        let req = posted.page.req.clone();
        return passwordless::begin(&state, &posted.page, &req, &username).await;
    }
    let Posted {
        page:
            Page {
                view,
                headers,
                params,
                req,
                client,
            },
        form,
    } = posted;
    let password = form.get("password").unwrap_or_default();
    match state
        .auth
        .sign_in(
            &view,
            &client,
            &username,
            &password,
            None,
            &TriggerInput::default(),
        )
        .await
    {
        Ok(next) => flow::next_step(&state, &view, &params, &req, next).await,
        Err(e) if e.kind == ErrorKind::UserNotConfirmed => {
            // As Cognito's managed login: confirm the account first, with a fresh code.
            let sent = state
                .auth
                .resend_confirmation(&view, &client, &username, &TriggerInput::default())
                .await;
            let notice = match sent {
                Ok(to) => code_notice(&to),
                Err(e) => match refusal(e) {
                    Ok(_) => "code_sent",
                    Err(r) => return *r,
                },
            };
            redirect(&page_url(
                "/confirm",
                &params,
                &[("username", &username), ("notice", notice)],
            ))
        }
        Err(e) => match refusal(e) {
            Ok(message) => sign_in_page(&view, &client, &params, &username, Some(&message), None)
                .render(&state, &view, &headers, &params),
            Err(r) => *r,
        },
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
