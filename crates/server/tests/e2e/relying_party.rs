//! The `openidconnect` crate as a relying party: discovery, the code flow with PKCE and nonce,
//! ID-token verification by the library against our JWKS, userInfo and refresh. Like any RP of
//! Cognito, it needs the crate's `accept-string-booleans` feature: userInfo sends
//! `email_verified` as the string "true" (spec §7.3).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::browser::*;

/// openidconnect's HTTP client interface, served by reqwest (no redirects, as it requires).
async fn http(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, std::io::Error> {
    let (parts, body) = req.into_parts();
    let r = crate::helpers::client()
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(std::io::Error::other)?;
    let mut builder = openidconnect::http::Response::builder().status(r.status());
    for (k, v) in r.headers() {
        builder = builder.header(k, v);
    }
    let bytes = r.bytes().await.map_err(std::io::Error::other)?;
    builder.body(bytes.to_vec()).map_err(std::io::Error::other)
}

#[tokio::test]
async fn the_openidconnect_crate_signs_in_verifies_and_refreshes() {
    let s = OAuthServer::start(&[]).await;
    let provider = CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer()).unwrap(), &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(provider, ClientId::new(SPA.to_string()), None)
        .set_redirect_uri(RedirectUrl::new("https://app.test/cb".to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_string()))
        .set_pkce_challenge(challenge)
        .url();
    let query = url.query().unwrap().to_string();
    let done = Browser::default()
        .sign_in(&s.base, &query, "alice", "Passw0rd!")
        .await;
    assert_eq!(
        done.location_param("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = done.location_param("code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let id = id_token
        .claims(&verifier, &nonce)
        .expect("the library verifies our ID token");
    assert_eq!(id.email().map(|e| e.as_str()), Some("alice@example.test"));
    assert_eq!(id.email_verified(), Some(true));
    let hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(
        id.access_token_hash(),
        Some(&hash),
        "at_hash binds the access token"
    );
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("other".into()))
            .is_err(),
        "the nonce is checked"
    );

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userInfo");
    assert_eq!(info.subject(), id.subject());

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let again = refreshed.id_token().unwrap();
    // Refreshed ID tokens carry the original nonce; verify with it.
    assert_eq!(
        again.claims(&verifier, &nonce).unwrap().subject(),
        id.subject()
    );
}
