//! `/saml2/logout`'s validation of a POSTed LogoutRequest or LogoutResponse (spec §12,
//! checklist SM25): strict parse, a valid signature on the message itself over the pinned
//! certificates, Issuer, Destination, time, and nothing borrowed from embedded elements.

use uppsala::Document;

use super::xml::{self, SAML, SAMLP};
use super::{NameId, SamlError, signature};

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// A logout message is accepted this long around its IssueInstant (seconds).
const MESSAGE_WINDOW: i64 = 600;

/// Which logout message a POST carries, and who claims to have sent it; unverified, only to
/// pick the IdP whose certificates then verify it.
pub fn peek(xml_text: &str) -> Result<(bool, String), SamlError> {
    let doc = xml::parse(xml_text).map_err(malformed)?;
    let root = doc.document_element().ok_or_else(|| malformed("empty"))?;
    let is_request = if xml::is(&doc, root, SAMLP, "LogoutRequest") {
        true
    } else if xml::is(&doc, root, SAMLP, "LogoutResponse") {
        false
    } else {
        return Err(malformed("not a logout message"));
    };
    let issuer = issuer(&doc, root)?;
    Ok((is_request, issuer))
}

fn malformed(detail: impl Into<String>) -> SamlError {
    SamlError::new("Logout message is malformed", detail)
}

fn issuer(doc: &Document<'_>, root: uppsala::NodeId) -> Result<String, SamlError> {
    let node = xml::only_child(doc, root, SAML, "Issuer").map_err(malformed)?;
    Ok(xml::text(doc, node).map_err(malformed)?.trim().to_string())
}

/// A verified logout message.
#[derive(Debug, Clone, PartialEq)]
pub enum Logout {
    /// The IdP asks us to end the sessions of `name_id` (those of `session_indexes`, or all).
    Request {
        id: String,
        name_id: NameId,
        session_indexes: Vec<String>,
        /// Its replay record must last until the request could no longer be accepted.
        keep_until: i64,
    },
    /// The IdP's answer to our LogoutRequest.
    Response {
        in_response_to: String,
        success: bool,
    },
}

/// Verifies a logout message from the IdP `idp_entity_id` posted to `slo_url`.
pub fn verify(
    xml_text: &str,
    idp_entity_id: &str,
    certs: &[Vec<u8>],
    slo_url: &str,
    now: i64,
) -> Result<Logout, SamlError> {
    let doc = xml::parse(xml_text).map_err(malformed)?;
    let root = doc.document_element().ok_or_else(|| malformed("empty"))?;
    if xml::attr(&doc, root, "Version") != Some("2.0") {
        return Err(malformed("not SAML 2.0"));
    }
    signature::unique_ids(&doc).map_err(malformed)?;
    // A captured assertion inside a forged logout message proves nothing (samlify
    // GHSA-63ch-w8pw-4mf2): only the message's own signature counts.
    if !xml::all(&doc, SAML, "Assertion").is_empty()
        || !xml::all(&doc, SAML, "EncryptedAssertion").is_empty()
    {
        return Err(malformed("assertion inside a logout message"));
    }
    let covered = signature::verify(&doc, xml_text, certs, &[root])
        .map_err(|e| SamlError::new("Logout message signature is invalid", e))?;
    if !covered.contains(&root) {
        return Err(SamlError::new(
            "Logout message signature is invalid",
            "unsigned logout message",
        ));
    }
    if issuer(&doc, root)? != idp_entity_id {
        return Err(SamlError::new("Issuer mismatch", "logout issuer"));
    }
    if xml::attr(&doc, root, "Destination") != Some(slo_url) {
        return Err(SamlError::new("Destination mismatch", "logout destination"));
    }
    let id = signature::id_of(&doc, root)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed("no ID"))?
        .to_string();
    let issued = xml::attr(&doc, root, "IssueInstant")
        .map(xml::instant)
        .transpose()
        .map_err(malformed)?
        .ok_or_else(|| malformed("no IssueInstant"))?;
    if (issued - now).abs() > MESSAGE_WINDOW {
        return Err(SamlError::new(
            "Logout message expired",
            "IssueInstant out of range",
        ));
    }
    if xml::is(&doc, root, SAMLP, "LogoutRequest") {
        if let Some(until) = xml::attr(&doc, root, "NotOnOrAfter")
            && now - super::response::SKEW >= xml::instant(until).map_err(malformed)?
        {
            return Err(SamlError::new(
                "Logout message expired",
                "NotOnOrAfter passed",
            ));
        }
        let n = xml::only_child(&doc, root, SAML, "NameID").map_err(malformed)?;
        let name_id = NameId {
            value: xml::text(&doc, n).map_err(malformed)?,
            format: xml::attr(&doc, n, "Format").map(str::to_string),
            name_qualifier: xml::attr(&doc, n, "NameQualifier").map(str::to_string),
            sp_name_qualifier: xml::attr(&doc, n, "SPNameQualifier").map(str::to_string),
        };
        let mut session_indexes = Vec::new();
        for s in xml::children(&doc, root, SAMLP, "SessionIndex") {
            session_indexes.push(xml::text(&doc, s).map_err(malformed)?);
        }
        Ok(Logout::Request {
            id,
            name_id,
            session_indexes,
            keep_until: issued.max(now) + MESSAGE_WINDOW + super::response::SKEW,
        })
    } else {
        let in_response_to = xml::attr(&doc, root, "InResponseTo")
            .ok_or_else(|| malformed("no InResponseTo"))?
            .to_string();
        let status = xml::only_child(&doc, root, SAMLP, "Status").map_err(malformed)?;
        let code = xml::only_child(&doc, status, SAMLP, "StatusCode").map_err(malformed)?;
        Ok(Logout::Response {
            in_response_to,
            success: xml::attr(&doc, code, "Value") == Some(SUCCESS),
        })
    }
}
