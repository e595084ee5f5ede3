//! `POST /oauth2/token` (spec §6).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use userpool_core::oauth::token::{self, TokenGrant};

use super::{Refused, authenticated_form, json_headers};
use crate::host::DomainPool;
use crate::state::AppState;

pub(crate) async fn token(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut basic = false;
    let result: Result<_, Refused> = async {
        let (form, client) = authenticated_form(&state, &view, &headers, &body, &mut basic)?;
        let grant = TokenGrant::parse(|k| form.get(k))?;
        let now = state.clock.now();
        token::exchange(
            &*state.store,
            &view,
            client,
            grant,
            now,
            &state.auth.triggers,
            None,
        )
        .await
        .map_err(Refused::from)
    }
    .await;
    match result {
        Ok(tokens) => (
            json_headers(),
            serde_json::to_string(&tokens).expect("token responses serialize"),
        )
            .into_response(),
        Err(e) => e.into_response(basic),
    }
}
