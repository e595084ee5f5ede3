//! `/signup`, `/confirm` and `/resendcode`: self-registration with a confirmation code sent by
//! email, or by text message in pools that verify phone numbers (the `sign_up`,
//! `confirm_sign_up` and `resend_confirmation` use cases); a confirmed account is signed in at
//! once.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::SignUpInput;
use userpool_core::model::AttributeType;
use userpool_core::oauth::authorize::AuthorizeParams;
use userpool_core::triggers::TriggerInput;

use super::form::{Field, FormPage, page_url};
use super::{Notice, Page, Posted, code_notice, flow, notice_text, refusal};
use crate::html;
use crate::respond::redirect;
use crate::state::AppState;

const SIGN_UP_REFUSED: &str = "SignUp is not permitted for this user pool";

/// Whether the pool verifies phone numbers, so the sign-up page asks for one.
fn verifies_phones(view: &PoolView) -> bool {
    let auto = &view.pool.config.auto_verified_attributes;
    auto.iter().any(|a| a == "phone_number")
}

fn signup_page<'a>(
    view: &PoolView,
    params: &AuthorizeParams,
    (username, email, phone): (&'a str, &'a str, &'a str),
    error: Option<&'a str>,
) -> FormPage<'a> {
    let by_email = view.pool.config.signs_in_by_email();
    let mut fields = vec![Field {
        name: "username",
        label: if by_email { "Email" } else { "Username" },
        kind: if by_email { "email" } else { "text" },
        value: username,
        autocomplete: if by_email { "email" } else { "username" },
    }];
    if !by_email {
        fields.push(Field {
            name: "email",
            label: "Email",
            kind: "email",
            value: email,
            autocomplete: "email",
        });
    }
    if verifies_phones(view) {
        fields.push(Field {
            name: "phone_number",
            label: "Phone number (+country code)",
            kind: "tel",
            value: phone,
            autocomplete: "tel",
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
    if view.pool.config.admin_create_user_only() {
        let body =
            format!("<h1>Sign up</h1>\n<p role=\"alert\" class=\"alert\">{SIGN_UP_REFUSED}</p>");
        return html::page(StatusCode::BAD_REQUEST, "Sign up", &body);
    }
    signup_page(&view, &params, ("", "", ""), None).render(&state, &view, &headers, &params)
}

pub(crate) async fn signup_post(
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
    let email = form.get("email").unwrap_or_default();
    let phone = form.get("phone_number").unwrap_or_default();
    let phone = phone.trim();
    let password = form.get("password").unwrap_or_default();
    let again = |error: &str| {
        signup_page(&view, &params, (&username, &email, phone), Some(error))
            .render(&state, &view, &headers, &params)
    };
    let by_phone = verifies_phones(&view) && !phone.is_empty();
    if email.trim().is_empty() && !view.pool.config.signs_in_by_email() && !by_phone {
        return again(if verifies_phones(&view) {
            "Enter an email address or a phone number: the confirmation code is sent there."
        } else {
            "Enter an email address: the confirmation code is sent there."
        });
    }
    let attributes: Vec<AttributeType> = by_phone
        .then(|| AttributeType {
            name: "phone_number".into(),
            value: phone.to_string(),
        })
        .into_iter()
        .collect();
    let input = SignUpInput {
        username: &username,
        email: (!email.is_empty()).then_some(email.as_str()),
        password: &password,
        attributes: &attributes,
    };
    match state
        .auth
        .sign_up(&view, &client, &input, &TriggerInput::default())
        .await
    {
        // Confirmed by the pre sign-up trigger: nothing to confirm, the user signs in.
        Ok((user, _)) if user.status == userpool_core::model::UserStatus::Confirmed => {
            redirect(&page_url("/login", &params, &[]))
        }
        Ok((_, sent_to)) => redirect(&page_url(
            "/confirm",
            &params,
            &[
                ("username", &username),
                ("notice", sent_to.as_ref().map_or("code_sent", code_notice)),
            ],
        )),
        Err(e) => match refusal(e) {
            Ok(message) => again(&message),
            Err(r) => *r,
        },
    }
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
                client,
            },
        form,
    }: Posted,
) -> Response {
    let username = form.get("username").unwrap_or_default();
    let code = form.get("code").unwrap_or_default();
    match state
        .auth
        .confirm_and_sign_in(&view, &client, &username, &code)
        .await
    {
        Ok(next) => flow::next_step(&state, &view, &params, &req, next).await,
        Err(e) => match refusal(e) {
            Ok(message) => confirm_page(&params, &username, Some(&message), None)
                .render(&state, &view, &headers, &params),
            Err(r) => *r,
        },
    }
}

/// `GET /resendcode`: a new code for an unconfirmed account; the same answer for any name
/// unless the client reveals unknown users.
pub(crate) async fn resend_code(
    State(state): State<AppState>,
    Page {
        view,
        headers,
        params,
        client,
        ..
    }: Page,
    Query(u): Query<UsernameParam>,
) -> Response {
    let username = u.username.unwrap_or_default();
    let sent_to = match state
        .auth
        .resend_confirmation(&view, &client, &username, &TriggerInput::default())
        .await
    {
        Ok(to) => to,
        Err(e) => {
            return match refusal(e) {
                Ok(message) => confirm_page(&params, &username, Some(&message), None)
                    .render(&state, &view, &headers, &params),
                Err(r) => *r,
            };
        }
    };
    redirect(&page_url(
        "/confirm",
        &params,
        &[("username", &username), ("notice", code_notice(&sent_to))],
    ))
}
