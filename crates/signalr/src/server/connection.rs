//! One connection's life: the handshake, registration in [`Connections`](crate::Connections)
//! and the hub's `on_connected`, then its loop: decode invocations and answer them one at a
//! time, write queued pushes, keep-alive pings, the client timeout, and a close with
//! `allowReconnect` when the server stops or the client is too slow.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant as TokioInstant;

use super::{HubServer, Options};
use crate::connections::Outgoing;
use crate::hub::{Connection, Hub};
use crate::protocol::{
    handshake_error, Decoder, HandshakeDecoder, HubMessage, Outcome, Protocol, ProtocolError,
    HANDSHAKE_OK,
};

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
