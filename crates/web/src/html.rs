//! HTML rendering for every page we serve (managed login, OAuth, federation, SAML): escaping,
//! the page shell, the generic error page, the embedded stylesheet, and the headers every page
//! carries (no framing, no caching, no referrer, scripts off).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) use userpool_core::markup::escape;

pub(crate) const STYLESHEET_PATH: &str = "/_userpool/style.css";
pub(crate) const STYLESHEET: &str = include_str!("../assets/style.css");
/// The passkey pages' one script (WebAuthn needs the browser's API); every other page has none.
pub(crate) const PASSKEY_SCRIPT_PATH: &str = "/_userpool/passkey.js";
const PASSKEY_SCRIPT: &str = include_str!("../assets/passkey.js");

/// Security headers of every HTML page (checklist UI01, UI05, UI06, UI07).
pub(crate) fn page_headers() -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// A complete page: `title` is plain text, `body` is already-escaped HTML.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="{STYLESHEET_PATH}">
<link rel="icon" href="data:,">
</head>
<body>
<main>
<div class="card">
{body}
</div>
<footer class="muted">Secured by userpool</footer>
</main>
</body>
</html>
"#,
        title = escape(title),
    );
    (status, page_headers(), html).into_response()
}

/// The generic error page (spec §18: HTTP 400, "An error was encountered with the requested
/// page."; 500 for `server_error`, a failure of ours, so clients and balancers can tell it
/// from a bad request). It never links to a caller-supplied URI.
pub(crate) fn error_page(error: &str) -> Response {
    let body = format!(
        r#"<h1>Something went wrong</h1>
<p role="alert" class="alert">An error was encountered with the requested page.</p>
<p class="muted">Error: <code>{}</code></p>"#,
        escape(error)
    );
    let status = if error == "server_error" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, "Error", &body)
}

/// A page that runs our passkey script: the page headers, with a CSP that allows that script
/// alone, by a nonce made for this response.
pub(crate) fn page_with_script(
    status: StatusCode,
    title: &str,
    body: &str,
    nonce: &str,
) -> Response {
    let script = format!(
        "<script nonce=\"{nonce}\" src=\"{PASSKEY_SCRIPT_PATH}\"></script>\n",
        nonce = escape(nonce)
    );
    let mut r = page(status, title, &format!("{body}{script}"));
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

pub(crate) async fn passkey_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PASSKEY_SCRIPT,
    )
        .into_response()
}

pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            super::escape(r#""><svg onload='x'>&"#),
            "&quot;&gt;&lt;svg onload=&#39;x&#39;&gt;&amp;"
        );
    }
}
