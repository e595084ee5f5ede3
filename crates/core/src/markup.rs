//! Escaping text for HTML and XML (element content and double-quoted attributes): the managed
//! login pages and the SAML messages we write share it.

/// Escapes `& < > " '`; the output is valid in HTML and in XML alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
