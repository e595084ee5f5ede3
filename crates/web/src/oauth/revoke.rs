//! `POST /oauth2/revoke` (spec §9): 200 with an empty body, also for unknown tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use userpool_core::oauth::token;

use super::{Refused, authenticated_form, json_headers};
use crate::host::DomainPool;
use crate::state::AppState;

pub(crate) async fn revoke(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut basic = false;
    let result: Result<_, Refused> = async {
        let (form, client) = authenticated_form(&state, &view, &headers, &body, &mut basic)?;
        token::revoke(
            &*state.store,
            client,
            form.get("token").as_deref(),
            state.clock.now(),
        )
        .await
        .map_err(Refused::from)
    }
    .await;
    match result {
        Ok(()) => (json_headers(), "").into_response(),
        Err(e) => e.into_response(basic),
    }
}
