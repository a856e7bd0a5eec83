//! Reactions and the read / delivered markers: idempotent by design, repeats are no-ops.

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::ids::UserId;
use crate::values::Reaction;

use super::super::event::ConversationEvent;
use super::super::message::MessageLookup;
use super::super::state::ConversationState;
use super::{current, visible, Needs};

pub(super) fn add_reaction(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    reaction: &Reaction,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, reactor) = current(state, actor)?;
    let message = visible(state, reactor, lookup, Needs::Current)?;
    if message.deleted {
        return Err(DomainError::AlreadyDeleted);
    }
    if message.has_reaction(reaction) {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ReactionAdded {
        message_id: lookup.id,
        user_id: actor.clone(),
        reaction: reaction.clone(),
        at,
    }])
}

/// Removing: absent → no-op. A tombstone is frozen, so its reactions are left as they are.
pub(super) fn remove_reaction(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    reaction: &Reaction,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, reactor) = current(state, actor)?;
    let message = visible(state, reactor, lookup, Needs::Current)?;
    if message.deleted {
        return Err(DomainError::AlreadyDeleted);
    }
    if !message.has_reaction(reaction) {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ReactionRemoved {
        message_id: lookup.id,
        user_id: actor.clone(),
        reaction: reaction.clone(),
        at,
    }])
}

/// Marking read emits only `MessagesRead`; the delivered marker is derived as the further of
/// the two (see `Participant::delivered_marker`). Not forward → no-op.
pub(super) fn mark_read(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, reader) = current(state, actor)?;
    let message = visible(state, reader, lookup, Needs::Fixed)?;
    if message.seq <= reader.read_seq() {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::MessagesRead {
        user_id: actor.clone(),
        up_to_seq: message.seq,
        message_id: lookup.id,
        at,
    }])
}

/// Not beyond the (derived) delivered marker → no-op.
pub(super) fn mark_delivered(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, receiver) = current(state, actor)?;
    let message = visible(state, receiver, lookup, Needs::Fixed)?;
    if message.seq <= receiver.delivered_seq() {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::MessagesDelivered {
        user_id: actor.clone(),
        up_to_seq: message.seq,
        message_id: lookup.id,
        at,
    }])
}
