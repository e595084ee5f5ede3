//! Where a managed-login sign-in goes after a use case answered: to its pending step (new
//! password, TOTP set-up or code), named by a short-lived cookie, or to `complete::finish`.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use userpool_core::auth::Next;
use userpool_core::directory::PoolView;
use userpool_core::model::MfaFactor;
use userpool_core::oauth::authorize::{AuthorizeParams, AuthorizeRequest};
use userpool_core::store::PendingKind;

use super::form::page_url;
use crate::complete::finish;
use crate::respond::redirect;
use crate::session::Cookie;
use crate::state::AppState;

/// Renders what a use case leads to: the step's page behind its cookie, or the grant.
pub(crate) async fn next_step(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    next: Next,
) -> Response {
    match next {
        // Not under `prompt=login`: "Not now" goes back through the authorization endpoint,
        // which would ask for the sign-in again.
        Next::Done(signed_in)
            if !req.prompt_login
                && super::passwordless::offers_passkey(state, view, &signed_in).await =>
        {
            super::passwordless::finish_with_offer(state, view, params, req, &signed_in).await
        }
        Next::Done(signed_in) => finish(state, view, req, &signed_in, None).await,
        // The pages take the strongest factor offered: TOTP, then email, then SMS (the API
        // lets the user choose) [I].
        Next::Step(step) if step.kind == PendingKind::SelectMfa => {
            let client = view.clients.get(&req.client_id);
            let chosen = [MfaFactor::SoftwareToken, MfaFactor::Email, MfaFactor::Sms]
                .into_iter()
                .find(|f| step.choices.contains(f));
            let (Some(client), Some(factor)) = (client, chosen) else {
                return crate::html::error_page("server_error");
            };
            match state
                .auth
                .select_mfa(view, client, &step.session, factor)
                .await
            {
                Ok(next) => Box::pin(next_step(state, view, params, req, next)).await,
                Err(_) => crate::html::error_page("server_error"),
            }
        }
        Next::Step(step) => {
            let path = match step.kind {
                PendingKind::NewPassword => "/newPassword",
                PendingKind::WebAuthn => "/login/passkey",
                _ => "/mfa",
            };
            let mut r = redirect(&page_url(path, params, &[]));
            r.headers_mut().append(
                header::SET_COOKIE,
                Cookie::Challenge.set(state, &step.session, step.lifetime),
            );
            r
        }
    }
}

/// The session value of this browser's pending step, if it has one.
pub(crate) fn step_session(state: &AppState, headers: &HeaderMap) -> Option<String> {
    Cookie::Challenge.read(state, headers)
}
