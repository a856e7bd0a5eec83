//! The handshake: always JSON, whatever the hub protocol; the client's first record names
//! the protocol, the server answers `{}` or `{"error": …}`. Hub messages may follow in the same
//! frame: what comes after the handshake record is handed back.

use serde::Deserialize;

use super::{Protocol, ProtocolError, RS};

/// The success answer, record separator included.
pub const HANDSHAKE_OK: &[u8] = b"{}\x1e";

/// The failure answer for `error`.
pub fn handshake_error(error: &str) -> Vec<u8> {
    let mut out = serde_json::json!({ "error": error })
        .to_string()
        .into_bytes();
    out.push(RS);
    out
}

/// A client's handshake record for `protocol` (version 1), record separator included.
pub fn handshake_request(protocol: Protocol) -> String {
    format!(
        "{{\"protocol\":\"{}\",\"version\":1}}\u{1e}",
        protocol.name()
    )
}

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    pub protocol: Protocol,
    pub version: u32,
}

#[derive(Deserialize)]
struct Raw {
    protocol: String,
    version: u32,
}

/// Buffers bytes until the handshake record is complete.
#[derive(Debug, Default)]
pub struct HandshakeDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl HandshakeDecoder {
    /// A decoder refusing handshakes over `max` bytes.
    pub fn new(max: usize) -> Self {
        HandshakeDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Feeds bytes; once the record is complete, returns the request and the bytes after it.
    /// An unknown protocol or version is `Malformed` with the text to send back.
    pub fn push(
        &mut self,
        bytes: &[u8],
    ) -> Result<Option<(HandshakeRequest, Vec<u8>)>, ProtocolError> {
        self.buf.extend_from_slice(bytes);
        let Some(end) = self.buf.iter().position(|b| *b == RS) else {
            if self.buf.len() > self.max {
                return Err(ProtocolError::TooLarge(self.max));
            }
            return Ok(None);
        };
        let raw: Raw = serde_json::from_slice(&self.buf[..end])
            .map_err(|e| ProtocolError::Malformed(format!("handshake: {e}")))?;
        let protocol = Protocol::from_name(&raw.protocol).ok_or_else(|| {
            ProtocolError::Malformed(format!("The protocol '{}' is not supported.", raw.protocol))
        })?;
        if !(1..=2).contains(&raw.version) {
            return Err(ProtocolError::Malformed(format!(
                "The server does not support version {} of the '{}' protocol.",
                raw.version, raw.protocol
            )));
        }
        let rest = self.buf[end + 1..].to_vec();
        self.buf.clear();
        Ok(Some((
            HandshakeRequest {
                protocol,
                version: raw.version,
            },
            rest,
        )))
    }
}
