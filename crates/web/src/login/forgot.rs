//! `/forgotPassword` and `/confirmforgotPassword`: a reset code by email, then a new password.
//! Both answer the same way for unknown users.

use axum::extract::{Query, State};
use axum::response::Response;
use userpool_core::lifecycle;
use userpool_core::model::UserStatus;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::signin::{self, lockout};

use super::form::{Field, FormPage, page_url};
use super::signup::UsernameParam;
use super::{
    CODE_MISMATCH, CodeOutcome, Page, Posted, check_code, failed, hash_new_password, send_code,
};
use crate::oauth::authorize::redirect;
use crate::state::AppState;

fn forgot_page<'a>(params: &AuthorizeParams, username: &'a str) -> FormPage<'a> {
    FormPage {
        title: "Forgot your password?",
        action: "/forgotPassword",
        intro: Some("Enter your username and we will send you a code to reset your password."),
        extra_html: None,
        fields: vec![Field {
            name: "username",
            label: "Username",
            kind: "text",
            value: username,
            autocomplete: "username",
        }],
        hidden: vec![],
        submit: "Reset my password",
        links: vec![("Back to sign in", page_url("/login", params, &[]))],
        error: None,
        notice: None,
    }
}

pub(crate) async fn forgot_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
) -> Response {
    forgot_page(&params, "").render(&state, &view, &headers, &params)
}

pub(crate) async fn forgot_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers: _,
                params,
                ..
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    let user = match signin::find_user(&*state.store, &view, &username).await {
        Ok(u) => u.filter(|u| u.enabled && u.status != UserStatus::ExternalProvider),
        Err(e) => return failed("looking up the user", e),
    };
    if let Some(user) = user
        && let Err(e) = send_code(
            &state,
            &view,
            &user,
            "reset",
            lifecycle::RESET_CODE_LIFETIME,
            |_, code| lifecycle::reset_message(code),
        )
        .await
    {
        return failed("sending the reset code", e);
    }
    redirect(&page_url(
        "/confirmforgotPassword",
        &params,
        &[("username", &username)],
    ))
}

fn confirm_page<'a>(
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
) -> FormPage<'a> {
    FormPage {
        title: "Reset your password",
        action: "/confirmforgotPassword",
        intro: Some(
            "If the account exists, we sent a code to its email address. Enter it with a new password.",
        ),
        extra_html: None,
        fields: vec![
            Field {
                name: "username",
                label: "Username",
                kind: "text",
                value: username,
                autocomplete: "username",
            },
            Field {
                name: "code",
                label: "Code",
                kind: "code",
                value: "",
                autocomplete: "one-time-code",
            },
            Field {
                name: "password",
                label: "New password",
                kind: "password",
                value: "",
                autocomplete: "new-password",
            },
        ],
        hidden: vec![],
        submit: "Change password",
        links: vec![("Back to sign in", page_url("/login", params, &[]))],
        error,
        notice: None,
    }
}

pub(crate) async fn confirm_forgot_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
    Query(u): Query<UsernameParam>,
) -> Response {
    let username = u.username.unwrap_or_default();
    confirm_page(&params, &username, None).render(&state, &view, &headers, &params)
}

/// `POST /confirmforgotPassword`: a right code sets the new password, confirms the account,
/// and lifts any lock; the user then signs in with it.
pub(crate) async fn confirm_forgot_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                ..
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    let code = form.get("code").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let again = |error: &str| {
        confirm_page(&params, &username, Some(error)).render(&state, &view, &headers, &params)
    };
    if let Err(e) = view.pool.config.policies.password_policy.check(&password) {
        return again(&e);
    }
    let mismatch = CODE_MISMATCH;
    let Ok(found) = signin::find_user(&*state.store, &view, &username).await else {
        return again(mismatch);
    };
    let Some(mut user) = found else {
        return again(mismatch);
    };
    match check_code(&state, &view, &user.username, "reset", &code).await {
        CodeOutcome::Valid => {}
        CodeOutcome::Wrong(message) => return again(message),
        CodeOutcome::Failed(r) => return r,
    }
    user.password_hash = hash_new_password(&state, password).await;
    // The code reached the user's mailbox: the account and its email are proven.
    user.status = UserStatus::Confirmed;
    lifecycle::set_attribute(&mut user, "email_verified", "true");
    user.updated_at = state.clock.now();
    if let Err(e) = state.store.update_user(&user).await {
        return failed("setting the password", e);
    }
    // A reset password ends every session and token of the account: whoever had it is out.
    let now = state.clock.now();
    let ended = async {
        state
            .store
            .delete_user_sessions(&view.pool.id, &user.username)
            .await?;
        state
            .store
            .revoke_user_families(&view.pool.id, &user.username, now)
            .await
    };
    if let Err(e) = ended.await {
        return failed("ending the user's sessions", e);
    }
    let key = lockout::user_key(&user.username);
    if let Err(e) = state
        .store
        .clear_sign_in_failures(&view.pool.id, &key)
        .await
    {
        return failed("clearing the lock", e);
    }
    redirect(&page_url(
        "/login",
        &params,
        &[("notice", "password_reset")],
    ))
}
