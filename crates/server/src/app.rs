//! `userpool serve`: opens the database, applies the seed (or makes the demo pool), loads keys
//! and the pool directory, keeps them fresh, and serves HTTP until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use userpool_api::{Api, Credentials};
use userpool_core::directory::Directory;
use userpool_core::settings::IssuerSettings;
use userpool_core::store::{AccessKeyStore, PoolStore, Store};
use userpool_core::time::{Clock, SystemClock};
use userpool_core::triggers::Triggers;
use userpool_store::SqlStore;
use userpool_web::{AppParts, AppState};

use crate::cli::ServeArgs;
use crate::{access_keys, demo, keys, master_key, seed};

pub(crate) async fn open_store(url: &str) -> anyhow::Result<Arc<SqlStore>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

async fn bind(args: &ServeArgs) -> anyhow::Result<TcpListener> {
    TcpListener::bind(args.listen).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (the port is in use: is another userpool running? choose another with --listen)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot listen on {}: {e}{hint}", args.listen)
    })
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let listener = bind(&args).await?;
    let addr = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let settings = IssuerSettings::new(&public_url, &args.domain_base, args.aws_issuers)
        .map_err(anyhow::Error::msg)?;
    if args.accept_any_credentials && (settings.is_https() || !addr.ip().is_loopback()) {
        anyhow::bail!(
            "--accept-any-credentials (USERPOOL_ACCEPT_ANY_CREDENTIALS) lets anyone call the Cognito \
             API with made-up keys: it is for local development, refused with an https public \
             URL ({public_url}) or when listening beyond loopback ({addr}); create keys with \
             `userpool access-keys create` instead"
        );
    }
    let data_dir = master_key::data_dir(&args.database);
    // Before the database is touched: a server that cannot deliver codes does not start.
    crate::mail::check(&args.mail, &data_dir, settings.is_https())?;
    let store = open_store(&args.database.database).await?;
    let master = Arc::new(master_key::load(&args.database)?);
    let csrf_key = master.derive("userpool csrf tokens v1");
    let mut mailer = crate::mail::from_args(&args.mail, &data_dir, settings.is_https())?;
    if let Some(endpoint) = &args.mail.sms_sns {
        let credentials = crate::triggers::aws_credentials(&args.triggers)?;
        mailer = Box::new(crate::sms::SnsSms::new(
            mailer,
            endpoint,
            &args.region,
            credentials,
        )?);
    }
    let mailer: Arc<dyn userpool_core::lifecycle::Mailer> = Arc::from(mailer);

    let directory = Arc::new(Directory::new(settings.clone(), master.clone()));
    let credentials = if args.accept_any_credentials {
        tracing::warn!(
            "--accept-any-credentials: the Cognito API accepts any well-formed signature, valid or not"
        );
        Credentials::AcceptAny
    } else {
        Credentials::SigV4
    };
    // One set of use cases (one work queue, one set of lockout turns) for the pages and the API.
    let auth = AppParts::auth(
        store.clone(),
        Arc::new(SystemClock),
        master.clone(),
        mailer.clone(),
        Duration::from_millis(args.hash_queue_timeout_ms),
        Arc::new(Triggers::new(
            Arc::new(crate::triggers::invoker(
                &args.triggers,
                settings.is_https(),
            )?),
            crate::triggers::code_key(&args.triggers)?,
        )),
        args.audit_retention_days,
    );
    let mut quotas = userpool_core::limits::Settings::default();
    for rule in &args.rate_limits {
        quotas
            .apply(rule)
            .map_err(|e| anyhow::anyhow!("--rate-limit: {e}"))?;
    }
    let limits = Arc::new(userpool_core::limits::Limits::new(&quotas));
    let api = Arc::new(Api {
        auth: auth.clone(),
        store: store.clone(),
        directory: directory.clone(),
        clock: Arc::new(SystemClock),
        master: master.clone(),
        region: args.region.clone(),
        credentials,
        limits: limits.clone(),
    });
    // The seed (or the demo pool) goes through the API's own operations.
    let mut demo_client = None;
    let mut demo_key = None;
    if let Some(path) = &args.seed {
        let report = seed::load(path, &*store, &args.region)
            .await?
            .apply(&api)
            .await?;
        for what in &report.created {
            tracing::info!(seed = %path.display(), "created {what}");
        }
        for (pool, client, secret) in &report.generated_secrets {
            println!(
                "generated secret of client {client} in pool {pool}: {secret}  (DescribeUserPoolClient shows it again; it is kept sealed)"
            );
        }
    } else if !args.no_demo && store.list_pools().await?.is_empty() {
        let plan = seed::plan(
            vec![demo::pool(&settings)],
            &*store,
            &args.region,
            SystemClock.now(),
        )
        .await?
        .map_err(|p| anyhow::anyhow!("demo pool: {}", p.join("; ")))?;
        plan.apply(&api).await?;
        tracing::info!("created the demo pool");
        if !store
            .list_access_keys()
            .await?
            .iter()
            .any(|k| k.description == demo::ACCESS_KEY_DESCRIPTION)
        {
            let (key, secret) =
                access_keys::create(&*store, &master, demo::ACCESS_KEY_DESCRIPTION).await?;
            tracing::info!(access_key = %key.id, "created the demo access key");
            demo_key = Some(demo::DemoKey {
                id: key.id,
                secret: Some(secret),
            });
        }
    }
    keys::ensure_keys(&*store, &master).await?;
    let problems = directory
        .refresh(&*store, SystemClock.now())
        .await
        .context("loading pools")?;
    if let Some((pool, e)) = problems.into_iter().next() {
        anyhow::bail!("loading pool {pool}: {e}");
    }
    if let Some(view) = directory
        .snapshot()
        .pools()
        .find(|v| v.pool.config.pool_name == demo::POOL_NAME)
    {
        demo_client = store
            .list_clients(&view.pool.id)
            .await?
            .into_iter()
            .find(|c| c.config.client_name == demo::CLIENT_NAME)
            .map(|c| c.client_id);
        if demo_key.is_none() {
            demo_key = store
                .list_access_keys()
                .await?
                .into_iter()
                .find(|k| k.description == demo::ACCESS_KEY_DESCRIPTION)
                .map(|k| demo::DemoKey {
                    id: k.id,
                    secret: None,
                });
        }
    }

    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let state = AppState::from(AppParts {
        store: store.clone(),
        directory: directory.clone(),
        clock: Arc::new(SystemClock),
        csrf_key,
        secure_cookies: settings.is_https(),
        draining: draining.clone(),
        master: master.clone(),
        // Providers on plain-http loopback are for development: only while we are on http.
        connector: Arc::new(userpool_federation::HttpConnector::new(
            Duration::from_secs(args.federation_timeout),
            !settings.is_https(),
        )),
        saml: Arc::new(userpool_federation::saml::SamlProviders::new(
            Duration::from_secs(args.federation_timeout),
            !settings.is_https(),
        )),
        auth,
        api,
        limits: limits.clone(),
        client_addresses: userpool_web::ClientAddresses::new(args.trusted_proxies.clone()),
    });
    let jobs = spawn_jobs(
        store.clone(),
        directory.clone(),
        limits,
        args.refresh_interval,
    );
    let imports = AbortOnDrop(spawn_import_runner(state.auth.clone(), directory.clone()));
    let metrics = match args.metrics_listen {
        Some(addr) => Some(AbortOnDrop(
            crate::metrics::serve(addr, store.clone()).await?,
        )),
        None => None,
    };

    println!(
        "userpool listening on {public_url} ({addr}), database {}",
        store.backend_name()
    );
    if let Some(text) = demo::banner(
        &directory.snapshot(),
        &settings,
        demo_client.as_deref(),
        demo_key.as_ref(),
        &args.region,
    ) {
        println!("{text}");
    }
    tracing::info!(%addr, %public_url, "listening");

    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::listener::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let drain = Duration::from_secs(args.drain_seconds);
    crate::listener::serve(
        listener,
        userpool_web::router(state),
        tls,
        shutdown_signal(draining, drain),
    )
    .await
    .context("serving HTTP")?;
    jobs.abort();
    drop(imports);
    drop(metrics);
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads the directory when the database reports a configuration change (PostgreSQL's
/// change feed) and every `interval` seconds as a backstop, and purges expired records every
/// minute. All are idempotent, so every node runs them.
fn spawn_jobs(
    store: Arc<SqlStore>,
    directory: Arc<Directory>,
    limits: Arc<userpool_core::limits::Limits>,
    interval: u64,
) -> tokio::task::JoinHandle<()> {
    let (changed, mut changes) = tokio::sync::mpsc::channel::<()>(1);
    let feed = tokio::spawn(follow_changes(store.clone(), changed));
    tokio::spawn(async move {
        let _feed = AbortOnDrop(feed);
        let mut refresh = tokio::time::interval(Duration::from_secs(interval.max(1)));
        let mut purge = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = refresh.tick() => reload(&store, &directory).await,
                Some(()) = changes.recv() => reload(&store, &directory).await,
                _ = purge.tick() => {
                    limits.forget_idle();
                    match store.purge_expired(SystemClock.now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(purged = n, "purged expired records"),
                        Err(e) => tracing::warn!(error = %e, "purging expired records failed"),
                    }
                }
            }
        }
    })
}

/// Runs the user import jobs that become pending (`StartUserImportJob`), on whichever node
/// claims each first; every few seconds, on every node.
fn spawn_import_runner(
    auth: Arc<userpool_core::auth::Auth>,
    directory: Arc<Directory>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = auth.run_import_jobs(&directory).await {
                tracing::warn!(error = %e.message, "running import jobs failed");
            }
        }
    })
}

async fn reload(store: &SqlStore, directory: &Directory) {
    match directory
        .refresh(store as &dyn Store, SystemClock.now())
        .await
    {
        Ok(problems) => {
            for (pool, e) in problems {
                tracing::error!(%pool, error = %e, "cannot load the pool's keys; serving its previous view");
            }
        }
        Err(e) => tracing::warn!(error = %e, "reloading pools failed; serving the previous view"),
    }
}

/// Signals `changed` at each configuration change the database reports (a full channel means
/// a reload is already due). Without a change feed (SQLite) it ends at once; while the
/// database is unreachable it retries each second, and the interval reload covers the gap.
async fn follow_changes(store: Arc<SqlStore>, changed: tokio::sync::mpsc::Sender<()>) {
    let mut feed = loop {
        match store.config_changes().await {
            Ok(Some(feed)) => break feed,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to configuration changes; retrying")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    loop {
        match feed.next().await {
            Ok(()) => {
                let _ = changed.try_send(());
            }
            Err(e) => {
                tracing::warn!(error = %e, "the configuration change feed failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = changed.try_send(());
            }
        }
    }
}

/// Aborts a task when its owner ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits for SIGTERM (or Ctrl-C), then marks the node draining (not ready) for `drain`
/// before the server stops accepting requests.
async fn shutdown_signal(draining: Arc<std::sync::atomic::AtomicBool>, drain: Duration) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
    draining.store(true, std::sync::atomic::Ordering::SeqCst);
    if !drain.is_zero() {
        tracing::info!(
            seconds = drain.as_secs(),
            "draining: not ready, still serving"
        );
        tokio::time::sleep(drain).await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}
