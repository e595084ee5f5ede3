//! `POST /`: the Cognito API. The request's parts go to `userpool-api` as they came (SigV4
//! signs them), and its answer is written back as is.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::limits::ClientIp;
use crate::state::AppState;

pub(crate) async fn api(
    State(state): State<AppState>,
    client_ip: Option<Extension<ClientIp>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    // HTTP/2 carries the host as the `:authority`, which SigV4 signs as `host`.
    if !headers.iter().any(|(k, _)| k == "host")
        && let Some(authority) = uri.authority()
    {
        headers.push(("host".into(), authority.to_string()));
    }
    let request = userpool_api::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
        client_ip: client_ip.and_then(|Extension(ip)| ip.0),
    };
    let answer = state.api.handle(&request).await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
    r
}
