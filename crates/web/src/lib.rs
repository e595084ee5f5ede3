//! userpool-web owns HTTP: the axum router, how a request finds its pool (by issuer path or by
//! domain host), the wire formats, and the mapping of errors to responses. Handlers parse,
//! call core, and render; they make no protocol decisions of their own.

mod error;
mod health;
mod host;
mod state;
mod wellknown;

pub use state::AppState;

use axum::Router;
use axum::routing::get;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The whole application: what the binary serves and what tests drive.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route(
            "/{pool_id}/.well-known/openid-configuration",
            get(wellknown::original_discovery),
        )
        .route(
            "/{pool_id}/.well-known/jwks.json",
            get(wellknown::original_jwks),
        )
        .route(
            "/issuer/{pool_id}/.well-known/openid-configuration",
            get(wellknown::updated_discovery),
        )
        .route(
            "/issuer/{pool_id}/.well-known/jwks.json",
            get(wellknown::updated_jwks),
        )
        .fallback(host::domain_fallback)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}
