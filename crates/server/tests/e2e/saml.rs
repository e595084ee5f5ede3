//! SAML 2.0 federation end to end (spec §11, §12; checklist SM): a real IdP (pysaml2 with
//! xmlsec1) signs users in SP- and IdP-initiated, with signed responses, signed assertions,
//! both, and encrypted assertions; single logout runs both ways; the app gets Cognito's
//! claims for the SAML user.

use std::io::Read as _;

use base64::Engine as _;
use serde_json::{Value, json};
use userpool_core::store::UserStore;
use userpool_store::SqlStore;

use crate::browser::*;
use crate::saml_idp::{PyIdp, form_of};

pub const APP: &str = "samlapp000000000000000000001";
pub const USER: &str = "alice-persistent-id";

/// The pool with one SAML IdP, `Corp`, and a client that signs in only through it.
pub fn with_saml(pool: &mut Value, idp: &PyIdp, details: Value) {
    let mut d = json!({"MetadataFile": idp.metadata, "IDPSignout": "true",
        "RequestSigningAlgorithm": "rsa-sha256"});
    d.as_object_mut()
        .unwrap()
        .extend(details.as_object().unwrap().clone());
    if d.get("MetadataURL").is_some() {
        d.as_object_mut().unwrap().remove("MetadataFile");
    }
    pool["IdentityProviders"] = json!([{
        "ProviderName": "Corp", "ProviderType": "SAML", "ProviderDetails": d,
        "AttributeMapping": {"email": "email", "name": "name"},
        "IdpIdentifiers": ["corp.test"]
    }]);
    pool["Clients"].as_array_mut().unwrap().push(json!({
        "ClientName": "samlapp", "ClientId": APP,
        "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid", "email", "profile"],
        "CallbackURLs": ["https://app.test/cb"], "LogoutURLs": ["https://app.test/bye"],
        "SupportedIdentityProviders": ["Corp"]}));
}

/// Our SP metadata for one of our IdP configurations.
pub async fn sp_metadata(sp_base: &str, provider: &str) -> String {
    let r = crate::helpers::client()
        .get(format!(
            "{sp_base}/saml2/metadata?identity_provider={provider}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

pub async fn saml_server(idp: &PyIdp, details: Value) -> OAuthServer {
    let s = OAuthServer::start_with(&[], |p| with_saml(p, idp, details)).await;
    idp.trust(&s.base, "Corp").await;
    s
}

pub fn authorize_query() -> String {
    format!(
        "client_id={APP}&response_type=code&scope=openid+email+profile&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=app-state&identity_provider=Corp"
    )
}

/// Our authorize → the IdP's SSO URL (returned) with a pending sign-in in `b`.
pub async fn start(b: &mut Browser, s: &OAuthServer) -> String {
    let start = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.base,
            authorize_query()
        ))
        .await;
    start
        .location
        .clone()
        .unwrap_or_else(|| panic!("a redirect to the IdP: {} {}", start.status, start.body))
}

/// Posts the auto-post form of `page` as a browser would.
pub async fn submit(b: &mut Browser, page: &Page) -> Page {
    let (action, fields) = form_of(&page.body);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post_form(&action, &fields).await
}

/// SP-initiated sign-in through the IdP; returns our answer to the IdP's POST.
pub async fn sign_in(b: &mut Browser, s: &OAuthServer) -> Page {
    let to_idp = start(b, s).await;
    let idp_page = b.get(&to_idp).await;
    assert_eq!(idp_page.status, 200, "{}", idp_page.body);
    submit(b, &idp_page).await
}

/// The query parameter `name` of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The ID of the AuthnRequest in a Redirect-binding URL.
pub fn request_id(to_idp: &str) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(param(to_idp, "SAMLRequest").unwrap())
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&raw[..])
        .read_to_string(&mut xml)
        .unwrap();
    let at = xml.find(" ID=\"").unwrap() + 5;
    xml[at..].split('"').next().unwrap().to_string()
}

pub async fn redeem(s: &OAuthServer, page: &Page) -> Value {
    let loc = page.location.clone().unwrap_or_default();
    assert!(
        loc.starts_with("https://app.test/cb?code="),
        "{loc} {} {}",
        page.status,
        page.body
    );
    assert_eq!(page.location_param("state").as_deref(), Some("app-state"));
    let code = page.location_param("code").unwrap();
    let (status, tokens) = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", APP),
                ("code", &code),
                ("redirect_uri", "https://app.test/cb"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

pub async fn user_exists(s: &OAuthServer, username: &str) -> bool {
    let store = SqlStore::open(&s.database).await.unwrap();
    let found = store
        .get_user(&s.pool_id, username)
        .await
        .unwrap()
        .is_some();
    store.close().await;
    found
}

/// With a session, `prompt=none` signs in silently; without one it is `login_required`.
async fn has_session(b: &mut Browser, s: &OAuthServer) -> bool {
    let q = authorize_query().replace("&identity_provider=Corp", "&prompt=none");
    let page = b.get(&format!("{}/oauth2/authorize?{q}", s.base)).await;
    page.location_param("code").is_some()
}

fn check_claims(tokens: &Value, idp: &PyIdp) {
    let id = claims(tokens["id_token"].as_str().unwrap());
    let username = format!("corp_{USER}");
    assert_eq!(id["cognito:username"], username.as_str(), "{id}");
    assert_eq!(id["email"], "alice@corp.test");
    assert_eq!(id["name"], "Alice Corp");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], APP);
    let identities = id["identities"].as_array().expect("identities is an array");
    assert_eq!(identities[0]["providerType"], "SAML");
    assert_eq!(identities[0]["providerName"], "Corp");
    assert_eq!(identities[0]["userId"], USER);
    assert_eq!(identities[0]["issuer"], idp.entity_id().as_str());
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["username"], username.as_str());
    assert_eq!(access["client_id"], APP);
}

#[tokio::test]
async fn sp_initiated_sign_in_with_every_signing_choice() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    for config in [
        json!({"sign_assertion": true, "sign_response": false}),
        json!({"sign_assertion": false, "sign_response": true}),
        json!({"sign_assertion": true, "sign_response": true}),
    ] {
        idp.configure(config.clone()).await;
        let mut b = Browser::default();
        let to_idp = start(&mut b, &s).await;
        assert!(to_idp.starts_with(&format!("{}/sso/redirect?", idp.base)));
        for p in ["SAMLRequest", "RelayState", "SigAlg", "Signature"] {
            assert!(param(&to_idp, p).is_some(), "{p} in {to_idp}");
        }
        let idp_page = b.get(&to_idp).await;
        assert_eq!(idp_page.status, 200, "{}\n{}", idp_page.body, idp.log());
        let st = idp.state().await;
        assert_eq!(st["last_authn_request"]["signature_valid"], true, "{st}");
        assert_eq!(st["last_authn_request"]["id"], request_id(&to_idp).as_str());
        let answer = submit(&mut b, &idp_page).await;
        let tokens = redeem(&s, &answer).await;
        check_claims(&tokens, &idp);
        assert!(has_session(&mut b, &s).await, "{config}");
    }
}

#[tokio::test]
async fn encrypted_assertions_are_required_and_decrypted() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({"EncryptedResponses": "true"})).await;
    let md = sp_metadata(&s.base, "Corp").await;
    assert!(md.contains("use=\"encryption\""), "{md}");
    assert!(md.contains(&format!("urn:amazon:cognito:sp:{}", s.pool_id)));
    idp.configure(json!({"sign_assertion": true, "encrypt_assertion": true}))
        .await;
    let mut b = Browser::default();
    let answer = sign_in(&mut b, &s).await;
    check_claims(&redeem(&s, &answer).await, &idp);
    // A plaintext assertion is refused while encryption is required.
    idp.configure(json!({"sign_assertion": true, "encrypt_assertion": false}))
        .await;
    let mut b = Browser::default();
    let answer = sign_in(&mut b, &s).await;
    assert_eq!(
        answer.location_param("error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        answer
            .location_param("error_description")
            .unwrap()
            .starts_with("Invalid SAML response received: "),
    );
}

#[tokio::test]
async fn idp_initiated_sign_in_only_when_allowed() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    let relay = authorize_query();
    let url = format!(
        "{}/idp-initiated?relay_state={}",
        idp.base,
        form_urlencoded::byte_serialize(relay.as_bytes()).collect::<String>()
    );
    let mut b = Browser::default();
    let page = b.get(&url).await;
    let answer = submit(&mut b, &page).await;
    assert_eq!(
        answer.location_param("error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        answer.location_param("error_description").as_deref(),
        Some("Invalid samlResponse or relayState from identity provider")
    );
    assert!(!user_exists(&s, &format!("corp_{USER}")).await);

    let idp2 = PyIdp::start();
    let s2 = saml_server(&idp2, json!({"IDPInit": "true"})).await;
    let url = url.replace(&idp.base, &idp2.base);
    let mut b = Browser::default();
    let page = b.get(&url).await;
    let answer = submit(&mut b, &page).await;
    check_claims(&redeem(&s2, &answer).await, &idp2);
    // RelayState is an authorize query and is checked as one: an unregistered redirect_uri
    // never receives anything.
    let evil = url.replace("app.test", "evil.test");
    let page = b.get(&evil).await;
    let answer = submit(&mut b, &page).await;
    assert!(
        !answer
            .location
            .clone()
            .unwrap_or_default()
            .contains("evil.test"),
        "{:?}",
        answer.location
    );
}

#[tokio::test]
async fn sp_initiated_logout_goes_through_the_idp() {
    let idp = PyIdp::start();
    // This IdP's metadata comes from its URL (fetched with a timeout, cached).
    let s = saml_server(
        &idp,
        json!({"MetadataURL": format!("{}/metadata", idp.base)}),
    )
    .await;
    idp.configure(json!({"session_index": "idp-session-7"}))
        .await;
    let mut b = Browser::default();
    let answer = sign_in(&mut b, &s).await;
    redeem(&s, &answer).await;
    assert!(has_session(&mut b, &s).await);
    let out = b
        .get(&format!(
            "{}/logout?client_id={APP}&logout_uri=https%3A%2F%2Fapp.test%2Fbye",
            s.base
        ))
        .await;
    let to_idp = out.location.clone().unwrap();
    assert!(
        to_idp.starts_with(&format!("{}/slo/redirect?", idp.base)),
        "{to_idp}"
    );
    assert!(param(&to_idp, "Signature").is_some());
    let idp_page = b.get(&to_idp).await;
    assert_eq!(idp_page.status, 200, "{}", idp_page.body);
    let st = idp.state().await;
    assert_eq!(st["last_logout_request"]["signature_valid"], true, "{st}");
    assert_eq!(st["last_logout_request"]["name_id"], USER);
    assert_eq!(st["last_logout_request"]["session_index"], "idp-session-7");
    let done = submit(&mut b, &idp_page).await;
    assert_eq!(
        done.location.as_deref(),
        Some("https://app.test/bye"),
        "{}",
        s.log()
    );
    assert!(!has_session(&mut b, &s).await);
    // Only the POST binding is accepted.
    let get = crate::helpers::client()
        .get(format!("{}/saml2/logout", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    // The same LogoutResponse again finds no pending logout.
    let again = submit(&mut b, &idp_page).await;
    assert_ne!(again.location.as_deref(), Some("https://app.test/bye"));
}

#[tokio::test]
async fn idp_initiated_logout_ends_the_session_and_answers_signed() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    idp.configure(json!({"session_index": "idp-session-9"}))
        .await;
    let mut b = Browser::default();
    let answer = sign_in(&mut b, &s).await;
    redeem(&s, &answer).await;
    let mut other = Browser::default();
    let answer = sign_in(&mut other, &s).await;
    redeem(&s, &answer).await;
    assert!(has_session(&mut b, &s).await && has_session(&mut other, &s).await);
    // A session index the user does not have ends nothing.
    let page = b
        .get(&format!(
            "{}/admin/idp-logout?name_id={USER}&session_index=unknown",
            idp.base
        ))
        .await;
    submit(&mut b, &page).await;
    assert!(has_session(&mut b, &s).await);
    let page = b
        .get(&format!(
            "{}/admin/idp-logout?name_id={USER}&session_index=idp-session-9",
            idp.base
        ))
        .await;
    let ours = submit(&mut b, &page).await;
    let back = ours
        .location
        .clone()
        .expect("our LogoutResponse goes to the IdP");
    assert!(
        back.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)),
        "{back}"
    );
    let idp_answer = b.get(&back).await;
    assert_eq!(idp_answer.status, 200, "{}", idp_answer.body);
    let st = idp.state().await;
    assert_eq!(st["last_logout_response"]["signature_valid"], true, "{st}");
    assert_eq!(
        st["last_logout_response"]["in_response_to"],
        st["sent_logout_request_id"]
    );
    // Both sessions of that IdP session end (the same SessionIndex in both browsers).
    assert!(!has_session(&mut b, &s).await);
    assert!(!has_session(&mut other, &s).await);
    // An unsigned LogoutRequest ends nothing (SM25).
    let mut c = Browser::default();
    let answer = sign_in(&mut c, &s).await;
    redeem(&s, &answer).await;
    let unsigned = c
        .get(&format!(
            "{}/admin/idp-logout?name_id={USER}&session_index=idp-session-9&sign=0",
            idp.base
        ))
        .await;
    let refused = submit(&mut c, &unsigned).await;
    assert!(refused.location.is_none(), "{:?}", refused.location);
    assert!(has_session(&mut c, &s).await);
    // Replaying the IdP's signed LogoutRequest is refused and ends nothing.
    let replay = submit(&mut c, &page).await;
    assert!(replay.location.is_none(), "{:?}", replay.location);
    assert!(has_session(&mut c, &s).await);
}

#[tokio::test]
async fn an_https_server_refuses_plain_http_loopback_metadata() {
    let idp = PyIdp::start();
    let details = json!({"MetadataURL": format!("{}/metadata", idp.base)});
    let s = OAuthServer::start_with(
        &["--public-url", "https://auth.test", "--dev-outbox"],
        |p| with_saml(p, &idp, details),
    )
    .await;
    let mut b = Browser::default();
    let start = b
        .get(&format!(
            "{}/oauth2/authorize?{}",
            s.local,
            authorize_query()
        ))
        .await;
    assert_eq!(
        start.location_param("error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        start.location_param("error_description").as_deref(),
        Some("identity provider misconfigured")
    );
    assert!(s.log().contains("must be an https URL"), "{}", s.log());
}

/// SM23: NameIDs are exact. In a case-sensitive pool `Alice@corp.test` and `alice@corp.test`
/// are two users; in a case-insensitive one they share a username and the second is refused,
/// never merged into the first.
#[tokio::test]
async fn name_ids_are_exact() {
    let idp = PyIdp::start();
    let s = OAuthServer::start_with(&[], |p| {
        with_saml(p, &idp, json!({}));
        p["UsernameConfiguration"]["CaseSensitive"] = json!(true);
    })
    .await;
    idp.trust(&s.base, "Corp").await;
    for name in ["Alice@corp.test", "alice@corp.test"] {
        idp.configure(json!({"name_id": name})).await;
        let mut b = Browser::default();
        let answer = sign_in(&mut b, &s).await;
        let id = claims(redeem(&s, &answer).await["id_token"].as_str().unwrap());
        assert_eq!(id["cognito:username"], format!("Corp_{name}").as_str());
        assert_eq!(id["identities"][0]["userId"], name);
    }

    let insensitive = saml_server(&idp, json!({})).await;
    idp.trust(&insensitive.base, "Corp").await;
    idp.configure(json!({"name_id": "Alice@corp.test"})).await;
    let mut b = Browser::default();
    redeem(&insensitive, &sign_in(&mut b, &insensitive).await).await;
    idp.configure(json!({"name_id": "alice@corp.test"})).await;
    let mut b = Browser::default();
    let second = sign_in(&mut b, &insensitive).await;
    assert_eq!(
        second.location_param("error").as_deref(),
        Some("invalid_request")
    );
}
