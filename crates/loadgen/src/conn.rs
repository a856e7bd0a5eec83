//! One SignalR client connection: WebSocket without negotiate (as `skipNegotiation`), the
//! handshake, then one task that sends what it is told, answers nothing but keeps the
//! connection alive with pings, and checks every `ReceiveMessage` it gets.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use pawpost_signalr::protocol::{handshake_request, Decoder, HubMessage, Outcome, Protocol};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::setup::User;
use crate::tally::Tally;
use crate::Args;

/// A client pings this often (the server drops clients silent for 30 s).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long opening a connection (TCP, upgrade, handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// What a connection task is told to do.
pub enum Command {
    /// Send message `number` to `conversation` through `SendMessage`.
    Send {
        number: u64,
        conversation: String,
        temp_id: String,
        padding: usize,
    },
    /// Close the connection.
    Close,
}

/// A running connection.
pub struct Connection {
    tx: mpsc::UnboundedSender<Command>,
}

impl Connection {
    pub fn sender(&self) -> mpsc::UnboundedSender<Command> {
        self.tx.clone()
    }

    pub fn close(self) {
        let _ = self.tx.send(Command::Close);
    }
}

/// Opens a connection per user, `args.connect_rate` per second; `None` where one failed (the
/// tally says why).
pub async fn open_all(
    args: &Args,
    base: &str,
    users: &[User],
    tally: Arc<Tally>,
) -> Vec<Option<Connection>> {
    let hub = format!("{}/hubs/messaging", base.replacen("http", "ws", 1));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(users.len());
    for (i, user) in users.iter().enumerate() {
        let at = start + Duration::from_secs_f64(i as f64 / args.connect_rate);
        tokio::time::sleep_until(at.into()).await;
        let url = format!("{hub}?access_token={}", user.token);
        let (tally, protocol, me) = (tally.clone(), args.protocol(), user.id.clone());
        handles.push(tokio::spawn(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, open(&url, protocol)).await {
                Ok(Ok(ws)) => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(run(ws, protocol, me, rx, tally));
                    Some(Connection { tx })
                }
                Ok(Err(e)) => {
                    tally.connect_failed(format!("{e:#}"));
                    None
                }
                Err(_) => {
                    tally.connect_failed("timed out".into());
                    None
                }
            }
        }));
    }
    let mut conns = Vec::with_capacity(handles.len());
    for h in handles {
        conns.push(h.await.ok().flatten());
    }
    conns
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and completes the handshake.
async fn open(url: &str, protocol: Protocol) -> anyhow::Result<Ws> {
    // Small buffers: the generator holds as many connections as the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .context("opening the WebSocket")?;
    ws.send(Message::text(handshake_request(protocol)))
        .await
        .context("sending the handshake")?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str() == "{}\u{1e}" => Ok(ws),
        other => anyhow::bail!("handshake refused: {other:?}"),
    }
}

/// A connection's own view: what it got, to find duplicates and reordering.
struct Recipient {
    me: String,
    seen: HashSet<u64>,
    last_seq: HashMap<String, i64>,
}

/// Drives one connection until told to close or the server closes it.
async fn run(
    mut ws: Ws,
    protocol: Protocol,
    me: String,
    mut rx: mpsc::UnboundedReceiver<Command>,
    tally: Arc<Tally>,
) {
    let mut decoder = Decoder::new(protocol, 1 << 20);
    let mut pending: HashMap<u64, u64> = HashMap::new();
    let mut recipient = Recipient {
        me,
        seen: HashSet::new(),
        last_seq: HashMap::new(),
    };
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    let mut closing = false;
    loop {
        tokio::select! {
            command = rx.recv(), if !closing => match command {
                Some(Command::Send { number, conversation, temp_id, padding }) => {
                    let sent = tally.now_micros();
                    let mut content = format!("lg {number} {sent} ");
                    while content.len() < padding {
                        content.push('.');
                    }
                    let invocation = HubMessage::Invocation {
                        invocation_id: Some(number.to_string()),
                        target: "SendMessage".into(),
                        arguments: vec![json!({
                            "conversationId": conversation,
                            "content": content,
                            "tempId": temp_id,
                        })],
                        stream_ids: vec![],
                    };
                    pending.insert(number, sent);
                    if let Err(e) = ws.send(frame(protocol, &invocation)).await {
                        pending.remove(&number);
                        tally.failed(number, format!("writing: {e}"));
                    }
                }
                Some(Command::Close) | None => {
                    closing = true;
                    let _ = ws.close(None).await;
                }
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    handle(&mut decoder, t.as_bytes(), &mut pending, &mut recipient, &tally);
                }
                Some(Ok(Message::Binary(b))) => {
                    handle(&mut decoder, &b, &mut pending, &mut recipient, &tally);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    if !closing {
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Some(Ok(_)) => {}
            },
            _ = ping.tick(), if !closing => {
                let _ = ws.send(frame(protocol, &HubMessage::Ping)).await;
            }
        }
    }
    for number in pending.into_keys() {
        tally.failed(number, "the connection closed before the completion".into());
    }
}

fn frame(protocol: Protocol, message: &HubMessage) -> Message {
    let bytes = protocol.encode(message);
    match protocol {
        Protocol::Json => Message::text(String::from_utf8_lossy(&bytes).into_owned()),
        Protocol::MessagePack => Message::binary(bytes),
    }
}

/// Decodes what arrived and accounts for it.
fn handle(
    decoder: &mut Decoder,
    bytes: &[u8],
    pending: &mut HashMap<u64, u64>,
    recipient: &mut Recipient,
    tally: &Tally,
) {
    let messages = match decoder.push(bytes) {
        Ok(m) => m,
        Err(e) => {
            tally.connect_failed(format!("undecodable frame: {e}"));
            return;
        }
    };
    for message in messages {
        match message {
            HubMessage::Completion {
                invocation_id,
                outcome,
            } => {
                let Ok(number) = invocation_id.parse::<u64>() else {
                    continue;
                };
                let Some(sent) = pending.remove(&number) else {
                    continue;
                };
                match outcome {
                    Outcome::Error(e) => tally.failed(number, e),
                    Outcome::Result(_) | Outcome::Void => {
                        tally.acked(number, tally.now_micros().saturating_sub(sent));
                    }
                }
            }
            HubMessage::Invocation {
                target, arguments, ..
            } if target == "ReceiveMessage" => {
                if let Some(payload) = arguments.first() {
                    received(payload, recipient, tally);
                }
            }
            // A hub Close is followed by the socket's close, counted as a drop there.
            _ => {}
        }
    }
}

/// One `ReceiveMessage`: latency, duplicates, per-conversation order.
fn received(payload: &Value, recipient: &mut Recipient, tally: &Tally) {
    let now = tally.now_micros();
    let message = &payload["message"];
    if message["senderId"].as_str() == Some(recipient.me.as_str()) {
        // The sender's own echo (what its other devices get) is not a delivery to measure.
        return;
    }
    let parsed = message["content"].as_str().and_then(|c| {
        let mut parts = c.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("lg"), Some(n), Some(t)) => {
                Some((n.parse::<u64>().ok()?, t.parse::<u64>().ok()?))
            }
            _ => None,
        }
    });
    let Some((number, sent)) = parsed else {
        tally.unexpected.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if !recipient.seen.insert(number) {
        tally.duplicated.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let (Some(conversation), Some(seq)) =
        (message["conversationId"].as_str(), message["seq"].as_i64())
    else {
        // Without its place in the conversation the order cannot be checked.
        tally.unexpected.fetch_add(1, Ordering::Relaxed);
        return;
    };
    // The conversation's id is copied only the first time it is seen.
    if !recipient.last_seq.contains_key(conversation) {
        recipient
            .last_seq
            .insert(conversation.to_string(), i64::MIN);
    }
    let Some(last) = recipient.last_seq.get_mut(conversation) else {
        return;
    };
    if seq <= *last {
        tally.out_of_order.fetch_add(1, Ordering::Relaxed);
    } else {
        *last = seq;
    }
    tally.delivered(number, now.saturating_sub(sent));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::setup::Conversation;

    fn push(sender: &str, conversation: &str, seq: i64, number: u64) -> Value {
        json!({"message": {"senderId": sender, "conversationId": conversation, "seq": seq,
                           "content": format!("lg {number} 0 ....")}, "tempId": null})
    }

    fn recipient() -> Recipient {
        Recipient {
            me: "bob".into(),
            seen: HashSet::new(),
            last_seq: HashMap::new(),
        }
    }

    #[test]
    fn duplicates_reordering_and_strangers_are_counted() {
        let tally = Tally::new(10);
        let mut bob = recipient();
        received(&push("alice", "c1", 5, 0), &mut bob, &tally);
        received(&push("alice", "c1", 5, 0), &mut bob, &tally);
        assert_eq!(tally.duplicated.load(Ordering::Relaxed), 1);
        received(&push("alice", "c1", 7, 1), &mut bob, &tally);
        received(&push("alice", "c1", 6, 2), &mut bob, &tally);
        assert_eq!(tally.out_of_order.load(Ordering::Relaxed), 1);
        // Another conversation has its own order.
        received(&push("alice", "c2", 1, 3), &mut bob, &tally);
        assert_eq!(tally.out_of_order.load(Ordering::Relaxed), 1);
        // bob's own echo is not a delivery; text that is not the generator's is unexpected.
        received(&push("bob", "c1", 8, 4), &mut bob, &tally);
        received(
            &json!({"message": {"senderId": "x", "conversationId": "c1", "seq": 9, "content": "hi"}}),
            &mut bob,
            &tally,
        );
        assert_eq!(tally.unexpected.load(Ordering::Relaxed), 1);
        assert_eq!(tally.received.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn an_acknowledged_message_missing_at_a_recipient_is_lost() {
        let tally = Tally::new(4);
        tally.set_conversations(&[Conversation {
            id: "c".into(),
            members: vec![0, 1, 2],
        }]);
        tally.planned(0, 0);
        tally.planned(1, 0);
        assert!(!tally.settled(), "waiting for completions");
        tally.acked(0, 1000);
        tally.failed(1, "refused".into());
        let (mut bob, mut carol) = (recipient(), recipient());
        carol.me = "carol".into();
        received(&push("alice", "c", 1, 0), &mut bob, &tally);
        assert_eq!(tally.deliveries(), (2, 1, 0));
        assert!(!tally.settled());
        received(&push("alice", "c", 1, 0), &mut carol, &tally);
        assert_eq!(tally.deliveries(), (2, 2, 0));
        assert!(tally.settled(), "the failed send is not expected anywhere");
    }
}
