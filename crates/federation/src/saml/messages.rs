//! The messages we send (spec §11.2, §12): AuthnRequest, LogoutRequest and LogoutResponse
//! over the HTTP-Redirect binding (raw DEFLATE, base64, detached signature), and our SP
//! metadata, which Cognito lacks and every IdP administrator asks for.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::NameId;
use super::credentials;
use super::xml::{escape, format_instant};

pub const SIG_ALG: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// A fresh message ID: XML IDs must not start with a digit.
pub fn new_id() -> String {
    format!("_{}", userpool_core::crypto::random_token())
}

pub fn authn_request(id: &str, now: i64, destination: &str, acs: &str, sp: &str) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}" AssertionConsumerServiceURL="{}" ProtocolBinding="{POST}"><saml:Issuer>{}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/></samlp:AuthnRequest>"#,
        escape(id),
        format_instant(now),
        escape(destination),
        escape(acs),
        escape(sp)
    )
}

fn name_id_xml(n: &NameId) -> String {
    let mut attrs = String::new();
    for (k, v) in [
        ("Format", &n.format),
        ("NameQualifier", &n.name_qualifier),
        ("SPNameQualifier", &n.sp_name_qualifier),
    ] {
        if let Some(v) = v {
            attrs.push_str(&format!(r#" {k}="{}""#, escape(v)));
        }
    }
    format!("<saml:NameID{attrs}>{}</saml:NameID>", escape(&n.value))
}

pub fn logout_request(
    id: &str,
    now: i64,
    destination: &str,
    sp: &str,
    name_id: &NameId,
    session_index: Option<&str>,
) -> String {
    let index = session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(s)))
        .unwrap_or_default();
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}" NotOnOrAfter="{}"><saml:Issuer>{}</saml:Issuer>{}{index}</samlp:LogoutRequest>"#,
        escape(id),
        format_instant(now),
        escape(destination),
        format_instant(now + 300),
        escape(sp),
        name_id_xml(name_id)
    )
}

pub fn logout_response(
    id: &str,
    now: i64,
    destination: &str,
    sp: &str,
    in_response_to: &str,
) -> String {
    format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}" InResponseTo="{}"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        escape(id),
        format_instant(now),
        escape(destination),
        escape(in_response_to),
        escape(sp)
    )
}

fn deflate(xml: &str) -> String {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes()).expect("writing to memory");
    STANDARD.encode(enc.finish().expect("writing to memory"))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The Redirect-binding URL for a message (`field` is `SAMLRequest` or `SAMLResponse`),
/// signed with `key_pem` when given.
pub fn redirect_url(
    location: &str,
    field: &str,
    xml: &str,
    relay_state: Option<&str>,
    key_pem: Option<&str>,
) -> Result<String, String> {
    let mut query = format!("{field}={}", enc(&deflate(xml)));
    if let Some(rs) = relay_state {
        query.push_str(&format!("&RelayState={}", enc(rs)));
    }
    if let Some(key) = key_pem {
        query.push_str(&format!("&SigAlg={}", enc(SIG_ALG)));
        let sig = credentials::sign(key, &query)?;
        query.push_str(&format!("&Signature={}", enc(&sig)));
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{sep}{query}"))
}

/// What our SP metadata says.
pub struct SpDescription<'a> {
    pub entity_id: &'a str,
    pub acs_url: &'a str,
    pub slo_url: &'a str,
    pub signing_certs: &'a [String],
    pub encryption_certs: &'a [String],
    pub sign_requests: bool,
}

pub fn sp_metadata(d: &SpDescription<'_>) -> String {
    let key = |usage: &str, pem: &String, extra: &str| {
        format!(
            r#"<md:KeyDescriptor use="{usage}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{extra}</md:KeyDescriptor>"#,
            credentials::cert_base64(pem)
        )
    };
    let mut keys = String::new();
    for c in d.signing_certs {
        keys.push_str(&key("signing", c, ""));
    }
    for c in d.encryption_certs {
        keys.push_str(&key(
            "encryption",
            c,
            r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/><md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#,
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}"><md:SPSSODescriptor AuthnRequestsSigned="{}" WantAssertionsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleLogoutService Binding="{POST}" Location="{}"/><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:AssertionConsumerService Binding="{POST}" Location="{}" index="1" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>
"#,
        escape(d.entity_id),
        d.sign_requests,
        escape(d.slo_url),
        escape(d.acs_url)
    )
}
