//! One connection's life: the handshake; registration in [`Connections`](crate::Connections)
//! and the hub's `on_connected`; then the reader and the writer under one `select!` beside the
//! invocation runner (its own task); the close; and the cleanup.
//!
//! The end: whichever of the reader or the writer ends first ends the connection (the client
//! left or closed, a malformed message, the client timeout, a failed or overflowing write,
//! shutdown). The connection then leaves the registry at once, so nothing more is queued for
//! it. The runner still carries out what the client sent before it left, in order (a client's
//! `send` followed by `stop()` is honoured), and its completions are dropped. Only then does
//! the hub's `on_disconnected` run, exactly once: the hub never sees an invocation of a
//! connection after, or during, its disconnection.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::writer::{write, Outbound};
use super::{invocations, reader, writer, HubServer, Options};
use crate::connections::Outgoing;
use crate::hub::{Connection, Hub};
use crate::protocol::{
    handshake_error, Decoder, HandshakeDecoder, HubMessage, Protocol, ProtocolError, HANDSHAKE_OK,
};

/// Why a connection ended.
pub(super) enum End {
    /// The client closed or went away.
    Client,
    /// Close this side with a message.
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
}

impl End {
    /// The invocation runner stopped while the connection was up (a hub method panicked): no
    /// further invocation can be answered.
    pub(super) fn runner_failed() -> End {
        End::Close {
            error: Some("An unexpected error occurred on the server.".into()),
            allow_reconnect: true,
        }
    }
}

/// The handshake, then the connection's life.
pub(super) async fn run<H: Hub>(
    server: HubServer<H>,
    mut socket: WebSocket,
    connection: Connection<H::User>,
) {
    let options = server.inner.options.clone();
    let Some((protocol, rest)) = handshake(&mut socket, &options).await else {
        let _ = socket.close().await;
        return;
    };
    let (queue, pushes) = mpsc::channel::<Arc<Outgoing>>(options.outbound_queue);
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

    let (jobs, queued) = mpsc::channel(options.invocation_queue.max(1));
    let (completions, answered) = mpsc::channel(options.invocation_queue.max(1));
    let runner = tokio::spawn(invocations::run(
        hub.clone(),
        Connection {
            id: connection.id.clone(),
            user: connection.user.clone(),
        },
        queued,
        completions,
    ));
    let mut stopping = server.inner.stopping.subscribe();
    // A shutdown that began before this connection subscribed still closes it.
    if *stopping.borrow() {
        stopping.mark_changed();
    }
    let (mut sink, mut stream) = socket.split();
    let decoder = Decoder::new(protocol, options.max_message_size);
    let outbound = Outbound {
        completions: answered,
        pushes,
        overflowed,
        stopping,
    };
    let end = tokio::select! {
        end = reader::read(&mut stream, decoder, rest, jobs, options.client_timeout) => end,
        end = writer::run(&mut sink, protocol, outbound, &options) => end,
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
    // The reader is gone, so the queue is closed: the runner finishes what is queued and ends.
    if let Err(e) = runner.await {
        tracing::error!(connection = %connection.id, error = %e, "a hub invocation failed");
    }
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
                    ProtocolError::Malformed(m) => m,
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
