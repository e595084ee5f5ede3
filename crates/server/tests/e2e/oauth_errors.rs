//! Error routing and the security rows for the OAuth endpoints (spec §4.3, §6.6, §7.5, §9.3,
//! §18; checklist AZ, TK, UI).

use serde_json::Value;

use crate::browser::*;
use crate::helpers::client;

fn authorize_url(s: &OAuthServer, query: &str) -> String {
    format!("{}/oauth2/authorize?{query}", s.base)
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirect_uris_get_the_error_page_never_a_redirect() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let candidates = [
        "https://app.test/cb/",
        "https://app.test/CB",
        "https://APP.test/cb",
        "https://app.test:443/cb",
        "https://app.test/cb?x=1",
        "https://app.test/cb#f",
        "https://app.test/cb/../cb",
        "https://app.test/%63b",
        "https://app.test.evil.test/cb",
        "https://evil.test@app.test/cb",
        "http://app.test/cb",
        "https://app.test/cb%00",
        " https://app.test/cb",
        "https://evil.test/cb",
    ];
    for candidate in candidates {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", SPA)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", candidate)
            .finish();
        let page = b.get(&authorize_url(&s, &q)).await;
        let loc = page.location.clone().unwrap_or_default();
        assert_eq!(
            loc,
            format!("/error?error=redirect_mismatch&client_id={SPA}"),
            "{candidate}"
        );
    }
    for q in [
        "client_id=nope&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb".to_string(),
        "response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb".to_string(),
        format!(
            "client_id={SPA}&client_id={SPA}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"
        ),
        format!("client_id={M2M}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"),
    ] {
        let page = b.get(&authorize_url(&s, &q)).await;
        assert!(
            page.location
                .clone()
                .unwrap_or_default()
                .starts_with("/error?error="),
            "{q}: {:?}",
            page.location
        );
    }
    // Two registered callbacks and no redirect_uri: nothing to default to.
    let page = b
        .get(&authorize_url(
            &s,
            &format!("client_id={SPA}&response_type=code"),
        ))
        .await;
    assert!(
        page.location
            .unwrap()
            .starts_with("/error?error=redirect_mismatch")
    );
    // The error page itself: 400, framing denied, and no link to the candidate.
    let page = b
        .get(&format!(
            "{}/error?error=redirect_mismatch&client_id={SPA}",
            s.base
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body
            .contains("An error was encountered with the requested page.")
    );
    assert!(!page.body.contains("evil.test"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn after_the_redirect_uri_is_trusted_errors_go_to_it_with_state() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let base = format!("client_id={SPA}&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=st%201");
    let cases = [
        ("", "invalid_request"),
        ("&response_type=id_token", "invalid_request"),
        ("&response_type=code&scope=openid+unknown", "invalid_scope"),
        (
            "&response_type=code&code_challenge_method=plain&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "invalid_request",
        ),
        (
            "&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "invalid_request",
        ),
        (
            "&response_type=code&code_challenge=short&code_challenge_method=S256",
            "invalid_request",
        ),
        (
            "&response_type=code&code_challenge_method=S256",
            "invalid_request",
        ),
        (
            "&response_type=code&identity_provider=Google",
            "invalid_request",
        ),
        ("&response_type=code&state=again", "invalid_request"),
    ];
    for (extra, expected) in cases {
        let page = b.get(&authorize_url(&s, &format!("{base}{extra}"))).await;
        let loc = page.location.clone().unwrap();
        assert!(loc.starts_with("https://app.test/cb?"), "{extra}: {loc}");
        assert_eq!(
            page.location_param("error").as_deref(),
            Some(expected),
            "{extra}: {loc}"
        );
        assert_eq!(
            page.location_param("state").as_deref(),
            Some("st 1"),
            "{extra}"
        );
        assert!(page.location_param("code").is_none());
        let query = loc.split_once('?').unwrap().1;
        assert!(!query.contains('\n') && !query.contains('\t'));
    }
    // The web client has no implicit flow.
    let q = format!("client_id={WEB}&redirect_uri=https%3A%2F%2Fweb.test%2Fcb&response_type=token");
    let page = b.get(&authorize_url(&s, &q)).await;
    assert_eq!(
        page.location_param("error").as_deref(),
        Some("unauthorized_client")
    );
    // Unknown parameters are ignored; no CORS on the authorization endpoint.
    let r = client()
        .get(authorize_url(
            &s,
            &format!("{base}&response_type=code&extra=foobar"),
        ))
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?")
    );
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_sign_in_page_is_framing_proof_csrf_protected_and_says_one_thing_for_every_failure() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let q = format!(
        "client_id={SPA}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&login_hint=%22%3E%3Csvg%20onload%3Dalert(1)%3E"
    );
    let login_url = format!("{}/login?{q}", s.base);
    let page = b.get(&login_url).await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(page.body.contains(r#"name="username""#) && page.body.contains(r#"name="password""#));
    assert!(page.body.contains("<label for=\"username\">"));
    assert!(
        !page.body.contains("<svg onload"),
        "the login hint is escaped"
    );
    let csrf = page.csrf();

    // No token, a token of another browser, a cross-site post: refused, no session.
    let mut other = Browser::default();
    let theirs = other.get(&login_url).await.csrf();
    for token in ["", theirs.as_str()] {
        let r = b
            .post_form(
                &login_url,
                &[
                    ("username", "alice"),
                    ("password", "Passw0rd!"),
                    ("_csrf", token),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(!b.cookies.contains_key("userpool-session"));
    }
    let r = client()
        .post(&login_url)
        .header(
            "cookie",
            b.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("username", "alice"),
            ("password", "Passw0rd!"),
            ("_csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Wrong password, unknown user, disabled user: the same answer, no session.
    let mut messages = Vec::new();
    for (user, password) in [
        ("alice", "wrong"),
        ("nobody", "Passw0rd!"),
        ("bob", "Passw0rd!"),
    ] {
        let r = b
            .post_form(
                &login_url,
                &[("username", user), ("password", password), ("_csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, 400, "{user}");
        assert!(r.location.is_none());
        let msg = r
            .body
            .split("role=\"alert\"")
            .nth(1)
            .unwrap()
            .split("</p>")
            .next()
            .unwrap()
            .to_string();
        messages.push(msg);
        assert!(!b.cookies.contains_key("userpool-session"));
    }
    assert!(
        messages
            .iter()
            .all(|m| *m == messages[0] && m.contains("Incorrect username or password.")),
        "{messages:?}"
    );

    let ok = b
        .post_form(
            &login_url,
            &[
                ("username", "alice"),
                ("password", "Passw0rd!"),
                ("_csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(ok.status, 302, "a POST ends with 302, never 307/308");
    assert!(b.cookies.contains_key("userpool-session"));
}

#[tokio::test]
async fn five_failures_lock_a_name_whether_or_not_the_user_exists() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let login_url = format!(
        "{}/login?client_id={SPA}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb",
        s.base
    );
    let csrf = b.get(&login_url).await.csrf();
    let alert = |page: &Page| {
        page.body
            .split("role=\"alert\"")
            .nth(1)
            .unwrap_or("")
            .to_string()
    };
    for user in ["alice", "nobody"] {
        for _ in 0..5 {
            let r = b
                .post_form(
                    &login_url,
                    &[("username", user), ("password", "wrong"), ("_csrf", &csrf)],
                )
                .await;
            assert!(
                alert(&r).contains("Incorrect username or password."),
                "{user}"
            );
        }
        // The sixth attempt, even with the right password, meets the lock.
        let r = b
            .post_form(
                &login_url,
                &[
                    ("username", user),
                    ("password", "Passw0rd!"),
                    ("_csrf", &csrf),
                ],
            )
            .await;
        assert!(
            alert(&r).contains("Password attempts exceeded"),
            "{user}: {}",
            alert(&r)
        );
        assert!(r.location.is_none());
    }
    // The first lock lasts one second (held through its last whole second); then the right
    // password signs in and clears the count.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let r = b
        .post_form(
            &login_url,
            &[
                ("username", "ALICE"),
                ("password", "Passw0rd!"),
                ("_csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 302, "{}", alert(&r));
}

#[tokio::test]
async fn client_credentials_issue_machine_tokens_for_custom_scopes_only() {
    let s = OAuthServer::start(&[]).await;
    let (status, t) = s
        .token(
            &[("grant_type", "client_credentials")],
            Some((M2M, M2M_SECRET)),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let c = claims(t["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], M2M);
    assert_eq!(c["client_id"], M2M);
    assert_eq!(c["token_use"], "access");
    assert_eq!(
        c["scope"], "https://api.test/read https://api.test/write",
        "omitted scope means all allowed"
    );
    assert_eq!(c["version"], 2);
    assert!(c.get("username").is_none() && c.get("origin_jti").is_none());

    let (status, t) = s
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", M2M),
                ("client_secret", M2M_SECRET),
                ("scope", "https://api.test/read"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "client_secret_post works too");
    assert_eq!(
        claims(t["access_token"].as_str().unwrap())["scope"],
        "https://api.test/read"
    );

    let (status, e) = s
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "https://api.test/admin"),
            ],
            Some((M2M, M2M_SECRET)),
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_scope")));
    let (status, e) = s
        .token(
            &[("grant_type", "client_credentials"), ("client_id", SPA)],
            None,
        )
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (401, Some("invalid_client")),
        "public clients cannot"
    );
    let (status, e) = s
        .token(
            &[("grant_type", "client_credentials")],
            Some((WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // A client's access token is not good for userInfo.
    let (status, _) = s.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_token_endpoint_refuses_malformed_requests_in_cognitos_shape() {
    let s = OAuthServer::start(&[]).await;
    let url = format!("{}/oauth2/token", s.base);
    let r = client()
        .post(&url)
        .basic_auth(M2M, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client()
                .post(&url)
                .json(&serde_json::json!({"grant_type": "client_credentials", "client_id": M2M})),
            400,
            "invalid_request",
        ),
        (
            client()
                .post(&url)
                .form(&[("grant_type", "password"), ("client_id", SPA)]),
            400,
            "unsupported_grant_type",
        ),
        (
            client().post(&url).form(&[("client_id", SPA)]),
            400,
            "invalid_request",
        ),
        (
            client()
                .post(&url)
                .form(&[("grant_type", "authorization_code"), ("client_id", SPA)]),
            400,
            "invalid_request",
        ),
        (
            client().post(&url).form(&[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", "x"),
                ("refresh_token", "y"),
            ]),
            400,
            "invalid_request",
        ),
        (
            client().post(&url).form(&[
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", "nope"),
                ("redirect_uri", "https://app.test/cb"),
            ]),
            400,
            "invalid_grant",
        ),
        (
            client().post(&url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "unknown"),
            ]),
            401,
            "invalid_client",
        ),
        (
            client()
                .post(&url)
                .basic_auth(M2M, Some(M2M_SECRET))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_secret", M2M_SECRET),
                ]),
            400,
            "invalid_request",
        ),
    ];
    for (i, (req, status, error)) in cases.into_iter().enumerate() {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "case {i}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], error, "case {i}");
    }
    let r = client()
        .get(format!("{url}?grant_type=client_credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405, "POST only");
    // CORS preflight for browser apps.
    let r = client()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn userinfo_and_revoke_answer_errors_as_cognito_does() {
    let s = OAuthServer::start(&[]).await;
    let r = client()
        .get(format!("{}/oauth2/userInfo", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
    let r = client()
        .get(format!("{}/oauth2/userInfo", s.base))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(
        r.headers()["cache-control"],
        "no-cache, no-store, max-age=0, must-revalidate"
    );

    let revoke = |form: Vec<(&'static str, String)>| {
        let url = format!("{}/oauth2/revoke", s.base);
        async move {
            let r = client().post(url).form(&form).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    assert_eq!(
        revoke(vec![("client_id", SPA.into()), ("token", "unknown".into())]).await,
        (200, String::new())
    );
    let (status, body) = revoke(vec![("client_id", SPA.into())]).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid_request"));
    let (status, body) = revoke(vec![("client_id", SPA.into()), ("token", "a.b.c".into())]).await;
    assert_eq!(status, 400);
    assert!(body.contains("unsupported_token_type"));
    let (status, body) = revoke(vec![("client_id", "nope".into()), ("token", "x".into())]).await;
    assert_eq!(status, 401);
    assert!(body.contains("invalid_client"));
}

#[tokio::test]
async fn a_client_without_revocation_gets_no_token_ids_and_cannot_revoke() {
    let s = OAuthServer::start(&[]).await;
    let q = "client_id=nor0000000000000000000000001&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcb";
    let done = Browser::default()
        .sign_in(&s.base, q, "alice", "Passw0rd!")
        .await;
    let code = done.location_param("code").unwrap();
    let (status, t) = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "nor0000000000000000000000001"),
                ("code", &code),
                ("redirect_uri", "https://app.test/cb"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    for token in ["access_token", "id_token"] {
        let c = claims(t[token].as_str().unwrap());
        assert!(
            c.get("jti").is_none() && c.get("origin_jti").is_none(),
            "{token}: {c}"
        );
    }
    let r = client()
        .post(format!("{}/oauth2/revoke", s.base))
        .form(&[
            ("client_id", "nor0000000000000000000000001"),
            ("token", t["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn logout_without_a_client_or_a_uri_shows_the_error_page() {
    let s = OAuthServer::start(&[]).await;
    for q in [
        "logout_uri=https%3A%2F%2Fapp.test%2Fbye".to_string(),
        format!("client_id={SPA}"),
        "client_id=unknown&logout_uri=https%3A%2F%2Fapp.test%2Fbye".to_string(),
        format!("client_id={SPA}&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&response_type=code"),
    ] {
        let page = Browser::default()
            .get(&format!("{}/logout?{q}", s.base))
            .await;
        assert_eq!(page.status, 400, "{q}");
        assert!(page.location.is_none(), "{q}: never a redirect");
    }
}

/// AU01 under a burst: guesses sent all at once cannot all pass the lock check before any of
/// them is counted; they meet the lock like sequential ones.
#[tokio::test]
async fn a_burst_of_guesses_meets_the_lock_too() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let login_url = format!(
        "{}/login?client_id={SPA}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb",
        s.base
    );
    let csrf = b.get(&login_url).await.csrf();
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let attempts = 24;
    let tasks: Vec<_> = (0..attempts)
        .map(|_| {
            let (url, cookie, csrf) = (login_url.clone(), cookie.clone(), csrf.clone());
            tokio::spawn(async move {
                client()
                    .post(url)
                    .header(reqwest::header::COOKIE, cookie)
                    .form(&[
                        ("username", "alice"),
                        ("password", "wrong"),
                        ("_csrf", &csrf),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut guessed = 0;
    for t in tasks {
        let body = t.await.unwrap();
        if body.contains("Incorrect username or password.") {
            guessed += 1;
        } else {
            assert!(body.contains("Password attempts exceeded"), "{body}");
        }
    }
    // Five free guesses, and at most one more once the first one-second lock has passed.
    assert!(guessed <= 6, "{guessed} of {attempts} guesses were checked");
}
