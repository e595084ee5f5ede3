//! Delivery of codes: SMTP to a real mail server (`--smtp-host`), or a development outbox that
//! writes each message as a private `.eml` file to `{data-dir}/outbox/` (and each text message,
//! `SMS_MFA` and `SMS_OTP` codes, as a `.sms` file, unless `--sms-sns` sends texts: `sms`). The
//! outbox is the
//! default only while the public URL is http (local development); behind https it must be asked
//! for with `--dev-outbox`, so a deployment never keeps codes on disk instead of mailing them
//! by mistake. Codes are secrets: no log line carries a message body.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use userpool_core::lifecycle::Mailer;

use crate::cli::{MailArgs, SmtpTls};

/// Refuses, before anything is written, an https server with no way to deliver codes chosen,
/// and contradictory choices.
pub(crate) fn check(args: &MailArgs, data_dir: &Path, https: bool) -> anyhow::Result<()> {
    // Checked here rather than by clap, which would also refuse USERPOOL_DEV_OUTBOX=false.
    if args.dev_outbox && args.smtp_host.is_some() {
        anyhow::bail!("--dev-outbox and --smtp-host exclude each other: choose one");
    }
    if https && args.smtp_host.is_none() && !args.dev_outbox {
        anyhow::bail!(
            "the public URL is https but no mail server is set: codes (sign-up confirmation, \
             password reset) would reach nobody. Set --smtp-host (USERPOOL_SMTP_HOST) to send \
             them by mail, or pass --dev-outbox (USERPOOL_DEV_OUTBOX=true) to write them to {} \
             for development",
            data_dir.join("outbox").display()
        );
    }
    Ok(())
}

/// Builds the mailer the flags ask for.
pub(crate) fn from_args(
    args: &MailArgs,
    data_dir: &Path,
    https: bool,
) -> anyhow::Result<Box<dyn Mailer>> {
    check(args, data_dir, https)?;
    let from: Mailbox = args
        .mail_from
        .parse()
        .with_context(|| format!("--mail-from '{}' is not an email address", args.mail_from))?;
    let Some(host) = &args.smtp_host else {
        let outbox = Outbox::create(data_dir.join("outbox"), from)?;
        let dir = outbox.dir.display();
        if args.dev_outbox {
            tracing::warn!(%dir, "--dev-outbox: codes are written to the development outbox, not mailed");
        } else {
            tracing::info!(%dir, "codes go to the development outbox, the default while the public URL is http (set --smtp-host to send mail)");
        }
        return Ok(Box::new(outbox));
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

/// The development outbox. Each message is written whole under a private staging directory
/// inside the outbox, then renamed into place (same file system, so the rename is atomic): a
/// reader of the outbox sees complete messages only, never half of one.
struct Outbox {
    dir: PathBuf,
    staging: PathBuf,
    from: Mailbox,
    seq: AtomicU64,
}

impl Outbox {
    fn create(dir: PathBuf, from: Mailbox) -> anyhow::Result<Outbox> {
        let staging = dir.join(".staging");
        for d in [&dir, &staging] {
            private_dir(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        Ok(Outbox {
            dir,
            staging,
            from,
            seq: AtomicU64::new(0),
        })
    }
}

/// Creates `dir` readable by its owner only (0700 on Unix), and tightens one that exists.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        builder.mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Writes `bytes` to a new file at `staged` (0600 on Unix), then renames it to `path`.
fn write_private(staged: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(staged)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(staged, path));
    if written.is_err() {
        let _ = std::fs::remove_file(staged);
    }
    written
}

impl Outbox {
    /// Writes one message whole as `{millis}-{seq}-{to}.{extension}`: under staging, then
    /// renamed into place.
    async fn write(&self, to: &str, extension: &str, bytes: Vec<u8>) -> Result<String, String> {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let safe_to: String = to
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '.' || c == '+' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{millis}-{n}-{safe_to}.{extension}");
        let path = self.dir.join(&name);
        // The process ID keeps two servers sharing a data directory off each other's staging files.
        let staged = self
            .staging
            .join(format!("{}-{name}.part", std::process::id()));
        let shown = path.display().to_string();
        let failed = shown.clone();
        tokio::task::spawn_blocking(move || write_private(&staged, &path, &bytes))
            .await
            .map_err(|e| format!("outbox {failed}: {e}"))?
            .map_err(|e| format!("outbox {failed}: {e}"))?;
        Ok(shown)
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let m = message(&self.from, to, subject, body)?;
        let shown = self.write(to, "eml", m.formatted()).await?;
        // Recipient, subject and file only: the body holds the code.
        tracing::info!(%to, %subject, file = %shown, "outbox: message written");
        Ok(())
    }

    fn sends_sms(&self) -> bool {
        true
    }

    /// A text message, as the development stand-in for an SMS provider: the body alone, in
    /// `{millis}-{seq}-{phone}.sms`.
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
        let file = self.write(to, "sms", body.as_bytes().to_vec()).await?;
        let to = userpool_core::auth::Delivery::Sms(to.to_string()).masked();
        tracing::info!(%to, %file, "outbox: text message written");
        Ok(())
    }
}
