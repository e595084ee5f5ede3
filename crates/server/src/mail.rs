//! Delivery of codes: SMTP to a real mail server (`--smtp-host`), or, by default, a development
//! outbox that logs each message and writes it as an `.eml` file to `{data-dir}/outbox/`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use userpool_core::lifecycle::Mailer;

use crate::cli::{MailArgs, SmtpTls};

/// Builds the mailer the flags ask for.
pub(crate) fn from_args(args: &MailArgs, data_dir: PathBuf) -> anyhow::Result<Box<dyn Mailer>> {
    let from: Mailbox = args
        .mail_from
        .parse()
        .with_context(|| format!("--mail-from '{}' is not an email address", args.mail_from))?;
    let Some(host) = &args.smtp_host else {
        let dir = data_dir.join("outbox");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "codes go to the development outbox (set --smtp-host to send mail)");
        return Ok(Box::new(Outbox {
            dir,
            from,
            seq: AtomicU64::new(0),
        }));
    };
    let builder = match args.smtp_tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
    };
    let mut builder = builder
        .port(args.smtp_port)
        .timeout(Some(std::time::Duration::from_secs(10)));
    if let Some(user) = &args.smtp_username {
        let password = std::env::var("USERPOOL_SMTP_PASSWORD").unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    tracing::info!(%host, port = args.smtp_port, "codes are sent by SMTP");
    Ok(Box::new(Smtp {
        transport: builder.build(),
        from,
    }))
}

fn message(from: &Mailbox, to: &str, subject: &str, body: &str) -> Result<Message, String> {
    let to: Mailbox = to.parse().map_err(|e| format!("recipient {to}: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .body(body.to_string())
        .map_err(|e| e.to_string())
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[async_trait]
impl Mailer for Smtp {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let m = message(&self.from, to, subject, body)?;
        self.transport
            .send(m)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

struct Outbox {
    dir: PathBuf,
    from: Mailbox,
    seq: AtomicU64,
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let m = message(&self.from, to, subject, body)?;
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let safe_to: String = to
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{millis}-{n}-{safe_to}.eml"));
        tracing::info!(%to, %subject, %body, file = %path.display(), "outbox");
        tokio::fs::write(&path, m.formatted())
            .await
            .map_err(|e| format!("outbox {}: {e}", path.display()))
    }
}
