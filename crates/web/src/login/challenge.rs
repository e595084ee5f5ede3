//! The pages of the steps between password and grant (the `set_new_password` and
//! `verify_totp` use cases): choosing a new password (accounts with a temporary
//! one) and TOTP — set-up with a QR code, then a code at each sign-in.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use userpool_core::auth::{ErrorKind, step_factor};
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::{self, totp};
use userpool_core::model::MfaFactor;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::store::{ChallengeRecord, ClientRecord, PendingKind, UserRecord};

use super::form::{Field, FormPage, page_url};
use super::{Page, Posted, failed, flow, refusal};
use crate::html::escape;
use crate::respond::redirect;
use crate::state::AppState;

/// Without a live step, the browser starts over at sign-in.
fn start_over(params: &AuthorizeParams) -> Response {
    redirect(&page_url("/login", params, &[]))
}

fn new_password_page<'a>(error: Option<&'a str>) -> FormPage<'a> {
    FormPage {
        title: "Change your password",
        action: "/newPassword",
        intro: Some("Your account has a temporary password. Choose a new one to continue."),
        extra_html: None,
        fields: vec![Field {
            name: "password",
            label: "New password",
            kind: "password",
            value: "",
            autocomplete: "new-password",
        }],
        hidden: vec![],
        submit: "Set password and continue",
        links: vec![],
        error,
        notice: None,
    }
}

/// This browser's pending step of one of `kinds`, with its user.
async fn pending(
    state: &AppState,
    view: &PoolView,
    client: &ClientRecord,
    headers: &HeaderMap,
    kinds: &[PendingKind],
) -> Result<Option<(ChallengeRecord, UserRecord)>, Response> {
    let Some(session) = flow::step_session(state, headers) else {
        return Ok(None);
    };
    state
        .auth
        .pending_step(view, client, &session, kinds)
        .await
        .map_err(|e| failed("reading the sign-in step", e.message))
}

pub(crate) async fn new_password_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        client,
        ..
    }: Page,
) -> Response {
    match pending(
        &state,
        &view,
        &client,
        &headers,
        &[PendingKind::NewPassword],
    )
    .await
    {
        Ok(Some(_)) => new_password_page(None).render(&state, &view, &headers, &params),
        Ok(None) => start_over(&params),
        Err(r) => r,
    }
}

pub(crate) async fn new_password_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                req,
                client,
            },
        form,
    }: Posted,
) -> Response {
    let Some(session) = flow::step_session(&state, &headers) else {
        return start_over(&params);
    };
    let password = form.get("password").unwrap_or_default();
    match state
        .auth
        .set_new_password(&view, &client, &session, &password, &[])
        .await
    {
        Ok(next) => flow::next_step(&state, &view, &params, &req, next).await,
        Err(e) if e.kind == ErrorKind::NotAuthorized => start_over(&params),
        Err(e) => match refusal(e) {
            Ok(message) => {
                new_password_page(Some(&message)).render(&state, &view, &headers, &params)
            }
            Err(r) => *r,
        },
    }
}

/// A QR code of `uri` as inline SVG (no script, no outside image).
fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// What the MFA page asks for: a code of the authenticator (being set up, with its QR code and
/// key), or one sent by email or SMS.
enum Asked<'a> {
    Setup { uri: &'a str, secret: &'a str },
    Authenticator,
    Sent,
}

fn mfa_page<'a>(
    params: &AuthorizeParams,
    asked: Asked<'_>,
    error: Option<&'a str>,
) -> FormPage<'a> {
    let setup = match asked {
        Asked::Setup { uri, secret } => Some((uri, secret)),
        _ => None,
    };
    let intro = match asked {
        Asked::Setup { .. } => {
            "Scan the QR code with an authenticator app, then enter the six-digit code it shows."
        }
        Asked::Authenticator => "Enter the six-digit code from your authenticator app.",
        Asked::Sent => "Enter the six-digit code we just sent you.",
    };
    let extra_html = setup.map(|(uri, secret)| {
        format!(
            r#"<figure class="qr" role="img" aria-label="QR code for your authenticator app">{}</figure>
<p class="muted">Can't scan it? Enter this key in the app: <code id="totp-secret">{}</code></p>
"#,
            qr_svg(uri),
            escape(secret)
        )
    });
    FormPage {
        title: if setup.is_some() {
            "Set up your authenticator app"
        } else {
            "Enter your authentication code"
        },
        action: "/mfa",
        intro: Some(intro),
        extra_html,
        fields: vec![Field {
            name: "code",
            label: "Code",
            kind: "code",
            value: "",
            autocomplete: "one-time-code",
        }],
        hidden: vec![],
        submit: "Verify",
        links: vec![("Cancel", page_url("/login", params, &[]))],
        error,
        notice: None,
    }
}

fn render_mfa(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    challenge: &ChallengeRecord,
    user: &UserRecord,
    error: Option<&str>,
) -> Response {
    if challenge.kind == PendingKind::MfaSetup {
        let Some(secret) = state.auth.setup_secret(view, challenge) else {
            return start_over(params);
        };
        let account = lifecycle::email_of(user).unwrap_or(&user.username);
        let uri = totp::uri(&view.pool.config.pool_name, account, &secret);
        let key = totp::base32(&secret);
        let asked = Asked::Setup {
            uri: &uri,
            secret: &key,
        };
        mfa_page(params, asked, error).render(state, view, headers, params)
    } else {
        let asked = match step_factor(challenge) {
            Some(MfaFactor::Email | MfaFactor::Sms) => Asked::Sent,
            _ => Asked::Authenticator,
        };
        mfa_page(params, asked, error).render(state, view, headers, params)
    }
}

const MFA_KINDS: &[PendingKind] = &[
    PendingKind::Mfa,
    PendingKind::MfaSetup,
    PendingKind::SignInCode,
];

pub(crate) async fn mfa_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        client,
        ..
    }: Page,
) -> Response {
    match pending(&state, &view, &client, &headers, MFA_KINDS).await {
        Ok(Some((c, user))) => render_mfa(&state, &view, &headers, &params, &c, &user, None),
        Ok(None) => start_over(&params),
        Err(r) => r,
    }
}

/// `POST /mfa`: the code of the secret being set up (which is then kept), or of the user's
/// secret.
pub(crate) async fn mfa_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                req,
                client,
            },
        form,
    }: Posted,
) -> Response {
    let Some(session) = flow::step_session(&state, &headers) else {
        return start_over(&params);
    };
    let code = form.get("code").unwrap_or_default();
    let error = match state
        .auth
        .verify_mfa(&view, &client, &session, &code, None)
        .await
    {
        Ok(next) => return flow::next_step(&state, &view, &params, &req, next).await,
        Err(e) => e,
    };
    let message = match error.kind {
        ErrorKind::NotAuthorized => return start_over(&params),
        ErrorKind::CodeMismatch => "Code mismatch. Try again with a new code.".to_string(),
        ErrorKind::TooManyFailedAttempts => {
            "Too many attempts. Wait a moment and try again.".to_string()
        }
        _ => match refusal(error) {
            Ok(m) => m,
            Err(r) => return *r,
        },
    };
    match pending(&state, &view, &client, &headers, MFA_KINDS).await {
        Ok(Some((c, user))) => {
            render_mfa(&state, &view, &headers, &params, &c, &user, Some(&message))
        }
        Ok(None) => start_over(&params),
        Err(r) => r,
    }
}
