//! The reading half of a connection: frames in, decoded into hub messages, invocations queued
//! for the runner in arrival order; a Close ends the connection; pings only prove the client
//! is alive.
//!
//! Backpressure: the invocation queue is bounded, and when it is full the reader waits for
//! room before reading on, so a client cannot pile up unbounded work. The client timeout
//! counts only time spent waiting on the socket for the next frame: it restarts when reading
//! resumes, so a pause for backpressure never closes the connection. That pause is bounded by
//! the client's own work (the queue is full of what it sent, and the runner is busy with it),
//! and a client that went away meanwhile is noticed by the writer (its next push or ping
//! fails) or when reading resumes.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connection::End;
use super::invocations::Job;
use crate::protocol::{Decoder, HubMessage};

/// The reading half of a split socket.
pub(super) type Stream = futures::stream::SplitStream<WebSocket>;

/// Reads `stream` (after `input`, what followed the handshake in its frame) until the
/// connection ends, queueing invocations on `jobs`.
pub(super) async fn read(
    stream: &mut Stream,
    mut decoder: Decoder,
    mut input: Vec<u8>,
    jobs: mpsc::Sender<Job>,
    client_timeout: Duration,
) -> End {
    let timer = tokio::time::sleep(client_timeout);
    tokio::pin!(timer);
    loop {
        if !input.is_empty() {
            let messages = match decoder.push(&std::mem::take(&mut input)) {
                Ok(messages) => messages,
                Err(e) => {
                    return End::Close {
                        error: Some(format!("Connection closed with an error: {e}")),
                        allow_reconnect: false,
                    }
                }
            };
            for message in messages {
                let job = match message {
                    HubMessage::Invocation {
                        invocation_id,
                        target,
                        arguments,
                        ..
                    } => Job::Invoke {
                        invocation_id,
                        target,
                        arguments,
                    },
                    HubMessage::StreamInvocation { invocation_id, .. } => Job::Refuse {
                        invocation_id,
                        error: "Streaming methods are not supported.".into(),
                    },
                    HubMessage::Close { .. } => return End::Client,
                    // Pings only prove the client is alive; streams from the client,
                    // cancellations of streams and stateful-reconnect bookkeeping are not used
                    // by this server.
                    _ => continue,
                };
                // Waits for room when the queue is full (backpressure).
                if jobs.send(job).await.is_err() {
                    return End::runner_failed();
                }
            }
        }
        // The client timeout starts now: after the frame's messages are queued.
        timer.as_mut().reset(Instant::now() + client_timeout);
        let frame = tokio::select! {
            // A frame that is there wins over a timer due at the same time.
            biased;
            frame = stream.next() => frame,
            () = &mut timer => return End::Close {
                error: Some("Server timeout elapsed without receiving a message from the client.".into()),
                allow_reconnect: true,
            },
        };
        match frame {
            Some(Ok(Message::Text(t))) => input = t.as_bytes().to_vec(),
            Some(Ok(Message::Binary(b))) => input = b.to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return End::Client,
        }
    }
}
