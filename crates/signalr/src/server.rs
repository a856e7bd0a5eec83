//! The transport side: negotiate (v0 and v1), the WebSocket transport (with or without
//! negotiate), the handshake, then each connection's loop: decode invocations and answer them
//! one at a time, write queued pushes, keep-alive pings, the client timeout, and a close with
//! `allowReconnect` when the server stops or the client is too slow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::connections::{ConnectionId, Connections, Outgoing};
use crate::hub::{Connection, Hub};
use crate::protocol::{
    handshake_error, Decoder, HandshakeDecoder, HubMessage, Outcome, Protocol, HANDSHAKE_OK,
};

/// Timings and limits (the .NET defaults unless noted).
#[derive(Debug, Clone)]
pub struct Options {
    /// A Ping goes out when nothing else did for this long (15 s).
    pub keep_alive: Duration,
    /// A connection that sent nothing for this long is closed (30 s).
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
        }
    }
}

/// Initial read buffer of a connection's socket (grows for larger frames).
const READ_BUFFER: usize = 8 * 1024;

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
            .route(&format!("{path}/negotiate"), post(negotiate::<H>))
            .route(path, get(connect::<H>))
            .with_state(self.clone())
    }

    /// Closes every connection with `allowReconnect: true` (clients come back to another
    /// server, or this one restarted) and refuses new ones.
    pub fn shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }
}

/// The bearer token of a request: `access_token` query (browsers) or `Authorization` header.
fn token<'a>(query: &'a HashMap<String, String>, headers: &'a HeaderMap) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("access_token"))
        .map(|(_, v)| v.as_str())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .filter(|t| !t.is_empty())
}

fn query_value<'a>(query: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn unauthorized(detail: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        detail.to_string(),
    )
        .into_response()
}

/// `POST {hub}/negotiate[?negotiateVersion=1]`.
async fn negotiate<H: Hub>(
    State(server): State<HubServer<H>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = server.inner.hub.authenticate(token(&query, &headers)) {
        return unauthorized(&e.0);
    }
    let version = query_value(&query, "negotiateVersion")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0)
        .min(1);
    let connection_id: ConnectionId = uuid::Uuid::new_v4().to_string().into();
    let connection_token = if version >= 1 {
        uuid::Uuid::new_v4().to_string()
    } else {
        connection_id.to_string()
    };
    {
        let mut pending = server
            .inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let ttl = server.inner.options.negotiate_ttl;
        pending.retain(|_, p| p.connected || p.created.elapsed() < ttl);
        pending.insert(
            connection_token.clone(),
            Pending {
                connection_id: connection_id.clone(),
                created: Instant::now(),
                connected: false,
            },
        );
    }
    let transports = json!([{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]);
    let body = if version >= 1 {
        json!({"connectionId": &*connection_id, "connectionToken": connection_token,
               "negotiateVersion": 1, "availableTransports": transports})
    } else {
        json!({"connectionId": &*connection_id, "negotiateVersion": 0,
               "availableTransports": transports})
    };
    Json(body).into_response()
}

/// `GET {hub}?id=<token>` (after negotiate) or `GET {hub}` (skipNegotiation): the WebSocket.
async fn connect<H: Hub>(
    State(server): State<HubServer<H>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let user = match server.inner.hub.authenticate(token(&query, &headers)) {
        Ok(u) => Arc::new(u),
        Err(e) => return unauthorized(&e.0),
    };
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "only WebSockets are served").into_response();
    };
    if *server.inner.stopping.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let connection_id = match query_value(&query, "id") {
        None => uuid::Uuid::new_v4().to_string().into(),
        Some(token) => {
            let mut pending = server
                .inner
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match pending.get_mut(token) {
                None => {
                    return (StatusCode::NOT_FOUND, "No Connection with that ID").into_response()
                }
                Some(p) if p.connected => {
                    return (StatusCode::CONFLICT, "the connection is already open").into_response()
                }
                Some(p) => {
                    p.connected = true;
                    p.connection_id.clone()
                }
            }
        }
    };
    let token = query_value(&query, "id").map(str::to_string);
    upgrade
        // Small buffers (they grow for larger frames): an idle connection should cost little,
        // and every write goes out at once (no batching behind a latency).
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        // Frames may hold several messages; the decoder enforces the per-message limit and
        // answers with a Close naming it. Frames beyond this are dropped by the socket.
        .max_message_size(
            server
                .inner
                .options
                .max_message_size
                .saturating_mul(4)
                .max(64 * 1024),
        )
        .on_upgrade(move |socket| async move {
            let connection = Connection {
                id: connection_id,
                user,
            };
            run(server.clone(), socket, connection).await;
            if let Some(token) = token {
                server
                    .inner
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&token);
            }
        })
}

/// Why a connection loop ended.
enum End {
    /// The client closed or went away.
    Client,
    /// Close this side with a message.
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
}

/// The handshake, then the connection's life.
async fn run<H: Hub>(server: HubServer<H>, mut socket: WebSocket, connection: Connection<H::User>) {
    let options = server.inner.options.clone();
    let Some((protocol, rest)) = handshake(&mut socket, &options).await else {
        let _ = socket.close().await;
        return;
    };
    let (queue, mut outbound) = mpsc::channel::<Arc<Outgoing>>(options.outbound_queue);
    let overflowed = Arc::new(AtomicBool::new(false));
    let hub = server.inner.hub.clone();
    let user_key = hub.user_key(&connection.user);
    server
        .inner
        .connections
        .add(connection.id.clone(), user_key, queue, overflowed.clone());
    hub.on_connected(&connection).await;
    // The handshake answer goes out once the connection is registered and the hub's
    // `on_connected` ran (groups joined): when the client's `start()` resolves, pushes reach it.
    if socket
        .send(Message::Text(
            String::from_utf8_lossy(HANDSHAKE_OK).into_owned().into(),
        ))
        .await
        .is_err()
    {
        server.inner.connections.remove(&connection.id);
        hub.on_disconnected(&connection).await;
        return;
    }

    let (mut sink, mut stream) = socket.split();
    let mut decoder = Decoder::new(protocol, options.max_message_size);
    let mut stopping = server.inner.stopping.subscribe();
    // A shutdown that began before this connection subscribed still closes it.
    if *stopping.borrow() {
        stopping.mark_changed();
    }
    let mut last_received = TokioInstant::now();
    let mut last_sent = TokioInstant::now();
    // One timer per connection, set to the next keep-alive or client-timeout deadline: an
    // idle connection wakes only when one of them is due.
    let timer = tokio::time::sleep(options.keep_alive.min(options.client_timeout));
    tokio::pin!(timer);
    let mut pending_input = rest;

    let end = 'life: loop {
        // Input left over from the handshake frame, then each frame as it comes.
        if !pending_input.is_empty() {
            let bytes = std::mem::take(&mut pending_input);
            match decoder.push(&bytes) {
                Ok(messages) => {
                    for m in messages {
                        match handle(&hub, &connection, protocol, m, &mut sink, &options).await {
                            Handled::End(end) => break 'life end,
                            // Only what went out counts for the keep-alive: a client's pings
                            // must not hold back the server's (the client would time out).
                            Handled::Answered => last_sent = TokioInstant::now(),
                            Handled::Silent => {}
                        }
                    }
                }
                Err(e) => {
                    break End::Close {
                        error: Some(format!("Connection closed with an error: {e}")),
                        allow_reconnect: false,
                    }
                }
            }
        }
        if overflowed.load(Ordering::Relaxed) {
            break End::Close {
                error: Some("the client is too slow to receive its messages".into()),
                allow_reconnect: true,
            };
        }
        let due = (last_received + options.client_timeout).min(last_sent + options.keep_alive);
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        tokio::select! {
            frame = stream.next() => {
                last_received = TokioInstant::now();
                match frame {
                    Some(Ok(Message::Text(t))) => pending_input = t.as_bytes().to_vec(),
                    Some(Ok(Message::Binary(b))) => pending_input = b.to_vec(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Client,
                }
            }
            out = outbound.recv() => {
                let Some(out) = out else { break End::Client };
                if write(&mut sink, protocol, &out.bytes(protocol), &options).await.is_err() {
                    break End::Client;
                }
                last_sent = TokioInstant::now();
            }
            () = &mut timer => {
                if last_received.elapsed() >= options.client_timeout {
                    break End::Close {
                        error: Some("Server timeout elapsed without receiving a message from the client.".into()),
                        allow_reconnect: true,
                    };
                }
                if last_sent.elapsed() >= options.keep_alive {
                    if write(&mut sink, protocol, &protocol.encode(&HubMessage::Ping), &options).await.is_err() {
                        break End::Client;
                    }
                    last_sent = TokioInstant::now();
                }
            }
            Ok(()) = stopping.changed() => {
                break End::Close { error: None, allow_reconnect: true };
            }
        }
    };
    if let End::Close {
        error,
        allow_reconnect,
    } = end
    {
        let close = protocol.encode(&HubMessage::Close {
            error,
            allow_reconnect,
        });
        let _ = write(&mut sink, protocol, &close, &options).await;
        let _ = sink.send(Message::Close(None)).await;
    }
    server.inner.connections.remove(&connection.id);
    hub.on_disconnected(&connection).await;
}

/// Reads the handshake (within its timeout) and answers failures; the protocol and the bytes
/// after the handshake record on success.
async fn handshake(socket: &mut WebSocket, options: &Options) -> Option<(Protocol, Vec<u8>)> {
    let mut decoder = HandshakeDecoder::new(options.max_message_size);
    let deadline = tokio::time::Instant::now() + options.handshake_timeout;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .ok()??;
        let bytes = match frame.ok()? {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            Message::Close(_) => return None,
            _ => continue,
        };
        match decoder.push(&bytes) {
            Ok(Some((request, rest))) => return Some((request.protocol, rest)),
            Ok(None) => continue,
            Err(e) => {
                let text = match e {
                    crate::protocol::ProtocolError::Malformed(m) => m,
                    other => other.to_string(),
                };
                let reply = handshake_error(&text);
                let _ = socket
                    .send(Message::Text(
                        String::from_utf8_lossy(&reply).into_owned().into(),
                    ))
                    .await;
                return None;
            }
        }
    }
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;

/// Writes one encoded message: a text frame for JSON, a binary frame for MessagePack.
async fn write(
    sink: &mut Sink,
    protocol: Protocol,
    bytes: &[u8],
    options: &Options,
) -> Result<(), ()> {
    let frame = match protocol {
        Protocol::Json => Message::Text(String::from_utf8_lossy(bytes).into_owned().into()),
        Protocol::MessagePack => Message::Binary(bytes.to_vec().into()),
    };
    match tokio::time::timeout(options.send_timeout, sink.send(frame)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// What handling a client message did.
enum Handled {
    /// An answer went out.
    Answered,
    /// Nothing was sent (a ping, an invocation without id, …).
    Silent,
    /// The connection ends.
    End(End),
}

/// Handles one message from the client.
async fn handle<H: Hub>(
    hub: &Arc<H>,
    connection: &Connection<H::User>,
    protocol: Protocol,
    message: HubMessage,
    sink: &mut Sink,
    options: &Options,
) -> Handled {
    let reply = match message {
        HubMessage::Invocation {
            invocation_id,
            target,
            arguments,
            ..
        } => {
            let result = hub.invoke(connection, &target, arguments).await;
            let Some(id) = invocation_id else {
                return Handled::Silent;
            };
            HubMessage::Completion {
                invocation_id: id,
                outcome: match result {
                    Ok(None) => Outcome::Void,
                    Ok(Some(v)) => Outcome::Result(v),
                    Err(e) => Outcome::Error(e.0),
                },
            }
        }
        HubMessage::StreamInvocation { invocation_id, .. } => HubMessage::Completion {
            invocation_id,
            outcome: Outcome::Error("Streaming methods are not supported.".into()),
        },
        HubMessage::Close { .. } => return Handled::End(End::Client),
        // Pings only prove the client is alive; streams from the client, cancellations of
        // streams and stateful-reconnect bookkeeping are not used by this server.
        _ => return Handled::Silent,
    };
    if write(sink, protocol, &protocol.encode(&reply), options)
        .await
        .is_err()
    {
        return Handled::End(End::Client);
    }
    Handled::Answered
}
