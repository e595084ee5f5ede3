//! `PUT /import-jobs/{job_id}?token=…`: the pre-signed URL of a user import job
//! (`CreateUserImportJob`'s `PreSignedUrl`), which takes the job's CSV as an S3 pre-signed
//! URL would (`curl -T users.csv`); the rules are core's (`auth::import_jobs`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::state::AppState;

#[derive(Deserialize)]
pub(crate) struct Token {
    token: String,
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    Query(Token { token }): Query<Token>,
    body: Bytes,
) -> Response {
    let Ok(csv) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the CSV must be UTF-8\n").into_response();
    };
    let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    match state.auth.accept_import_csv(&job_id, &token, csv).await {
        Ok(true) => StatusCode::OK.into_response(),
        // A wrong token, a started job or an expired URL: S3's answer to a bad pre-signed URL.
        Ok(false) => (StatusCode::FORBIDDEN, "AccessDenied\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e.message, "keeping an import CSV failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
