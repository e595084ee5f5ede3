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
    let input = json!({
        "canary_url": canary.unwrap_or("http://127.0.0.1:9"),
        "idp_key": idp.dir.path().join("idp.key"),
        "idp_cert": idp.dir.path().join("idp.crt"),
        "issuer": idp.entity_id(),
        "audience": format!("urn:amazon:cognito:sp:{}", s.pool_id),
        "acs": format!("{}/saml2/idpresponse", s.base),
        "name_id": ATTACKED,
        "cases": cases.iter().map(|(n, irt)| json!({"name": n, "in_response_to": irt})).collect::<Vec<_>>(),
    });
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

#[tokio::test]
async fn the_generated_attack_corpus_is_refused() {
    let idp = PyIdp::start();
    let s = saml_server(&idp, json!({})).await;
    let mut flows = Vec::new();
    for case in CASES.iter().chain(CONTROLS) {
        flows.push((case.to_string(), pending(&s).await));
    }
    let named: Vec<(String, Option<String>)> = flows
        .iter()
        .map(|(c, (_, _, id))| (c.clone(), Some(id.clone())))
        .collect();
    let canary = Canary::start().await;
    let generated = generate_with(&idp, &s, &named, Some(&canary.url));
    assert_eq!(generated.len(), named.len());
    let user = format!("corp_{ATTACKED}");
    for ((case, (mut b, relay, _)), g) in flows.into_iter().zip(&generated) {
        assert_eq!(g["name"], case.as_str());
        let page = post(
            &mut b,
            &s.base,
            g["saml_response"].as_str().unwrap(),
            &relay,
        )
        .await;
        if CONTROLS.contains(&case.as_str()) {
            assert!(signed_in(&page), "{case}: {:?} {}", page.location, s.log());
            continue;
        }
        assert_eq!(g["expect"], "reject", "{case}");
        assert_refused(&case, &page);
        assert!(!user_exists(&s, &user).await, "{case} created the user");
    }
    assert!(user_exists(&s, &user).await, "the controls sign in");
    assert_eq!(
        canary.hits.load(Ordering::SeqCst),
        0,
        "nothing fetched the canary"
    );
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
