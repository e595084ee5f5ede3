//! Codes reach a real SMTP server: Python's aiosmtpd, started by the test on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::browser::*;

/// aiosmtpd with its printing handler; stopped when dropped.
struct SmtpSink {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl SmtpSink {
    fn start(port: u16) -> Option<SmtpSink> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install aiosmtpd (tests/python/requirements.txt)"
            );
            eprintln!("skipped: pip install -r tests/python/requirements.txt to run the SMTP test");
            return None;
        }
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(SmtpSink { child, lines });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start");
    }

    /// The message printed for `to`, until its end.
    fn message_to(&self, to: &str) -> String {
        let mut text = String::new();
        let mut ours = false;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            if line.contains("To: ") && line.contains(to) {
                ours = true;
            }
            text.push_str(&line);
            text.push('\n');
            if line.contains("END MESSAGE") {
                if ours {
                    return text;
                }
                text.clear();
            }
        }
        panic!("no message to {to}; got:\n{text}");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sign_up_codes_are_delivered_by_smtp() {
    let port = free_port();
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    let port = port.to_string();
    let s = OAuthServer::start(&[
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &port,
        "--smtp-tls",
        "none",
        "--mail-from",
        "auth@example.test",
    ])
    .await;
    let mut b = Browser::default();
    let q = format!(
        "client_id={SPA}&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"
    );
    let page = b.get(&format!("{}/signup?{q}", s.base)).await;
    let url = format!("{}/signup?{q}", s.base);
    let csrf = page.csrf();
    let done = b
        .post_form(
            &url,
            &[
                ("username", "mailme"),
                ("email", "mailme@example.test"),
                ("password", "Sup3r-secret"),
                ("_csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    let message = tokio::task::spawn_blocking(move || {
        let m = sink.message_to("mailme@example.test");
        drop(sink);
        m
    })
    .await
    .unwrap();
    assert!(message.contains("From: auth@example.test"), "{message}");
    assert!(
        message.contains("Subject: Your verification code"),
        "{message}"
    );
    let line = message
        .lines()
        .find(|l| l.contains("verification code is"))
        .unwrap_or_else(|| panic!("a code line in:\n{message}"));
    let code = six_digits(line).expect("a six-digit code");
    let confirm = b
        .get(&format!("{}{}", s.base, done.location.unwrap()))
        .await;
    let csrf = confirm.csrf();
    let ok = b
        .post_form(
            &format!("{}/confirm?{q}", s.base),
            &[("username", "mailme"), ("code", &code), ("_csrf", &csrf)],
        )
        .await;
    assert!(ok.location_param("code").is_some(), "{}", ok.body);
    assert!(
        !s.dir.path().join("outbox").exists(),
        "nothing went to the outbox"
    );
}

/// Whether `code` stands alone (not inside a longer number) somewhere in `log`, leaving out
/// the six-digit fractions of log timestamps (`…:56.123456Z`).
fn shows_code(log: &str, code: &str) -> bool {
    log.match_indices(code).any(|(at, _)| {
        let before = log[..at].chars().next_back();
        let after = log[at + code.len()..].chars().next();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        let timestamp = before == Some('.') && after == Some('Z');
        !digit(before) && !digit(after) && !timestamp
    })
}

/// The development outbox keeps codes in private files, and nothing secret reaches the log:
/// not the emailed code, not an outside provider's `code` and `state`, not a `login_hint`.
#[tokio::test]
async fn outbox_files_are_private_and_no_secret_reaches_the_log() {
    use crate::helpers::{Server, sqlite_url, write_seed};
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let pool_id = crate::helpers::unique_pool_id("us-east-1");
    let seed = write_seed(dir.path(), &oauth_seed(&pool_id, &listen));
    let db = sqlite_url(dir.path());
    let s = Server::start_logging_all(
        dir.path(),
        &["--listen", &listen, "--database", &db, "--seed", &seed],
    );
    let q = format!(
        "client_id={SPA}&response_type=code&scope=openid+email&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=st"
    );
    let mut b = Browser::default();
    let url = format!("{}/forgotPassword?{q}", s.url);
    let page = b.get(&url).await;
    let csrf = page.csrf();
    let sent = b
        .post_form(&url, &[("username", "alice"), ("_csrf", &csrf)])
        .await;
    assert_eq!(sent.status, 302, "{}", sent.body);

    let outbox = dir.path().join("outbox");
    let mut message = None;
    for _ in 0..50 {
        message = std::fs::read_dir(&outbox).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if message.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let message = message.expect("a message in the outbox");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&message), 0o600, "{}", message.display());
    assert_eq!(mode(&outbox), 0o700);
    let text = std::fs::read_to_string(&message).unwrap();
    assert!(text.contains("To: alice@example.test"), "{text}");
    let code = six_digits(&text).expect("a code in the message");

    let c = crate::helpers::client();
    c.get(format!(
        "{}/oauth2/idpresponse?code=SECRETCODE123&state=SECRETSTATE",
        s.url
    ))
    .send()
    .await
    .unwrap();
    c.get(format!("{}/login?{q}&login_hint=HINTEDPERSON", s.url))
        .send()
        .await
        .unwrap();

    let log_path = s.log.clone();
    assert!(s.stop().success());
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(
        log.contains("/oauth2/idpresponse") && log.contains("outbox"),
        "requests and the message are logged:\n{log}"
    );
    assert!(
        !shows_code(&log, &code),
        "the code {code} is in the log:\n{log}"
    );
    for secret in ["SECRETCODE123", "SECRETSTATE", "HINTEDPERSON"] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}
