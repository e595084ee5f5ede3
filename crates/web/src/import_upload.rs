//! `PUT /import-jobs/{job_id}?token=…`: the pre-signed URL of a user import job
//! (`CreateUserImportJob`'s `PreSignedUrl`), which takes the job's CSV as an S3 pre-signed
//! URL would (`curl -T users.csv`); the rules are core's (`auth::import_jobs`). The URL is
//! checked before the body is read, and a node reads at most two uploads at a time.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;
use userpool_core::auth::import_jobs::MAX_CSV_BYTES;

use crate::state::AppState;

/// Uploads read at once on this node: each may hold up to 100 MB.
static UPLOADS: Semaphore = Semaphore::const_new(2);

#[derive(Deserialize)]
pub(crate) struct Token {
    token: String,
}

/// S3's answer to a bad pre-signed URL: a wrong token, a started job, an expired URL.
fn denied() -> Response {
    (StatusCode::FORBIDDEN, "AccessDenied\n").into_response()
}

fn failed(e: &str) -> Response {
    tracing::error!(error = %e, "keeping an import CSV failed");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    Query(Token { token }): Query<Token>,
    body: Body,
) -> Response {
    match state.auth.import_upload_open(&job_id, &token).await {
        Ok(true) => {}
        Ok(false) => return denied(),
        Err(e) => return failed(&e.message),
    }
    let Ok(_permit) = UPLOADS.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "SlowDown\n").into_response();
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CSV_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge\n").into_response();
    };
    let Ok(csv) = std::str::from_utf8(&bytes) else {
        return (StatusCode::BAD_REQUEST, "the CSV must be UTF-8\n").into_response();
    };
    let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    match state.auth.accept_import_csv(&job_id, &token, csv).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => denied(),
        Err(e) => failed(&e.message),
    }
}
