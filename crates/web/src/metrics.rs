//! Per-route request metrics: each answer's seconds, by the route that matched (never the raw
//! path, which would make a series per user or code), its method and its status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use userpool_core::metrics::METRICS;

pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // A clone of the matched path is a reference count, not a copy.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = method_name(request.method());
    let response = next.run(request).await;
    METRICS.request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// A standard method's name; anything else counts as `other` (a label per invented method
/// would let a client grow the metrics without bound).
fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
