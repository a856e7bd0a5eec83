//! A minimal SignalR client over tokio-tungstenite, for tests of servers built on this crate
//! (feature `testing`). Panics on anything unexpected: it is for tests only.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::protocol::{handshake_request, Decoder, HubMessage, Protocol};

/// How long a test waits for anything.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Client {
    pub ws: Ws,
    decoder: Decoder,
    protocol: Protocol,
    /// Messages decoded but not yet handed out by [`Client::next`].
    pub received: Vec<HubMessage>,
}

impl Client {
    /// Negotiates (v1) at `hub` (`http://host:port/path`), connects with `token` and completes
    /// the handshake in `protocol`.
    pub async fn connect(hub: &str, token: &str, protocol: Protocol) -> Client {
        let negotiated: Value = reqwest::Client::new()
            .post(format!("{hub}/negotiate?negotiateVersion=1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(negotiated["negotiateVersion"], 1);
        assert_eq!(
            negotiated["availableTransports"][0]["transport"],
            "WebSockets"
        );
        let id = negotiated["connectionToken"].as_str().unwrap();
        let ws = hub.replacen("http", "ws", 1);
        Self::open(&format!("{ws}?id={id}&access_token={token}"), protocol).await
    }

    /// Opens a WebSocket at `url` and completes the handshake (no negotiate).
    pub async fn open(url: &str, protocol: Protocol) -> Client {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::text(handshake_request(protocol)))
            .await
            .unwrap();
        let reply = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(reply.into_text().unwrap().as_str(), "{}\u{1e}");
        Client {
            ws,
            decoder: Decoder::new(protocol, 1 << 20),
            protocol,
            received: Vec::new(),
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &HubMessage) {
        let bytes = self.protocol.encode(message);
        let frame = match self.protocol {
            Protocol::Json => Message::text(String::from_utf8(bytes).unwrap()),
            Protocol::MessagePack => Message::binary(bytes),
        };
        self.ws.send(frame).await.unwrap();
    }

    /// Invokes `target` expecting a completion for `id`.
    pub async fn invoke(&mut self, id: &str, target: &str, arguments: Vec<Value>) {
        self.send(&HubMessage::Invocation {
            invocation_id: Some(id.into()),
            target: target.into(),
            arguments,
            stream_ids: vec![],
        })
        .await;
    }

    /// The next message that is not a Ping; `None` when the socket closed.
    pub async fn next(&mut self) -> Option<HubMessage> {
        loop {
            if !self.received.is_empty() {
                let m = self.received.remove(0);
                if m != HubMessage::Ping {
                    return Some(m);
                }
                continue;
            }
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("a message before the deadline");
            let bytes = match frame {
                Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                Some(Ok(Message::Binary(b))) => b.to_vec(),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            };
            self.received.extend(self.decoder.push(&bytes).unwrap());
        }
    }
}
