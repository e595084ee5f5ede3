//! IdP metadata (spec §2.3): the entity ID, the HTTP-Redirect SSO and SLO locations, and the
//! signing certificates — several allowed, none expired, each at most 4,096 characters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use uppsala::{Document, NodeId};
use x509_cert::der::Decode as _;

use super::xml::{self, DSIG, MD};

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const MAX_CERT_CHARS: usize = 4096;

/// What we use of an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// `SSORedirectBindingURI`.
    pub sso_redirect: String,
    /// `SLORedirectBindingURI`, when the IdP has single logout.
    pub slo_redirect: Option<String>,
    /// Signing certificates, DER.
    pub signing_certs: Vec<Vec<u8>>,
}

/// Parses metadata text; `now` is when the IdP is configured (expired certificates refused).
pub fn parse(text: &str, now: i64) -> Result<IdpMetadata, String> {
    let doc = xml::parse(text)?;
    let root = doc.document_element().ok_or("empty metadata")?;
    let entity = if xml::is(&doc, root, MD, "EntityDescriptor") {
        root
    } else if xml::is(&doc, root, MD, "EntitiesDescriptor") {
        let with_idp: Vec<NodeId> = xml::children(&doc, root, MD, "EntityDescriptor")
            .into_iter()
            .filter(|e| xml::first_child(&doc, *e, MD, "IDPSSODescriptor").is_some())
            .collect();
        match with_idp.as_slice() {
            [one] => *one,
            _ => return Err("metadata must describe exactly one identity provider".into()),
        }
    } else {
        return Err("metadata root is not an EntityDescriptor".into());
    };
    let entity_id = xml::attr(&doc, entity, "entityID")
        .filter(|v| !v.is_empty())
        .ok_or("metadata has no entityID")?
        .to_string();
    let idp = xml::only_child(&doc, entity, MD, "IDPSSODescriptor")?;
    let sso_redirect = redirect_location(&doc, idp, "SingleSignOnService")
        .ok_or("metadata has no SingleSignOnService with the HTTP-Redirect binding")?;
    let slo_redirect = redirect_location(&doc, idp, "SingleLogoutService");
    let mut signing_certs = Vec::new();
    for kd in xml::children(&doc, idp, MD, "KeyDescriptor") {
        if !matches!(xml::attr(&doc, kd, "use"), None | Some("signing")) {
            continue;
        }
        for ki in xml::children(&doc, kd, DSIG, "KeyInfo") {
            for data in xml::children(&doc, ki, DSIG, "X509Data") {
                for c in xml::children(&doc, data, DSIG, "X509Certificate") {
                    signing_certs.push(certificate(&xml::text(&doc, c)?, now)?);
                }
            }
        }
    }
    if signing_certs.is_empty() {
        // Without a certificate nothing could be verified: refuse, never accept unsigned.
        return Err("metadata has no signing certificate".into());
    }
    Ok(IdpMetadata {
        entity_id,
        sso_redirect,
        slo_redirect,
        signing_certs,
    })
}

fn redirect_location(doc: &Document<'_>, idp: NodeId, service: &str) -> Option<String> {
    xml::children(doc, idp, MD, service)
        .into_iter()
        .find(|s| xml::attr(doc, *s, "Binding") == Some(REDIRECT))
        .and_then(|s| xml::attr(doc, s, "Location"))
        .map(str::to_string)
}

/// One `X509Certificate`: base64 DER, a real certificate, not expired at `now`.
fn certificate(text: &str, now: i64) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > MAX_CERT_CHARS {
        return Err("a signing certificate is over 4,096 characters".into());
    }
    let der = STANDARD
        .decode(&compact)
        .map_err(|_| "a signing certificate is not base64")?;
    let not_after = not_after(&der)?;
    if not_after <= now {
        return Err("a signing certificate has expired".into());
    }
    Ok(der)
}

/// A certificate's notAfter, as Unix seconds.
pub fn not_after(der: &[u8]) -> Result<i64, String> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|_| "not an X.509 certificate")?;
    let t = cert.tbs_certificate.validity.not_after.to_unix_duration();
    Ok(i64::try_from(t.as_secs()).unwrap_or(i64::MAX))
}
