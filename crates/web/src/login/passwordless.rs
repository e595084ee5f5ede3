//! The managed-login pages of choice-based sign-in (core's `passwordless` and `passkeys`): the
//! username-first sign-in of pools that allow passwordless factors, the choice of factor, the
//! passkey sign-in, the offer to add a passkey after another sign-in (`/passkeys/add`, as
//! Cognito's managed login), and the page where a signed-in user manages their passkeys
//! (`/passkeys`). Only the WebAuthn ceremony itself needs JavaScript (our `passkey.js`); codes
//! and passwords work without it.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use userpool_core::auth::passkeys::passkey_request_options;
use userpool_core::auth::{AuthError, Begin, ErrorKind, Next, SignedIn};
use userpool_core::crypto::random_token;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{AuthorizeParams, AuthorizeRequest};
use userpool_core::store::{ClientRecord, PendingKind, UserRecord};

use super::form::{FormPage, page_url};
use super::{Page, Posted, failed, flow, refusal, sign_in_page};
use crate::complete::{finish, finish_then};
use crate::html::{self, escape};
use crate::respond::redirect;
use crate::session::{self, Cookie};
use crate::state::AppState;

/// Whether the pool's sign-in starts with the username (it allows a factor besides passwords).
pub(super) fn username_first(view: &PoolView) -> bool {
    ["EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"]
        .iter()
        .any(|f| view.pool.config.allows_first_factor(f))
}

/// The relying party ID the pool's passkeys default to (its preferred domain).
fn default_rp_id(state: &AppState, view: &PoolView) -> String {
    let domains: Vec<_> = view.domains.iter().map(|d| &d.config).collect();
    state
        .directory
        .settings()
        .default_rp_id(&domains, &view.region)
}

/// The first page of a username-first sign-in: the name alone, then the factors it has.
pub(super) fn username_page<'a>(
    view: &PoolView,
    client: &ClientRecord,
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
) -> FormPage<'a> {
    let mut page = sign_in_page(view, client, params, username, error, notice);
    page.fields.retain(|f| f.name == "username");
    if !page.fields.is_empty() {
        page.submit = "Next";
    }
    page
}

/// `POST /login` with a name and no password, on a username-first pool: the factors the user
/// has (passwords alone go straight to the password form), or the step one of them leads to.
pub(super) async fn begin(
    state: &AppState,
    page: &Page,
    req: &AuthorizeRequest,
    username: &str,
) -> Response {
    let Page {
        view,
        headers,
        params,
        client,
        ..
    } = page;
    let rp = default_rp_id(state, view);
    let begun = state
        .auth
        .begin_user_auth(view, client, username, None, Some(&rp))
        .await;
    match begun {
        Ok(Begin::Next(next)) => match *next {
            Next::Step(step) if step.kind == PendingKind::SelectChallenge => {
                let others: Vec<&str> = step
                    .available
                    .iter()
                    .map(String::as_str)
                    .filter(|f| !f.starts_with("PASSWORD"))
                    .collect();
                if others.is_empty() {
                    return sign_in_page(view, client, params, username, None, None)
                        .render(state, view, headers, params);
                }
                let mut r = choice_page(state, view, headers, params, username, &others);
                r.headers_mut().append(
                    header::SET_COOKIE,
                    Cookie::Challenge.set(state, &step.session, step.lifetime),
                );
                r
            }
            next => flow::next_step(state, view, params, req, next).await,
        },
        Ok(Begin::Password(_)) => sign_in_page(view, client, params, username, None, None)
            .render(state, view, headers, params),
        Err(e) => match refusal(e) {
            Ok(message) => username_page(view, client, params, username, Some(&message), None)
                .render(state, view, headers, params),
            Err(r) => *r,
        },
    }
}

/// The button each factor gets on the choice page.
fn factor_label(factor: &str) -> &'static str {
    match factor {
        "WEB_AUTHN" => "Sign in with a passkey",
        "EMAIL_OTP" => "Email me a sign-in code",
        "SMS_OTP" => "Text me a sign-in code",
        _ => "Sign in with my password",
    }
}

/// The page of a form: the pool's name, the title, then `inner`, with the CSRF token the
/// forms in `inner` carry (`{csrf}`), and the CSRF cookie set when the browser has none.
fn shell(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    title: &str,
    error: Option<&str>,
    inner: impl FnOnce(&str) -> String,
    script_nonce: Option<&str>,
) -> Response {
    let (cookie_value, set) = session::csrf_cookie(state, headers);
    let csrf = session::csrf_token(state, &cookie_value);
    let mut body = format!(
        "<p class=\"brand\">{}</p>\n<h1>{}</h1>\n",
        escape(&view.pool.config.pool_name),
        escape(title)
    );
    if let Some(e) = error {
        body.push_str(&format!(
            "<p role=\"alert\" class=\"alert\" id=\"error\">{}</p>\n",
            escape(e)
        ));
    }
    body.push_str(&inner(&escape(&csrf)));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut r = match script_nonce {
        Some(nonce) => html::page_with_script(status, title, &body, nonce),
        None => html::page(status, title, &body),
    };
    if let Some(c) = set {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// The choice between the user's factors (and their password).
fn choice_page(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    username: &str,
    factors: &[&str],
) -> Response {
    let query = escape(&params.to_query());
    let buttons: String = factors
        .iter()
        .chain(std::iter::once(&"PASSWORD"))
        .map(|f| {
            let class = if *f == "PASSWORD" {
                " class=\"secondary\""
            } else {
                ""
            };
            format!(
                "<button type=\"submit\" name=\"factor\" value=\"{}\"{class}>{}</button>\n",
                escape(f),
                escape(factor_label(f))
            )
        })
        .collect();
    let back = escape(&page_url("/login", params, &[]));
    shell(
        state,
        view,
        headers,
        "Choose how to sign in",
        None,
        |csrf| {
            format!(
                "<p>Signing in as <strong>{user}</strong>.</p>\n<form method=\"post\" action=\"/login/factor?{query}\" class=\"choices\">\n<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\n<input type=\"hidden\" name=\"username\" value=\"{user}\">\n{buttons}</form>\n<p class=\"links\"><a href=\"{back}\">Not you? Start over</a></p>\n",
                user = escape(username),
            )
        },
        None,
    )
}

/// `POST /login/factor`: the factor chosen; a password gets its form, the others their step.
pub(crate) async fn factor_post(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { page, form } = posted;
    let factor = form.get("factor").unwrap_or_default();
    let username = form.get("username").unwrap_or_default();
    let session = flow::step_session(&state, &page.headers).unwrap_or_default();
    let rp = default_rp_id(&state, &page.view);
    let chosen = state
        .auth
        .choose_first_factor(&page.view, &page.client, &session, &factor, Some(&rp))
        .await;
    let req = page.req.clone();
    match chosen {
        Ok(Begin::Password(_)) => sign_in_page(
            &page.view,
            &page.client,
            &page.params,
            &username,
            None,
            None,
        )
        .render(&state, &page.view, &page.headers, &page.params),
        Ok(Begin::Next(next)) => {
            flow::next_step(&state, &page.view, &page.params, &req, *next).await
        }
        Err(e) => start_over(&state, &page, &username, e),
    }
}

/// Back to the first page, saying why (an expired step, a refused factor).
fn start_over(state: &AppState, page: &Page, username: &str, e: AuthError) -> Response {
    let message = match e.kind {
        ErrorKind::NotAuthorized => "That sign-in expired. Start again.".to_string(),
        _ => match refusal(e) {
            Ok(m) => m,
            Err(r) => return *r,
        },
    };
    username_page(
        &page.view,
        &page.client,
        &page.params,
        username,
        Some(&message),
        None,
    )
    .render(state, &page.view, &page.headers, &page.params)
}

/// A page that runs a WebAuthn ceremony (`get` or `create`) with `options` (JSON) and posts
/// the result to `action`; `hidden` values ride along.
#[allow(clippy::too_many_arguments)] // the page's parts
fn ceremony_page(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    (title, intro, submit): (&str, &str, &str),
    (action, ceremony): (&str, &str),
    options: &str,
    hidden: &[(&str, &str)],
    links: &[(&str, String)],
    error: Option<&str>,
) -> Response {
    let nonce = random_token();
    let query = escape(&params.to_query());
    // JSON inside a script element: `<` escaped so no text closes the element.
    let options = options.replace('<', "\\u003c");
    let hidden: String = hidden
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let links: Vec<String> = links
        .iter()
        .map(|(label, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(label)))
        .collect();
    let links = links.join(" · ");
    shell(
        state,
        view,
        headers,
        title,
        error,
        |csrf| {
            format!(
                "<p>{intro}</p>\n<script type=\"application/json\" id=\"passkey-options\">{options}</script>\n<form method=\"post\" action=\"{action}?{query}\" id=\"passkey-form\" data-ceremony=\"{ceremony}\">\n<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\n<input type=\"hidden\" name=\"credential\" value=\"\">\n{hidden}<button type=\"submit\">{submit}</button>\n</form>\n<p role=\"status\" class=\"notice\" id=\"passkey-status\"></p>\n<noscript><p class=\"alert\">Passkeys need JavaScript in this browser.</p></noscript>\n<p class=\"links\">{links}</p>\n",
                intro = escape(intro),
                submit = escape(submit),
            )
        },
        Some(&nonce),
    )
}

/// `GET /login/passkey`: the passkey step's page, which asks the browser for an assertion.
pub(crate) async fn passkey_get(State(state): State<AppState>, page: Page) -> Response {
    render_passkey_step(&state, &page, None).await
}

async fn render_passkey_step(state: &AppState, page: &Page, error: Option<&str>) -> Response {
    let Page {
        view,
        headers,
        params,
        client,
        ..
    } = page;
    let session = flow::step_session(state, headers).unwrap_or_default();
    let step = match state
        .auth
        .pending_step(view, client, &session, &[PendingKind::WebAuthn])
        .await
    {
        Ok(step) => step,
        Err(e) => return failed("reading the sign-in step", e.message),
    };
    let Some(options) = step.as_ref().and_then(|(c, _)| passkey_request_options(c)) else {
        return redirect(&page_url("/login", params, &[]));
    };
    ceremony_page(
        state,
        view,
        headers,
        params,
        (
            "Sign in with your passkey",
            "Use the passkey on this device or a security key.",
            "Use my passkey",
        ),
        ("/login/passkey", "get"),
        &options,
        &[],
        &[("Choose another way", page_url("/login", params, &[]))],
        error,
    )
}

/// `POST /login/passkey`: the assertion; signed in (a passkey needs no further step), or back
/// to the first page when it is refused (the challenge was used up).
pub(crate) async fn passkey_post(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { page, form } = posted;
    let Some(session) = flow::step_session(&state, &page.headers) else {
        return redirect(&page_url("/login", &page.params, &[]));
    };
    let credential = form.get("credential").unwrap_or_default();
    let answered = state
        .auth
        .answer_passkey(&page.view, &page.client, &session, &credential)
        .await;
    match answered {
        Ok(Next::Done(signed_in)) => finish(&state, &page.view, &page.req, &signed_in, None).await,
        Ok(next) => flow::next_step(&state, &page.view, &page.params, &page.req, next).await,
        Err(e) if e.kind == ErrorKind::TooManyRequests || e.kind == ErrorKind::Internal => {
            match refusal(e) {
                Ok(m) => render_passkey_step(&state, &page, Some(&m)).await,
                Err(r) => *r,
            }
        }
        Err(_) => username_page(
            &page.view,
            &page.client,
            &page.params,
            "",
            Some("The passkey could not be verified. Try again."),
            None,
        )
        .render(&state, &page.view, &page.headers, &page.params),
    }
}

/// Whether a finished sign-in gets the offer to add a passkey: a local user of a pool that
/// allows passkeys, who has none yet.
pub(super) async fn offers_passkey(state: &AppState, view: &PoolView, who: &SignedIn) -> bool {
    who.provider.is_none()
        && view.pool.config.allows_first_factor("WEB_AUTHN")
        && state
            .auth
            .passkeys(view, &who.user.username)
            .await
            .is_ok_and(|p| p.is_empty())
}

/// Ends a sign-in with the offer to add a passkey: the session starts, then the offer.
pub(super) async fn finish_with_offer(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    who: &SignedIn,
) -> Response {
    finish_then(
        state,
        view,
        req,
        who,
        &page_url("/passkeys/add", params, &[]),
    )
    .await
}

/// How recent a sign-in must be to add or delete a passkey: a session left open in a browser is
/// not enough to give someone a lasting way in.
const RECENT_SIGN_IN_SECS: i64 = 15 * 60;

/// The signed-in user of this browser, who signed in recently, or the sign-in page to come
/// back from.
async fn signed_in_user(state: &AppState, page: &Page) -> Result<UserRecord, Response> {
    let now = state.clock.now();
    match session::current(state, &page.view, &page.headers, now).await {
        Ok(Some((session, payload, user)))
            if payload.provider.is_none() && now - session.auth_time <= RECENT_SIGN_IN_SECS =>
        {
            Ok(user)
        }
        Ok(_) => Err(redirect(&page_url("/login", &page.params, &[]))),
        Err(e) => Err(failed("reading the session", e)),
    }
}

/// Where the app's flow goes on: the authorization endpoint, which finds the session.
fn back_to_app(params: &AuthorizeParams) -> String {
    page_url("/oauth2/authorize", params, &[])
}

/// `GET /passkeys/add`: the offer (or, from the passkeys page, the request) to add a passkey.
pub(crate) async fn add_passkey_get(
    State(state): State<AppState>,
    page: Page,
    Query(from): Query<AddFrom>,
) -> Response {
    let next = from
        .next
        .as_deref()
        .filter(|n| *n == "manage")
        .unwrap_or("");
    render_add(&state, &page, next, None).await
}

/// Where `/passkeys/add` was opened from: `next=manage` for the passkeys page.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct AddFrom {
    next: Option<String>,
}

async fn render_add(state: &AppState, page: &Page, next: &str, error: Option<&str>) -> Response {
    let user = match signed_in_user(state, page).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !page.view.pool.config.allows_first_factor("WEB_AUTHN") {
        return redirect(&back_to_app(&page.params));
    }
    let rp = default_rp_id(state, &page.view);
    let options = match state
        .auth
        .start_passkey_registration(&page.view, &user, Some(&rp))
        .await
    {
        Ok(o) => o.to_string(),
        Err(e) => match refusal(e) {
            Ok(m) => {
                return manage_page(state, page, &user, Some(&m)).await;
            }
            Err(r) => return *r,
        },
    };
    let skip = if next == "manage" {
        ("Cancel", page_url("/passkeys", &page.params, &[]))
    } else {
        ("Not now", back_to_app(&page.params))
    };
    ceremony_page(
        state,
        &page.view,
        &page.headers,
        &page.params,
        (
            "Sign in faster with a passkey",
            "A passkey lets you sign in with your fingerprint, face or screen lock instead of a password or code.",
            "Add a passkey",
        ),
        ("/passkeys/add", "create"),
        &options,
        &[("next", next)],
        &[skip],
        error,
    )
}

/// `POST /passkeys/add`: the new credential kept, then on to the app (or back to the list).
pub(crate) async fn add_passkey_post(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { page, form } = posted;
    let user = match signed_in_user(&state, &page).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let next = form.get("next").unwrap_or_default();
    let credential: serde_json::Value = form
        .get("credential")
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default();
    match state
        .auth
        .complete_passkey_registration(&page.view, &user, &credential)
        .await
    {
        Ok(()) if next == "manage" => redirect(&page_url("/passkeys", &page.params, &[])),
        Ok(()) => redirect(&back_to_app(&page.params)),
        Err(e) => match refusal(e) {
            Ok(m) => render_add(&state, &page, &next, Some(&m)).await,
            Err(r) => *r,
        },
    }
}

/// `GET /passkeys`: the signed-in user's passkeys, each with a button to delete it.
pub(crate) async fn passkeys_get(State(state): State<AppState>, page: Page) -> Response {
    match signed_in_user(&state, &page).await {
        Ok(user) => manage_page(&state, &page, &user, None).await,
        Err(r) => r,
    }
}

async fn manage_page(
    state: &AppState,
    page: &Page,
    user: &UserRecord,
    error: Option<&str>,
) -> Response {
    let passkeys = match state.auth.passkeys(&page.view, &user.username).await {
        Ok(p) => p,
        Err(e) => return failed("listing passkeys", e.message),
    };
    let query = escape(&page.params.to_query());
    let add = escape(&page_url(
        "/passkeys/add",
        &page.params,
        &[("next", "manage")],
    ));
    let back = escape(&back_to_app(&page.params));
    shell(
        state,
        &page.view,
        &page.headers,
        "Your passkeys",
        error,
        |csrf| {
            let rows: String = passkeys
                .iter()
                .map(|p| {
                    format!(
                        "<li><form method=\"post\" action=\"/passkeys?{query}\" class=\"row\">\n<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\n<input type=\"hidden\" name=\"delete\" value=\"{id}\">\n<span>{name} <span class=\"muted\">({rp})</span></span>\n<button type=\"submit\" class=\"secondary\">Delete</button>\n</form></li>\n",
                        id = escape(&p.credential_id),
                        name = escape(&p.name),
                        rp = escape(&p.relying_party_id),
                    )
                })
                .collect();
            let list = if passkeys.is_empty() {
                "<p>You have no passkeys yet.</p>\n".to_string()
            } else {
                format!("<ul class=\"passkeys\">\n{rows}</ul>\n")
            };
            format!(
                "<p>Signed in as <strong>{user}</strong>.</p>\n{list}<p class=\"links\"><a href=\"{add}\">Add a passkey</a> · <a href=\"{back}\">Back to the app</a></p>\n",
                user = escape(&user.username),
            )
        },
        None,
    )
}

/// `POST /passkeys`: deletes one of the user's passkeys.
pub(crate) async fn passkeys_post(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { page, form } = posted;
    let user = match signed_in_user(&state, &page).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = form.get("delete").unwrap_or_default();
    match state
        .auth
        .delete_passkey(&page.view, &user.username, &id)
        .await
    {
        Ok(()) => redirect(&page_url("/passkeys", &page.params, &[])),
        Err(e) => match refusal(e) {
            Ok(m) => manage_page(&state, &page, &user, Some(&m)).await,
            Err(r) => *r,
        },
    }
}
