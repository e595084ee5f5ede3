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
