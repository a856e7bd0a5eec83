//! The writing half of a connection: the runner's completions, the pushes queued through
//! [`Connections`](crate::Connections) and keep-alive pings go out one frame at a time, so
//! none waits on a hub method. Completions go first when both are ready (a client's answer
//! does not queue behind a backlog of pushes); there is no order between a completion and a
//! push. A ping goes out when nothing else did for the keep-alive interval. The writer ends
//! the connection when a write fails or takes too long, when the push queue overflowed (the
//! client is too slow) and on shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::SinkExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::connection::End;
use super::Options;
use crate::connections::Outgoing;
use crate::protocol::{HubMessage, Protocol};

/// The writing half of a split socket.
pub(super) type Sink = futures::stream::SplitSink<WebSocket, Message>;

/// What the writer sends, and what tells it to stop.
pub(super) struct Outbound {
    /// Completions from the invocation runner, in invocation order.
    pub(super) completions: mpsc::Receiver<HubMessage>,
    /// Pushes from [`Connections`](crate::Connections).
    pub(super) pushes: mpsc::Receiver<Arc<Outgoing>>,
    /// Set when a push found the queue full.
    pub(super) overflowed: Arc<AtomicBool>,
    /// Becomes true when the server shuts down.
    pub(super) stopping: watch::Receiver<bool>,
}

/// Writes what `outbound` brings until the connection ends.
pub(super) async fn run(
    sink: &mut Sink,
    protocol: Protocol,
    mut outbound: Outbound,
    options: &Options,
) -> End {
    let ping: Arc<[u8]> = protocol.encode(&HubMessage::Ping).into();
    let mut last_sent = Instant::now();
    // One timer, set to the next keep-alive: an idle connection wakes only when one is due.
    let timer = tokio::time::sleep(options.keep_alive);
    tokio::pin!(timer);
    loop {
        if outbound.overflowed.load(Ordering::Relaxed) {
            return End::Close {
                error: Some("the client is too slow to receive its messages".into()),
                allow_reconnect: true,
            };
        }
        let due = last_sent + options.keep_alive;
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        let bytes: Arc<[u8]> = tokio::select! {
            biased;
            Ok(()) = outbound.stopping.changed() => {
                return End::Close { error: None, allow_reconnect: true };
            }
            completion = outbound.completions.recv() => match completion {
                Some(completion) => protocol.encode(&completion).into(),
                None => return End::runner_failed(),
            },
            push = outbound.pushes.recv() => match push {
                Some(push) => push.bytes(protocol),
                None => return End::Client,
            },
            () = &mut timer => ping.clone(),
        };
        if write(sink, protocol, &bytes, options).await.is_err() {
            return End::Client;
        }
        last_sent = Instant::now();
    }
}

/// Writes one encoded message: a text frame for JSON, a binary frame for MessagePack.
pub(super) async fn write(
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
