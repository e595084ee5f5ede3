//! The metrics listener (`--metrics-listen`): `GET /metrics` in Prometheus text, on an address
//! of its own so it stays off the public network. The counts are core's (`core::metrics`); the
//! database pool's figures are read when scraped.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use userpool_core::metrics::METRICS;
use userpool_store::SqlStore;

/// Binds `addr` and serves `/metrics` until the task is dropped.
pub(crate) async fn serve(
    addr: SocketAddr,
    store: Arc<SqlStore>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--metrics-listen)"))?;
    let registry = Arc::new(METRICS.registry());
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let (registry, store) = (registry.clone(), store.clone());
            async move {
                let (open, idle) = store.pool_stats();
                METRICS.db_connections.set(i64::from(open));
                METRICS.db_idle_connections.set(idle as i64);
                let mut text = String::new();
                match prometheus_client::encoding::text::encode(&mut text, &registry) {
                    Ok(()) => (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    tracing::info!(%addr, "metrics listening");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    }))
}
