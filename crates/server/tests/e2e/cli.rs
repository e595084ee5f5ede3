//! The command line and process behaviour: help, the demo pool, clear start-up errors,
//! health, and graceful shutdown.

use std::path::Path;

use crate::helpers::*;

#[test]
fn help_documents_every_command_flag_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let top = String::from_utf8(run(dir.path(), &["--help"]).stdout).unwrap();
    for word in ["serve", "keys", "migrate", "check-seed"] {
        assert!(top.contains(word), "{word} in:\n{top}");
    }
    let serve = String::from_utf8(run(dir.path(), &["serve", "--help"]).stdout).unwrap();
    for word in [
        "--listen",
        "USERPOOL_LISTEN",
        "127.0.0.1:9229",
        "--database",
        "USERPOOL_DATABASE",
        "sqlite://userpool.db",
        "--seed",
        "USERPOOL_SEED",
        "--public-url",
        "USERPOOL_PUBLIC_URL",
        "--aws-issuers",
        "USERPOOL_AWS_ISSUERS",
        "--domain-base",
        "USERPOOL_DOMAIN_BASE",
    ] {
        assert!(serve.contains(word), "{word} in:\n{serve}");
    }
    let rotate = String::from_utf8(run(dir.path(), &["keys", "rotate", "--help"]).stdout).unwrap();
    assert!(
        rotate.contains("--pool") && rotate.contains("--database"),
        "{rotate}"
    );
}

#[tokio::test]
async fn an_empty_database_gets_a_demo_pool_that_is_ready_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    assert!(
        dir.path().join("userpool.db").exists(),
        "the default database is ./userpool.db"
    );
    let field = |name: &str| -> String {
        let line = s
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in:\n{}", s.stdout));
        line.trim_start()[name.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let pool = field("pool id");
    let client = field("app client id");
    assert!(s.stdout.contains("demo / Demo-pass-1!"), "{}", s.stdout);
    let doc = s
        .get_json(&format!("/{pool}/.well-known/openid-configuration"))
        .await;
    assert_eq!(doc["issuer"], format!("{}/{pool}", s.url));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{}/oauth2/authorize", s.url),
        "the demo domain is the server's own host"
    );
    assert_eq!(
        s.get_json(&format!("/{pool}/.well-known/jwks.json")).await["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    drop(s);
    // A restart finds the same demo pool instead of making another.
    let s = Server::start(dir.path(), &[]);
    assert!(
        s.stdout.contains(&pool) && s.stdout.contains(&client),
        "{}",
        s.stdout
    );
}

#[tokio::test]
async fn health_answers_and_sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &["--database", &sqlite_url(dir.path()), "--no-demo"],
    );
    assert_eq!(s.get_json("/health").await["status"], "ok");
    let log = s.log.clone();
    let status = s.stop();
    assert!(status.success(), "exit status {status:?}");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("/health"), "one log line per request:\n{log}");
}

/// A node that is told to stop first turns not ready (`/health/ready` 503) and keeps serving
/// for `--drain-seconds`, so a load balancer moves traffic away before it goes.
#[tokio::test]
async fn sigterm_drains_the_node_before_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--database",
            &sqlite_url(dir.path()),
            "--no-demo",
            "--drain-seconds",
            "3",
        ],
    );
    let ready = |s: &Server| {
        let url = format!("{}/health/ready", s.url);
        async move { client().get(url).send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(ready(&s).await.unwrap(), 200);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut not_ready = false;
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if ready(&s).await.ok() == Some(503) {
            not_ready = true;
            break;
        }
    }
    assert!(not_ready, "not ready once draining");
    assert_eq!(
        s.get_json("/health").await["status"],
        "ok",
        "still serving while draining"
    );
    let status = s.stop();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn a_port_in_use_and_an_unopenable_database_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            &addr,
            "--database",
            &sqlite_url(dir.path()),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("in use"),
        "{err}"
    );

    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite:///nonexistent/dir/x.db",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open database sqlite:///nonexistent/dir/x.db"),
        "{err}"
    );

    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://x",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the database URL is not sqlite://… or postgres://…")
    );

    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &sqlite_url(dir.path()),
            "--public-url",
            "ftp://x",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("must use http or https"));
}

/// Behind https, codes must reach people: with no --smtp-host the development outbox must be
/// chosen by name, and without either `serve` refuses before touching the database.
#[test]
fn an_https_server_needs_smtp_or_an_explicit_dev_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let https = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &db,
        "--no-demo",
        "--public-url",
        "https://auth.example.test",
    ];
    let err = refused_start(dir.path(), &https);
    assert!(
        err.contains("--smtp-host") && err.contains("--dev-outbox"),
        "names both ways out:\n{err}"
    );
    assert!(
        !dir.path().join("outbox").exists(),
        "no outbox is made before refusing"
    );

    let serve = String::from_utf8(run(dir.path(), &["serve", "--help"]).stdout).unwrap();
    assert!(
        serve.contains("--dev-outbox") && serve.contains("USERPOOL_DEV_OUTBOX"),
        "{serve}"
    );

    let s = Server::start(dir.path(), &[&https[1..], &["--dev-outbox"]].concat());
    assert_eq!(s.url, "https://auth.example.test");
    assert!(
        s.log_text().contains("--dev-outbox"),
        "the log says codes are not mailed:\n{}",
        s.log_text()
    );
    assert!(s.stop().success());
}

/// `--metrics-listen` serves Prometheus text on its own address: requests by route, tokens by
/// the sign-in that asked, sign-ins by outcome, the database pool.
#[tokio::test]
async fn metrics_are_served_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let s = Server::start(
        dir.path(),
        &[
            "--database",
            &sqlite_url(dir.path()),
            "--metrics-listen",
            &metrics_addr,
        ],
    );
    // One request to count.
    assert_eq!(s.get_json("/health").await["status"], "ok");
    let text = client()
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("userpool_http_request_duration_seconds_count{route=\"/health\",method=\"GET\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("userpool_tokens_issued_total{source=\"ClientCredentials\"} 0"),
        "{text}"
    );
    assert!(text.contains("userpool_db_connections "), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let public = client()
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap();
    assert_ne!(public.status().as_u16(), 200, "not on the public listener");
}

/// A self-signed certificate for `localhost` and its key, in PEM, written to `dir`.
fn certificate(dir: &Path) -> (String, String, reqwest::Certificate) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let root = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap();
    (cert.display().to_string(), key.display().to_string(), root)
}

/// A client that trusts only `root`, reaching `localhost` at the loopback `port`.
fn trusting(root: reqwest::Certificate, port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([root])
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// `--tls-cert`/`--tls-key` serve https without a proxy, with HSTS; a renewed certificate is
/// taken at SIGHUP, without a restart.
#[tokio::test]
async fn https_is_served_and_its_certificate_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (cert, key, first) = certificate(dir.path());
    let s = Server::start(
        dir.path(),
        &[
            "--database",
            &sqlite_url(dir.path()),
            "--no-demo",
            "--dev-outbox",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &format!("https://localhost:{port}"),
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    );
    let health = format!("https://localhost:{port}/health");
    let r = trusting(first, port).get(&health).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // A renewed certificate: refused until the server is told, then served.
    let renewed = tempfile::tempdir().unwrap();
    let (new_cert, new_key, second) = certificate(renewed.path());
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    let client = trusting(second, port);
    assert!(
        client.get(&health).send().await.is_err(),
        "the old certificate until SIGHUP"
    );
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut served = false;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            served = true;
            break;
        }
    }
    assert!(served, "the renewed certificate after SIGHUP");
    let status = s.stop();
    assert!(status.success(), "exit status {status:?}");
}

/// `userpool backup` copies a SQLite database while the server serves; `userpool restore` puts
/// the copy back once it is stopped, refusing files that are not userpool databases.
#[tokio::test]
async fn a_sqlite_database_is_backed_up_while_serving_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let s = Server::start(dir.path(), &["--database", &db]);
    let pool = crate::boto3::field(&s.stdout, "pool id");
    let copy = dir.path().join("backup.db");
    let copy_path = copy.display().to_string();
    let out = run(dir.path(), &["backup", "--database", &db, &copy_path]);
    assert!(out.status.success(), "{out:?}");
    let again = run(dir.path(), &["backup", "--database", &db, &copy_path]);
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );
    assert!(s.stop().success());
    // Without the file, a new start would make a new demo pool; the backup brings the old one.
    std::fs::remove_file(dir.path().join("userpool.db")).ok();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let refused = run(
        dir.path(),
        &["restore", "--database", &db, &junk.display().to_string()],
    );
    assert!(!refused.status.success(), "{refused:?}");
    let restored = run(dir.path(), &["restore", "--database", &db, &copy_path]);
    assert!(restored.status.success(), "{restored:?}");
    let s = Server::start(dir.path(), &["--database", &db]);
    assert_eq!(
        crate::boto3::field(&s.stdout, "pool id"),
        pool,
        "the restored pool"
    );
    assert!(s.stop().success());
}
