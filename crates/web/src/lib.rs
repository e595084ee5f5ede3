//! userpool-web owns HTTP: the axum router, how a request finds its pool (by issuer path or by
//! domain host), the wire formats, and the mapping of errors to responses. Handlers parse,
//! call core, and render; they make no protocol decisions of their own.

mod api;
mod complete;
mod error;
mod federation;
mod health;
mod host;
mod html;
mod import_upload;
mod limits;
mod login;
mod metrics;
mod oauth;
mod pending;
mod respond;
mod saml;
mod session;
mod state;
mod wellknown;
mod work;

pub use limits::ClientAddresses;
pub use state::{AppParts, AppState};

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Endpoints that browser apps call directly: CORS `*` (spec §6.1, §7.4, §17.1).
fn api_routes() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    Router::new()
        .route("/oauth2/token", post(oauth::token::token))
        .route("/oauth2/revoke", post(oauth::revoke::revoke))
        .route(
            "/oauth2/userInfo",
            get(oauth::userinfo::userinfo).post(oauth::userinfo::userinfo),
        )
        .route(
            "/oauth2/userinfo",
            get(oauth::userinfo::userinfo).post(oauth::userinfo::userinfo),
        )
        .layer(cors)
}

/// The Cognito API answers browser apps (Amplify, the AWS SDK in a page) from any origin, as
/// Cognito's endpoint does: they send no cookies, so `*` opens nothing a token does not.
fn api_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST])
        .allow_headers(Any)
        .expose_headers([
            header::HeaderName::from_static("x-amzn-requestid"),
            header::HeaderName::from_static("x-amzn-errortype"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// The whole application: what the binary serves and what tests drive.
/// SAML's POST binding carries up to 100,000 characters of base64: a larger body limit.
fn saml_routes() -> Router<AppState> {
    Router::new()
        .route("/saml2/idpresponse", post(saml::idpresponse))
        .route("/saml2/logout", post(saml::slo))
        .layer(axum::extract::DefaultBodyLimit::max(saml::MAX_BODY_BYTES))
        .route("/saml2/metadata", get(saml::sp_metadata))
}

pub fn router(state: AppState) -> Router {
    // Browsers that reached an https server keep to https for it (a year).
    let hsts = state.secure_cookies.then(|| {
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        )
    });
    Router::new()
        .route("/health", get(health::health))
        .route("/health/ready", get(health::ready))
        .route(
            "/",
            post(api::api)
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    userpool_api::MAX_BODY_BYTES,
                ))
                .layer(api_cors()),
        )
        // The handler reads the body itself, within the CSV limit, once the URL checks out.
        .route(
            "/import-jobs/{job_id}",
            axum::routing::put(import_upload::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
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
        .route("/oauth2/authorize", get(oauth::authorize::authorize))
        .route("/authorize", get(oauth::authorize::authorize))
        .route("/login", get(login::login_get).post(login::login_post))
        .route("/signup", get(login::signup_get).post(login::signup_post))
        .route(
            "/confirm",
            get(login::confirm_get).post(login::confirm_post),
        )
        .route("/resendcode", get(login::resend_code))
        .route(
            "/forgotPassword",
            get(login::forgot_get).post(login::forgot_post),
        )
        .route(
            "/confirmforgotPassword",
            get(login::confirm_forgot_get).post(login::confirm_forgot_post),
        )
        .route(
            "/newPassword",
            get(login::new_password_get).post(login::new_password_post),
        )
        .route("/mfa", get(login::mfa_get).post(login::mfa_post))
        .route("/login/factor", post(login::factor_post))
        .route(
            "/login/passkey",
            get(login::passkey_get).post(login::passkey_post),
        )
        .route(
            "/passkeys/add",
            get(login::add_passkey_get).post(login::add_passkey_post),
        )
        .route(
            "/passkeys",
            get(login::passkeys_get).post(login::passkeys_post),
        )
        .route("/error", get(login::error))
        .route(
            "/oauth2/idpresponse",
            get(federation::idpresponse_get).post(federation::idpresponse_post),
        )
        .route("/logout", get(oauth::logout::logout))
        .merge(saml_routes())
        .route(html::STYLESHEET_PATH, get(html::stylesheet))
        .route(html::PASSKEY_SCRIPT_PATH, get(html::passkey_script))
        .merge(api_routes())
        .fallback(host::domain_fallback)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit,
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(oauth::MAX_FORM_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(tower::util::option_layer(hsts))
        .with_state(state)
}

/// The span of one request: its method and path, never the query string, which carries
/// secrets and personal data (an outside provider's `code` and `state` on
/// `/oauth2/idpresponse`, `login_hint` and `username` on the login pages).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}
