//! The conversation's rules: which events a command produces, or why it is refused.
//!
//! Checks run in a fixed order so that errors are predictable: the conversation exists
//! (`NotFound`), the actor is a current participant (`NotParticipant`), then the command's own
//! rules. Split by concern: `create`, `membership`, `messages`, `receipts`.

mod create;
mod membership;
mod messages;
mod receipts;

use crate::error::DomainError;
use crate::ids::{MessageId, UserId};

use super::command::ConversationCommand as C;
use super::event::ConversationEvent;
use super::message::MessageState;
use super::participant::Participant;
use super::state::{ConversationDetails, ConversationState};

pub(super) fn decide(
    state: &ConversationState,
    cmd: &C,
) -> Result<Vec<ConversationEvent>, DomainError> {
    match cmd {
        C::CreateDirect {
            id,
            actor,
            other,
            at,
        } => create::direct(state, *id, actor, other, *at),
        C::CreateGroup {
            id,
            actor,
            title,
            description,
            image_url,
            members,
            at,
        } => create::group(
            state,
            &create::Group {
                id: *id,
                actor,
                title,
                description: description.as_ref(),
                image_url: image_url.as_ref(),
                members,
                at: *at,
            },
        ),
        C::CreateBooking {
            id,
            booking_id,
            actor,
            title,
            members,
            at,
        } => create::booking(state, *id, booking_id, actor, title.as_ref(), members, *at),
        C::CreateSystem {
            id,
            actor,
            title,
            members,
            at,
        } => create::system(state, *id, actor, title, members, *at),
        C::UpdateDetails {
            actor,
            title,
            description,
            image_url,
            at,
        } => membership::update_details(state, actor, title, description, image_url, *at),
        C::AddParticipants { actor, users, at } => membership::add(state, actor, users, *at),
        C::RemoveParticipant { actor, user, at } => membership::remove(state, actor, user, *at),
        C::Leave { actor, at } => membership::leave(state, actor, *at),
        C::ChangeRole {
            actor,
            user,
            role,
            at,
        } => membership::change_role(state, actor, user, *role, *at),
        C::SendMessage {
            message_id,
            actor,
            kind,
            body,
            attachments,
            location,
            reply_to,
            forward,
            mentions,
            temp_id,
            blocked_by_other,
            at,
        } => messages::send(
            state,
            &messages::Send {
                message_id: *message_id,
                actor,
                kind: *kind,
                body: body.as_ref(),
                attachments,
                location: location.as_ref(),
                reply_to: reply_to.as_ref(),
                forward: forward.as_ref(),
                mentions,
                temp_id: temp_id.as_ref(),
                blocked_by_other: *blocked_by_other,
                at: *at,
            },
        ),
        C::PostSystemMessage {
            message_id,
            actor,
            body,
            system_type,
            at,
        } => messages::post_system(state, *message_id, actor, body, system_type, *at),
        C::EditMessage {
            actor,
            message_id,
            body,
            at,
        } => messages::edit(state, actor, message_id, body, *at),
        C::DeleteForEveryone {
            actor,
            message_id,
            at,
        } => messages::delete(state, actor, message_id, *at),
        C::AddReaction {
            actor,
            message_id,
            reaction,
            at,
        } => receipts::add_reaction(state, actor, message_id, reaction, *at),
        C::RemoveReaction {
            actor,
            message_id,
            reaction,
            at,
        } => receipts::remove_reaction(state, actor, message_id, reaction, *at),
        C::MarkRead {
            actor,
            message_id,
            at,
        } => receipts::mark_read(state, actor, message_id, *at),
        C::MarkDelivered {
            actor,
            message_id,
            at,
        } => receipts::mark_delivered(state, actor, message_id, *at),
    }
}

/// The conversation's details, or `NotFound` for a stream that was never created.
fn existing(state: &ConversationState) -> Result<&ConversationDetails, DomainError> {
    state
        .details
        .as_ref()
        .ok_or(DomainError::NotFound("conversation"))
}

/// The actor's record if they are a current participant of an existing conversation.
fn current<'a>(
    state: &'a ConversationState,
    actor: &UserId,
) -> Result<(&'a ConversationDetails, &'a Participant), DomainError> {
    let details = existing(state)?;
    let participant = state
        .participants
        .get(actor)
        .filter(|p| p.is_current())
        .ok_or(DomainError::NotParticipant)?;
    Ok((details, participant))
}

/// A message of this conversation that `participant` can see; otherwise `NotFound` (absent and
/// invisible look the same, so nothing leaks).
fn visible<'a>(
    state: &'a ConversationState,
    participant: &Participant,
    id: &MessageId,
) -> Result<&'a MessageState, DomainError> {
    state
        .messages
        .get(id)
        .filter(|m| participant.can_see(m.seq))
        .ok_or(DomainError::NotFound("message"))
}

/// Keeps the first occurrence of each user, in order.
fn dedup(users: &[UserId]) -> Vec<UserId> {
    let mut seen = std::collections::HashSet::new();
    users.iter().filter(|u| seen.insert(*u)).cloned().collect()
}
