//! The user lifecycle through the managed-login pages: sign-up with a code from the outbox,
//! password reset, a temporary password, and TOTP set-up and sign-in (spec §5).

use userpool_core::lifecycle::totp;

use crate::browser::*;

const CB: &str = "https%3A%2F%2Fapp.test%2Fcb";

fn authorize_query() -> String {
    format!("client_id={SPA}&response_type=code&scope=openid+email&redirect_uri={CB}&state=st")
}

/// Follows a redirect that stays on the server.
async fn follow(b: &mut Browser, s: &OAuthServer, page: &Page) -> Page {
    b.follow(&s.base, page).await
}

/// Posts a form page back to its own action with `fields` (and its CSRF token).
async fn submit(b: &mut Browser, s: &OAuthServer, page: &Page, fields: &[(&str, &str)]) -> Page {
    b.submit(&s.base, page, fields).await
}

async fn redeem_id_token(s: &OAuthServer, page: &Page) -> serde_json::Value {
    let code = page
        .location_param("code")
        .unwrap_or_else(|| panic!("a code: {:?} {}", page.location, page.body));
    let (status, t) = s.redeem_spa(&code).await;
    assert_eq!(status, 200, "{t}");
    claims(t["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn sign_up_confirms_by_emailed_code_and_signs_in() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let page = b
        .get(&format!("{}/signup?{}", s.base, authorize_query()))
        .await;
    assert_eq!(page.status, 200);
    let weak = submit(
        &mut b,
        &s,
        &page,
        &[
            ("username", "Newbie"),
            ("email", "newbie@example.test"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("Password not long enough"),
        "the pool's policy applies"
    );
    let done = submit(
        &mut b,
        &s,
        &page,
        &[
            ("username", "Newbie"),
            ("email", "newbie@example.test"),
            ("password", "Sup3r-secret"),
        ],
    )
    .await;
    assert_eq!(done.status, 302, "{}", done.body);
    let confirm = follow(&mut b, &s, &done).await;
    assert!(confirm.body.contains("We sent a code"), "{}", confirm.body);

    // Not confirmed yet: sign-in sends the user back to confirm.
    let mut other = Browser::default();
    let early = other
        .sign_in(&s.base, &authorize_query(), "newbie", "Sup3r-secret")
        .await;
    assert!(early.location.unwrap().starts_with("/confirm?"));

    let wrong = submit(
        &mut b,
        &s,
        &confirm,
        &[("username", "Newbie"), ("code", "000000")],
    )
    .await;
    assert!(
        wrong.body.contains("Invalid verification code"),
        "{}",
        wrong.body
    );
    // The sign-in before confirming sent a second code, which replaced the first.
    let code = s.outbox_code_of("newbie@example.test", 2).await;
    let signed_in = submit(
        &mut b,
        &s,
        &confirm,
        &[("username", "Newbie"), ("code", &code)],
    )
    .await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.body);
    assert_eq!(signed_in.location_param("state").as_deref(), Some("st"));
    let id = redeem_id_token(&s, &signed_in).await;
    assert_eq!(id["cognito:username"], "newbie");
    assert_eq!(id["email"], "newbie@example.test");
    assert_eq!(
        id["email_verified"], true,
        "confirming by email code verifies the email"
    );

    let taken = b
        .get(&format!("{}/signup?{}", s.base, authorize_query()))
        .await;
    let again = submit(
        &mut b,
        &s,
        &taken,
        &[
            ("username", "newbie"),
            ("email", "x@example.test"),
            ("password", "Sup3r-secret"),
        ],
    )
    .await;
    assert!(again.body.contains("User already exists"), "{}", again.body);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_emailed_code() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let page = b
        .get(&format!("{}/forgotPassword?{}", s.base, authorize_query()))
        .await;
    // Unknown users get the same answer and no message.
    let unknown = submit(&mut b, &s, &page, &[("username", "nobody")]).await;
    assert!(
        unknown
            .location
            .unwrap()
            .starts_with("/confirmforgotPassword?")
    );
    let sent = submit(&mut b, &s, &page, &[("username", "alice")]).await;
    let confirm = follow(&mut b, &s, &sent).await;
    let code = s.outbox_code("alice@example.test").await;
    let weak = submit(
        &mut b,
        &s,
        &confirm,
        &[("username", "alice"), ("code", &code), ("password", "weak")],
    )
    .await;
    assert_eq!(weak.status, 400);
    let reset = submit(
        &mut b,
        &s,
        &confirm,
        &[
            ("username", "alice"),
            ("code", &code),
            ("password", "N3w-passw0rd"),
        ],
    )
    .await;
    assert!(
        reset
            .location
            .clone()
            .unwrap()
            .contains("notice=password_reset"),
        "{:?}",
        reset.location
    );
    let login = follow(&mut b, &s, &reset).await;
    assert!(login.body.contains("Your password has been reset"));
    let reused = submit(
        &mut b,
        &s,
        &confirm,
        &[
            ("username", "alice"),
            ("code", &code),
            ("password", "An0ther-pass"),
        ],
    )
    .await;
    assert!(
        reused.body.contains("Invalid verification code"),
        "a code works once"
    );

    let old = Browser::default()
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    assert_eq!(old.status, 400, "the old password is gone");
    let new = Browser::default()
        .sign_in(&s.base, &authorize_query(), "alice", "N3w-passw0rd")
        .await;
    assert_eq!(new.status, 302);
    assert!(new.location_param("code").is_some());
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_before_the_grant() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let first = b
        .sign_in(&s.base, &authorize_query(), "tess", "Temp0rary!")
        .await;
    assert!(
        first.location.clone().unwrap().starts_with("/newPassword?"),
        "{:?}",
        first.location
    );
    assert!(
        !b.cookies.contains_key("userpool-session"),
        "no session before the new password"
    );
    let page = follow(&mut b, &s, &first).await;
    assert!(page.body.contains("Change your password"));
    let weak = submit(&mut b, &s, &page, &[("password", "weak")]).await;
    assert_eq!(weak.status, 400);
    let done = submit(&mut b, &s, &page, &[("password", "Chosen-Passw0rd")]).await;
    let id = redeem_id_token(&s, &done).await;
    assert_eq!(id["cognito:username"], "tess");
    // The step is used up, and the new password works.
    let replay = submit(&mut b, &s, &page, &[("password", "Other-Passw0rd")]).await;
    assert!(
        replay.location.unwrap().starts_with("/login?"),
        "the step cannot be replayed"
    );
    let again = Browser::default()
        .sign_in(&s.base, &authorize_query(), "tess", "Chosen-Passw0rd")
        .await;
    assert!(again.location_param("code").is_some());
    // Without the step's cookie there is nothing to do.
    let stray = Browser::default()
        .get(&format!("{}/newPassword?{}", s.base, authorize_query()))
        .await;
    assert!(stray.location.unwrap().starts_with("/login?"));
}

#[tokio::test]
async fn mfa_on_sets_up_totp_at_first_sign_in_then_asks_for_codes() {
    let s = OAuthServer::start_with(&[], |pool| pool["MfaConfiguration"] = "ON".into()).await;
    let mut b = Browser::default();
    let first = b
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    assert!(
        first.location.clone().unwrap().starts_with("/mfa?"),
        "{:?}",
        first.location
    );
    let setup = follow(&mut b, &s, &first).await;
    assert!(setup.body.contains("<svg"), "a QR code");
    assert!(setup.body.contains("otpauth") || setup.body.contains("totp-secret"));
    let at = setup.body.find("id=\"totp-secret\">").unwrap() + 17;
    let secret = totp::from_base32(setup.body[at..].split('<').next().unwrap()).unwrap();
    let wrong = submit(&mut b, &s, &setup, &[("code", "000000")]).await;
    assert!(wrong.body.contains("Code mismatch"), "{}", wrong.body);
    let code = totp::current(&secret, crate::helpers::now());
    let done = submit(&mut b, &s, &setup, &[("code", &code)]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    redeem_id_token(&s, &done).await;

    // The next sign-in asks for a code of the same secret.
    let mut b2 = Browser::default();
    let second = b2
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    let ask = follow(&mut b2, &s, &second).await;
    assert!(!ask.body.contains("<svg"), "no new QR code");
    assert!(
        !b2.cookies.contains_key("userpool-session"),
        "no session before the code"
    );
    let replay = submit(&mut b2, &s, &ask, &[("code", &code)]).await;
    assert!(
        replay.body.contains("Code mismatch"),
        "a code works once (RFC 6238 §5.2)"
    );
    // The next window's code (within the allowed skew) is fresh.
    let next = totp::current(&secret, crate::helpers::now() + 30);
    let done = submit(&mut b2, &s, &ask, &[("code", &next)]).await;
    assert!(done.location_param("code").is_some(), "{}", s.log());
}

#[tokio::test]
async fn mfa_on_with_email_codes_asks_for_the_code_sent_by_email() {
    let s = OAuthServer::start_with(&[], |pool| {
        pool["MfaConfiguration"] = "ON".into();
        pool["EmailMfaConfiguration"] =
            serde_json::json!({"Subject": "Your code", "Message": "Sign-in code: {####}"});
    })
    .await;
    let mut b = Browser::default();
    let first = b
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    let ask = follow(&mut b, &s, &first).await;
    assert!(ask.body.contains("code we just sent"), "{}", ask.body);
    assert!(!ask.body.contains("<svg"), "no authenticator set-up");
    let wrong = submit(&mut b, &s, &ask, &[("code", "000000")]).await;
    assert!(wrong.body.contains("Code mismatch"), "{}", wrong.body);
    let code = s.outbox_code("alice@example.test").await;
    let done = submit(&mut b, &s, &ask, &[("code", &code)]).await;
    assert!(done.location_param("code").is_some(), "{}", s.log());
    let replay = submit(&mut b, &s, &ask, &[("code", &code)]).await;
    assert!(replay.location_param("code").is_none(), "a code works once");
}

#[tokio::test]
async fn wrong_code_guesses_meet_the_lock_but_cannot_keep_a_right_code_out() {
    let s = OAuthServer::start(&[]).await;
    let mut b = Browser::default();
    let page = b
        .get(&format!("{}/forgotPassword?{}", s.base, authorize_query()))
        .await;
    let sent = submit(&mut b, &s, &page, &[("username", "alice")]).await;
    let confirm = follow(&mut b, &s, &sent).await;
    let guess = |code: &'static str| {
        [
            ("username", "alice"),
            ("code", code),
            ("password", "N3w-passw0rd"),
        ]
    };
    for _ in 0..4 {
        let wrong = submit(&mut b, &s, &confirm, &guess("000000")).await;
        assert!(
            wrong.body.contains("Invalid verification code"),
            "{}",
            wrong.body
        );
    }
    // The fifth wrong guess locks further guessing (and kills the code).
    let locked = submit(&mut b, &s, &confirm, &guess("000000")).await;
    assert!(
        locked.body.contains("Attempt limit exceeded"),
        "{}",
        locked.body
    );
    // Whoever guessed wrong cannot keep the owner out: a fresh right code still resets.
    let first = s.outbox_code("alice@example.test").await;
    submit(&mut b, &s, &page, &[("username", "alice")]).await;
    let mut code = first.clone();
    for _ in 0..50 {
        code = s.outbox_code("alice@example.test").await;
        if code != first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reset = submit(
        &mut b,
        &s,
        &confirm,
        &[
            ("username", "alice"),
            ("code", &code),
            ("password", "N3w-passw0rd"),
        ],
    )
    .await;
    assert!(
        reset
            .location
            .as_deref()
            .is_some_and(|l| l.contains("notice=password_reset")),
        "{:?} {}",
        reset.location,
        reset.body
    );
}

#[tokio::test]
async fn a_password_reset_ends_sessions_and_tokens() {
    let s = OAuthServer::start(&[]).await;
    let mut holder = Browser::default();
    let signed_in = holder
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    let code = signed_in.location_param("code").unwrap();
    let (_, t) = s.redeem_spa(&code).await;
    let mut b = Browser::default();
    let page = b
        .get(&format!("{}/forgotPassword?{}", s.base, authorize_query()))
        .await;
    let sent = submit(&mut b, &s, &page, &[("username", "alice")]).await;
    let confirm = follow(&mut b, &s, &sent).await;
    let reset_code = s.outbox_code("alice@example.test").await;
    submit(
        &mut b,
        &s,
        &confirm,
        &[
            ("username", "alice"),
            ("code", &reset_code),
            ("password", "N3w-passw0rd"),
        ],
    )
    .await;
    let again = holder
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            authorize_query()
        ))
        .await;
    assert!(
        again.location.unwrap().starts_with("/login?"),
        "the old session is over"
    );
    assert_eq!(
        s.userinfo(t["access_token"].as_str().unwrap()).await.0,
        401,
        "its tokens are revoked"
    );
    let (status, _) = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_alias_and_the_username_share_one_lockout_counter() {
    let s = OAuthServer::start_with(&[], |pool| {
        pool["AliasAttributes"] = serde_json::json!(["email"])
    })
    .await;
    let mut b = Browser::default();
    let login_url = format!("{}/login?{}", s.base, authorize_query());
    let csrf = b.get(&login_url).await.csrf();
    for name in [
        "alice",
        "ALICE@example.test",
        "alice@EXAMPLE.test",
        "Alice",
        "alice@example.test",
    ] {
        let r = b
            .post_form(
                &login_url,
                &[("username", name), ("password", "wrong"), ("_csrf", &csrf)],
            )
            .await;
        assert!(r.body.contains("Incorrect username or password."), "{name}");
    }
    let r = b
        .post_form(
            &login_url,
            &[
                ("username", "alice"),
                ("password", "Passw0rd!"),
                ("_csrf", &csrf),
            ],
        )
        .await;
    assert!(
        r.body.contains("Password attempts exceeded"),
        "every name of the account counts together"
    );
}

/// AU03 under a burst: wrong TOTP codes sent all at once meet the lock like sequential ones;
/// a burst cannot buy thousands of guesses at a six-digit code.
#[tokio::test]
async fn a_burst_of_mfa_guesses_meets_the_lock() {
    let s = OAuthServer::start_with(&[], |pool| pool["MfaConfiguration"] = "ON".into()).await;
    let mut b = Browser::default();
    let first = b
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    let setup = follow(&mut b, &s, &first).await;
    let at = setup.body.find("id=\"totp-secret\">").unwrap() + 17;
    let secret = totp::from_base32(setup.body[at..].split('<').next().unwrap()).unwrap();
    let code = totp::current(&secret, crate::helpers::now());
    let done = submit(&mut b, &s, &setup, &[("code", &code)]).await;
    assert_eq!(done.status, 302, "{}", done.body);

    let mut attacker = Browser::default();
    let second = attacker
        .sign_in(&s.base, &authorize_query(), "alice", "Passw0rd!")
        .await;
    let ask = follow(&mut attacker, &s, &second).await;
    let at = ask.body.find("<form method=\"post\" action=\"").unwrap() + 28;
    let action = ask.body[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let url = format!("{}{action}", s.base);
    let csrf = ask.csrf();
    let cookie = attacker
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (url, cookie, csrf) = (url.clone(), cookie.clone(), csrf.clone());
            // Codes that are surely wrong: not the current one or its neighbours.
            let guess = format!("{:06}", (i * 7919 + 13) % 1_000_000);
            let right: Vec<String> = [-30, 0, 30]
                .iter()
                .map(|d| totp::current(&secret, crate::helpers::now() + d))
                .collect();
            tokio::spawn(async move {
                if right.contains(&guess) {
                    return String::from("Code mismatch (skipped)");
                }
                crate::helpers::client()
                    .post(url)
                    .header(reqwest::header::COOKIE, cookie)
                    .form(&[("code", guess.as_str()), ("_csrf", &csrf)])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        let body = t.await.unwrap();
        if body.contains("Code mismatch") {
            checked += 1;
        } else {
            // Locked, or the step ended (its third wrong code): sent to start over.
            assert!(
                body.contains("Too many attempts") || body.is_empty(),
                "{body}"
            );
        }
    }
    // A step takes three wrong codes, and the lock holds within them.
    assert!(checked <= 3, "{checked} of 30 guesses were checked");
}
