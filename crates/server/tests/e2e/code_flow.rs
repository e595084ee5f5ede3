//! The authorization-code flow end to end: sign-in page, code with PKCE, tokens with Cognito's
//! claims, userInfo, refresh, revocation, sessions and logout (spec §4–§9, §13).

use base64::Engine as _;
use serde_json::json;
use userpool_core::crypto::sha256;

use crate::browser::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn spa_query(scope: &str, state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", SPA)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("redirect_uri", "https://app.test/cb")
        .append_pair("state", state)
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish()
}

async fn redeem(s: &OAuthServer, code: &str) -> (u16, serde_json::Value) {
    s.token(
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SPA),
            ("code", code),
            ("redirect_uri", "https://app.test/cb"),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn the_code_flow_issues_cognitos_tokens_and_they_work_until_revoked() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let state = "a+b/c=d&e%f ü <>\"'";
    let done = b
        .sign_in(
            &s.base,
            &spa_query("openid email profile https://api.test/read", state),
            "Alice",
            "Passw0rd!",
        )
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.location.clone().unwrap();
    assert!(
        location.starts_with("https://app.test/cb?code="),
        "{location}"
    );
    assert_eq!(
        done.location_param("state").as_deref(),
        Some(state),
        "state is echoed byte for byte"
    );
    let code = done.location_param("code").unwrap();

    let (status, tokens) = redeem(&s, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap();
    let id = tokens["id_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh.split('.').count(),
        5,
        "refresh tokens are opaque, JWE-shaped"
    );

    let a = claims(access);
    assert_eq!(a["token_use"], "access");
    assert_eq!(a["client_id"], SPA);
    assert_eq!(a["username"], "alice");
    assert_eq!(a["scope"], "openid email profile https://api.test/read");
    assert_eq!(a["version"], 2);
    assert_eq!(a["iss"], s.issuer());
    assert_eq!(a["cognito:groups"], json!(["admins", "staff"]));
    assert!(a.get("aud").is_none(), "no aud without a resource");
    assert_eq!(
        a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(),
        3600
    );

    let i = claims(id);
    assert_eq!(i["token_use"], "id");
    assert_eq!(i["aud"], SPA);
    assert_eq!(i["cognito:username"], "alice");
    assert_eq!(i["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(i["email"], "alice@example.test");
    assert_eq!(i["email_verified"], true, "a boolean in the ID token");
    assert_eq!(
        i["name"], "Alice Liddell",
        "profile releases every readable attribute"
    );
    assert_eq!(i["sub"], a["sub"]);
    assert_eq!(i["origin_jti"], a["origin_jti"]);
    assert_eq!(i["event_id"], a["event_id"]);
    assert_eq!(i["auth_time"], a["auth_time"]);
    assert_ne!(i["jti"], a["jti"]);
    let at_hash =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sha256(access.as_bytes())[..16]);
    assert_eq!(i["at_hash"], at_hash);

    let (status, info) = s.userinfo(access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], a["sub"]);
    assert_eq!(info["username"], "alice");
    assert_eq!(info["email_verified"], "true", "a string in userInfo");
    assert_eq!(info["phone_number"], "+15550101");

    // Refresh without rotation: new access and ID tokens, no new refresh token, same family.
    let (status, again) = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", refresh),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert!(again.get("refresh_token").is_none());
    let a2 = claims(again["access_token"].as_str().unwrap());
    assert_eq!(a2["origin_jti"], a["origin_jti"]);
    assert_eq!(a2["auth_time"], a["auth_time"]);
    assert_ne!(a2["jti"], a["jti"]);

    // Revocation ends the whole family: every access token, and the refresh token.
    let r = client()
        .post(format!("{}/oauth2/revoke", s.base))
        .form(&[("client_id", SPA), ("token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    for token in [access, again["access_token"].as_str().unwrap()] {
        assert_eq!(s.userinfo(token).await.0, 401);
    }
    let (status, err) = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", refresh),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

use crate::helpers::client;

#[tokio::test]
async fn a_code_works_once_and_a_replay_revokes_what_it_produced() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let done = b
        .sign_in(&s.base, &spa_query("openid", "s"), "alice", "Passw0rd!")
        .await;
    let code = done.location_param("code").unwrap();
    let (status, tokens) = redeem(&s, &code).await;
    assert_eq!(status, 200);
    let (status, err) = redeem(&s, &code).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        s.userinfo(tokens["access_token"].as_str().unwrap()).await.0,
        401,
        "the first redemption's tokens are revoked"
    );
    let (status, _) = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn pkce_binds_the_code_to_its_verifier() {
    let s = OAuthServer::start(&[]).await;
    for (verifier, expected) in [
        (
            Some("wrong-verifier-wrong-verifier-wrong-verifier-x"),
            "invalid_grant",
        ),
        (None, "invalid_grant"),
    ] {
        let done = Browser::default()
            .sign_in(&s.base, &spa_query("openid", "s"), "alice", "Passw0rd!")
            .await;
        let code = done.location_param("code").unwrap();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", SPA),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.test/cb"),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        let (status, err) = s.token(&form, None).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some(expected)),
            "{verifier:?}"
        );
    }
    // A verifier for a code that had no challenge is a downgrade attempt.
    let mut b = Browser::default();
    b.sign_in(&s.base, &spa_query("openid", "s"), "alice", "Passw0rd!")
        .await;
    let plain = format!(
        "client_id={SPA}&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"
    );
    let page = b.get(&format!("{}/oauth2/authorize?{plain}", s.base)).await;
    let code = page
        .location_param("code")
        .expect("a session signs in silently");
    let (status, err) = redeem(&s, &code).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A redirect_uri other than the authorize request's.
    let page = b.get(&format!("{}/oauth2/authorize?{plain}", s.base)).await;
    let code = page.location_param("code").unwrap();
    let (status, err) = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", &code),
                ("redirect_uri", "http://localhost:3000/cb"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (
            status,
            err["error"].as_str(),
            err["error_description"].as_str()
        ),
        (400, Some("unauthorized_client"), Some("invalid_redirect"))
    );
}

#[tokio::test]
async fn a_session_signs_in_silently_until_logout() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let done = b
        .sign_in(&s.base, &spa_query("openid", "1"), "alice", "Passw0rd!")
        .await;
    assert_eq!(done.status, 302);
    let set_cookie: Vec<_> = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set_cookie
        .iter()
        .find(|c| c.starts_with("userpool-session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Max-Age=3600", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    let silent = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            spa_query("openid", "2")
        ))
        .await;
    assert!(
        silent.location_param("code").is_some(),
        "{:?}",
        silent.location
    );
    assert_eq!(silent.location_param("state").as_deref(), Some("2"));

    let forced = b
        .get(&format!(
            "{}/oauth2/authorize?{}&prompt=login",
            s.base,
            spa_query("openid", "3")
        ))
        .await;
    assert!(
        forced.location.unwrap().starts_with("/login?"),
        "prompt=login asks again"
    );

    let bad = b
        .get(&format!(
            "{}/logout?client_id={SPA}&logout_uri=https%3A%2F%2Fevil.test%2F",
            s.base
        ))
        .await;
    assert_eq!(
        bad.status, 400,
        "an unregistered sign-out URL gets the error page"
    );
    assert!(bad.location.is_none());
    let out = b
        .get(&format!(
            "{}/logout?client_id={SPA}&logout_uri=https%3A%2F%2Fapp.test%2Fbye",
            s.base
        ))
        .await;
    assert_eq!(
        (out.status, out.location.as_deref()),
        (302, Some("https://app.test/bye"))
    );
    assert!(!b.cookies.contains_key("userpool-session"));
    let after = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            spa_query("openid", "4")
        ))
        .await;
    assert!(after.location.unwrap().starts_with("/login?"), "signed out");
    let none = b
        .get(&format!(
            "{}/oauth2/authorize?{}&prompt=none",
            s.base,
            spa_query("openid", "5")
        ))
        .await;
    assert_eq!(
        none.location_param("error").as_deref(),
        Some("login_required")
    );
    assert_eq!(none.location_param("state").as_deref(), Some("5"));
}

#[tokio::test]
async fn logout_with_a_redirect_uri_returns_to_sign_in() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let page = b
        .get(&format!(
            "{}/logout?client_id={SPA}&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&response_type=code&state=xy",
            s.base
        ))
        .await;
    let loc = page.location.unwrap();
    assert!(loc.starts_with("/login?client_id="), "{loc}");
    assert!(
        loc.contains("state=xy") && loc.contains("scope=openid"),
        "{loc}"
    );
}

#[tokio::test]
async fn the_implicit_flow_puts_tokens_in_the_fragment() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let q = format!(
        "client_id={SPA}&response_type=token&scope=openid+email&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=st&nonce=nn"
    );
    let done = b.sign_in(&s.base, &q, "alice", "Passw0rd!").await;
    let loc = done.location.clone().unwrap();
    assert!(loc.starts_with("https://app.test/cb#"), "{loc}");
    assert!(done.location_param("refresh_token").is_none());
    assert_eq!(done.location_param("token_type").as_deref(), Some("Bearer"));
    assert_eq!(done.location_param("expires_in").as_deref(), Some("3600"));
    let access = done.location_param("access_token").unwrap();
    let id = claims(&done.location_param("id_token").unwrap());
    assert_eq!(id["nonce"], "nn");
    assert_eq!(s.userinfo(&access).await.0, 200);
}

#[tokio::test]
async fn rotation_returns_a_new_refresh_token_and_reuse_ends_the_family() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let q = format!(
        "client_id={WEB}&response_type=code&scope=openid+email&redirect_uri=https%3A%2F%2Fweb.test%2Fcb"
    );
    let done = b.sign_in(&s.base, &q, "alice", "Passw0rd!").await;
    let code = done.location_param("code").unwrap();
    let (status, t1) = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://web.test/cb"),
            ],
            Some((WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(status, 200, "{t1}");
    let r1 = t1["refresh_token"].as_str().unwrap();
    let (status, t2) = s
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", r1)],
            Some((WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(status, 200, "{t2}");
    let r2 = t2["refresh_token"]
        .as_str()
        .expect("rotation returns a new refresh token");
    assert_ne!(r1, r2);
    let (status, err) = s
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", r1)],
            Some((WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "the rotated-out token is dead"
    );
    let (status, _) = s
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", r2)],
            Some((WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(
        status, 400,
        "its reuse revoked the whole family, the new token too"
    );
    assert_eq!(
        s.userinfo(t2["access_token"].as_str().unwrap()).await.0,
        401
    );
    // Another client cannot use the token either.
    let (status, _) = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", r1),
            ],
            None,
        )
        .await;
    assert_eq!(status, 400);
}
