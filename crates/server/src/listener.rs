//! The public listener: plain HTTP, or TLS without a proxy (`--tls-cert`, `--tls-key`: rustls
//! on aws-lc-rs through axum-server, HTTP/2 by ALPN, the certificate read again on SIGHUP). Both
//! give slow clients a deadline for their request's headers, and stop gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

/// How long a client has to send a request's headers (also how long an idle keep-alive
/// connection stays open): long enough for clients' connection pools, short enough that slow
/// clients cannot hold connections.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may take once the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The certificate chain and key files (PEM) of `--tls-cert` and `--tls-key`.
pub(crate) struct TlsFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<TlsFiles>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle: Handle<SocketAddr> = Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let listener = listener.into_std()?;
    // Each request knows its peer's address (rate limits, the audit trail).
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            let mut server = axum_server::from_tcp(listener)?.handle(handle);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT);
            server.serve(service).await?;
        }
        Some(files) => {
            let config = RustlsConfig::from_pem_file(&files.cert, &files.key)
                .await
                .with_context(|| {
                    format!(
                        "reading --tls-cert {} and --tls-key {}",
                        files.cert.display(),
                        files.key.display()
                    )
                })?;
            reload_on_sighup(config.clone(), files);
            let mut server = axum_server::from_tcp_rustls(listener, config)?.handle(handle);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT);
            server.serve(service).await?;
        }
    }
    Ok(())
}

/// Reads the certificate and key again at each SIGHUP (a renewed certificate takes effect
/// without a restart); a pair that does not load leaves the current one in use.
fn reload_on_sighup(config: RustlsConfig, files: TlsFiles) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP: certificates are not reloaded");
            return;
        };
        while hup.recv().await.is_some() {
            match config.reload_from_pem_file(&files.cert, &files.key).await {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate not reloaded; the previous one stays")
                }
            }
        }
    });
    #[cfg(not(unix))]
    drop((config, files));
}
