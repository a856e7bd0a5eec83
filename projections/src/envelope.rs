//! Stored events decoded for projectors.

use chrono::{DateTime, Utc};
use pawpost_codec::{CodecError, EventCodec, Reveal};
use pawpost_domain::{ConversationEvent, ConversationId, UserEvent, UserId};
use pawpost_store::{Position, RecordedEvent};

/// A domain event of either stream kind.
#[derive(Debug, Clone)]
pub enum DomainEvent {
    Conversation {
        id: ConversationId,
        event: ConversationEvent,
    },
    User {
        id: UserId,
        event: UserEvent,
    },
}

/// A decoded event with where and when it was stored.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub position: Position,
    pub stream: String,
    /// The stream version (a message's `seq` for `MessageSent`).
    pub version: u64,
    pub occurred_at: DateTime<Utc>,
    pub event: DomainEvent,
}

/// Decodes a stored event; `None` for streams no projector reads.
pub async fn decode(
    codec: &EventCodec,
    stored: &RecordedEvent,
    reveal: Reveal,
) -> Result<Option<Envelope>, CodecError> {
    let event = if let Some(id) = stored.stream.strip_prefix("conversation-") {
        let Ok(uuid) = id.parse::<uuid::Uuid>() else {
            return Ok(None);
        };
        DomainEvent::Conversation {
            id: ConversationId::from_uuid(uuid),
            event: codec.decode(stored, reveal).await?,
        }
    } else if let Some(id) = stored.stream.strip_prefix("user-") {
        let Ok(user) = UserId::parse(id) else {
            return Ok(None);
        };
        DomainEvent::User {
            id: user,
            event: codec.decode(stored, reveal).await?,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(Envelope {
        position: stored.position,
        stream: stored.stream.clone(),
        version: stored.version,
        occurred_at: stored.metadata.occurred_at,
        event,
    }))
}
