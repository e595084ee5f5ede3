//! XML signatures on SAML messages: the shape allow-list checked on untrusted input before any
//! transform runs, then bergshamra's verification against the pinned IdP certificates only.
//! The result is the set of elements a valid signature covers, as nodes of the same tree the
//! caller reads from (checklist §3.1 steps 2–5, SM01–SM09).

use std::collections::HashSet;

use bergshamra::{DsigContext, KeysManager, VerifyResult};
use uppsala::{Document, NodeId};

use super::xml::{self, DSIG};

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SIGNATURE_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
];
const DIGEST_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const EXC_C14N_NS: &str = EXC_C14N;

/// The attribute SAML uses as an element's ID.
pub(crate) fn id_of<'d>(doc: &'d Document<'_>, node: NodeId) -> Option<&'d str> {
    xml::attr(doc, node, "ID")
}

/// Refuses a document in which two elements share an ID (XSW7, CVE-2024-45409's fix).
pub(crate) fn unique_ids(doc: &Document<'_>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for n in doc.descendants(doc.root()) {
        for name in ["ID", "Id", "id", "AssertionID"] {
            if let Some(v) = xml::attr(doc, n, name)
                && !seen.insert(v.to_string())
            {
                return Err("duplicate ID".into());
            }
        }
    }
    Ok(())
}

/// Checks the shape of one `ds:Signature` before it is verified: a direct child of the
/// element it signs, one `SignedInfo` with exclusive c14n, an allowed signature method,
/// exactly one `Reference` to `#ID` of that parent, enveloped + exc-c14n transforms only,
/// an allowed digest, no comment or processing instruction anywhere in it, and no
/// `Object`/`Manifest`. Nothing else (XSLT, XPath, RetrievalMethod) ever reaches the
/// transform engine.
fn check_shape(doc: &Document<'_>, sig: NodeId) -> Result<(), String> {
    let parent = doc.parent(sig).ok_or("signature without parent")?;
    let parent_id = id_of(doc, parent).ok_or("signed element without ID")?;
    if xml::has_comment_or_pi(doc, sig) {
        return Err("comment inside Signature".into());
    }
    for child in xml::elements(doc, sig) {
        let ok = ["SignedInfo", "SignatureValue", "KeyInfo"]
            .iter()
            .any(|l| xml::is(doc, child, DSIG, l));
        if !ok {
            return Err("unexpected element in Signature".into());
        }
    }
    xml::only_child(doc, sig, DSIG, "SignatureValue")?;
    let si = xml::only_child(doc, sig, DSIG, "SignedInfo")?;
    let mut c14n = 0;
    let mut method = 0;
    let mut references = 0;
    for child in xml::elements(doc, si) {
        let algorithm = xml::attr(doc, child, "Algorithm").unwrap_or("");
        if xml::is(doc, child, DSIG, "CanonicalizationMethod") && algorithm == EXC_C14N {
            c14n += 1;
        } else if xml::is(doc, child, DSIG, "SignatureMethod")
            && SIGNATURE_METHODS.contains(&algorithm)
            && xml::elements(doc, child).is_empty()
        {
            method += 1;
        } else if xml::is(doc, child, DSIG, "Reference") {
            references += 1;
            check_reference(doc, child, parent_id)?;
        } else {
            return Err("SignedInfo not allowed".into());
        }
    }
    if (c14n, method, references) != (1, 1, 1) {
        return Err("SignedInfo not allowed".into());
    }
    Ok(())
}

fn check_reference(doc: &Document<'_>, reference: NodeId, parent_id: &str) -> Result<(), String> {
    if xml::attr(doc, reference, "URI") != Some(&format!("#{parent_id}")) {
        return Err("reference does not name the signed element".into());
    }
    if xml::attr(doc, reference, "Type").is_some() {
        return Err("reference type not allowed".into());
    }
    let mut digest_method = 0;
    let mut digest_value = 0;
    for child in xml::elements(doc, reference) {
        if xml::is(doc, child, DSIG, "Transforms") {
            for t in xml::elements(doc, child) {
                let algorithm = xml::attr(doc, t, "Algorithm").unwrap_or("");
                let allowed = xml::is(doc, t, DSIG, "Transform")
                    && (algorithm == ENVELOPED || algorithm == EXC_C14N)
                    && xml::elements(doc, t).iter().all(|p| {
                        algorithm == EXC_C14N
                            && xml::is(doc, *p, EXC_C14N_NS, "InclusiveNamespaces")
                    });
                if !allowed {
                    return Err("transform not allowed".into());
                }
            }
        } else if xml::is(doc, child, DSIG, "DigestMethod")
            && DIGEST_METHODS.contains(&xml::attr(doc, child, "Algorithm").unwrap_or(""))
        {
            digest_method += 1;
        } else if xml::is(doc, child, DSIG, "DigestValue") {
            xml::text(doc, child)?;
            digest_value += 1;
        } else {
            return Err("reference not allowed".into());
        }
    }
    if (digest_method, digest_value) != (1, 1) {
        return Err("reference not allowed".into());
    }
    Ok(())
}

/// The pinned certificates (DER) as a key store: `KeyInfo` in messages is never trusted.
fn keys(certs: &[Vec<u8>]) -> Result<KeysManager, String> {
    let mut km = KeysManager::new();
    for der in certs {
        let key = bergshamra::keys::loader::load_x509_cert_der(der)
            .map_err(|e| format!("unusable IdP certificate: {e}"))?;
        km.add_key(key);
    }
    Ok(km)
}

/// Verifies every signature in `doc`, each of which must sit directly on one of
/// `allowed_parents`, and returns the parents a valid signature covers. `doc` must be the tree
/// parsed from `source`. A signature anywhere else is an error (decoys in `Extensions`,
/// `Object`, …), as is any signature that does not verify.
pub(crate) fn verify(
    doc: &Document<'_>,
    source: &str,
    certs: &[Vec<u8>],
    allowed_parents: &[NodeId],
) -> Result<HashSet<NodeId>, String> {
    let signatures = xml::all(doc, DSIG, "Signature");
    let mut covered = HashSet::new();
    if signatures.is_empty() {
        return Ok(covered);
    }
    let mut per_parent = HashSet::new();
    for sig in &signatures {
        let parent = doc.parent(*sig).ok_or("signature without parent")?;
        if !allowed_parents.contains(&parent) {
            return Err("signature in an unexpected place".into());
        }
        if !per_parent.insert(parent) {
            return Err("more than one signature on one element".into());
        }
        check_shape(doc, *sig)?;
    }
    let ctx = DsigContext::new(keys(certs)?)
        .with_trusted_keys_only(true)
        .with_strict_verification(true)
        .with_require_reference_digests(true);
    let results =
        bergshamra::dsig::verify::verify_all_document_with_source(&ctx, doc, Some(source))
            .map_err(|e| format!("signature check failed: {e}"))?;
    if results.len() != signatures.len() {
        return Err("signature count mismatch".into());
    }
    for (sig, result) in signatures.iter().zip(&results) {
        let parent = doc.parent(*sig).expect("checked above");
        match result {
            VerifyResult::Valid { references, .. } if result.all_reference_digests_verified() => {
                if references.len() != 1 || references[0].resolved_node != Some(parent) {
                    return Err("signature covers something else".into());
                }
                covered.insert(parent);
            }
            VerifyResult::Valid { .. } => return Err("signature partly verified".into()),
            VerifyResult::Invalid { reason } => return Err(format!("invalid signature: {reason}")),
        }
    }
    Ok(covered)
}
