//! Federation failures (spec §10.2, §14; checklist FO): every defect of the provider's answer,
//! of the pending state and of the attributes reaches the app as Cognito reports it, or our
//! error page, and creates no user. The provider is `fake_idp`. The connector's cache of
//! discovery and JWKS (docs/design/0003-federation.md) is tested here too, over HTTP.

use serde_json::{Value, json};
use userpool_core::store::UserStore;
use userpool_store::SqlStore;

use crate::browser::*;
use crate::fake_idp::{Defect, FakeIdp, Oversize};

const FAKE_CLIENT: &str = "userpool-rp";

fn with_idp(pool: &mut Value, issuer: &str, require_email: bool) {
    pool["IdentityProviders"] = json!([{
        "ProviderName": "Fake", "ProviderType": "OIDC",
        "ProviderDetails": {"client_id": FAKE_CLIENT, "client_secret": "fake-secret",
            "authorize_scopes": "openid email", "oidc_issuer": issuer},
        "AttributeMapping": {"email": "email", "name": "name"},
        "IdpIdentifiers": ["corp.test"]
    }, {
        "ProviderName": "Down", "ProviderType": "OIDC",
        "ProviderDetails": {"client_id": "x", "client_secret": "y", "authorize_scopes": "openid",
            "oidc_issuer": "http://127.0.0.1:9"}
    }]);
    pool["IdentityProviders"].as_array_mut().unwrap().push(json!({
        "ProviderName": "Facebook", "ProviderType": "Facebook",
        "ProviderDetails": {"client_id": FAKE_CLIENT, "client_secret": "fake-secret",
            "authorize_scopes": "public_profile,email",
            "authorize_url": format!("{issuer}/authorize"), "token_url": format!("{issuer}/token"),
            "attributes_url": format!("{issuer}/userinfo")},
        "AttributeMapping": {"email": "email", "name": "name"}
    }));
    pool["Clients"][0]["SupportedIdentityProviders"] =
        json!(["COGNITO", "Fake", "Down", "Facebook"]);
    pool["Users"][0]["LinkedProviders"] =
        json!([{"ProviderName": "Fake", "ProviderAttributeValue": "linked-sub"}]);
    if require_email {
        pool["Schema"] = json!([{"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": true}]);
        pool["Users"] = json!([]);
    }
}

fn query(provider: &str) -> String {
    format!(
        "client_id={SPA}&response_type=code&scope=openid+email&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=app-state&identity_provider={provider}"
    )
}

/// Our authorize → the provider → back to /oauth2/idpresponse. Returns (the provider's
/// redirect back to us, our answer to it).
async fn federate(b: &mut Browser, s: &OAuthServer, provider: &str) -> (String, Page) {
    let start = b
        .get(&format!("{}/oauth2/authorize?{}", s.base, query(provider)))
        .await;
    let to_idp = start
        .location
        .clone()
        .unwrap_or_else(|| panic!("a redirect: {}", start.body));
    if !to_idp.starts_with("http") || to_idp.starts_with("https://app.test/") {
        return (String::new(), start);
    }
    let idp = b.get(&to_idp).await;
    let back = idp.location.clone().expect("the provider redirects back");
    let answer = b.get(&back).await;
    (back, answer)
}

async fn user_exists(s: &OAuthServer, subject: &str) -> bool {
    user_named(s, &format!("fake_{subject}")).await
}

async fn user_named(s: &OAuthServer, username: &str) -> bool {
    let store = SqlStore::open(&crate::helpers::sqlite_url(s.dir.path()))
        .await
        .unwrap();
    let found = store
        .get_user(&s.pool_id, username)
        .await
        .unwrap()
        .is_some();
    store.close().await;
    found
}

fn app_error(page: &Page) -> (String, String) {
    assert!(
        page.location
            .clone()
            .unwrap_or_default()
            .starts_with("https://app.test/cb?"),
        "{:?} {}",
        page.location,
        page.body
    );
    assert_eq!(page.location_param("state").as_deref(), Some("app-state"));
    (
        page.location_param("error").unwrap_or_default(),
        page.location_param("error_description").unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_good_answer_provisions_the_user_and_signs_in() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    idp.next("good1", Defect::None);
    let mut b = Browser::default();
    let start = b
        .get(&format!("{}/oauth2/authorize?{}", s.base, query("Fake")))
        .await;
    let to_idp = start.location.clone().unwrap();
    for param in [
        "response_type=code",
        "client_id=userpool-rp",
        "nonce=",
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
    ] {
        assert!(to_idp.contains(param), "{param} in {to_idp}");
    }
    assert!(to_idp.contains(&format!(
            "redirect_uri={}",
            form_urlencoded::byte_serialize(format!("{}/oauth2/idpresponse", s.base).as_bytes())
                .collect::<String>()
        )));
    let back = b.get(&to_idp).await.location.unwrap();
    let done = b.get(&back).await;
    assert_eq!(
        done.location_param("state").as_deref(),
        Some("app-state"),
        "{:?} {}",
        done.location,
        done.body
    );
    let code = done.location_param("code").expect("a code");
    let (_, t) = s.redeem_spa(&code).await;
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], "fake_good1");
    assert_eq!(id["email"], "good1@corp.test");
    assert_eq!(id["email_verified"], false, "unverified unless mapped");
    assert_eq!(id["identities"][0]["userId"], "good1");
    assert_eq!(id["identities"][0]["providerName"], "Fake");
    assert_eq!(id["identities"][0]["providerType"], "OIDC");
    assert_eq!(id["identities"][0]["primary"], "true");
    let (_, info) = s.userinfo(t["access_token"].as_str().unwrap()).await;
    assert!(
        info["identities"].is_string(),
        "userInfo gives identities as a JSON string"
    );
    assert!(user_exists(&s, "good1").await);
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&crate::helpers::sqlite_url(s.dir.path()))
            .await
            .unwrap();
        let stored: Vec<(String,)> = sqlx::query_as("SELECT config FROM identity_providers")
            .fetch_all(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        assert!(
            stored.iter().all(|(cfg,)| !cfg.contains("fake-secret")),
            "provider secrets are sealed at rest"
        );
        assert!(stored.iter().any(|(cfg,)| cfg.contains("sealed:")));
    }
    // The same response again is a replay: our error page, and no second sign-in.
    let replay = b.get(&back).await;
    assert_eq!(replay.status, 400);
    assert!(replay.location.is_none());
    // idp_identifier routes too, case-insensitively.
    idp.next("good2", Defect::None);
    let start = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            query("Fake").replace("identity_provider=Fake", "idp_identifier=CORP.test")
        ))
        .await;
    assert!(start.location.unwrap().starts_with(&idp.issuer));
}

#[tokio::test]
async fn every_defect_of_the_provider_answer_fails_cleanly_and_creates_no_user() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&["--federation-timeout", "2"], |p| {
        with_idp(p, &idp.issuer, false)
    })
    .await;
    let cases = [
        (Defect::WrongNonce, "Invalid id_token"),
        (Defect::WrongIssuer, "Invalid id_token"),
        (Defect::WrongAudience, "Invalid id_token"),
        (Defect::Expired, "Invalid id_token"),
        (Defect::ForeignKey, "Invalid id_token"),
        (Defect::NoIdToken, "Bad token response: no id_token"),
        (
            Defect::TokenError500,
            "Fake Error - 500 error getting token",
        ),
        (
            Defect::SlowToken,
            "Timeout occurred in calling IdP token endpoint",
        ),
        (
            Defect::DenyAtAuthorize,
            "Fake Error - access_denied The user said no",
        ),
    ];
    for (i, (defect, expected)) in cases.into_iter().enumerate() {
        let subject = format!("bad{i}");
        idp.next(&subject, defect);
        let mut b = Browser::default();
        let (_, answer) = federate(&mut b, &s, "Fake").await;
        let (error, description) = app_error(&answer);
        assert_eq!(error, "invalid_request", "{defect:?}");
        assert!(
            description.starts_with(expected),
            "{defect:?}: {description}"
        );
        assert!(
            !user_exists(&s, &subject).await,
            "{defect:?} created a user"
        );
        assert!(
            !b.cookies.contains_key("userpool-session"),
            "{defect:?} started a session"
        );
    }
    // A provider that is down.
    let mut b = Browser::default();
    let (_, answer) = federate(&mut b, &s, "Down").await;
    let (error, description) = app_error(&answer);
    assert_eq!(error, "invalid_request");
    assert!(description.contains("discovery"), "{description}");
}

#[tokio::test]
async fn the_pending_state_must_be_known_live_and_of_this_browser() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    let unknown = Browser::default()
        .get(&format!(
            "{}/oauth2/idpresponse?code=x&state=made-up",
            s.base
        ))
        .await;
    assert_eq!(unknown.status, 400);

    // Another browser brings back this browser's answer: refused.
    idp.next("stolen", Defect::None);
    let mut victim = Browser::default();
    let start = victim
        .get(&format!("{}/oauth2/authorize?{}", s.base, query("Fake")))
        .await;
    let back = victim.get(&start.location.unwrap()).await.location.unwrap();
    let attacker = Browser::default().get(&back).await;
    assert_eq!(attacker.status, 400);
    assert!(!user_exists(&s, "stolen").await);

    // An expired pending federation (five minutes) is refused.
    idp.next("late", Defect::None);
    let mut b = Browser::default();
    let start = b
        .get(&format!("{}/oauth2/authorize?{}", s.base, query("Fake")))
        .await;
    let back = b.get(&start.location.unwrap()).await.location.unwrap();
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&crate::helpers::sqlite_url(s.dir.path()))
            .await
            .unwrap();
        sqlx::query("UPDATE auth_challenges SET expires_at = 0")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let late = b.get(&back).await;
    assert_eq!(late.status, 400);
    assert!(!user_exists(&s, "late").await);
}

#[tokio::test]
async fn a_required_attribute_the_provider_does_not_send_fails_the_sign_in() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, true)).await;
    idp.next("noemail", Defect::NoEmail);
    let mut b = Browser::default();
    let (_, answer) = federate(&mut b, &s, "Fake").await;
    let (error, description) = app_error(&answer);
    assert_eq!(error, "invalid_request");
    assert_eq!(
        description,
        "Invalid user attributes: email: The attribute is required"
    );
    assert!(!user_exists(&s, "noemail").await);
    // The same provider with the attribute works.
    idp.next("hasemail", Defect::None);
    let (_, ok) = federate(&mut Browser::default(), &s, "Fake").await;
    assert!(ok.location_param("code").is_some(), "{:?}", ok.location);
}

#[tokio::test]
async fn the_sign_in_page_offers_a_button_per_provider() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    let page = Browser::default()
        .get(&format!(
            "{}/login?client_id={SPA}&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb",
            s.base
        ))
        .await;
    assert!(page.body.contains("Continue with Fake"), "{}", page.body);
    assert!(page.body.contains("identity_provider=Fake"));
}

#[tokio::test]
async fn a_linked_identity_signs_in_as_its_user() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    idp.next("linked-sub", Defect::None);
    let (_, done) = federate(&mut Browser::default(), &s, "Fake").await;
    let code = done.location_param("code").expect("a code");
    let (_, t) = s.redeem_spa(&code).await;
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], "alice", "the destination user");
    assert_eq!(id["identities"][0]["userId"], "linked-sub");
    assert_eq!(id["identities"][0]["providerName"], "Fake");
    assert!(
        !user_exists(&s, "linked-sub").await,
        "no separate federated user"
    );
}

#[tokio::test]
async fn a_social_provider_with_overridden_endpoints_signs_in() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    idp.next("1029384756", Defect::None);
    let mut b = Browser::default();
    let start = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            query("Facebook")
        ))
        .await;
    let to_idp = start.location.clone().unwrap();
    assert!(
        to_idp.contains("scope=public_profile%2Cemail"),
        "Facebook scopes are comma-separated: {to_idp}"
    );
    assert!(
        !to_idp.contains("nonce="),
        "no nonce for a plain OAuth provider"
    );
    let back = b.get(&to_idp).await.location.unwrap();
    let done = b.get(&back).await;
    let code = done
        .location_param("code")
        .unwrap_or_else(|| panic!("{:?}", done.location));
    let (_, t) = s.redeem_spa(&code).await;
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(
        id["cognito:username"], "facebook_1029384756",
        "{{Provider}}_{{id}}, lowercased in a case-insensitive pool"
    );
    assert_eq!(id["identities"][0]["providerType"], "Facebook");
    assert_eq!(
        id["email"], "1029384756@corp.test",
        "attributes from the Graph-API-style endpoint"
    );
}

#[tokio::test]
async fn a_local_account_cannot_take_a_federated_name() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    let mut b = Browser::default();
    let q = format!(
        "client_id={SPA}&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"
    );
    let page = b.get(&format!("{}/signup?{q}", s.base)).await;
    let csrf = page.csrf();
    let r = b
        .post_form(
            &format!("{}/signup?{q}", s.base),
            &[
                ("username", "Fake_victim"),
                ("email", "x@example.test"),
                ("password", "Sup3r-secret"),
                ("_csrf", &csrf),
            ],
        )
        .await;
    assert!(
        r.body.contains("This username is not available."),
        "{}",
        r.body
    );
}

/// A federated sign-in through `provider` that must succeed.
async fn signs_in(s: &OAuthServer, provider: &str) {
    let (_, done) = federate(&mut Browser::default(), s, provider).await;
    assert!(
        done.location_param("code").is_some(),
        "{:?} {}",
        done.location,
        done.body
    );
}

#[tokio::test]
async fn discovery_and_jwks_are_fetched_once_for_many_sign_ins() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    for n in 0..3 {
        idp.next(&format!("cached{n}"), Defect::None);
        signs_in(&s, "Fake").await;
    }
    assert_eq!(idp.hits(), (1, 1), "(discovery, jwks) requests");
    assert!(user_exists(&s, "cached2").await);
}

#[tokio::test]
async fn a_sign_in_works_from_the_cache_while_discovery_fails() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    idp.next("before", Defect::None);
    signs_in(&s, "Fake").await;
    idp.fail_discovery(true);
    let down = crate::helpers::client()
        .get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 503, "the provider's discovery is down");
    idp.next("during", Defect::None);
    signs_in(&s, "Fake").await;
    assert!(user_exists(&s, "during").await);
    assert_eq!(idp.hits().0, 2, "ours, and the check above");
}

#[tokio::test]
async fn an_oversized_jwks_fails_the_sign_in_and_the_server_stays_healthy() {
    let declared = FakeIdp::start(FAKE_CLIENT).await;
    let streamed = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| {
        with_idp(p, &declared.issuer, false);
        let mut second = p["IdentityProviders"][0].clone();
        second["ProviderName"] = json!("Streamed");
        second["ProviderDetails"]["oidc_issuer"] = json!(streamed.issuer);
        second.as_object_mut().unwrap().remove("IdpIdentifiers");
        p["IdentityProviders"].as_array_mut().unwrap().push(second);
        p["Clients"][0]["SupportedIdentityProviders"]
            .as_array_mut()
            .unwrap()
            .push(json!("Streamed"));
    })
    .await;
    for (idp, provider, how) in [
        (&declared, "Fake", Oversize::Declared),
        (&streamed, "Streamed", Oversize::Streamed),
    ] {
        idp.oversized_jwks(Some(how));
        idp.next("huge", Defect::None);
        let mut b = Browser::default();
        let (_, answer) = federate(&mut b, &s, provider).await;
        let (error, description) = app_error(&answer);
        assert_eq!(error, "invalid_request", "{how:?}");
        assert_eq!(
            description, "Connection error: jwks response larger than 1024 KiB",
            "{how:?}"
        );
        assert!(
            !user_named(&s, &format!("{}_huge", provider.to_lowercase())).await,
            "{how:?} created a user"
        );
        assert!(!b.cookies.contains_key("userpool-session"));
        assert_eq!(idp.hits(), (1, 1), "{how:?}");
    }
    let health = crate::helpers::client()
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_and_picks_up_a_rotation() {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let s = OAuthServer::start_with(&[], |p| with_idp(p, &idp.issuer, false)).await;
    idp.next("r0", Defect::None);
    signs_in(&s, "Fake").await;
    assert_eq!(idp.hits(), (1, 1));
    // The provider rotates: its tokens name a key our cached set lacks.
    idp.rotate_keys();
    idp.next("r1", Defect::None);
    signs_in(&s, "Fake").await;
    assert_eq!(idp.hits(), (1, 2), "one refetch for the new kid");
    idp.next("r2", Defect::None);
    signs_in(&s, "Fake").await;
    assert_eq!(idp.hits(), (1, 2), "the new set is cached");
    // Tokens with keys the provider never published: refused, and no more refetches.
    for n in 0..3 {
        let subject = format!("forged{n}");
        idp.next(&subject, Defect::ForeignKey);
        let (_, answer) = federate(&mut Browser::default(), &s, "Fake").await;
        let (error, description) = app_error(&answer);
        assert_eq!(error, "invalid_request");
        assert!(description.starts_with("Invalid id_token"), "{description}");
        assert!(!user_exists(&s, &subject).await);
    }
    assert_eq!(idp.hits(), (1, 2), "at most one refetch per interval");
}
