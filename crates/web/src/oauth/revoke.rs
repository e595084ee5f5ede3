//! `POST /oauth2/revoke` (spec §9): 200 with an empty body, also for unknown tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use userpool_core::oauth::token;

use super::{Form, client_credentials, json_error, json_headers};
use crate::host::DomainPool;
use crate::state::AppState;

pub(crate) async fn revoke(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut basic = false;
    let result = async {
        let form = Form::parse(&headers, &body)?;
        let creds = client_credentials(&headers, &form)?;
        basic = creds.basic;
        form.no_duplicates()?;
        let client = token::authenticate(&view, &creds)?;
        token::revoke(
            &*state.store,
            client,
            form.get("token").as_deref(),
            state.clock.now(),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => (json_headers(), "").into_response(),
        Err(e) => json_error(&e, basic),
    }
}
