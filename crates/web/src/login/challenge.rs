//! The steps between password and grant: choosing a new password (accounts with a temporary
//! one) and TOTP — set-up with a QR code, then a code at each sign-in.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::{self, totp};
use userpool_core::model::UserStatus;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::signin::lockout;
use userpool_core::store::{ChallengeRecord, UserRecord};

use super::form::{Field, FormPage, page_url};
use super::html::escape;
use super::{Page, Posted, failed, flow, hash_new_password};
use crate::oauth::authorize::redirect;
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

pub(crate) async fn new_password_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
) -> Response {
    match flow::pending(&state, &view, &headers, &[flow::NEW_PASSWORD]).await {
        Ok(Some(_)) => new_password_page(None).render(&state, &view, &headers, &params),
        Ok(None) => start_over(&params),
        Err(e) => failed("reading the sign-in step", e),
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
            },
        form,
    }: Posted,
) -> Response {
    let (challenge, mut user) =
        match flow::pending(&state, &view, &headers, &[flow::NEW_PASSWORD]).await {
            Ok(Some(p)) => p,
            Ok(None) => return start_over(&params),
            Err(e) => return failed("reading the sign-in step", e),
        };
    let password = form.get("password").unwrap_or_default();
    if let Err(e) = view.pool.config.policies.password_policy.check(&password) {
        return new_password_page(Some(&e)).render(&state, &view, &headers, &params);
    }
    match flow::take(&state, &challenge).await {
        Ok(true) => {}
        Ok(false) => return start_over(&params),
        Err(e) => return failed("taking the sign-in step", e),
    }
    user.password_hash = hash_new_password(&state, password).await;
    user.status = UserStatus::Confirmed;
    user.updated_at = state.clock.now();
    if let Err(e) = state.store.update_user(&user).await {
        return failed("setting the password", e);
    }
    flow::after_password(&state, &view, &params, &req, user).await
}

/// The TOTP secret being set up, from the step's payload.
fn setup_secret(state: &AppState, view: &PoolView, c: &ChallengeRecord) -> Option<Vec<u8>> {
    let payload: Value = serde_json::from_str(&c.payload).ok()?;
    let sealed = payload.get("secret")?.as_str()?;
    totp::open(&state.master, &view.pool.id, &c.username, sealed)
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

fn mfa_page<'a>(
    params: &AuthorizeParams,
    setup: Option<(&str, &str)>,
    error: Option<&'a str>,
) -> FormPage<'a> {
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
        intro: Some(if setup.is_some() {
            "Scan the QR code with an authenticator app, then enter the six-digit code it shows."
        } else {
            "Enter the six-digit code from your authenticator app."
        }),
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
    if challenge.kind == flow::MFA_SETUP {
        let Some(secret) = setup_secret(state, view, challenge) else {
            return start_over(params);
        };
        let account = lifecycle::email_of(user).unwrap_or(&user.username);
        let uri = totp::uri(&view.pool.config.pool_name, account, &secret);
        let key = totp::base32(&secret);
        mfa_page(params, Some((&uri, &key)), error).render(state, view, headers, params)
    } else {
        mfa_page(params, None, error).render(state, view, headers, params)
    }
}

pub(crate) async fn mfa_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
) -> Response {
    match flow::pending(&state, &view, &headers, &[flow::MFA, flow::MFA_SETUP]).await {
        Ok(Some((c, user))) => render_mfa(&state, &view, &headers, &params, &c, &user, None),
        Ok(None) => start_over(&params),
        Err(e) => failed("reading the sign-in step", e),
    }
}

/// `POST /mfa`: the code of the secret being set up (which is then kept), or of the user's
/// secret. Wrong codes count toward the same lockout curve as passwords.
pub(crate) async fn mfa_post(
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
    let (challenge, mut user) =
        match flow::pending(&state, &view, &headers, &[flow::MFA, flow::MFA_SETUP]).await {
            Ok(Some(p)) => p,
            Ok(None) => return start_over(&params),
            Err(e) => return failed("reading the sign-in step", e),
        };
    let now = state.clock.now();
    let lock_key = lockout::mfa_key(&user.username);
    // Check, verify and count in this user's turn: a burst of guesses meets the lock.
    let _turn = super::lockout_turn(&format!("{}/{lock_key}", view.pool.id)).await;
    let failures = match state
        .store
        .get_sign_in_failures(&view.pool.id, &lock_key)
        .await
    {
        Ok(f) => f,
        Err(e) => return failed("reading MFA failures", e),
    };
    if lockout::is_locked(failures.as_ref(), now) {
        return render_mfa(
            &state,
            &view,
            &headers,
            &params,
            &challenge,
            &user,
            Some("Too many attempts. Wait a moment and try again."),
        );
    }
    let setup = challenge.kind == flow::MFA_SETUP;
    let secret = if setup {
        setup_secret(&state, &view, &challenge)
    } else {
        user.totp_secret
            .as_deref()
            .and_then(|s| totp::open(&state.master, &view.pool.id, &user.username, s))
    };
    let Some(secret) = secret else {
        return failed("opening the TOTP secret", "sealed secret did not open");
    };
    let code = form.get("code").unwrap_or_default();
    let step = totp::verify(&secret, &code, now);
    // A code is good once: its step must be later than the last one used.
    let fresh = match step {
        Some(s) => match state
            .store
            .use_totp_step(&view.pool.id, &user.username, s)
            .await
        {
            Ok(fresh) => fresh,
            Err(e) => return failed("recording the TOTP step", e),
        },
        None => false,
    };
    if !fresh {
        if let Err(e) = state
            .store
            .record_sign_in_failure(&view.pool.id, &lock_key, now, lockout::MAX_LOCK)
            .await
        {
            return failed("recording the MFA attempt", e);
        }
        return render_mfa(
            &state,
            &view,
            &headers,
            &params,
            &challenge,
            &user,
            Some("Code mismatch. Try again with a new code."),
        );
    }
    match flow::take(&state, &challenge).await {
        Ok(true) => {}
        Ok(false) => return start_over(&params),
        Err(e) => return failed("taking the sign-in step", e),
    }
    if failures.is_some()
        && let Err(e) = state
            .store
            .clear_sign_in_failures(&view.pool.id, &lock_key)
            .await
    {
        return failed("clearing MFA failures", e);
    }
    if setup {
        user.totp_secret = Some(totp::seal(
            &state.master,
            &view.pool.id,
            &user.username,
            &secret,
        ));
        user.updated_at = now;
        if let Err(e) = state.store.update_user(&user).await {
            return failed("keeping the TOTP secret", e);
        }
    }
    flow::finish(&state, &view, &req, &user, None).await
}
