//! The command-line contract: every flag also reads an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A self-hosted identity server that behaves like an Amazon Cognito user pool.
///
/// With no flags, `userpool serve` listens on 127.0.0.1:9229, keeps its data in ./userpool.db
/// (SQLite), and on an empty database creates a demo pool ready to sign in to.
#[derive(Debug, Parser)]
#[command(name = "userpool", version, about, long_about)]
pub(crate) struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "USERPOOL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server. Boxed: its arguments dwarf the other commands' (clippy's
    /// `large_enum_variant`).
    Serve(Box<ServeArgs>),
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the access keys that sign requests to the Cognito API (AWS Signature Version 4).
    /// Their secrets are sealed under the master key, so every node with it accepts them.
    AccessKeys {
        #[command(subcommand)]
        command: AccessKeysCommand,
    },
    /// Move a pool's users in with their password hashes, or out (see
    /// docs/design/0008-triggers.md, "Moving users in").
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print a user's audit trail, newest first, as JSON lines: every authentication event
    /// (what `AdminListUserAuthEvents` lists) and administrators' changes to them.
    Audit {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The pool.
        #[arg(long = "pool")]
        pool_id: String,
        /// The user (their username, as the pool stores it).
        #[arg(long = "user")]
        username: String,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Copy a SQLite database to a new file while the server runs (a consistent snapshot).
    /// PostgreSQL deployments use PostgreSQL's own tools (pg_dump).
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The file to write; it must not exist.
        out: PathBuf,
    },
    /// Put a backup in place of a SQLite database (the server must be stopped): the file is
    /// checked to be a userpool database first.
    Restore {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The backup file.
        backup: PathBuf,
    },
    /// Apply schema migrations and exit (serve also does this at start-up).
    Migrate(DatabaseArgs),
    /// Validate a seed file against a database without changing anything.
    CheckSeed {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The seed file (JSON).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Add new signing keys to every pool (or one). Old keys stay published until no token they
    /// signed can still be valid; new keys are published at once and sign six and a half minutes
    /// later (JWKS cache lifetime + node refresh + clock skew), unless --now. Safe to run on
    /// several nodes at once.
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Rotate only this pool.
        #[arg(long, env = "USERPOOL_POOL")]
        pool: Option<String>,
        /// Start signing with the new keys immediately (for a compromised key).
        #[arg(long)]
        now: bool,
        /// The new keys' algorithm: RS256 (RSA-2048, Cognito's) or ES256 (ECDSA P-256, beyond
        /// Cognito). Without it, each pool keeps the algorithm of its newest key.
        #[arg(long, value_parser = ["RS256", "ES256"])]
        alg: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccessKeysCommand {
    /// Create an access key and print its ID and secret (shown once).
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// A note to recognize the key by in `list`.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the access keys (IDs, creation times and descriptions; never secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Delete an access key: requests signed with it are refused at once, on every node.
    Delete {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The access key ID (AKIA…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Load users into an existing pool: their attributes, groups, status, `sub` and password
    /// hashes (Argon2, bcrypt, scrypt, Firebase scrypt, PBKDF2-SHA256), which verify at sign-in
    /// and are replaced by ours then. Users whose name or `sub` is taken are skipped.
    Import {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        pool_id: String,
        /// jsonl (`users export`'s format), firebase (`firebase auth:export` JSON, with
        /// --firebase-params) or cognito-csv (Cognito's import CSV, without passwords).
        #[arg(long, value_enum, default_value_t = ImportFormat::Jsonl)]
        format: ImportFormat,
        /// The Firebase project's password hash parameters as JSON: signerKey, saltSeparator,
        /// rounds, memCost.
        #[arg(long)]
        firebase_params: Option<PathBuf>,
        file: PathBuf,
    },
    /// Write every user of a pool, one JSON object a line, with hashes and groups.
    Export {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        pool_id: String,
        /// The file to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ImportFormat {
    Jsonl,
    Firebase,
    CognitoCsv,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// Database URL: sqlite://PATH (embedded, one node) or postgres://… (several nodes).
    #[arg(
        long,
        env = "USERPOOL_DATABASE",
        default_value = "sqlite://userpool.db",
        hide_env_values = true
    )]
    pub(crate) database: String,

    /// Where the generated master key is kept when USERPOOL_MASTER_KEY is not set. Default: the
    /// directory of the SQLite file, or the working directory.
    #[arg(long, env = "USERPOOL_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

/// How codes (sign-up confirmation, password reset) reach users.
#[derive(Debug, Clone, Args)]
pub(crate) struct MailArgs {
    /// SMTP server for codes. Without it, messages go to the development outbox,
    /// `{data-dir}/outbox/*.eml`: by default with an http --public-url, only with --dev-outbox
    /// with an https one.
    #[arg(long, env = "USERPOOL_SMTP_HOST")]
    pub(crate) smtp_host: Option<String>,

    /// Write codes to the development outbox even though --public-url is https (a staging
    /// server with no mail). Without it, an https server with no --smtp-host refuses to start.
    #[arg(long, env = "USERPOOL_DEV_OUTBOX")]
    pub(crate) dev_outbox: bool,

    #[arg(long, env = "USERPOOL_SMTP_PORT", default_value_t = 587)]
    pub(crate) smtp_port: u16,

    /// none (plain, for local relays), starttls, or tls (implicit, usually port 465).
    #[arg(long, env = "USERPOOL_SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub(crate) smtp_tls: SmtpTls,

    /// SMTP user; the password is read from USERPOOL_SMTP_PASSWORD.
    #[arg(long, env = "USERPOOL_SMTP_USERNAME")]
    pub(crate) smtp_username: Option<String>,

    /// Sender of the messages.
    #[arg(long, env = "USERPOOL_MAIL_FROM", default_value = "no-reply@localhost")]
    pub(crate) mail_from: String,

    /// Send text messages (SMS_MFA and SMS_OTP codes) through Amazon SNS's Publish API:
    /// `aws` for SNS in --region, or the base URL of an SNS-compatible API (LocalStack, moto).
    /// Signed with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Without it texts go to the
    /// development outbox when there is one, else nowhere.
    #[arg(long, env = "USERPOOL_SMS_SNS")]
    pub(crate) sms_sns: Option<String>,
}

/// How the pools' Lambda triggers are called.
#[derive(Debug, Clone, Args)]
pub(crate) struct TriggerArgs {
    /// Base URL of the AWS Lambda Invoke API the triggers' function ARNs are called at (AWS,
    /// LocalStack, or a local Lambda runtime). Default: https://lambda.{region}.amazonaws.com,
    /// by each function's region.
    #[arg(long, env = "USERPOOL_LAMBDA_ENDPOINT")]
    pub(crate) lambda_endpoint: Option<String>,

    /// Access key ID that signs Lambda Invoke calls (SigV4).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub(crate) lambda_access_key_id: Option<String>,

    /// Its secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub(crate) lambda_secret_access_key: Option<String>,

    /// A session token, with temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub(crate) lambda_session_token: Option<String>,

    /// The 256-bit AES key (64 hex digits) that seals codes for the custom sender triggers
    /// (`CustomEmailSender`, `CustomSMSSender`), in the AWS Encryption SDK's message format; the
    /// trigger decrypts with a raw AES keyring of namespace `userpool` and the pool's
    /// `KMSKeyID` as key name (docs/design/0008-triggers.md).
    #[arg(long, env = "USERPOOL_CUSTOM_SENDER_KEY", hide_env_values = true)]
    pub(crate) custom_sender_key: Option<String>,

    /// Secret of the HMAC that signs calls to webhook triggers (an https URL in place of a
    /// function ARN); their receivers check it (docs/design/0008-triggers.md).
    #[arg(long, env = "USERPOOL_TRIGGER_WEBHOOK_SECRET", hide_env_values = true)]
    pub(crate) trigger_webhook_secret: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "USERPOOL_LISTEN", default_value = "127.0.0.1:9229")]
    pub(crate) listen: SocketAddr,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Seed file (JSON) applied at start-up: what exists is left alone, what is missing is created.
    #[arg(long, env = "USERPOOL_SEED")]
    pub(crate) seed: Option<PathBuf>,

    /// The URL clients reach this server at; issuers and endpoint URLs are built from it, never
    /// from request headers. Default: http:// + the listen address.
    #[arg(long, env = "USERPOOL_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,

    /// Issue tokens with Cognito's own issuer URLs (https://cognito-idp.{region}.amazonaws.com/
    /// {poolId}), so verifiers with the AWS issuer built in accept them. Discovery and JWKS are
    /// still served here.
    #[arg(long, env = "USERPOOL_AWS_ISSUERS")]
    pub(crate) aws_issuers: bool,

    /// Prefix domains answer on {prefix}.auth.{region}.{domain-base}.
    #[arg(long, env = "USERPOOL_DOMAIN_BASE", default_value = "localhost")]
    pub(crate) domain_base: String,

    /// Region of pools created without an Id, and the one the Cognito API answers for (the
    /// region of SigV4 credential scopes).
    #[arg(long, env = "USERPOOL_REGION", default_value = "us-east-1")]
    pub(crate) region: String,

    /// Accept any well-formed AWS signature on the Cognito API, without checking the key or
    /// the signature: for test suites that sign with dummy credentials during local
    /// development. Refused with an https --public-url.
    #[arg(long, env = "USERPOOL_ACCEPT_ANY_CREDENTIALS")]
    pub(crate) accept_any_credentials: bool,

    /// Do not create the demo pool on an empty database.
    #[arg(long, env = "USERPOOL_NO_DEMO")]
    pub(crate) no_demo: bool,

    #[command(flatten)]
    pub(crate) mail: MailArgs,

    #[command(flatten)]
    pub(crate) triggers: TriggerArgs,

    /// Seconds before a call to an outside identity provider (discovery, token, JWKS,
    /// userinfo) gives up.
    #[arg(long, env = "USERPOOL_FEDERATION_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub(crate) federation_timeout: u64,

    /// Milliseconds a sign-in waits for a place in the password-hashing queue before the
    /// server answers "busy, try again" (having spent nothing: no code, no step).
    #[arg(long, env = "USERPOOL_HASH_QUEUE_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) hash_queue_timeout_ms: u64,

    /// Seconds between reloads of pools, domains and keys from the database: a backstop, since
    /// on PostgreSQL other nodes' changes arrive at once through the change feed.
    #[arg(long, env = "USERPOOL_REFRESH_INTERVAL", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub(crate) refresh_interval: u64,

    /// A request quota rule, repeatable, applied in order over the defaults (docs/operations.md,
    /// "Rate limits"): `{Category}={rate}[/{burst}]` per pool, `{Category}@ip=…` per client
    /// address, `InvalidClient=…` for wrong client secrets, `…=off` to lift one, or `off` for
    /// none at all. Categories are Cognito's (`UserAuthentication`, `UserCreation`, `UserToken`, …).
    #[arg(
        long = "rate-limit",
        env = "USERPOOL_RATE_LIMITS",
        value_delimiter = ','
    )]
    pub(crate) rate_limits: Vec<String>,

    /// Days each authentication event stays in the audit trail (`AdminListUserAuthEvents`).
    #[arg(long, env = "USERPOOL_AUDIT_RETENTION_DAYS",
          default_value_t = userpool_core::auth::audit::DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub(crate) audit_retention_days: i64,

    /// A proxy (address or CIDR), repeatable, whose `X-Forwarded-For` names the client for
    /// rate limits and the audit trail; from any other peer the header is ignored.
    #[arg(long = "trusted-proxy", env = "USERPOOL_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = parse_proxy)]
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,

    /// The TLS certificate chain (PEM) to serve https with, without a proxy; read again on
    /// SIGHUP. With --tls-key.
    #[arg(long, env = "USERPOOL_TLS_CERT")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The TLS private key (PEM) of --tls-cert.
    #[arg(long, env = "USERPOOL_TLS_KEY")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Address of a second listener that serves `GET /metrics` (Prometheus text) and nothing
    /// else; keep it off the public network. Without it there is no metrics endpoint.
    #[arg(long, env = "USERPOOL_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<SocketAddr>,

    /// Seconds between SIGTERM and the end of accepting requests: `/health/ready` answers 503
    /// from the signal on, so load balancers move traffic away before the node stops.
    #[arg(long, env = "USERPOOL_DRAIN_SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub(crate) drain_seconds: u64,
}

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => crate::app::serve(*args).await,
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    database,
                    pool,
                    now,
                    alg,
                },
        } => crate::keys::rotate_command(&database, pool.as_deref(), now, alg.as_deref()).await,
        Command::AccessKeys { command } => match command {
            AccessKeysCommand::Create {
                database,
                description,
            } => {
                crate::access_keys::create_command(&database, description.as_deref().unwrap_or(""))
                    .await
            }
            AccessKeysCommand::List { database } => {
                crate::access_keys::list_command(&database).await
            }
            AccessKeysCommand::Delete { database, id } => {
                crate::access_keys::delete_command(&database, &id).await
            }
        },
        Command::Users { command } => match command {
            UsersCommand::Import {
                database,
                pool_id,
                format,
                firebase_params,
                file,
            } => {
                crate::users::import_command(
                    &database,
                    &pool_id,
                    format,
                    &file,
                    firebase_params.as_deref(),
                )
                .await
            }
            UsersCommand::Export {
                database,
                pool_id,
                out,
            } => crate::users::export_command(&database, &pool_id, out.as_deref()).await,
        },
        Command::Audit {
            database,
            pool_id,
            username,
            limit,
        } => crate::audit::audit_command(&database, &pool_id, &username, limit).await,
        Command::Backup { database, out } => crate::backup::backup(&database, &out).await,
        Command::Restore { database, backup } => crate::backup::restore(&database, &backup).await,
        Command::Migrate(database) => {
            let store = crate::app::open_store(&database.database).await?;
            println!("database {} is migrated", store.backend_name());
            store.close().await;
            Ok(())
        }
        Command::CheckSeed { database, file } => {
            let store = crate::app::open_store(&database.database).await?;
            let plan = crate::seed::load(&file, &*store, "us-east-1").await?;
            println!("{}: valid; {} pool(s)", file.display(), plan.pool_count());
            store.close().await;
            Ok(())
        }
    }
}

/// A `--trusted-proxy`: a CIDR, or one address.
fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is neither an address nor a CIDR"))
}
