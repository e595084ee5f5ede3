//! `/signup`, `/confirm` and `/resendcode`: self-registration with a confirmation code sent by
//! email; a confirmed account is signed in at once.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::{self, SignUpInput};
use userpool_core::model::UserStatus;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::signin;
use userpool_core::store::UserRecord;

use super::form::{Field, FormPage, page_url};
use super::{
    CODE_MISMATCH, CodeOutcome, Notice, Page, Posted, check_code, failed, flow, hash_new_password,
    notice_text, send_code,
};
use crate::oauth::authorize::redirect;
use crate::state::AppState;

/// Makes, stores and sends a confirmation code; users without an email get none.
pub(crate) async fn send_confirmation(
    state: &AppState,
    view: &PoolView,
    user: &UserRecord,
) -> Result<(), userpool_core::store::StoreError> {
    send_code(
        state,
        view,
        user,
        "confirm",
        lifecycle::CONFIRM_CODE_LIFETIME,
        |view, code| lifecycle::confirmation_message(&view.pool.config, code),
    )
    .await
}

fn by_email(view: &PoolView) -> bool {
    view.pool
        .config
        .username_attributes
        .iter()
        .any(|a| a == "email")
}

fn signup_page<'a>(
    view: &PoolView,
    params: &AuthorizeParams,
    username: &'a str,
    email: &'a str,
    error: Option<&'a str>,
) -> FormPage<'a> {
    let mut fields = vec![Field {
        name: "username",
        label: if by_email(view) { "Email" } else { "Username" },
        kind: if by_email(view) { "email" } else { "text" },
        value: username,
        autocomplete: if by_email(view) { "email" } else { "username" },
    }];
    if !by_email(view) {
        fields.push(Field {
            name: "email",
            label: "Email",
            kind: "email",
            value: email,
            autocomplete: "email",
        });
    }
    fields.push(Field {
        name: "password",
        label: "Password",
        kind: "password",
        value: "",
        autocomplete: "new-password",
    });
    FormPage {
        title: "Sign up",
        action: "/signup",
        intro: None,
        extra_html: None,
        fields,
        hidden: vec![],
        submit: "Sign up",
        links: vec![(
            "Already have an account? Sign in",
            page_url("/login", params, &[]),
        )],
        error,
        notice: None,
    }
}

pub(crate) async fn signup_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
) -> Response {
    signup_page(&view, &params, "", "", None).render(&state, &view, &headers, &params)
}

pub(crate) async fn signup_post(
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
    let email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let again = |error: &str| {
        signup_page(&view, &params, &username, &email, Some(error))
            .render(&state, &view, &headers, &params)
    };
    let input = SignUpInput {
        username: &username,
        email: (!email.is_empty()).then_some(email.as_str()),
        password: &password,
    };
    let mut user = match lifecycle::new_user(&view, &input, state.clock.now()) {
        Ok(u) => u,
        Err(e) => return again(&e.message),
    };
    if lifecycle::email_of(&user).is_none() {
        return again("Enter an email address: the confirmation code is sent there.");
    }
    if by_email(&view) {
        match state
            .store
            .find_user_by_alias(&view.pool.id, "email", &username)
            .await
        {
            Ok(Some(_)) => return again("An account with the given email already exists."),
            Ok(None) => {}
            Err(e) => return failed("checking the email", e),
        }
    }
    user.password_hash = hash_new_password(&state, password).await;
    match state.store.insert_user(&user).await {
        Ok(true) => {}
        Ok(false) => return again("User already exists."),
        Err(e) => return failed("creating the user", e),
    }
    if let Err(e) = send_confirmation(&state, &view, &user).await {
        return failed("sending the confirmation code", e);
    }
    redirect(&page_url(
        "/confirm",
        &params,
        &[("username", &username), ("notice", "code_sent")],
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UsernameParam {
    pub(crate) username: Option<String>,
}

fn confirm_page<'a>(
    params: &AuthorizeParams,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
) -> FormPage<'a> {
    FormPage {
        title: "Confirm your account",
        action: "/confirm",
        intro: Some("Enter the six-digit code from the message."),
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
                label: "Confirmation code",
                kind: "code",
                value: "",
                autocomplete: "one-time-code",
            },
        ],
        hidden: vec![],
        submit: "Confirm account",
        links: vec![(
            "Send a new code",
            page_url("/resendcode", params, &[("username", username)]),
        )],
        error,
        notice,
    }
}

pub(crate) async fn confirm_get(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        ..
    }: Page,
    Query(u): Query<UsernameParam>,
    Query(notice): Query<Notice>,
) -> Response {
    let username = u.username.unwrap_or_default();
    confirm_page(&params, &username, None, notice_text(&notice))
        .render(&state, &view, &headers, &params)
}

/// `POST /confirm`: a right code confirms the account (and its email) and signs the user in.
pub(crate) async fn confirm_post(
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
    let code = form.get("code").unwrap_or_default();
    let again = |error: &str| {
        confirm_page(&params, &username, Some(error), None).render(&state, &view, &headers, &params)
    };
    let mismatch = CODE_MISMATCH;
    let user = match signin::find_user(&*state.store, &view, &username).await {
        Ok(Some(u)) if u.status == UserStatus::Unconfirmed => u,
        Ok(_) => return again(mismatch),
        Err(e) => return failed("looking up the user", e),
    };
    match check_code(&state, &view, &user.username, "confirm", &code).await {
        CodeOutcome::Valid => {}
        CodeOutcome::Wrong(message) => return again(message),
        CodeOutcome::Failed(r) => return r,
    }
    let mut user = user;
    user.status = UserStatus::Confirmed;
    lifecycle::set_attribute(&mut user, "email_verified", "true");
    user.updated_at = state.clock.now();
    if let Err(e) = state.store.update_user(&user).await {
        return failed("confirming the user", e);
    }
    flow::after_password(&state, &view, &params, &req, user).await
}

/// `GET /resendcode`: a new code for an unconfirmed account; the same answer for any name.
pub(crate) async fn resend_code(
    State(state): State<AppState>,
    Page { view, params, .. }: Page,
    Query(u): Query<UsernameParam>,
) -> Response {
    let username = u.username.unwrap_or_default();
    match signin::find_user(&*state.store, &view, &username).await {
        Ok(Some(user)) if user.status == UserStatus::Unconfirmed => {
            if let Err(e) = send_confirmation(&state, &view, &user).await {
                return failed("sending a confirmation code", e);
            }
        }
        Ok(_) => {}
        Err(e) => return failed("looking up the user", e),
    }
    redirect(&page_url(
        "/confirm",
        &params,
        &[("username", &username), ("notice", "code_sent")],
    ))
}
