//! Where a provider lives: its endpoints from discovery (`oidc_issuer`), from Cognito's
//! defaults for the social types (spec §2.3), or from explicit `ProviderDetails` overrides,
//! which always win (air-gapped sites and tests point them at a local provider).

use userpool_core::federation::FederationError;
use userpool_core::model::IdentityProviderConfig;

use crate::fetch::read_capped;
use crate::transport;

/// The resolved endpoints of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    /// Userinfo / profile endpoint.
    pub attributes: Option<String>,
    pub jwks: Option<String>,
    pub issuer: Option<String>,
    /// `GET` for Facebook, else `POST`.
    pub token_method: String,
    pub attributes_method: String,
}

/// Cognito's endpoints for the social provider types (spec §2.3).
fn defaults(idp: &IdentityProviderConfig) -> [Option<String>; 5] {
    let d = &idp.provider_details;
    let v = d.get("api_version").map_or("v17.0", String::as_str);
    let s = |x: &str| Some(x.to_string());
    match idp.provider_type.as_str() {
        "Google" => [
            s("https://accounts.google.com/o/oauth2/v2/auth"),
            s("https://www.googleapis.com/oauth2/v4/token"),
            s("https://openidconnect.googleapis.com/v1/userinfo"),
            s("https://www.googleapis.com/oauth2/v3/certs"),
            s("https://accounts.google.com"),
        ],
        "Facebook" => [
            Some(format!("https://www.facebook.com/{v}/dialog/oauth")),
            Some(format!("https://graph.facebook.com/{v}/oauth/access_token")),
            Some(format!("https://graph.facebook.com/{v}/me")),
            None,
            None,
        ],
        "LoginWithAmazon" => [
            s("https://www.amazon.com/ap/oa"),
            s("https://api.amazon.com/auth/o2/token"),
            s("https://api.amazon.com/user/profile"),
            None,
            None,
        ],
        "SignInWithApple" => [
            s("https://appleid.apple.com/auth/authorize"),
            s("https://appleid.apple.com/auth/token"),
            None,
            s("https://appleid.apple.com/auth/keys"),
            s("https://appleid.apple.com"),
        ],
        _ => [None, None, None, None, None],
    }
}

/// The endpoints a social provider uses without discovery, as `ProviderDetails` keys: what
/// `DescribeIdentityProvider` adds, as Cognito does (an explicit detail is shown as given).
/// None for OIDC (its endpoints come from discovery) and SAML.
pub fn social_details(idp: &IdentityProviderConfig) -> Vec<(&'static str, String)> {
    if matches!(idp.provider_type.as_str(), "OIDC" | "SAML") {
        return Vec::new();
    }
    let Ok(ep) = resolve(idp, None, true) else {
        return Vec::new();
    };
    let mut details = vec![
        ("authorize_url", ep.authorize),
        ("token_url", ep.token),
        ("token_request_method", ep.token_method),
    ];
    details.extend(ep.attributes.map(|a| ("attributes_url", a)));
    details.extend(ep.issuer.map(|i| ("oidc_issuer", i)));
    details
}

/// HTTPS only (spec §2.3); plain http to a loopback host only when `http_loopback` allows
/// it (a server whose own public URL is http: development and tests).
pub(crate) fn check_url(what: &str, url: &str, http_loopback: bool) -> Result<(), FederationError> {
    let parsed = url::Url::parse(url).ok();
    let allowed = parsed.is_some_and(|u| {
        let loopback = matches!(
            u.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        u.username().is_empty()
            && u.password().is_none()
            && (u.scheme() == "https" || (http_loopback && u.scheme() == "http" && loopback))
    });
    if allowed {
        Ok(())
    } else {
        Err(FederationError::Config(format!(
            "{what} must be an https URL: {url}"
        )))
    }
}

/// The parts of a discovery document we use (Discovery 1.0 §3).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
}

/// The issuer whose discovery document `idp` needs: an OIDC provider with an issuer and not
/// every endpoint given.
pub(crate) fn discovery_issuer(
    idp: &IdentityProviderConfig,
    http_loopback: bool,
) -> Result<Option<String>, FederationError> {
    let d = &idp.provider_details;
    let all_explicit = ["authorize_url", "token_url", "jwks_uri"]
        .iter()
        .all(|k| d.get(*k).is_some_and(|v| !v.is_empty()));
    match d.get("oidc_issuer") {
        Some(iss) if idp.provider_type == "OIDC" && !all_explicit => {
            check_url("oidc_issuer", iss, http_loopback)?;
            Ok(Some(iss.clone()))
        }
        _ => Ok(None),
    }
}

/// Fetches and checks the discovery document of `issuer` (Discovery 1.0 §4): its `issuer`
/// must be exactly the configured one (§4.3).
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Discovery, FederationError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| transport("discovery", &e))?;
    if !r.status().is_success() {
        return Err(FederationError::Connection(format!(
            "discovery answered {}",
            r.status().as_u16()
        )));
    }
    let body = read_capped(r).await.map_err(|e| e.at("discovery"))?;
    let doc: Discovery = serde_json::from_slice(&body)
        .map_err(|e| FederationError::Config(format!("discovery document: {e}")))?;
    if doc.issuer != issuer {
        return Err(FederationError::Config(format!(
            "discovery issuer {} is not the configured {issuer}",
            doc.issuer
        )));
    }
    Ok(doc)
}

/// Resolves a provider's endpoints from its discovery document (when
/// [`discovery_issuer`] asked for one), Cognito's defaults and the explicit overrides.
pub(crate) fn resolve(
    idp: &IdentityProviderConfig,
    discovered: Option<&Discovery>,
    http_loopback: bool,
) -> Result<Endpoints, FederationError> {
    let d = &idp.provider_details;
    let [
        mut authorize,
        mut token,
        mut attributes,
        mut jwks,
        default_issuer,
    ] = defaults(idp);
    let issuer = d.get("oidc_issuer").cloned().or(default_issuer);
    let explicit = |k: &str| d.get(k).filter(|v| !v.is_empty()).cloned();
    if let Some(doc) = discovered {
        authorize = Some(doc.authorization_endpoint.clone());
        token = doc.token_endpoint.clone();
        attributes = doc.userinfo_endpoint.clone();
        jwks = Some(doc.jwks_uri.clone());
    }
    let ep = Endpoints {
        authorize: explicit("authorize_url")
            .or(authorize)
            .ok_or_else(|| FederationError::Config("no authorize_url".into()))?,
        token: explicit("token_url")
            .or(token)
            .ok_or_else(|| FederationError::Config("no token_url".into()))?,
        attributes: explicit("attributes_url").or(attributes),
        jwks: explicit("jwks_uri").or(jwks),
        issuer,
        token_method: explicit("token_request_method").unwrap_or_else(|| {
            if idp.provider_type == "Facebook" {
                "GET"
            } else {
                "POST"
            }
            .to_string()
        }),
        attributes_method: explicit("attributes_request_method").unwrap_or_else(|| "GET".into()),
    };
    for (what, url) in [
        ("authorize_url", Some(&ep.authorize)),
        ("token_url", Some(&ep.token)),
        ("attributes_url", ep.attributes.as_ref()),
        ("jwks_uri", ep.jwks.as_ref()),
    ] {
        if let Some(u) = url {
            check_url(what, u, http_loopback)?;
        }
    }
    Ok(ep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_urls_are_allowed() {
        assert!(check_url("x", "https://idp.example.com/a", true).is_ok());
        assert!(check_url("x", "http://127.0.0.1:4000/a", true).is_ok());
        assert!(check_url("x", "http://localhost/a", true).is_ok());
        assert!(check_url("x", "http://idp.example.com/a", true).is_err());
        assert!(check_url("x", "http://127.0.0.1.evil.test/a", true).is_err());
        assert!(check_url("x", "http://localhost.evil.test/a", true).is_err());
        assert!(check_url("x", "http://localhost:80@evil.test/a", true).is_err());
        assert!(check_url("x", "http://[::1]:8080/a", true).is_ok());
        assert!(check_url("x", "http://127.0.0.1:4000/a", false).is_err());
        assert!(check_url("x", "https://idp.example.com/a", false).is_ok());
    }

    #[test]
    fn social_defaults_apply_and_overrides_win() {
        let mut idp = IdentityProviderConfig {
            provider_name: "Facebook".into(),
            provider_type: "Facebook".into(),
            ..Default::default()
        };
        assert_eq!(discovery_issuer(&idp, true).unwrap(), None);
        let ep = resolve(&idp, None, true).unwrap();
        assert_eq!(
            ep.token,
            "https://graph.facebook.com/v17.0/oauth/access_token"
        );
        assert_eq!(ep.token_method, "GET");
        idp.provider_details
            .insert("token_url".into(), "http://127.0.0.1:9/token".into());
        assert_eq!(
            resolve(&idp, None, true).unwrap().token,
            "http://127.0.0.1:9/token"
        );
    }

    #[test]
    fn discovery_is_asked_for_only_when_needed_and_overrides_win_over_it() {
        let mut idp = IdentityProviderConfig {
            provider_name: "Corp".into(),
            provider_type: "OIDC".into(),
            ..Default::default()
        };
        let d = &mut idp.provider_details;
        d.insert("oidc_issuer".into(), "https://idp.example.com".into());
        d.insert(
            "token_url".into(),
            "https://idp.example.com/other-token".into(),
        );
        assert_eq!(
            discovery_issuer(&idp, false).unwrap().as_deref(),
            Some("https://idp.example.com")
        );
        let doc: Discovery = serde_json::from_value(serde_json::json!({
            "issuer": "https://idp.example.com",
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": "https://idp.example.com/token",
            "jwks_uri": "https://idp.example.com/jwks",
        }))
        .unwrap();
        let ep = resolve(&idp, Some(&doc), false).unwrap();
        assert_eq!(ep.authorize, "https://idp.example.com/authorize");
        assert_eq!(ep.token, "https://idp.example.com/other-token");
        assert_eq!(ep.jwks.as_deref(), Some("https://idp.example.com/jwks"));
        for (k, v) in [
            ("authorize_url", "https://idp.example.com/a"),
            ("jwks_uri", "https://idp.example.com/k"),
        ] {
            idp.provider_details.insert(k.into(), v.into());
        }
        assert_eq!(discovery_issuer(&idp, false).unwrap(), None);
        idp.provider_details
            .insert("oidc_issuer".into(), "http://idp.example.com".into());
        idp.provider_details.remove("jwks_uri");
        assert!(discovery_issuer(&idp, false).is_err(), "https only");
    }
}
