//! The XML rules every SAML message meets before anything reads it: one strict parser (no
//! DOCTYPE, bounded depth), namespace-exact lookups, and text that refuses comments.

use uppsala::{Document, NodeId, NodeKind};

pub(crate) use userpool_core::markup::escape;

pub(crate) const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub(crate) const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
pub(crate) const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

/// SAML messages are shallow; deeper input is an attack on the parser.
const MAX_DEPTH: u32 = 48;
/// An element of a SAML message has a handful of attributes. Thousands on one element would
/// make the parser's duplicate-attribute check quadratic, so input is refused first.
const MAX_EQUALS_PER_TAG: usize = 256;

/// Parses with DOCTYPE refused outright: no DTD, no entities, no external anything
/// (checklist SM11), and trailing junk is an error, not something to recover from.
pub(crate) fn parse(xml: &str) -> Result<Document<'_>, String> {
    // `<` cannot appear raw in an attribute value, so every start tag with all its
    // attributes lies between one `<` and the next: count `=` there.
    if xml
        .split('<')
        .any(|part| part.bytes().filter(|b| *b == b'=').count() > MAX_EQUALS_PER_TAG)
    {
        return Err("too many attributes".into());
    }
    uppsala::parser::Parser::new()
        .with_forbid_dtd(true)
        .with_forbid_entities(true)
        .with_max_depth(MAX_DEPTH)
        .parse(xml)
        .map_err(|e| format!("malformed XML: {e}"))
}

pub(crate) fn is(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> bool {
    doc.element(node)
        .is_some_and(|e| e.matches_name_ns(ns, local))
}

/// The element children of `node`.
pub(crate) fn elements(doc: &Document<'_>, node: NodeId) -> Vec<NodeId> {
    doc.children(node)
        .into_iter()
        .filter(|c| doc.element(*c).is_some())
        .collect()
}

/// The children of `node` named `{ns}local`.
pub(crate) fn children(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> Vec<NodeId> {
    doc.child_elements_by_name_ns(node, ns, local)
}

/// The only child named `{ns}local`; none or several is an error.
pub(crate) fn only_child(
    doc: &Document<'_>,
    node: NodeId,
    ns: &str,
    local: &str,
) -> Result<NodeId, String> {
    match children(doc, node, ns, local).as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("{local} is missing")),
        _ => Err(format!("more than one {local}")),
    }
}

/// The first child named `{ns}local`, if any.
pub(crate) fn first_child(
    doc: &Document<'_>,
    node: NodeId,
    ns: &str,
    local: &str,
) -> Option<NodeId> {
    children(doc, node, ns, local).into_iter().next()
}

/// Every element named `{ns}local` in the document, in document order.
pub(crate) fn all(doc: &Document<'_>, ns: &str, local: &str) -> Vec<NodeId> {
    doc.descendants(doc.root())
        .into_iter()
        .filter(|n| is(doc, *n, ns, local))
        .collect()
}

pub(crate) fn attr<'d>(doc: &'d Document<'_>, node: NodeId, name: &str) -> Option<&'d str> {
    doc.get_attribute(node, name)
}

/// The text of a leaf element: its text and CDATA children joined. A comment, processing
/// instruction or child element inside is refused, so `admin@x<!---->.evil` can never be
/// read as `admin@x` (CVE-2017-11427 and kin, checklist SM10).
pub(crate) fn text(doc: &Document<'_>, node: NodeId) -> Result<String, String> {
    let mut out = String::new();
    for c in doc.children(node) {
        match doc.node_kind(c) {
            Some(NodeKind::Text(t) | NodeKind::CData(t)) => out.push_str(t),
            _ => return Err("unexpected markup inside a value".into()),
        }
    }
    Ok(out)
}

/// Whether a comment or processing instruction sits anywhere under `node`.
pub(crate) fn has_comment_or_pi(doc: &Document<'_>, node: NodeId) -> bool {
    doc.descendants(node).into_iter().any(|n| {
        matches!(
            doc.node_kind(n),
            Some(NodeKind::Comment(_) | NodeKind::ProcessingInstruction(_))
        )
    })
}

/// An `xs:dateTime` (always UTC in SAML) as Unix seconds.
pub(crate) fn instant(s: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("bad time {s:?}"))
}

/// Unix seconds as SAML's `xs:dateTime`.
pub(crate) fn format_instant(at: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
