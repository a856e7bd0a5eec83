//! Ephemeral signals over the hub: typing (`StartTyping`/`StopTyping`, `UserTyping` pushes,
//! automatic stop), presence (`UpdatePresence`, online/offline with a grace period,
//! `PresenceChanged` to users who share a conversation) and calls (`InitiateCall`, accept,
//! reject, end, WebRTC relays, missed calls).

use pawpost_signalr::{Connection, HubError};
use serde_json::Value;

use super::MessagingHub;
use crate::http::extract::Caller;

/// Answers `target` (lower-cased in `lower`) if it is one of these methods; `None` otherwise.
pub(super) async fn invoke(
    _hub: &MessagingHub,
    _connection: &Connection<Caller>,
    lower: &str,
    _target: &str,
    _arguments: &[Value],
) -> Option<Result<Option<Value>, HubError>> {
    let _ = lower;
    None
}

/// A connection finished its handshake (after it joined its conversation groups).
pub(super) async fn connected(_hub: &MessagingHub, _connection: &Connection<Caller>) {}

/// A connection closed.
pub(super) async fn disconnected(_hub: &MessagingHub, _connection: &Connection<Caller>) {}
