//! The generated SAML attack corpus (checklist SM01–SM21, §3.2–§3.3): `tests/saml/cases.py`
//! signs each case with lxml + signxml using the IdP's real key; each is posted to our ACS
//! answering a real pending AuthnRequest. Every "reject" case must reach the app as
//! `invalid_request` (or our error page) and create no user and no session; the positive
//! controls must sign in. Replays are refused, also by a second node.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::browser::*;
use crate::saml::*;
use crate::saml_idp::{PyIdp, repo_file};

const CASES: &[&str] = &[
    "strip_signatures",
    "empty_signature_value",
    "resign_with_attacker_key",
    "tampered_nameid",
    "xsw1",
    "xsw2",
    "xsw3",
    "xsw4",
    "xsw5",
    "xsw6",
    "xsw7",
    "xsw8",
    "xsw7_schema_valid",
    "two_assertions_cve_2022_41912",
    "comment_injection_nameid",
    "expired_conditions",
    "not_yet_valid",
    "expired_subjectconfirmation",
    "wrong_audience",
    "no_audience",
    "wrong_destination",
    "wrong_recipient",
    "wrong_inresponseto",
    "missing_inresponseto",
    "wrong_issuer",
    "status_responder",
    "decoy_signature_error_response",
    "xslt_transform",
    "injected_digestvalue_cve_2024_45409",
    "comment_in_digestvalue_cve_2025_29775",
    "two_references",
    "rsa_sha1_signature",
    "doctype_plain",
    "xxe_file",
    "billion_laughs",
    "oversized",
    "reference_uri_empty",
    "signature_moved",
    "hmac_sha256_signature",
    "xxe_external_general",
    "xxe_parameter",
    "signed_assertion_in_extensions",
    "unsigned_fields_forged",
];
const CONTROLS: &[&str] = &[
    "good_assertion_signed",
    "good_response_signed",
    "good_both_signed",
];
const ATTACKED: &str = "admin@example.test";

/// A loopback listener that counts connections: XSLT and external-entity cases point at it,
/// and nothing may ever call it (checklist SM07, SM11).
struct Canary {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Canary {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Canary { url, hits }
    }
}

/// Runs the generator for `cases` (name, InResponseTo) and returns its JSON.
fn generate(idp: &PyIdp, s: &OAuthServer, cases: &[(String, Option<String>)]) -> Vec<Value> {
    generate_with(idp, s, cases, None)
}

fn generate_with(
    idp: &PyIdp,
    s: &OAuthServer,
    cases: &[(String, Option<String>)],
    canary: Option<&str>,
) -> Vec<Value> {
    generate_more(idp, s, cases, canary, json!({}))
}

/// As `generate_with`, with more generator inputs (`sp_encryption_cert`, `slo`, …).
fn generate_more(
    idp: &PyIdp,
    s: &OAuthServer,
    cases: &[(String, Option<String>)],
    canary: Option<&str>,
    extra: Value,
) -> Vec<Value> {
    let mut input = json!({
        "canary_url": canary.unwrap_or("http://127.0.0.1:9"),
        "idp_key": idp.dir.path().join("idp.key"),
        "idp_cert": idp.dir.path().join("idp.crt"),
        "issuer": idp.entity_id(),
        "audience": format!("urn:amazon:cognito:sp:{}", s.pool_id),
        "acs": format!("{}/saml2/idpresponse", s.base),
        "name_id": ATTACKED,
        "cases": cases.iter().map(|(n, irt)| json!({"name": n, "in_response_to": irt})).collect::<Vec<_>>(),
        "slo": format!("{}/saml2/logout", s.base),
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut child = Command::new("python3")
        .arg(repo_file("tests/saml/cases.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A pending SP-initiated sign-in: its browser, RelayState and AuthnRequest ID.
async fn pending(s: &OAuthServer) -> (Browser, String, String) {
    let mut b = Browser::default();
    let to_idp = start(&mut b, s).await;
    let relay = param(&to_idp, "RelayState").unwrap();
    (b, relay, request_id(&to_idp))
}

async fn post(b: &mut Browser, base: &str, response: &str, relay: &str) -> Page {
    b.post_form(
        &format!("{base}/saml2/idpresponse"),
        &[("SAMLResponse", response), ("RelayState", relay)],
    )
    .await
}

fn signed_in(page: &Page) -> bool {
    page.location_param("code").is_some()
}

fn assert_refused(case: &str, page: &Page) {
    assert!(!signed_in(page), "{case} signed in");
    assert!(
        !page.headers.get_all("set-cookie").iter().any(|c| {
            let c = c.to_str().unwrap();
            c.contains("userpool-session=") && !c.contains("Max-Age=0")
        }),
        "{case} started a session"
    );
    match page.location.as_deref() {
        Some(loc) if loc.starts_with("https://app.test/cb?") => {
            assert_eq!(
                page.location_param("error").as_deref(),
                Some("invalid_request"),
                "{case}"
            );
            let d = page.location_param("error_description").unwrap_or_default();
            assert!(!d.contains('<'), "{case}: no XML echoed: {d}");
        }
        // Without usable state: our error page.
        other => assert!(
            other.is_none_or(|l| l.starts_with("/error")) && page.status < 500,
            "{case}: {} {other:?} {}",
            page.status,
            page.body
        ),
    }
}

/// Posts each generated case to a pending sign-in of its own: the `accepted` ones must sign
/// in; every other one must be refused, create no user and no session, and nothing may reach
/// the canary. Returns the refused cases' answers.
async fn run_corpus(
    idp: &PyIdp,
    s: &OAuthServer,
    rejected: &[&str],
    accepted: &[&str],
    extra: Value,
) -> Vec<(String, Page)> {
    let mut flows = Vec::new();
    for case in rejected.iter().chain(accepted) {
        flows.push((case.to_string(), pending(s).await));
    }
    let named: Vec<(String, Option<String>)> = flows
        .iter()
        .map(|(c, (_, _, id))| (c.clone(), Some(id.clone())))
        .collect();
    let canary = Canary::start().await;
    let generated = generate_more(idp, s, &named, Some(&canary.url), extra);
    assert_eq!(generated.len(), named.len());
    let user = format!("corp_{ATTACKED}");
    let mut refused = Vec::new();
    for ((case, (mut b, relay, _)), g) in flows.into_iter().zip(&generated) {
        assert_eq!(g["name"], case.as_str());
        let page = post(
            &mut b,
            &s.base,
            g["saml_response"].as_str().unwrap(),
            &relay,
        )
        .await;
        if accepted.contains(&case.as_str()) {
            assert!(signed_in(&page), "{case}: {:?} {}", page.location, s.log());
            continue;
        }
        assert_eq!(g["expect"], "reject", "{case}");
        assert_refused(&case, &page);
        assert!(!user_exists(s, &user).await, "{case} created the user");
        refused.push((case, page));
    }
    assert!(user_exists(s, &user).await, "the accepted cases sign in");
    assert_eq!(
        canary.hits.load(Ordering::SeqCst),
        0,
        "nothing fetched the canary"
    );
    refused
}

#[tokio::test]
async fn the_generated_attack_corpus_is_refused() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    run_corpus(&idp, &s, CASES, CONTROLS, json!({})).await;
}

#[tokio::test]
async fn an_assertion_is_accepted_once_across_nodes() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({"IDPInit": "true"})).await;
    let node_b = s.second_node();
    let generated = generate(&idp, &s, &[("good_assertion_signed".into(), None)]);
    let response = generated[0]["saml_response"].as_str().unwrap();
    let relay = authorize_query();
    let mut b = Browser::default();
    let first = post(&mut b, &s.base, response, &relay).await;
    assert!(signed_in(&first), "{:?} {}", first.location, s.log());
    let again = post(&mut b, &s.base, response, &relay).await;
    assert_refused("replay", &again);
    // The other node, asked for the same pool (its Host), refuses it too.
    let host = s.base.trim_start_matches("http://").to_string();
    let r = crate::helpers::client()
        .post(format!("{}/saml2/idpresponse", node_b.url))
        .header("host", host)
        .form(&[("SAMLResponse", response), ("RelayState", relay.as_str())])
        .send()
        .await
        .unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        loc.as_deref()
            .is_some_and(|l| l.contains("error=invalid_request") && !l.contains("code=")),
        "{loc:?}"
    );
    node_b.stop();
}

#[tokio::test]
async fn unsolicited_responses_need_idp_init() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    let generated = generate(&idp, &s, &[("good_assertion_signed".into(), None)]);
    let mut b = Browser::default();
    let page = post(
        &mut b,
        &s.base,
        generated[0]["saml_response"].as_str().unwrap(),
        &authorize_query(),
    )
    .await;
    assert_refused("unsolicited", &page);
    assert_eq!(
        page.location_param("error_description").as_deref(),
        Some("Invalid samlResponse or relayState from identity provider")
    );
    // Bodies around Cognito's 100,000-character limit reach the handler (no 413 from a body
    // limit); the size rule itself is the corpus's `oversized` case.
    for (len, status) in [(99_996, 302), (100_004, 302)] {
        let page = post(&mut b, &s.base, &"A".repeat(len), &authorize_query()).await;
        assert_eq!(page.status, status, "{len}: {}", page.body);
        assert_eq!(
            page.location_param("error").as_deref(),
            Some("invalid_request")
        );
    }
    // A RelayState pointing elsewhere is never a redirect target (SM24).
    let page = post(
        &mut b,
        &s.base,
        generated[0]["saml_response"].as_str().unwrap(),
        "https://evil.test/",
    )
    .await;
    assert!(!page.location.unwrap_or_default().contains("evil.test"));
}

#[tokio::test]
async fn a_response_counts_only_in_the_browser_that_asked() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    let (_, relay, id) = pending(&s).await;
    let generated = generate(&idp, &s, &[("good_assertion_signed".into(), Some(id))]);
    // Another browser (without the binding cookie) posts the victim's pending sign-in.
    let mut attacker = Browser::default();
    let page = post(
        &mut attacker,
        &s.base,
        generated[0]["saml_response"].as_str().unwrap(),
        &relay,
    )
    .await;
    assert_refused("another browser", &page);
    assert!(!user_exists(&s, &format!("corp_{ATTACKED}")).await);
}

const ENCRYPTED_REJECTED: &[&str] = &[
    "encrypted_unsigned",
    "encrypted_opaque_type",
    "encrypted_tampered_ciphertext",
    "encrypted_rsa_1_5",
    "encrypted_two_keys",
    "encrypted_to_attacker_cert",
    "encrypted_xsw_two_assertions",
    "encrypted_tripledes",
];
const ENCRYPTED_ACCEPTED: &[&str] = &[
    "encrypted_good_gcm",
    "encrypted_good_response_signed_cbc",
    "encrypted_good_retrieval_method",
];

/// Our encryption certificate for `Corp`, from the SP metadata, as a PEM file.
async fn encryption_cert(s: &OAuthServer) -> std::path::PathBuf {
    let md = sp_metadata(&s.base, "Corp").await;
    let at = md.find("use=\"encryption\"").expect("an encryption key");
    let start = md[at..].find("<ds:X509Certificate>").unwrap() + at + 20;
    let end = md[start..].find("</ds:X509Certificate>").unwrap() + start;
    let body = &md[start..end];
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let path = s.dir.path().join("sp-encryption.crt");
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn encrypted_assertions_resist_the_encryption_attacks() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({"EncryptedResponses": "true"})).await;
    let cert = encryption_cert(&s).await;
    let extra = json!({"sp_encryption_cert": cert});
    for (case, page) in run_corpus(&idp, &s, ENCRYPTED_REJECTED, ENCRYPTED_ACCEPTED, extra).await {
        // Before a signature vouches for the content, every failure reads the same.
        assert_eq!(
            page.location_param("error_description").as_deref(),
            Some("Invalid SAML response received: Response could not be verified"),
            "{case}"
        );
    }
}

/// Posts a logout message as the IdP's page would (a cross-site form post).
async fn post_logout(s: &OAuthServer, g: &Value, relay: Option<&str>) -> Page {
    let mut form = vec![(
        g["field"].as_str().unwrap(),
        g["saml_response"].as_str().unwrap(),
    )];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    Browser::default()
        .post_form(&format!("{}/saml2/logout", s.base), &form)
        .await
}

/// Signs the attacked user in IdP-initiated with a generated response (in browser `b`).
async fn victim_signs_in(b: &mut Browser, s: &OAuthServer, response: &Value) {
    let page = post(
        b,
        &s.base,
        response["saml_response"].as_str().unwrap(),
        &authorize_query(),
    )
    .await;
    assert!(signed_in(&page), "{:?} {}", page.location, s.log());
}

async fn signed_in_still(b: &mut Browser, s: &OAuthServer) -> bool {
    let q = authorize_query().replace("&identity_provider=Corp", "&prompt=none");
    b.get(&format!("{}/oauth2/authorize?{q}", s.base))
        .await
        .location_param("code")
        .is_some()
}

#[tokio::test]
async fn forged_logout_messages_end_nothing() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({"IDPInit": "true"})).await;
    let requests = [
        "logout_request_unsigned",
        "logout_request_attacker_key",
        "logout_request_wrong_destination",
        "logout_request_wrong_issuer",
        "logout_request_wrapped_assertion",
        "logout_request_expired",
        "logout_request_good",
    ];
    let mut named = vec![("good_assertion_signed".to_string(), None)];
    named.extend(requests.iter().map(|c| (c.to_string(), None)));
    let generated = generate(&idp, &s, &named);
    let mut victim = Browser::default();
    victim_signs_in(&mut victim, &s, &generated[0]).await;
    for g in &generated[1..] {
        let case = g["name"].as_str().unwrap();
        let page = post_logout(&s, g, None).await;
        if case == "logout_request_good" {
            let back = page.location.clone().unwrap_or_default();
            assert!(
                back.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)),
                "{back}"
            );
            assert!(
                !signed_in_still(&mut victim, &s).await,
                "the genuine request ends the session"
            );
        } else {
            assert!(page.location.is_none(), "{case}: {:?}", page.location);
            assert!(
                signed_in_still(&mut victim, &s).await,
                "{case} ended the session"
            );
        }
    }

    // Our own logout waits for the IdP's answer; forged answers do not complete it.
    let again = generate(&idp, &s, &[("good_assertion_signed".into(), None)]);
    victim_signs_in(&mut victim, &s, &again[0]).await;
    let out = victim
        .get(&format!(
            "{}/logout?client_id={APP}&logout_uri=https%3A%2F%2Fapp.test%2Fbye",
            s.base
        ))
        .await;
    let to_idp = out.location.clone().unwrap();
    let relay = param(&to_idp, "RelayState").unwrap();
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        param(&to_idp, "SAMLRequest").unwrap(),
    )
    .unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut flate2::read::DeflateDecoder::new(&raw[..]), &mut xml)
        .unwrap();
    let at = xml.find(" ID=\"").unwrap() + 5;
    let request_id = xml[at..].split('"').next().unwrap().to_string();
    let answers = generate_more(
        &idp,
        &s,
        &[
            ("logout_response_wrong_inresponseto".into(), None),
            ("logout_response_unsigned".into(), None),
            ("logout_response_good".into(), None),
        ],
        None,
        json!({"logout_in_response_to": request_id}),
    );
    for g in &answers {
        let case = g["name"].as_str().unwrap();
        let page = post_logout(&s, g, Some(&relay)).await;
        if case == "logout_response_good" {
            assert_eq!(
                page.location.as_deref(),
                Some("https://app.test/bye"),
                "{}",
                s.log()
            );
        } else {
            assert_ne!(
                page.location.as_deref(),
                Some("https://app.test/bye"),
                "{case}"
            );
        }
    }
}

/// Two nodes asked for the SP metadata at the same moment make one signing key between them
/// (the database settles the race), and both publish it.
#[tokio::test]
async fn two_nodes_make_one_signing_key() {
    let idp = PyIdp::start();
    let s = OAuthServer::start_with(&[], |p| {
        with_saml(p, &idp, json!({"EncryptedResponses": "true"}))
    })
    .await;
    let node_b = s.second_node();
    let host = s.base.trim_start_matches("http://").to_string();
    let fetch = |base: String| {
        let host = host.clone();
        async move {
            crate::helpers::client()
                .get(format!("{base}/saml2/metadata?identity_provider=Corp"))
                .header("host", host)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(fetch(s.base.clone()), fetch(node_b.url.clone()));
    let certs = |md: &str| -> Vec<String> {
        md.split("<ds:X509Certificate>")
            .skip(1)
            .map(|c| c.split('<').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        certs(&a).len(),
        2,
        "one signing and one encryption certificate: {a}"
    );
    assert_eq!(certs(&a), certs(&b));
    node_b.stop();
}
