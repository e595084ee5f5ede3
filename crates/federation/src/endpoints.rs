//! Where a provider lives: its endpoints from discovery (`oidc_issuer`), from Cognito's
//! defaults for the social types (spec §2.3), or from explicit `ProviderDetails` overrides,
//! which always win (air-gapped sites and tests point them at a local provider).

use userpool_core::federation::FederationError;
use userpool_core::model::IdentityProviderConfig;

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

#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
}

/// Resolves a provider's endpoints, fetching its discovery document when it has an issuer and
/// not every endpoint is given.
pub(crate) async fn resolve(
    http: &reqwest::Client,
    idp: &IdentityProviderConfig,
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
    let all_explicit = ["authorize_url", "token_url", "jwks_uri"]
        .iter()
        .all(|k| explicit(k).is_some());
    if idp.provider_type == "OIDC"
        && !all_explicit
        && let Some(iss) = &issuer
    {
        check_url("oidc_issuer", iss, http_loopback)?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            iss.trim_end_matches('/')
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
        let doc: Discovery = r
            .json()
            .await
            .map_err(|e| FederationError::Config(format!("discovery document: {e}")))?;
        if doc.issuer != *iss {
            return Err(FederationError::Config(format!(
                "discovery issuer {} is not the configured {iss}",
                doc.issuer
            )));
        }
        authorize = Some(doc.authorization_endpoint);
        token = doc.token_endpoint;
        attributes = doc.userinfo_endpoint;
        jwks = Some(doc.jwks_uri);
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

    #[tokio::test]
    async fn social_defaults_apply_and_overrides_win() {
        let http = reqwest::Client::new();
        let mut idp = IdentityProviderConfig {
            provider_name: "Facebook".into(),
            provider_type: "Facebook".into(),
            ..Default::default()
        };
        let ep = resolve(&http, &idp, true).await.unwrap();
        assert_eq!(
            ep.token,
            "https://graph.facebook.com/v17.0/oauth/access_token"
        );
        assert_eq!(ep.token_method, "GET");
        idp.provider_details
            .insert("token_url".into(), "http://127.0.0.1:9/token".into());
        assert_eq!(
            resolve(&http, &idp, true).await.unwrap().token,
            "http://127.0.0.1:9/token"
        );
    }
}
