//! The SignalR wire format: hub messages, the handshake, and the JSON and MessagePack hub
//! protocols with their framing. Pure and synchronous: transports feed bytes in and take bytes
//! out.

mod handshake;
mod json;
mod msgpack;

pub use handshake::{
    handshake_error, handshake_request, HandshakeDecoder, HandshakeRequest, HANDSHAKE_OK,
};
pub use json::JsonDecoder;
pub use msgpack::MsgPackDecoder;

use serde_json::Value;

/// The record separator ending every JSON message and the handshake.
pub const RS: u8 = 0x1e;

/// A hub message (types 1–9 of the protocol).
#[derive(Debug, Clone, PartialEq)]
pub enum HubMessage {
    /// 1: call `target` with `arguments`; no `invocation_id` means no answer is wanted.
    Invocation {
        invocation_id: Option<String>,
        target: String,
        arguments: Vec<Value>,
        stream_ids: Vec<String>,
    },
    /// 2: one item of a stream.
    StreamItem { invocation_id: String, item: Value },
    /// 3: the end of an invocation.
    Completion {
        invocation_id: String,
        outcome: Outcome,
    },
    /// 4: call a streaming method.
    StreamInvocation {
        invocation_id: String,
        target: String,
        arguments: Vec<Value>,
        stream_ids: Vec<String>,
    },
    /// 5: stop a stream.
    CancelInvocation { invocation_id: String },
    /// 6: keep-alive.
    Ping,
    /// 7: the connection ends; `allow_reconnect` lets an auto-reconnecting client come back.
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
    /// 8: stateful reconnect acknowledgement.
    Ack { sequence_id: u64 },
    /// 9: stateful reconnect resume point.
    Sequence { sequence_id: u64 },
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// No value (a void method).
    Void,
    /// The method's result.
    Result(Value),
    /// The method failed; the client's promise rejects with this text.
    Error(String),
}

/// Which hub protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `json`: text frames, records ended by [`RS`].
    Json,
    /// `messagepack`: binary frames, each message prefixed by its VarInt length.
    MessagePack,
}

impl Protocol {
    /// The protocol named in a handshake.
    pub fn from_name(name: &str) -> Option<Protocol> {
        [Protocol::Json, Protocol::MessagePack]
            .into_iter()
            .find(|p| p.name() == name)
    }

    /// Its name in a handshake.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::MessagePack => "messagepack",
        }
    }

    /// The bytes of `message` in this protocol, framing included.
    pub fn encode(self, message: &HubMessage) -> Vec<u8> {
        match self {
            Protocol::Json => json::encode(message),
            Protocol::MessagePack => msgpack::encode(message),
        }
    }
}

/// Why input could not be read. The connection is closed with the error; nothing panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message too large: over {0} bytes")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unknown message type {0}")]
    UnknownType(u64),
}

/// Incremental decoding of one protocol's frames into messages.
#[derive(Debug)]
pub enum Decoder {
    Json(JsonDecoder),
    MessagePack(MsgPackDecoder),
}

impl Decoder {
    /// A decoder for `protocol`, refusing messages over `max_message` bytes.
    pub fn new(protocol: Protocol, max_message: usize) -> Decoder {
        match protocol {
            Protocol::Json => Decoder::Json(JsonDecoder::new(max_message)),
            Protocol::MessagePack => Decoder::MessagePack(MsgPackDecoder::new(max_message)),
        }
    }

    /// Feeds bytes in (any split: partial messages wait for the rest); returns the messages
    /// completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<HubMessage>, ProtocolError> {
        match self {
            Decoder::Json(d) => d.push(bytes),
            Decoder::MessagePack(d) => d.push(bytes),
        }
    }
}

#[cfg(test)]
mod tests;
