//! Discovery and JWKS (spec §15–§16): both issuer forms, Cognito's own issuers, the pool's
//! domain in the endpoint members, keys that verify tokens, and pools found by Host.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::{Value, json};
use userpool_core::keys::KeyPurpose;

use crate::helpers::*;

fn seed(pool_id: &str, issuer: &str, domains: Value) -> Value {
    json!({"UserPools": [{
        "Id": pool_id,
        "PoolName": "discovery",
        "IssuerConfiguration": {"Type": issuer},
        "Domains": domains,
    }]})
}

#[tokio::test]
async fn discovery_of_an_original_issuer_pool_points_at_its_custom_domain() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("eu-west-1");
    let seed = write_seed(
        dir.path(),
        &seed(
            &id,
            "ORIGINAL",
            json!([{"Domain": "login-x1"}, {"Domain": "auth.example.test"}]),
        ),
    );
    let db = sqlite_url(dir.path());
    let s = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    let r = s
        .get(&format!("/{id}/.well-known/openid-configuration"))
        .await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(h["cache-control"].to_str().unwrap().contains("max-age="));
    let doc: Value = r.json().await.unwrap();
    let issuer = format!("{}/{id}", s.url);
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        doc["authorization_endpoint"],
        "http://auth.example.test/oauth2/authorize"
    );
    assert_eq!(
        doc["token_endpoint"],
        "http://auth.example.test/oauth2/token"
    );
    assert_eq!(
        doc["userinfo_endpoint"],
        "http://auth.example.test/oauth2/userInfo"
    );
    assert_eq!(
        doc["end_session_endpoint"],
        "http://auth.example.test/logout"
    );
    assert_eq!(
        doc["revocation_endpoint"],
        "http://auth.example.test/oauth2/revoke"
    );
    assert_eq!(doc["response_types_supported"], json!(["code", "token"]));
    assert_eq!(
        doc["scopes_supported"],
        json!(["openid", "email", "phone", "profile"])
    );
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));

    // The updated form is not this pool's issuer.
    let r = s
        .get(&format!("/issuer/{id}/.well-known/openid-configuration"))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_updated_issuer_pool_has_its_own_distinct_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-west-2");
    let seed = write_seed(
        dir.path(),
        &seed(&id, "UPDATED", json!([{"Domain": "upd-x2"}])),
    );
    let s = Server::start(
        dir.path(),
        &["--database", &sqlite_url(dir.path()), "--seed", &seed],
    );
    let doc = s
        .get_json(&format!("/issuer/{id}/.well-known/openid-configuration"))
        .await;
    let issuer = format!("{}/issuer/{id}", s.url);
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    let port = s.url.rsplit(':').next().unwrap();
    assert_eq!(
        doc["token_endpoint"],
        format!("http://upd-x2.auth.us-west-2.localhost:{port}/oauth2/token")
    );
    let jwks = s
        .get_json(&format!("/issuer/{id}/.well-known/jwks.json"))
        .await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let r = s
        .get(&format!("/{id}/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        r.status(),
        404,
        "the original form is not this pool's issuer"
    );
}

#[tokio::test]
async fn aws_issuer_mode_issues_cognito_issuers_and_serves_keys_locally() {
    let dir = tempfile::tempdir().unwrap();
    let original = unique_pool_id("ap-south-1");
    let updated = unique_pool_id("ap-south-1");
    let seed = write_seed(
        dir.path(),
        &json!({"UserPools": [
            {"Id": original, "PoolName": "a", "IssuerConfiguration": {"Type": "ORIGINAL"}},
            {"Id": updated, "PoolName": "b", "IssuerConfiguration": {"Type": "UPDATED"}},
        ]}),
    );
    let s = Server::start(
        dir.path(),
        &[
            "--database",
            &sqlite_url(dir.path()),
            "--seed",
            &seed,
            "--aws-issuers",
        ],
    );
    let doc = s
        .get_json(&format!("/{original}/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        doc["issuer"],
        format!("https://cognito-idp.ap-south-1.amazonaws.com/{original}")
    );
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/{original}/.well-known/jwks.json", s.url)
    );
    assert!(
        doc.get("token_endpoint").is_none(),
        "a pool without a domain lists no domain endpoints"
    );
    let doc = s
        .get_json(&format!(
            "/issuer/{updated}/.well-known/openid-configuration"
        ))
        .await;
    assert_eq!(
        doc["issuer"],
        format!("https://issuer-cognito-idp.ap-south-1.amazonaws.com/{updated}")
    );
}

#[tokio::test]
async fn a_token_signed_with_a_pool_key_verifies_against_the_published_jwks_by_kid() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = write_seed(dir.path(), &seed(&id, "ORIGINAL", json!([])));
    let db = sqlite_url(dir.path());
    let s = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    let jwks_json = s.get_json(&format!("/{id}/.well-known/jwks.json")).await;
    for k in jwks_json["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "JWKS must not publish {private}");
        }
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["kid"].as_str().unwrap().len(), 44);
    }
    let jwks: JwkSet = serde_json::from_value(jwks_json).unwrap();
    assert_eq!(jwks.keys.len(), 2);

    let ring = key_ring(&db, &id, now()).await;
    let issuer = format!("{}/{id}", s.url);
    let mut kids = Vec::new();
    for purpose in KeyPurpose::ALL {
        let key = ring.signer(purpose, now()).expect("an active key");
        let claims =
            json!({"iss": issuer, "sub": "abc", "token_use": purpose.as_str(), "exp": now() + 60});
        let token = key.sign_jwt(claims.to_string().as_bytes());
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert!(header.typ.is_none(), "Cognito's header has no typ");
        let kid = header.kid.unwrap();
        let jwk = jwks.find(&kid).expect("the signing key is published");
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&issuer]);
        v.validate_aud = false;
        let data = decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap();
        assert_eq!(data.claims["sub"], "abc");
        // A changed payload no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            json!({"iss": issuer, "sub": "admin", "exp": now() + 60}).to_string(),
        );
        parts[1] = &forged;
        assert!(
            decode::<Value>(&parts.join("."), &DecodingKey::from_jwk(jwk).unwrap(), &v).is_err()
        );
        kids.push(kid);
    }
    assert_ne!(
        kids[0], kids[1],
        "ID and access tokens are signed with different keys"
    );
}

#[tokio::test]
async fn requests_find_their_pool_by_host_and_never_take_the_issuer_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = write_seed(
        dir.path(),
        &seed(
            &id,
            "ORIGINAL",
            json!([{"Domain": "host-x3"}, {"Domain": "app.test:8080"}]),
        ),
    );
    let s = Server::start(
        dir.path(),
        &["--database", &sqlite_url(dir.path()), "--seed", &seed],
    );
    let port = s.url.rsplit(':').next().unwrap().to_string();
    let body = |host: String| {
        let url = format!("{}/oauth2/not-an-endpoint", s.url);
        async move {
            let r = client().get(url).header("host", host).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for host in [
        format!("host-x3.auth.us-east-1.localhost:{port}"),
        "HOST-X3.auth.us-east-1.localhost".to_string(),
        "app.test:8080".to_string(),
    ] {
        let (status, text) = body(host.clone()).await;
        assert_eq!(status, 404, "{host}");
        assert!(text.contains(&id), "{host} resolves to the pool: {text}");
    }
    for host in [
        "app.test:9090".to_string(),
        "host-x3.auth.eu-west-1.localhost".to_string(),
        "evil.test".to_string(),
    ] {
        let (status, text) = body(host.clone()).await;
        assert_eq!(status, 404, "{host}");
        assert!(
            text.contains("No user pool domain"),
            "{host} is no pool domain: {text}"
        );
    }
    let r = client()
        .get(format!("{}/{id}/.well-known/openid-configuration", s.url))
        .header("host", "evil.test")
        .header("x-forwarded-host", "evil.test")
        .send()
        .await
        .unwrap();
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["issuer"], format!("{}/{id}", s.url));
    assert_eq!(
        doc["authorization_endpoint"], "http://app.test:8080/oauth2/authorize",
        "the custom domain is preferred, and the Host header changes nothing"
    );
}

#[tokio::test]
async fn an_unknown_pool_gets_cognitos_not_found_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &["--database", &sqlite_url(dir.path()), "--no-demo"],
    );
    let r = s.get("/us-east-1_Nope12345/.well-known/jwks.json").await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "ResourceNotFoundException");
    assert_eq!(
        body["message"],
        "User pool us-east-1_Nope12345 does not exist."
    );
}
