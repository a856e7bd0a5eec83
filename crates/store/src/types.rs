use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// The optimistic-concurrency expectation of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check: the events go after whatever is there (chat messages).
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version (0 = no stream).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` (0 = absent) satisfies this expectation.
    pub fn accepts(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => v == actual,
        }
    }
}

/// Who did what, when and why: stored beside every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Metadata {
    /// Metadata for an event that happened now, by `actor`.
    pub fn now(actor: Option<String>) -> Self {
        Metadata {
            actor_id: actor,
            correlation_id: None,
            causation_id: None,
            occurred_at: Utc::now(),
            device: None,
        }
    }
}

/// An event to append. `event_id` is the idempotency key.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    /// The payload as JSON text; the store never looks inside.
    pub data: Box<RawValue>,
    pub metadata: Metadata,
}

impl NewEvent {
    /// Builds an event from any serializable payload.
    pub fn json<T: Serialize>(
        event_id: Uuid,
        event_type: impl Into<String>,
        schema_version: u32,
        data: &T,
        metadata: Metadata,
    ) -> Result<Self, serde_json::Error> {
        Ok(NewEvent {
            event_id,
            event_type: event_type.into(),
            schema_version,
            data: serde_json::value::to_raw_value(data)?,
            metadata,
        })
    }
}

/// A place in the global order. Ordered lexicographically by `(commit, seq)`.
///
/// SQLite commits in position order, so `commit` is always 0 there; PostgreSQL orders by
/// `(transaction xid8, global position)` because transactions commit out of position order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    pub commit: u64,
    pub seq: u64,
}

impl Position {
    /// Before the first event.
    pub const START: Position = Position { commit: 0, seq: 0 };

    /// The opaque cursor string clients hold.
    pub fn to_cursor(self) -> String {
        format!("{:x}-{:x}", self.commit, self.seq)
    }

    /// Parses a cursor produced by [`Position::to_cursor`].
    pub fn from_cursor(s: &str) -> Option<Position> {
        let (c, p) = s.split_once('-')?;
        Some(Position {
            commit: u64::from_str_radix(c, 16).ok()?,
            seq: u64::from_str_radix(p, 16).ok()?,
        })
    }
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream: String,
    /// 1-based, gapless within the stream.
    pub version: u64,
    pub position: Position,
    pub event_type: String,
    pub schema_version: u32,
    pub data: Box<RawValue>,
    pub metadata: Metadata,
}

impl RecordedEvent {
    /// Deserializes the payload.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data.get())
    }
}

/// The outcome of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Version of the first appended event.
    pub first_version: u64,
    /// Version of the last appended event: the stream's version afterwards.
    pub last_version: u64,
    /// Global position of the last appended event.
    pub position: Position,
    /// True when every event id was already stored with the same payload: nothing was written.
    pub deduplicated: bool,
}
