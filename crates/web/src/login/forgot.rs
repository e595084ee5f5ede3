//! `/forgotPassword` and `/confirmforgotPassword`: a reset code by email or text message, then a
//! new password (the `forgot_password` and `confirm_forgot_password` use cases).

use axum::extract::{Query, State};
use axum::response::Response;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::triggers::TriggerInput;

use super::form::{Field, FormPage, page_url};
use super::signup::UsernameParam;
use super::{Page, Posted, refusal};
use crate::respond::redirect;
use crate::state::AppState;

fn forgot_page<'a>(
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
) -> FormPage<'a> {
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
        error,
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
    forgot_page(&params, "", None).render(&state, &view, &headers, &params)
}

pub(crate) async fn forgot_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                client,
                ..
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    if let Err(e) = state
        .auth
        .forgot_password(&view, &client, &username, &TriggerInput::default())
        .await
    {
        return match refusal(e) {
            Ok(message) => forgot_page(&params, &username, Some(&message))
                .render(&state, &view, &headers, &params),
            Err(r) => *r,
        };
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
            "If the account exists, we sent a code to its email address or phone. Enter it with a new password.",
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

/// `POST /confirmforgotPassword`: a right code sets the new password; the user then signs in
/// with it.
pub(crate) async fn confirm_forgot_post(
    State(state): State<AppState>,
    Posted {
        page:
            Page {
                view,
                headers,
                params,
                client,
                ..
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    let code = form.get("code").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    match state
        .auth
        .confirm_forgot_password(
            &view,
            &client,
            &username,
            &code,
            &password,
            &TriggerInput::default(),
        )
        .await
    {
        Ok(()) => redirect(&page_url(
            "/login",
            &params,
            &[("notice", "password_reset")],
        )),
        Err(e) => match refusal(e) {
            Ok(message) => confirm_page(&params, &username, Some(&message))
                .render(&state, &view, &headers, &params),
            Err(r) => *r,
        },
    }
}
