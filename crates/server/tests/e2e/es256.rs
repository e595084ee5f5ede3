//! A pool that opts in to ES256 keys (`keys rotate --alg ES256`, beyond Cognito): its JWKS
//! publishes P-256 keys, discovery advertises ES256, a sign-in's tokens are ES256 and verify
//! against the JWKS with a real verifier, and our own checks of access tokens (userInfo, the
//! API's GetUser, revocation) take them, and the pool's earlier RS256 tokens too.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::{Value, json};

use crate::api_sign_in::sign_in_call_with;
use crate::browser::*;
use crate::helpers::*;

const AUTHORIZE: &str = "client_id=spa0000000000000000000000001&response_type=code&scope=openid+email+profile+aws.cognito.signin.user.admin&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&nonce=n-es256";

/// The JWKS once it lists an EC key (the node reloads keys every second here).
async fn jwks_with_ec_keys(s: &OAuthServer) -> Value {
    for _ in 0..50 {
        let jwks: Value = client()
            .get(format!("{}/.well-known/jwks.json", s.issuer()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kty"] == "EC")
        {
            return jwks;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the running node never published the ES256 keys");
}

/// Checks `token` against the published key its `kid` names, with `jsonwebtoken`.
fn verified(token: &str, jwks: &JwkSet, issuer: &str, alg: Algorithm) -> Value {
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, alg);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn an_es256_pool_signs_verifiable_tokens_that_our_own_checks_accept() {
    let s = OAuthServer::start(&["--refresh-interval", "1"]).await;
    // An RS256 sign-in first: its tokens must stay good after the switch.
    let mut b = Browser::default();
    let done = b.sign_in(&s.base, AUTHORIZE, "alice", "Passw0rd!").await;
    let (status, before) = s.redeem_spa(&done.location_param("code").unwrap()).await;
    assert_eq!(status, 200, "{before}");
    let rs_access = before["access_token"].as_str().unwrap().to_string();
    assert_eq!(decode_header(&rs_access).unwrap().alg, Algorithm::RS256);

    let out = run(
        s.dir.path(),
        &[
            "keys",
            "rotate",
            "--database",
            &s.database,
            "--pool",
            &s.pool_id,
            "--alg",
            "ES256",
            "--now",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(ES256)"));

    let jwks_json = jwks_with_ec_keys(&s).await;
    let keys = jwks_json["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        4,
        "the RS256 keys stay published beside the new ones"
    );
    for k in keys.iter().filter(|k| k["kty"] == "EC") {
        let members: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            members,
            ["alg", "crv", "kid", "kty", "use", "x", "y"],
            "no private d"
        );
        assert_eq!(
            (&k["alg"], &k["crv"], &k["use"]),
            (&json!("ES256"), &json!("P-256"), &json!("sig"))
        );
    }
    let discovery: Value = client()
        .get(format!("{}/.well-known/openid-configuration", s.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    let jwks: JwkSet = serde_json::from_value(jwks_json).unwrap();

    // A new sign-in (silent, on the session): both tokens ES256, each verified against the JWKS.
    let done = b
        .get(&format!("{}/oauth2/authorize?{AUTHORIZE}", s.base))
        .await;
    let (status, tokens) = s.redeem_spa(&done.location_param("code").unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let (access, id) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
    );
    let issuer = s.issuer();
    let a = verified(access, &jwks, &issuer, Algorithm::ES256);
    let i = verified(id, &jwks, &issuer, Algorithm::ES256);
    assert_eq!(
        (a["token_use"].as_str(), i["token_use"].as_str()),
        (Some("access"), Some("id"))
    );
    assert_eq!(i["nonce"], "n-es256");
    assert_ne!(
        decode_header(access).unwrap().kid,
        decode_header(id).unwrap().kid,
        "ID and access tokens still have keys of their own"
    );
    // Machine-to-machine tokens too.
    let (status, cc) = s
        .token(
            &[("grant_type", "client_credentials")],
            Some((M2M, M2M_SECRET)),
        )
        .await;
    assert_eq!(status, 200, "{cc}");
    verified(
        cc["access_token"].as_str().unwrap(),
        &jwks,
        &issuer,
        Algorithm::ES256,
    );

    // Our own checks take the ES256 access token, and the RS256 one from before.
    for token in [access, rs_access.as_str()] {
        let (status, info) = s.userinfo(token).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["username"], "alice");
        let (status, user) =
            sign_in_call_with(&client(), &s.base, "GetUser", json!({"AccessToken": token})).await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["Username"], "alice");
    }
    // A changed payload under the ES256 signature is refused.
    let mut parts: Vec<&str> = access.split('.').collect();
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({"iss": issuer, "token_use": "access", "sub": "x", "exp": now() + 60}).to_string(),
    );
    parts[1] = &forged;
    assert_eq!(s.userinfo(&parts.join(".")).await.0, 401);

    // Revocation ends the ES256 sign-in's family: its access token no longer works.
    let r = client()
        .post(format!("{}/oauth2/revoke", s.base))
        .form(&[
            ("client_id", SPA),
            ("token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.userinfo(access).await.0, 401);
    assert_eq!(
        s.userinfo(&rs_access).await.0,
        200,
        "another sign-in's family"
    );
}
