//! `GET /health`: ready when the database answers, for load balancers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::CognitoError;
use crate::state::AppState;

pub(crate) async fn health(State(state): State<AppState>) -> Result<Json<Value>, CognitoError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            Err(CognitoError::unavailable("database unavailable"))
        }
    }
}
