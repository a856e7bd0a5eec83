//! Starting and stopping the server: bind, connect the store, migrate, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use pawpost_store::EventStore;
use pawpost_workers::{LogFeed, WorkerHost};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{http, AppState, Settings};

/// A server running in the background. Dropping it stops the server too (without waiting);
/// call [`RunningServer::shutdown`] to stop it gracefully and wait.
#[derive(Debug)]
pub struct RunningServer {
    /// The address actually bound (the real port when the settings asked for port 0).
    pub addr: SocketAddr,
    /// The state the handlers share, so tests can reach the store or the keys.
    pub state: AppState,
    /// Runs the log workers (the projectors) whose leases this server holds.
    pub workers: WorkerHost,
    shutdown: oneshot::Sender<()>,
    stop_feed: tokio::sync::watch::Sender<bool>,
    feed: JoinHandle<()>,
    join: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// `http://ADDR`, the base for requests.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, then stops the workers
    /// (each commits the batch it is on), releases their leases and stops the log reader; waits
    /// for all of it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // Err means the server already stopped by itself: the join result says why.
        let _ = self.shutdown.send(());
        let served = self.join.await.context("the server task panicked");
        self.workers.stop().await;
        self.stop_feed.send_replace(true);
        let _ = self.feed.await;
        served?
    }
}

/// Connects the store named in the settings (creating the data directory for SQLite) and
/// applies pending migrations.
#[tracing::instrument(skip_all, fields(database = %settings.database_url_redacted()))]
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Arc<dyn EventStore>> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    let database = settings.database_url_redacted();
    let store = pawpost_store::connect(&settings.database_url)
        .await
        .with_context(|| format!("connecting to {database}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("migrating {database}"))?;
    tracing::info!(backend = ?store.backend(), "database ready");
    Ok(store)
}

/// Binds, connects the store, migrates, starts the shared log reader and the log workers (those
/// whose leases this process gets, see `pawpost_workers::WorkerHost`), then serves in a background task. Returns once
/// the server accepts requests; port 0 in `settings.bind` picks a free port (see
/// [`RunningServer::addr`]).
///
/// Prints `pawpost listening on http://ADDR` on stdout, once, so scripts can find the port.
pub async fn spawn(settings: Settings) -> anyhow::Result<RunningServer> {
    let open_files = crate::process::raise_open_file_limit();
    tracing::info!(?open_files, "open-file limit");
    let listener = TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let store = connect_and_migrate(&settings).await?;
    let dev = settings.dev;
    let (stop_feed, feed_stop) = tokio::sync::watch::channel(false);
    let (feed, feed_join) = LogFeed::spawn(store.clone(), feed_stop);
    let state = AppState::new(store, settings, feed.clone()).context("loading keys")?;
    if dev {
        tracing::info!("development mode");
    }
    let workers = WorkerHost::start(
        state.store.db(),
        feed.clone(),
        state.projections.runnables(),
    )
    .await;

    let (hub, connections) = crate::hub::build(state.clone());
    let (stop_dispatcher, dispatcher_stop) = tokio::sync::watch::channel(false);
    let stats = crate::process::router(connections.clone());
    let dispatcher = crate::hub::spawn_dispatcher(state.clone(), connections, dispatcher_stop);
    let app = http::router(state.clone())
        .merge(hub.router(crate::hub::PATH))
        .merge(stats)
        .layer(http::cors(&state.settings.cors_origins));
    let (tx, rx) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // A send or a dropped RunningServer both mean: stop.
                let _ = rx.await;
                tracing::info!("shutting down: no new connections, finishing requests");
                // Hub connections end with Close {allowReconnect: true}: clients come back.
                hub.shutdown();
            })
            .await
            .context("serving HTTP");
        let _ = stop_dispatcher.send(true);
        let _ = dispatcher.await;
        served
    });

    tracing::info!("listening on http://{addr}");
    println!("pawpost listening on http://{addr}");
    Ok(RunningServer {
        addr,
        state,
        workers,
        shutdown: tx,
        stop_feed,
        feed: feed_join,
        join,
    })
}

/// Runs the server until `shutdown` completes (the binary passes [`crate::shutdown_signal`]),
/// then stops gracefully.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut server = spawn(settings).await?;
    tokio::select! {
        () = shutdown => {}
        // The accept loop ended by itself: report why.
        result = &mut server.join => return result.context("the server task panicked")?,
    }
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests;
