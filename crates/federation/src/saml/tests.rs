//! Round trips of the strict layer against messages signed here with bergshamra: the good
//! shapes pass, and a few of the classic attacks fail. The full generated corpus runs in the
//! server's end-to-end tests against a real IdP.

use super::credentials::{self, Credential};
use super::response::{self, Expectations};
use super::xml::format_instant;

const SP: &str = "urn:amazon:cognito:sp:us-east-1_Test";
const ACS: &str = "https://auth.test/saml2/idpresponse";
const IDP: &str = "https://idp.test/entity";

fn sig_template(reference: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##
    )
}

fn assertion(now: i64, name: &str, signed: bool) -> String {
    let sig = if signed {
        sig_template("_a1")
    } else {
        String::new()
    };
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="{t}"><saml:Issuer>{IDP}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="_req1" NotOnOrAfter="{later}" Recipient="{ACS}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{t}" NotOnOrAfter="{later}"><saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{t}" SessionIndex="_s1"/><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>alice@corp.test</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        t = format_instant(now),
        later = format_instant(now + 300),
    )
}

fn response(now: i64, inner: &str, signed: bool) -> String {
    let sig = if signed {
        sig_template("_r1")
    } else {
        String::new()
    };
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{}" Destination="{ACS}" InResponseTo="_req1"><saml:Issuer>{IDP}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#,
        format_instant(now)
    )
}

fn sign(key: &Credential, xml: &str) -> String {
    let mut km = bergshamra::KeysManager::new();
    km.add_key(bergshamra::keys::loader::load_pem_auto(key.key_pem.as_bytes(), None).unwrap());
    bergshamra::sign(&bergshamra::DsigContext::new(km), xml).unwrap()
}

fn check(idp: &Credential, xml: &str, now: i64) -> Result<String, String> {
    let x = Expectations {
        idp_entity_id: IDP.into(),
        signing_certs: vec![credentials::cert_der(&idp.cert_pem).unwrap()],
        sp_entity_id: SP.into(),
        acs_url: ACS.into(),
        in_response_to: Some("_req1".into()),
        require_encryption: false,
        decryption_keys: vec![],
        now,
    };
    response::verify(xml, &x)
        .map(|a| a.name_id.value)
        .map_err(|e| format!("{}: {}", e.public, e.detail))
}

#[test]
fn signed_assertion_and_signed_response_pass() {
    let now = 1_800_000_000;
    let idp = credentials::generate("idp", now - 10).unwrap();
    let a = sign(&idp, &response(now, &assertion(now, "alice", true), false));
    assert_eq!(check(&idp, &a, now), Ok("alice".into()));
    let r = sign(&idp, &response(now, &assertion(now, "alice", false), true));
    assert_eq!(check(&idp, &r, now), Ok("alice".into()));
}

#[test]
fn tampering_foreign_keys_and_wrapping_fail() {
    let now = 1_800_000_000;
    let idp = credentials::generate("idp", now - 10).unwrap();
    let other = credentials::generate("evil", now - 10).unwrap();
    let good = sign(&idp, &response(now, &assertion(now, "alice", true), false));
    let tampered = good.replace(">alice<", ">admin<");
    assert!(check(&idp, &tampered, now).is_err());
    let foreign = sign(
        &other,
        &response(now, &assertion(now, "alice", true), false),
    );
    assert!(check(&idp, &foreign, now).is_err());
    let unsigned = response(now, &assertion(now, "alice", false), false);
    assert!(check(&idp, &unsigned, now).unwrap_err().contains("neither"));
    // XSW3: an unsigned evil Assertion before the signed one.
    let signed_assertion = {
        let s = sign(&idp, &response(now, &assertion(now, "alice", true), false));
        let start = s.find("<saml:Assertion").unwrap();
        let end = s.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        s[start..end].to_string()
    };
    let evil = assertion(now, "admin", false).replace("_a1", "_evil");
    let xsw3 = response(now, &format!("{evil}{signed_assertion}"), false);
    assert!(
        check(&idp, &xsw3, now)
            .unwrap_err()
            .contains("exactly one Assertion")
    );
    let doctype = format!("<!DOCTYPE r []>{good}");
    assert!(check(&idp, &doctype, now).is_err());
    let comment = good.replace(">alice<", ">ali<!---->ce<");
    assert!(check(&idp, &comment, now).is_err());
}

#[test]
fn time_audience_and_request_are_checked() {
    let now = 1_800_000_000;
    let idp = credentials::generate("idp", now - 10).unwrap();
    let good = sign(&idp, &response(now, &assertion(now, "alice", true), false));
    assert!(
        check(&idp, &good, now + 600)
            .unwrap_err()
            .contains("expired")
    );
    assert!(
        check(&idp, &good, now - 600)
            .unwrap_err()
            .contains("not yet valid")
    );
    let wrong_audience = sign(
        &idp,
        &response(
            now,
            &assertion(now, "alice", true).replace(SP, "urn:other"),
            false,
        ),
    );
    assert!(
        check(&idp, &wrong_audience, now)
            .unwrap_err()
            .contains("Audience")
    );
    let wrong_request = sign(
        &idp,
        &response(now, &assertion(now, "alice", true), false).replace("_req1", "_req2"),
    );
    assert!(check(&idp, &wrong_request, now).is_err());
}

#[test]
fn redirect_messages_carry_a_verifiable_signature() {
    let now = 1_800_000_000;
    let sp = credentials::generate("sp", now).unwrap();
    let xml = super::messages::authn_request("_x", now, "https://idp.test/sso", ACS, SP);
    let url = super::messages::redirect_url(
        "https://idp.test/sso",
        "SAMLRequest",
        &xml,
        Some("rs"),
        Some(&sp.key_pem),
    )
    .unwrap();
    let query = url.split_once('?').unwrap().1;
    let (signed, sig) = query.split_once("&Signature=").unwrap();
    let sig: String = form_urlencoded::parse(format!("s={sig}").as_bytes())
        .next()
        .unwrap()
        .1
        .into();
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    let cert = credentials::cert_der(&sp.cert_pem).unwrap();
    let parsed = <x509_cert::Certificate as x509_cert::der::Decode>::from_der(&cert).unwrap();
    let spki = parsed
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        spki,
    )
    .verify(signed.as_bytes(), &sig)
    .unwrap();
    let md = super::metadata::not_after(&cert).unwrap();
    assert!(md > now + 9 * 365 * 86_400);
}

fn metadata_with(certs: &[&Credential]) -> String {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                credentials::cert_base64(&c.cert_pem)
            )
        })
        .collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/slo"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/post"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

#[test]
fn metadata_gives_locations_and_every_signing_certificate() {
    let now = 1_800_000_000;
    let old = credentials::generate("old", now - 10).unwrap();
    let new = credentials::generate("new", now - 10).unwrap();
    let md = super::metadata::parse(&metadata_with(&[&old, &new]), now).unwrap();
    assert_eq!(md.entity_id, IDP);
    assert_eq!(md.sso_redirect, "https://idp.test/sso");
    assert_eq!(md.slo_redirect.as_deref(), Some("https://idp.test/slo"));
    assert_eq!(md.signing_certs.len(), 2);
    // Either certificate may sign.
    let signed = sign(&new, &response(now, &assertion(now, "alice", true), false));
    let x = Expectations {
        idp_entity_id: IDP.into(),
        signing_certs: md.signing_certs.clone(),
        sp_entity_id: SP.into(),
        acs_url: ACS.into(),
        in_response_to: Some("_req1".into()),
        require_encryption: false,
        decryption_keys: vec![],
        now,
    };
    assert!(response::verify(&signed, &x).is_ok());
}

#[test]
fn metadata_without_usable_certificates_is_refused() {
    let now = 1_800_000_000;
    let expired = credentials::generate("expired", now - 11 * 365 * 86_400).unwrap();
    let err = super::metadata::parse(&metadata_with(&[&expired]), now).unwrap_err();
    assert!(err.contains("expired"), "{err}");
    let err = super::metadata::parse(&metadata_with(&[]), now).unwrap_err();
    assert!(err.contains("no signing certificate"), "{err}");
    assert!(super::metadata::parse("<!DOCTYPE x []><x/>", now).is_err());
}

/// A small deterministic fuzz of the verify entry point: single-byte changes anywhere in a good
/// response never panic and never yield a different user or attribute.
#[test]
fn mutated_responses_never_change_who_signs_in() {
    let now = 1_800_000_000;
    let idp = credentials::generate("idp", now - 10).unwrap();
    for signed in [
        sign(&idp, &response(now, &assertion(now, "alice", true), false)),
        sign(&idp, &response(now, &assertion(now, "alice", false), true)),
    ] {
        let bytes = signed.as_bytes();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..400 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let at = (seed >> 33) as usize % bytes.len();
            let with = b"<>\"'=/ a1Z-_:#&;!"[(seed >> 20) as usize % 17];
            let mut m = bytes.to_vec();
            m[at] = with;
            let Ok(text) = String::from_utf8(m) else {
                continue;
            };
            if let Ok(name) = check(&idp, &text, now) {
                assert_eq!(name, "alice", "mutation at {at} to {:?}", with as char);
            }
        }
    }
}

#[test]
fn structured_attribute_values_are_skipped_but_comments_refused() {
    let now = 1_800_000_000;
    let idp = credentials::generate("idp", now - 10).unwrap();
    let with_value = |value: &str| {
        let a = assertion(now, "alice", true).replace(
            "<saml:AttributeValue>alice@corp.test</saml:AttributeValue>",
            &format!("<saml:AttributeValue>alice@corp.test</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"eptid\"><saml:AttributeValue>{value}</saml:AttributeValue>"),
        );
        sign(&idp, &response(now, &a, false))
    };
    let x = |xml: &str| {
        let e = Expectations {
            idp_entity_id: IDP.into(),
            signing_certs: vec![credentials::cert_der(&idp.cert_pem).unwrap()],
            sp_entity_id: SP.into(),
            acs_url: ACS.into(),
            in_response_to: Some("_req1".into()),
            require_encryption: false,
            decryption_keys: vec![],
            now,
        };
        response::verify(xml, &e)
    };
    let structured = x(&with_value(r#"<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">abc</saml:NameID>"#)).unwrap();
    assert_eq!(
        structured.attributes["email"],
        vec!["alice@corp.test".to_string()]
    );
    assert!(structured.attributes["eptid"].is_empty());
    assert!(x(&with_value("ab<!---->c")).is_err());
}
