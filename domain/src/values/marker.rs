//! Read and delivered markers: a position in a conversation, never a per-message receipt table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MessageId;

/// "Up to here": the user has read (or received) every message with `seq ≤ self.seq`.
///
/// Markers only move forward; receipts per message are derived from them (DESIGN.md §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMarker {
    /// The conversation sequence (stream version) of the marked message.
    pub seq: u64,
    /// The marked message.
    pub message_id: MessageId,
    /// When the marker moved there.
    pub at: DateTime<Utc>,
}
