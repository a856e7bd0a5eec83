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
    Ok(decode_batch(codec, &[stored], reveal).await?.pop())
}

/// Decodes a batch in order, loading the data keys of the whole batch at once.
pub async fn decode_batch(
    codec: &EventCodec,
    stored: &[&RecordedEvent],
    reveal: Reveal,
) -> Result<Vec<Envelope>, CodecError> {
    enum Kind {
        Conversation(ConversationId),
        User(UserId),
    }
    let mut kinds = Vec::with_capacity(stored.len());
    let (mut convs, mut users) = (Vec::new(), Vec::new());
    for &s in stored {
        if let Some(id) = s.stream.strip_prefix("conversation-") {
            if let Ok(uuid) = id.parse::<uuid::Uuid>() {
                kinds.push((s, Kind::Conversation(ConversationId::from_uuid(uuid))));
                convs.push(s);
            }
        } else if let Some(id) = s.stream.strip_prefix("user-") {
            if let Ok(user) = UserId::parse(id) {
                kinds.push((s, Kind::User(user)));
                users.push(s);
            }
        }
    }
    let mut conv_events = codec
        .decode_batch::<ConversationEvent>(&convs, reveal)
        .await?
        .into_iter();
    let mut user_events = codec
        .decode_batch::<UserEvent>(&users, reveal)
        .await?
        .into_iter();
    let mut out = Vec::with_capacity(kinds.len());
    for (s, kind) in kinds {
        let event = match kind {
            Kind::Conversation(id) => match conv_events.next() {
                Some(event) => DomainEvent::Conversation { id, event },
                None => continue,
            },
            Kind::User(id) => match user_events.next() {
                Some(event) => DomainEvent::User { id, event },
                None => continue,
            },
        };
        out.push(Envelope {
            position: s.position,
            stream: s.stream.clone(),
            version: s.version,
            occurred_at: s.metadata.occurred_at,
            event,
        });
    }
    Ok(out)
}

/// An event that could not be decoded: where it is, and why.
#[derive(Debug, Clone)]
pub struct Undecodable {
    pub position: Position,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub error: String,
    /// The failure was the key table being out of reach: decoding later can succeed.
    pub transient: bool,
}

impl Undecodable {
    fn of(stored: &RecordedEvent, e: &CodecError) -> Self {
        let transient = matches!(
            e,
            CodecError::Crypto(pawpost_store::CryptoError::Store(s)) if s.is_unavailable()
        );
        Undecodable {
            position: stored.position,
            stream: stored.stream.clone(),
            version: stored.version,
            event_type: stored.event_type.clone(),
            occurred_at: stored.metadata.occurred_at,
            error: e.to_string(),
            transient,
        }
    }
}

/// Decodes a batch in order, each event on its own account: one event that cannot be decoded
/// (a malformed payload, an altered ciphertext, a key that cannot be read) is reported in its
/// place and costs the others nothing. Events of streams no projector reads are left out.
pub async fn decode_each(
    codec: &EventCodec,
    stored: &[&RecordedEvent],
    reveal: Reveal,
) -> Vec<Result<Envelope, Undecodable>> {
    // The whole batch at once first (its keys in one round trip); one by one only if that
    // fails.
    if let Ok(all) = decode_batch(codec, stored, reveal).await {
        return all.into_iter().map(Ok).collect();
    }
    let mut out = Vec::with_capacity(stored.len());
    for &s in stored {
        match decode_batch(codec, &[s], reveal).await {
            Ok(mut one) => out.extend(one.pop().map(Ok)),
            Err(e) => out.push(Err(Undecodable::of(s, &e))),
        }
    }
    out
}
