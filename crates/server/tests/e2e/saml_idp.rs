//! A real SAML IdP for the tests: `tests/saml/idp.py` (pysaml2 with Debian's xmlsec1) on a
//! loopback port, stopped when dropped (and by itself when our end of its stdin closes).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::browser::free_port;
use crate::helpers::client;

pub fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

pub struct PyIdp {
    child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    /// The IdP's metadata XML.
    pub metadata: String,
}

impl PyIdp {
    pub fn start() -> PyIdp {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(repo_file("tests/saml/idp.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("idp.log")).unwrap())
            .spawn()
            .expect("python3 tests/saml/idp.py (pip install -r tests/python/requirements.txt)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        match lines.next() {
            Some(Ok(l)) if l.trim() == "READY" => {}
            other => {
                let _ = child.kill();
                panic!(
                    "the SAML IdP did not start: {other:?}\n{}",
                    std::fs::read_to_string(dir.path().join("idp.log")).unwrap_or_default()
                );
            }
        }
        let metadata = std::fs::read_to_string(dir.path().join("idp-metadata.xml")).unwrap();
        PyIdp {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            metadata,
        }
    }

    pub fn entity_id(&self) -> String {
        format!("{}/idp", self.base)
    }

    /// Hands the IdP our SP metadata (for one of our IdP configurations).
    pub async fn trust(&self, sp_base: &str, provider: &str) {
        let md = client()
            .get(format!(
                "{sp_base}/saml2/metadata?identity_provider={provider}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(md.status(), 200);
        let body = md.text().await.unwrap();
        let r = client()
            .post(format!("{}/admin/sp-metadata", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// Replaces the IdP's settings (signing, encryption, user).
    pub async fn configure(&self, config: Value) {
        let r = client()
            .post(format!("{}/admin/config", self.base))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    pub async fn state(&self) -> Value {
        client()
            .get(format!("{}/admin/state", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("idp.log")).unwrap_or_default()
    }
}

impl Drop for PyIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The auto-post form of an IdP or SP page: its action and hidden fields.
pub fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        tag.find(&key)
            .map(|i| unescape(tag[i + key.len()..].split('"').next().unwrap()))
    };
    let form_at = html
        .find("<form")
        .unwrap_or_else(|| panic!("a form in {html}"));
    let form_tag = &html[form_at..form_at + html[form_at..].find('>').unwrap()];
    let action = attr(form_tag, "action").expect("a form action");
    let mut fields = Vec::new();
    for part in html[form_at..].split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap_or(part.len())];
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            fields.push((n, v));
        }
    }
    (action, fields)
}
