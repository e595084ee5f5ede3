//! `GET /health`: the database answers (liveness, as before); `GET /health/ready`: and the node
//! is not draining (readiness: load balancers send traffic only to ready nodes).

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

pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Value>, CognitoError> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(CognitoError::unavailable("draining"));
    }
    health(State(state)).await
}
