//! The authorization request to a provider and the exchange of its code (spec §10.1–§10.2),
//! every answer read through the capped reader.

use serde_json::{Map, Value};
use userpool_core::federation::{FederationError, Outbound, UpstreamIdentity, subject_claim};
use userpool_core::model::IdentityProviderConfig;

use crate::endpoints::Endpoints;
use crate::fetch::read_capped;
use crate::{HttpConnector, apple, id_token, transport};

/// Provider types that speak OpenID Connect (ID tokens, `nonce`).
fn is_oidc(idp: &IdentityProviderConfig) -> bool {
    matches!(
        idp.provider_type.as_str(),
        "OIDC" | "Google" | "SignInWithApple"
    )
}

fn detail<'a>(idp: &'a IdentityProviderConfig, key: &str) -> &'a str {
    idp.provider_details.get(key).map_or("", String::as_str)
}

/// The URL the browser is sent to.
pub(crate) fn authorization_url(
    idp: &IdentityProviderConfig,
    ep: &Endpoints,
    out: &Outbound<'_>,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code");
    q.append_pair("client_id", detail(idp, "client_id"));
    q.append_pair("redirect_uri", out.redirect_uri);
    let scopes = detail(idp, "authorize_scopes");
    let scopes = if idp.provider_type == "Facebook" {
        scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(",")
    } else {
        scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    q.append_pair("scope", &scopes);
    q.append_pair("state", out.state);
    if is_oidc(idp) {
        q.append_pair("nonce", out.nonce);
    }
    if idp.provider_type != "SignInWithApple" {
        q.append_pair("code_challenge", out.pkce_challenge);
        q.append_pair("code_challenge_method", "S256");
    }
    if matches!(idp.provider_type.as_str(), "OIDC" | "Google") {
        if let Some(h) = out.login_hint {
            q.append_pair("login_hint", h);
        }
        let prompt: Vec<&str> = out
            .prompt
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty() && *p != "none")
            .collect();
        if !prompt.is_empty() {
            q.append_pair("prompt", &prompt.join(" "));
        }
    }
    if idp.provider_type == "SignInWithApple"
        && scopes.split(' ').any(|s| s == "name" || s == "email")
    {
        // Apple posts the answer back when it shares name or email.
        q.append_pair("response_mode", "form_post");
    }
    let sep = if ep.authorize.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", ep.authorize, q.finish())
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    id_token: Option<String>,
}

/// Code → tokens → validated ID token → attributes → the identity.
pub(crate) async fn complete(
    conn: &HttpConnector,
    idp: &IdentityProviderConfig,
    ep: &Endpoints,
    redirect_uri: &str,
    code: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<UpstreamIdentity, FederationError> {
    let http = &conn.http;
    let now = conn.clock.now();
    let client_id = detail(idp, "client_id");
    let secret = if idp.provider_type == "SignInWithApple" {
        apple::client_secret(
            detail(idp, "team_id"),
            detail(idp, "key_id"),
            client_id,
            detail(idp, "private_key"),
            now,
        )?
    } else {
        detail(idp, "client_secret").to_string()
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("client_secret", secret.as_str()),
    ];
    if idp.provider_type != "SignInWithApple" {
        form.push(("code_verifier", pkce_verifier));
    }
    // client_secret_post only: Cognito does not use Basic toward providers (spec §2.3).
    let request = if ep.token_method.eq_ignore_ascii_case("GET") {
        http.get(&ep.token).query(&form)
    } else {
        http.post(&ep.token).form(&form)
    };
    let body = crate::observed(&idp.provider_type, "token", async {
        let r = request.send().await.map_err(|e| transport("token", &e))?;
        let status = r.status();
        let body = read_capped(r).await.map_err(|e| e.at("token"))?;
        if !status.is_success() {
            return Err(FederationError::TokenHttp {
                provider: idp.provider_name.clone(),
                status: status.as_u16(),
            });
        }
        Ok(body)
    })
    .await?;
    let answer: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|e| FederationError::BadTokenResponse(e.to_string()))?;
    let access_token = answer
        .access_token
        .ok_or_else(|| FederationError::BadTokenResponse("no access_token".into()))?;

    let mut claims = Map::new();
    if is_oidc(idp) {
        let token = answer
            .id_token
            .ok_or_else(|| FederationError::BadTokenResponse("no id_token".into()))?;
        let issuer = ep.issuer.as_deref().ok_or_else(|| {
            FederationError::Config("oidc_issuer is required to check ID tokens".into())
        })?;
        let jwks_url = ep
            .jwks
            .as_deref()
            .ok_or_else(|| FederationError::Config("jwks_uri is required".into()))?;
        let expected = id_token::Expected {
            provider_type: &idp.provider_type,
            issuer,
            client_id,
            client_secret: (idp.provider_type != "SignInWithApple").then_some(secret.as_str()),
            nonce,
        };
        claims =
            id_token::verify_cached(http, &conn.jwks, jwks_url, now, &token, &expected).await?;
    }
    if let Some(url) = &ep.attributes {
        let extra = attributes(http, idp, ep, url, &access_token).await?;
        if let (Some(a), Some(b)) = (claims.get("sub"), extra.get("sub"))
            && a != b
        {
            return Err(FederationError::Attributes(
                "userinfo sub differs from the ID token's".into(),
            ));
        }
        claims.extend(extra);
    }
    let subject = match claims.get(subject_claim(&idp.provider_type)) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(FederationError::Attributes(format!(
                "no {} claim",
                subject_claim(&idp.provider_type)
            )));
        }
    };
    Ok(UpstreamIdentity {
        subject,
        claims,
        issuer: if idp.provider_type == "OIDC" {
            ep.issuer.clone()
        } else {
            None
        },
    })
}

/// The attributes endpoint (userinfo, Graph API, Amazon profile), with the access token.
async fn attributes(
    http: &reqwest::Client,
    idp: &IdentityProviderConfig,
    ep: &Endpoints,
    url: &str,
    access_token: &str,
) -> Result<Map<String, Value>, FederationError> {
    let url = if idp.provider_type == "Facebook" {
        // The Graph API returns the fields it is asked for.
        let mut fields: Vec<&str> = vec!["id"];
        fields.extend(idp.attribute_mapping.values().map(String::as_str));
        let joined = fields.join(",");
        if url.contains("fields=") {
            format!("{url}{joined}")
        } else {
            format!(
                "{url}{}fields={joined}",
                if url.contains('?') { '&' } else { '?' }
            )
        }
    } else {
        url.to_string()
    };
    let request = if ep.attributes_method.eq_ignore_ascii_case("POST") {
        http.post(&url)
            .bearer_auth(access_token)
            .form(&[("access_token", access_token)])
    } else {
        http.get(&url).bearer_auth(access_token)
    };
    let body = crate::observed(&idp.provider_type, "userInfo", async {
        let r = request
            .send()
            .await
            .map_err(|e| transport("userInfo", &e))?;
        if !r.status().is_success() {
            return Err(FederationError::Attributes(format!(
                "{} Error - {} error getting attributes",
                idp.provider_name,
                r.status().as_u16()
            )));
        }
        read_capped(r).await.map_err(|e| e.at("userInfo"))
    })
    .await?;
    serde_json::from_slice(&body)
        .map_err(|e| FederationError::Attributes(format!("unreadable attributes: {e}")))
}
