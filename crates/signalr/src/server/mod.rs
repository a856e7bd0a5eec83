//! The hub server: [`HubServer`] mounts negotiate and the WebSocket transport for a [`Hub`]
//! and owns the live [`Connections`]; [`Options`] holds its timings and limits.
//!
//! Each connection runs three parts (STYLE.md §8): a reader (frames in, invocations queued in
//! arrival order, the client timeout), an invocation runner (the hub's methods, one at a time)
//! and a writer (completions, pushes and keep-alive pings out), so a slow hub method never
//! holds back the connection's pushes or pings. Layout:
//! * `endpoints.rs`: `POST {hub}/negotiate` and the WebSocket upgrade at `{hub}` (tokens,
//!   auth, the negotiated-connection table);
//! * `connection.rs`: one connection's life: handshake, registration, the reader and writer
//!   under one `select!`, the close, and the cleanup;
//! * `reader.rs`, `invocations.rs`, `writer.rs`: the three parts.

mod connection;
mod endpoints;
mod invocations;
mod reader;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;

use crate::connections::{ConnectionId, Connections};
use crate::hub::Hub;

/// Timings and limits (the .NET defaults unless noted).
#[derive(Debug, Clone)]
pub struct Options {
    /// A Ping goes out when nothing else did for this long (15 s).
    pub keep_alive: Duration,
    /// A connection that sent nothing for this long is closed (30 s). Only time spent waiting
    /// on the socket counts: while reading pauses because the invocation queue is full (of the
    /// client's own work), the clock stops, and it starts afresh when reading resumes.
    pub client_timeout: Duration,
    /// The handshake must arrive within this (15 s).
    pub handshake_timeout: Duration,
    /// Largest message accepted (32 KiB).
    pub max_message_size: usize,
    /// Pushes waiting for a slow connection before it is closed (1,024 messages).
    pub outbound_queue: usize,
    /// A write that takes longer closes the connection (10 s).
    pub send_timeout: Duration,
    /// How long a negotiated connection token waits for its WebSocket (15 s).
    pub negotiate_ttl: Duration,
    /// Invocations of one connection received but not yet started (32, our choice: .NET
    /// stops reading at the next invocation while one runs). When full, the connection's
    /// reader stops reading until the runner takes the next one (backpressure); pushes and
    /// pings still go out. Also bounds the completions waiting for the writer.
    pub invocation_queue: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep_alive: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            max_message_size: 32 * 1024,
            outbound_queue: 1024,
            send_timeout: Duration::from_secs(10),
            negotiate_ttl: Duration::from_secs(15),
            invocation_queue: 32,
        }
    }
}

/// A negotiated connection waiting for its WebSocket.
struct Pending {
    connection_id: ConnectionId,
    created: Instant,
    connected: bool,
}

struct Inner<H: Hub> {
    hub: Arc<H>,
    options: Options,
    connections: Connections,
    pending: Mutex<HashMap<String, Pending>>,
    stopping: watch::Sender<bool>,
}

/// A SignalR hub server for `H`: mount [`HubServer::router`] at the hub's path.
pub struct HubServer<H: Hub> {
    inner: Arc<Inner<H>>,
}

impl<H: Hub> Clone for HubServer<H> {
    fn clone(&self) -> Self {
        HubServer {
            inner: self.inner.clone(),
        }
    }
}

impl<H: Hub> HubServer<H> {
    /// A server for `hub`.
    pub fn new(hub: Arc<H>, options: Options) -> Self {
        Self::with_connections(hub, options, Connections::default())
    }

    /// A server for `hub` over `connections` (which the hub may also hold, to manage groups).
    pub fn with_connections(hub: Arc<H>, options: Options, connections: Connections) -> Self {
        HubServer {
            inner: Arc::new(Inner {
                hub,
                options,
                connections,
                pending: Mutex::new(HashMap::new()),
                stopping: watch::channel(false).0,
            }),
        }
    }

    /// The live connections: push to connections, users and groups.
    pub fn connections(&self) -> &Connections {
        &self.inner.connections
    }

    /// `{path}` (WebSocket) and `{path}/negotiate`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self, path: &str) -> Router<S> {
        Router::new()
            .route(
                &format!("{path}/negotiate"),
                post(endpoints::negotiate::<H>),
            )
            .route(path, get(endpoints::connect::<H>))
            .with_state(self.clone())
    }

    /// Closes every connection with `allowReconnect: true` (clients come back to another
    /// server, or this one restarted) and refuses new ones.
    pub fn shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }
}
