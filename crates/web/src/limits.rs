//! The request quotas at the HTTP door: the client's address (the socket's, or behind a
//! `--trusted-proxy` the nearest `X-Forwarded-For` hop it did not add), the quota category of
//! each page and OAuth endpoint (core's `limits` decides), and the 429 answer.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use userpool_core::auth::audit::CLIENT_IP;
use userpool_core::limits::{Category, Denied};

use crate::html;
use crate::state::AppState;

/// The client's address, as the quotas and the audit trail see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

/// Which peers are proxies whose `X-Forwarded-For` is believed. Never used for URLs or
/// issuers: only to tell clients apart.
#[derive(Debug, Clone, Default)]
pub struct ClientAddresses {
    trusted: Vec<IpNet>,
}

impl ClientAddresses {
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The socket's peer, unless it is a trusted proxy: then, walking `X-Forwarded-For` from
    /// the right, the first hop no trusted proxy is (what is left of it the client wrote
    /// itself, and proves nothing). A hop that is no address ends the walk at the proxy that
    /// wrote it.
    pub(crate) fn of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.is_trusted(peer) {
            if headers.contains_key("x-forwarded-for") && !is_public(peer) {
                warn_untrusted_forwarder(peer);
            }
            return Some(peer);
        }
        let values: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or("?"))
            .collect();
        let mut client = peer;
        for hop in values.iter().rev().flat_map(|v| v.rsplit(',')) {
            match parse_hop(hop) {
                Some(ip) if self.is_trusted(ip) => client = ip,
                Some(ip) => return Some(ip),
                None => break,
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` hop: an address, with or without a port (`192.0.2.1:443`,
/// `[2001:db8::1]:443`), in canonical form.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            let inner = hop.strip_prefix('[')?.split(']').next()?;
            inner.parse().ok()
        })?;
    Some(ip.to_canonical())
}

/// Addresses a proxy usually has: loopback, private and link-local ranges.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_private() || v4.is_link_local()),
        IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local()),
    }
}

/// Said once per process: every client behind an unnamed proxy shares the proxy's quotas.
fn warn_untrusted_forwarder(peer: IpAddr) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            %peer,
            "X-Forwarded-For from a peer that is not a --trusted-proxy: ignored, so every client behind it shares its rate limits"
        );
    });
}

/// The category of a page or endpoint; `None` for what counts in none (discovery, JWKS,
/// static assets; the API counts each operation itself).
fn category(method: &Method, route: &str) -> Option<Category> {
    let post = method == Method::POST;
    Some(match route {
        "/login" if post => Category::UserAuthentication,
        "/login/factor" if post => Category::UserAuthentication,
        "/mfa" | "/newPassword" | "/login/passkey" if post => Category::UserAuthenticationChallenge,
        "/passkeys/add" | "/passkeys" if post => Category::UserUpdate,
        "/signup" | "/confirm" if post => Category::UserCreation,
        "/forgotPassword" | "/confirmforgotPassword" if post => Category::UserAccountRecovery,
        "/resendcode" => Category::UserAccountRecovery,
        "/oauth2/token" | "/oauth2/revoke" => Category::UserToken,
        "/oauth2/userInfo" | "/oauth2/userinfo" => Category::UserRead,
        "/oauth2/idpresponse" | "/saml2/idpresponse" => Category::UserFederation,
        _ => return None,
    })
}

/// Finds the client's address (for the quotas, and for the audit trail while the request is
/// served), then counts the request in its category.
pub(crate) async fn limit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = state.client_addresses.of(peer, request.headers());
    request.extensions_mut().insert(ClientIp(ip));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let Some(category) = route.and_then(|r| category(request.method(), r)) else {
        return CLIENT_IP.scope(ip, next.run(request)).await;
    };
    // Pages and endpoints are served on pool domains: the host names the pool.
    let pool = state.limits.counts_pools(category).then(|| {
        // HTTP/2 carries the host as the `:authority`.
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| request.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default();
        state
            .directory
            .snapshot()
            .pool_for_host(&host)
            .map(|v| v.pool.id.clone())
    });
    match state.limits.admit(category, pool.flatten().as_deref(), ip) {
        Ok(()) => CLIENT_IP.scope(ip, next.run(request)).await,
        Err(denied) => {
            let json = request.uri().path().starts_with("/oauth2/")
                && request.uri().path() != "/oauth2/idpresponse";
            too_many(denied, json)
        }
    }
}

/// HTTP 429 with `Retry-After`: a JSON error for the OAuth endpoints, a page for people.
pub(crate) fn too_many(denied: Denied, json: bool) -> Response {
    let mut r = if json {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            r#"{"error":"too_many_requests","error_description":"Too many requests"}"#,
        )
            .into_response()
    } else {
        let body = r#"<h1>Please try again</h1>
<p role="alert" class="alert">Too many requests. Wait a moment and try again.</p>"#;
        html::page(StatusCode::TOO_MANY_REQUESTS, "Please try again", body)
    };
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(denied.retry_after_secs()),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxies = ClientAddresses::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let h = headers(&["203.0.113.5, 192.0.2.1", "10.0.0.7"]);
        // The nearest hop no trusted proxy wrote; what the client wrote further left is ignored.
        assert_eq!(proxies.of(Some(proxy), &h), Some(ip("192.0.2.1")));
        // A direct client's header is its own claim: the socket counts.
        assert_eq!(proxies.of(Some(stranger), &h), Some(stranger));
        // Garbage the client wrote left of the real hop changes nothing.
        let spoofed = headers(&["x, 203.0.113.5", "192.0.2.1"]);
        assert_eq!(proxies.of(Some(proxy), &spoofed), Some(ip("192.0.2.1")));
        // Garbage a proxy wrote: the proxy that wrote it counts.
        assert_eq!(
            proxies.of(Some(proxy), &headers(&["not-an-ip"])),
            Some(proxy)
        );
        assert_eq!(proxies.of(Some(proxy), &headers(&[])), Some(proxy));
        // Ports and brackets, and an IPv4 proxy seen through an IPv6 socket.
        let ported = headers(&["[2001:db8::7]:443, 192.0.2.9:8080"]);
        assert_eq!(proxies.of(Some(proxy), &ported), Some(ip("192.0.2.9")));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(proxies.of(Some(mapped), &h), Some(ip("192.0.2.1")));
        let none = ClientAddresses::default();
        assert_eq!(none.of(Some(proxy), &h), Some(proxy));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
}
