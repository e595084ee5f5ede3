//! `/saml2/idpresponse`'s validation of a `samlp:Response` (spec §11, checklist §3.1): size,
//! strict parse, structure, signatures over the pinned certificates, decryption, then every
//! semantic check — all read from the one tree and the one Assertion the signature covered.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use uppsala::{Document, NodeId};

use super::xml::{self, SAML, SAMLP, XENC};
use super::{NameId, SamlError, signature};

/// Cognito accepts `SAMLResponse` up to 100,000 characters (spec §11.1).
pub const MAX_RESPONSE_CHARS: usize = 100_000;
/// Clocks of IdP and SP may differ this much (seconds).
pub const SKEW: i64 = 120;
/// An unsolicited response must be issued within six minutes (spec §11.3).
const IDP_INITIATED_WINDOW: i64 = 360;
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// What the response must match.
pub struct Expectations {
    pub idp_entity_id: String,
    /// The IdP's signing certificates (DER): any one may sign.
    pub signing_certs: Vec<Vec<u8>>,
    pub sp_entity_id: String,
    pub acs_url: String,
    /// The pending AuthnRequest's ID; `None` for an IdP-initiated response.
    pub in_response_to: Option<String>,
    /// `EncryptedResponses=true`: a plaintext Assertion is refused.
    pub require_encryption: bool,
    /// Our unexpired encryption keys for this IdP (PKCS#8 PEM).
    pub decryption_keys: Vec<String>,
    pub now: i64,
}

/// A verified Assertion: who the user is and what the IdP said about them.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAssertion {
    pub id: String,
    pub name_id: NameId,
    /// From the first AuthnStatement (spec §11.2, §12.2).
    pub session_index: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The replay record must outlive every time window the assertion is valid in.
    pub keep_until: i64,
}

fn malformed(detail: impl Into<String>) -> SamlError {
    SamlError::new("Response is malformed", detail)
}

fn forged(detail: impl Into<String>) -> SamlError {
    SamlError::new("SAML response signature is invalid", detail)
}

/// Decodes the POST-binding field: base64, line breaks allowed, size-capped first.
pub fn decode(field: &str) -> Result<String, SamlError> {
    if field.len() > MAX_RESPONSE_CHARS {
        return Err(malformed("SAML message over 100,000 characters"));
    }
    let compact: String = field.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| malformed("not base64"))?;
    String::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))
}

/// The Response's checks, steps 1–8 of checklist §3.1.
pub fn verify(xml_text: &str, x: &Expectations) -> Result<VerifiedAssertion, SamlError> {
    let doc = xml::parse(xml_text).map_err(malformed)?;
    let root = doc.document_element().ok_or_else(|| malformed("empty"))?;
    if !xml::is(&doc, root, SAMLP, "Response") || xml::attr(&doc, root, "Version") != Some("2.0") {
        return Err(malformed("not a SAML 2.0 Response"));
    }
    signature::unique_ids(&doc).map_err(malformed)?;
    // Exactly one Assertion or EncryptedAssertion, a direct child of the Response, and none
    // anywhere else (XSW3–8, CVE-2022-41912).
    let plain = xml::all(&doc, SAML, "Assertion");
    let sealed = xml::all(&doc, SAML, "EncryptedAssertion");
    let assertion_node = match (plain.as_slice(), sealed.as_slice()) {
        ([a], []) | ([], [a]) if doc.parent(*a) == Some(root) => *a,
        _ => {
            return Err(malformed(
                "exactly one Assertion must be a child of the Response",
            ));
        }
    };
    let encrypted = !sealed.is_empty();
    if x.require_encryption && !encrypted {
        return Err(SamlError::new(
            "Assertion must be encrypted",
            "plaintext assertion while EncryptedResponses is on",
        ));
    }
    if encrypted && x.decryption_keys.is_empty() {
        return Err(SamlError::new(
            "Assertion could not be decrypted",
            "encrypted assertion but no encryption key is configured",
        ));
    }
    if !plain.is_empty() && !xml::all(&doc, XENC, "EncryptedData").is_empty() {
        return Err(malformed("encrypted data outside an EncryptedAssertion"));
    }
    let allowed = if encrypted {
        vec![root]
    } else {
        vec![root, assertion_node]
    };
    let covered = signature::verify(&doc, xml_text, &x.signing_certs, &allowed).map_err(forged)?;
    let response_signed = covered.contains(&root);
    // Status and the Response's own fields, checked whether or not they are signed:
    // unsigned ones can only make us refuse. A signed Response must name its Destination
    // (saml-bindings §3.5.5.2).
    if response_signed && xml::attr(&doc, root, "Destination").is_none() {
        return Err(SamlError::new(
            "Destination mismatch",
            "signed Response without Destination",
        ));
    }
    check_response_fields(&doc, root, x)?;
    if encrypted {
        // Anyone can encrypt to our public certificate: until a signature vouches for the
        // content, every failure reads the same, so nothing here is an oracle (SM22).
        let hidden = |e: SamlError| {
            SamlError::new(
                "Response could not be verified",
                format!("{}: {}", e.public, e.detail),
            )
        };
        let plaintext = decrypt(&doc, assertion_node, &x.decryption_keys).map_err(hidden)?;
        let doc2 = xml::parse(&plaintext).map_err(|e| hidden(malformed(e)))?;
        let inner = check_decrypted(&doc2, &plaintext, x, response_signed).map_err(hidden)?;
        read_assertion(&doc2, inner, x)
    } else {
        if !response_signed && !covered.contains(&assertion_node) {
            return Err(forged("neither the Response nor the Assertion is signed"));
        }
        read_assertion(&doc, assertion_node, x)
    }
}

/// Checks the decrypted EncryptedAssertion like a fresh message: one Assertion, every
/// signature shape-checked, and a valid signature on the Assertion unless the Response's
/// signature covered the ciphertext. Returns the Assertion's node.
fn check_decrypted(
    doc: &Document<'_>,
    source: &str,
    x: &Expectations,
    response_signed: bool,
) -> Result<NodeId, SamlError> {
    signature::unique_ids(doc).map_err(malformed)?;
    let wrapper = doc.document_element().ok_or_else(|| malformed("empty"))?;
    let inner = match (
        xml::elements(doc, wrapper).as_slice(),
        xml::all(doc, SAML, "Assertion").as_slice(),
    ) {
        ([h], [a])
            if xml::is(doc, *h, SAML, "EncryptedAssertion") && doc.parent(*a) == Some(*h) =>
        {
            *a
        }
        _ => return Err(malformed("the encrypted assertion is not one Assertion")),
    };
    if !xml::all(doc, XENC, "EncryptedData").is_empty() {
        return Err(malformed("nested encrypted data"));
    }
    let covered = signature::verify(doc, source, &x.signing_certs, &[inner]).map_err(forged)?;
    if !response_signed && !covered.contains(&inner) {
        return Err(forged("neither the Response nor the Assertion is signed"));
    }
    Ok(inner)
}

fn check_response_fields(
    doc: &Document<'_>,
    root: NodeId,
    x: &Expectations,
) -> Result<(), SamlError> {
    let status = xml::only_child(doc, root, SAMLP, "Status").map_err(malformed)?;
    let code = xml::only_child(doc, status, SAMLP, "StatusCode").map_err(malformed)?;
    if xml::attr(doc, code, "Value") != Some(SUCCESS) {
        return Err(SamlError::new(
            "Response status is not success",
            format!("status {:?}", xml::attr(doc, code, "Value")),
        ));
    }
    if let Some(d) = xml::attr(doc, root, "Destination")
        && d != x.acs_url
    {
        return Err(SamlError::new(
            "Destination mismatch",
            format!("Destination {d}"),
        ));
    }
    if let Some(issuer) = xml::first_child(doc, root, SAML, "Issuer") {
        let v = xml::text(doc, issuer).map_err(malformed)?;
        if v.trim() != x.idp_entity_id {
            return Err(SamlError::new(
                "Issuer mismatch",
                format!("Response issuer {v}"),
            ));
        }
    }
    match (
        xml::attr(doc, root, "InResponseTo"),
        x.in_response_to.as_deref(),
    ) {
        (None, _) => Ok(()),
        (Some(got), Some(want)) if got == want => Ok(()),
        (Some(_), None) => Err(unsolicited_mismatch()),
        (Some(got), Some(_)) => Err(request_mismatch(got)),
    }
}

fn unsolicited_mismatch() -> SamlError {
    SamlError::new(
        "IdP-initiated response must not carry InResponseTo",
        "InResponseTo on an unsolicited response",
    )
}

fn request_mismatch(got: &str) -> SamlError {
    SamlError::new(
        "Response does not match the request",
        format!("InResponseTo {got}"),
    )
}

fn undecryptable(detail: impl Into<String>) -> SamlError {
    SamlError::new("Assertion could not be decrypted", detail)
}

const BLOCK_CIPHERS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes192-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
];
/// RSA-OAEP only: PKCS#1 v1.5 key transport is a padding oracle.
const KEY_TRANSPORTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
];

const ELEMENT_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const ENCRYPTED_KEY_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#EncryptedKey";

/// Checks the EncryptedAssertion's shape before any key is used: one `EncryptedData` of type
/// Element, exactly one `EncryptedKey` (inside its KeyInfo, or a sibling named by one
/// `RetrievalMethod`), allow-listed algorithms, no `CipherReference`, no key names or
/// derivations — one RSA operation per key of ours, at most.
fn check_encrypted_shape(doc: &Document<'_>, holder: NodeId) -> Result<NodeId, SamlError> {
    let under = doc.descendants(holder);
    let count = |ns: &str, local: &str| {
        under
            .iter()
            .filter(|n| xml::is(doc, **n, ns, local))
            .count()
    };
    let data = xml::only_child(doc, holder, XENC, "EncryptedData").map_err(undecryptable)?;
    let d = doc.element(data).expect("an element");
    if xml::attr(doc, data, "Type") != Some(ELEMENT_TYPE)
        || d.get_attribute("MimeType").is_some()
        || d.get_attribute("Encoding").is_some()
        || count(XENC, "EncryptedData") != 1
        || count(XENC, "EncryptedKey") != 1
        || count(XENC, "CipherReference") != 0
        || count(XENC, "AgreementMethod") != 0
        || count(super::xml::XENC11, "DerivedKey") != 0
    {
        return Err(undecryptable("EncryptedData shape"));
    }
    for child in xml::elements(doc, holder) {
        if child != data && !xml::is(doc, child, XENC, "EncryptedKey") {
            return Err(undecryptable("unexpected element in EncryptedAssertion"));
        }
    }
    if let Some(ki) = xml::first_child(doc, data, super::xml::DSIG, "KeyInfo") {
        for child in xml::elements(doc, ki) {
            let retrieval = xml::is(doc, child, super::xml::DSIG, "RetrievalMethod")
                && xml::attr(doc, child, "Type") == Some(ENCRYPTED_KEY_TYPE)
                && xml::attr(doc, child, "URI").is_some_and(|u| u.starts_with('#'));
            if !retrieval && !xml::is(doc, child, XENC, "EncryptedKey") {
                return Err(undecryptable("unexpected KeyInfo content"));
            }
        }
    }
    for method in under
        .iter()
        .filter(|n| xml::is(doc, **n, XENC, "EncryptionMethod"))
    {
        let algorithm = xml::attr(doc, *method, "Algorithm").unwrap_or("");
        let owner = doc.parent(*method).expect("a parent");
        let allowed = if xml::is(doc, owner, XENC, "EncryptedKey") {
            KEY_TRANSPORTS
        } else {
            BLOCK_CIPHERS
        };
        if !allowed.contains(&algorithm) {
            return Err(undecryptable(format!("algorithm {algorithm} not allowed")));
        }
    }
    Ok(data)
}

/// Decrypts the EncryptedAssertion, cut out of the message with the namespace declarations
/// in scope around it, with any of our keys. The result is that small document with the
/// Assertion in place; nothing of the rest of the message is in it.
fn decrypt(doc: &Document<'_>, holder: NodeId, keys: &[String]) -> Result<String, SamlError> {
    check_encrypted_shape(doc, holder)?;
    let source = doc
        .node_source(holder)
        .ok_or_else(|| undecryptable("no source text"))?;
    let mut declared = std::collections::BTreeMap::new();
    for a in doc.ancestors(holder) {
        if let Some(e) = doc.element(a) {
            for (prefix, uri) in &e.namespace_declarations {
                declared
                    .entry(prefix.to_string())
                    .or_insert(uri.to_string());
            }
        }
    }
    let decls: String = declared
        .iter()
        .map(|(p, u)| match p.as_str() {
            "" => format!(r#" xmlns="{}""#, xml::escape(u)),
            p => format!(r#" xmlns:{p}="{}""#, xml::escape(u)),
        })
        .collect();
    let standalone = format!("<userpool-encrypted{decls}>{source}</userpool-encrypted>");
    for pem in keys {
        let Ok(key) = bergshamra::keys::loader::load_pem_auto(pem.as_bytes(), None) else {
            continue;
        };
        let mut km = bergshamra::KeysManager::new();
        km.add_key(key);
        let ctx = bergshamra::EncContext::new(km).with_disable_cipher_reference(true);
        if let Ok(out) = bergshamra::decrypt(&ctx, &standalone) {
            return Ok(out);
        }
    }
    Err(undecryptable("no key decrypts the assertion"))
}

fn child_text(doc: &Document<'_>, node: NodeId, local: &str) -> Result<String, SamlError> {
    let c = xml::only_child(doc, node, SAML, local).map_err(malformed)?;
    xml::text(doc, c).map_err(malformed)
}

fn time_attr(doc: &Document<'_>, node: NodeId, name: &str) -> Result<Option<i64>, SamlError> {
    xml::attr(doc, node, name)
        .map(xml::instant)
        .transpose()
        .map_err(malformed)
}

fn expired(detail: impl Into<String>) -> SamlError {
    SamlError::new("Response is expired or not yet valid", detail)
}

/// Reads the verified Assertion, checking issuer, subject confirmation, conditions and
/// audience on the way (SM14–SM17, spec §11.2–§11.3).
fn read_assertion(
    doc: &Document<'_>,
    a: NodeId,
    x: &Expectations,
) -> Result<VerifiedAssertion, SamlError> {
    let now = x.now;
    if xml::attr(doc, a, "Version") != Some("2.0") {
        return Err(malformed("Assertion version"));
    }
    let id = signature::id_of(doc, a)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed("Assertion without ID"))?
        .to_string();
    let issuer = child_text(doc, a, "Issuer")?;
    if issuer.trim() != x.idp_entity_id {
        return Err(SamlError::new(
            "Issuer mismatch",
            format!("Assertion issuer {issuer}"),
        ));
    }
    let issued = time_attr(doc, a, "IssueInstant")?.ok_or_else(|| malformed("no IssueInstant"))?;
    if issued > now + SKEW {
        return Err(expired("issued in the future"));
    }
    if x.in_response_to.is_none() && now - issued > IDP_INITIATED_WINDOW {
        return Err(expired("unsolicited response issued over six minutes ago"));
    }
    // Subject: NameID, and a bearer confirmation for us.
    let subject = xml::only_child(doc, a, SAML, "Subject").map_err(malformed)?;
    let name_node = xml::only_child(doc, subject, SAML, "NameID").map_err(malformed)?;
    let value = xml::text(doc, name_node).map_err(malformed)?;
    if value.trim().is_empty() {
        return Err(malformed("empty NameID"));
    }
    let name_id = NameId {
        value,
        format: xml::attr(doc, name_node, "Format").map(str::to_string),
        name_qualifier: xml::attr(doc, name_node, "NameQualifier").map(str::to_string),
        sp_name_qualifier: xml::attr(doc, name_node, "SPNameQualifier").map(str::to_string),
    };
    let mut keep_until = now;
    let mut confirmed = None;
    for sc in xml::children(doc, subject, SAML, "SubjectConfirmation") {
        if xml::attr(doc, sc, "Method") != Some(BEARER) {
            continue;
        }
        confirmed = Some(check_confirmation(doc, sc, x));
        if let Some(Ok(until)) = confirmed {
            keep_until = keep_until.max(until);
            break;
        }
    }
    match confirmed {
        None => return Err(malformed("no bearer SubjectConfirmation")),
        Some(Err(e)) => return Err(e),
        Some(Ok(_)) => {}
    }
    // Conditions with an AudienceRestriction naming us are required (SM15, SM16).
    let conditions = xml::only_child(doc, a, SAML, "Conditions").map_err(malformed)?;
    if let Some(nb) = time_attr(doc, conditions, "NotBefore")?
        && now + SKEW < nb
    {
        return Err(expired("Conditions NotBefore in the future"));
    }
    if let Some(noa) = time_attr(doc, conditions, "NotOnOrAfter")? {
        if now - SKEW >= noa {
            return Err(expired("Conditions NotOnOrAfter passed"));
        }
        keep_until = keep_until.max(noa);
    }
    let restrictions = xml::children(doc, conditions, SAML, "AudienceRestriction");
    if restrictions.is_empty() {
        return Err(SamlError::new(
            "Audience mismatch",
            "no AudienceRestriction",
        ));
    }
    for r in restrictions {
        let mut ours = false;
        for aud in xml::children(doc, r, SAML, "Audience") {
            ours |= xml::text(doc, aud).map_err(malformed)?.trim() == x.sp_entity_id;
        }
        if !ours {
            return Err(SamlError::new(
                "Audience mismatch",
                "audience is not this pool",
            ));
        }
    }
    let statements = xml::children(doc, a, SAML, "AuthnStatement");
    let first = statements
        .first()
        .ok_or_else(|| malformed("no AuthnStatement"))?;
    if let Some(until) = time_attr(doc, *first, "SessionNotOnOrAfter")?
        && now - SKEW >= until
    {
        return Err(expired("SessionNotOnOrAfter passed"));
    }
    let session_index = xml::attr(doc, *first, "SessionIndex").map(str::to_string);
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for st in xml::children(doc, a, SAML, "AttributeStatement") {
        for attr in xml::children(doc, st, SAML, "Attribute") {
            let name =
                xml::attr(doc, attr, "Name").ok_or_else(|| malformed("Attribute without Name"))?;
            let values = attributes.entry(name.to_string()).or_default();
            for v in xml::children(doc, attr, SAML, "AttributeValue") {
                // A structured value (e.g. eduPersonTargetedID as a NameID) maps to no pool
                // attribute: it is skipped. Comments and PIs still refuse the response.
                if xml::has_comment_or_pi(doc, v) {
                    return Err(malformed("unexpected markup inside a value"));
                }
                if xml::elements(doc, v).is_empty() {
                    values.push(xml::text(doc, v).map_err(malformed)?);
                }
            }
        }
    }
    Ok(VerifiedAssertion {
        id,
        name_id,
        session_index,
        attributes,
        keep_until: keep_until + SKEW,
    })
}

/// One bearer `SubjectConfirmationData`: Recipient is our ACS, no NotBefore, NotOnOrAfter
/// ahead, InResponseTo our request (absent when unsolicited). Returns its NotOnOrAfter.
fn check_confirmation(doc: &Document<'_>, sc: NodeId, x: &Expectations) -> Result<i64, SamlError> {
    let data = xml::only_child(doc, sc, SAML, "SubjectConfirmationData").map_err(malformed)?;
    if xml::attr(doc, data, "Recipient") != Some(x.acs_url.as_str()) {
        return Err(SamlError::new(
            "Recipient mismatch",
            "Recipient is not our ACS",
        ));
    }
    if xml::attr(doc, data, "NotBefore").is_some() {
        return Err(malformed("bearer confirmation with NotBefore"));
    }
    let until = time_attr(doc, data, "NotOnOrAfter")?
        .ok_or_else(|| malformed("bearer confirmation without NotOnOrAfter"))?;
    if x.now - SKEW >= until {
        return Err(expired("SubjectConfirmationData NotOnOrAfter passed"));
    }
    match (
        xml::attr(doc, data, "InResponseTo"),
        x.in_response_to.as_deref(),
    ) {
        (None, None) => Ok(until),
        (Some(got), Some(want)) if got == want => Ok(until),
        (Some(_), None) => Err(unsolicited_mismatch()),
        (None, Some(_)) => Err(request_mismatch("missing")),
        (Some(got), Some(_)) => Err(request_mismatch(got)),
    }
}
