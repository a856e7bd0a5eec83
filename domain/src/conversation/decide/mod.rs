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
use crate::ids::UserId;

use super::command::ConversationCommand as C;
use super::event::ConversationEvent;
use super::message::{MessageFacts, MessageLookup};
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
            message,
            body,
            at,
        } => messages::edit(state, actor, message, body, *at),
        C::DeleteForEveryone { actor, message, at } => messages::delete(state, actor, message, *at),
        C::AddReaction {
            actor,
            message,
            reaction,
            at,
        } => receipts::add_reaction(state, actor, message, reaction, *at),
        C::RemoveReaction {
            actor,
            message,
            reaction,
            at,
        } => receipts::remove_reaction(state, actor, message, reaction, *at),
        C::MarkRead { actor, message, at } => receipts::mark_read(state, actor, message, *at),
        C::MarkDelivered { actor, message, at } => {
            receipts::mark_delivered(state, actor, message, *at)
        }
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

/// How current a message look-up must be for a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    /// Only facts that never change once the message exists (seq, author, kind): any look-up
    /// that found the message will do.
    Fixed,
    /// Facts that change (deleted, text, reactions): the look-up must be current to the last
    /// message change the aggregate knows.
    Current,
}

/// The looked-up message if `participant` can see it; `NotFound` if it is absent or invisible
/// (the two look the same, so nothing leaks); `StaleFacts` if the look-up may be out of date
/// for what the decision needs (the caller looks again once its source has caught up).
fn visible<'a>(
    state: &ConversationState,
    participant: &Participant,
    lookup: &'a MessageLookup,
    needs: Needs,
) -> Result<&'a MessageFacts, DomainError> {
    let current = lookup.as_of >= state.last_message_change;
    match &lookup.found {
        Some(facts) if !participant.can_see(facts.seq) => Err(DomainError::NotFound("message")),
        Some(facts) if current || needs == Needs::Fixed => Ok(facts),
        None if current => Err(DomainError::NotFound("message")),
        _ => Err(DomainError::StaleFacts),
    }
}

/// Keeps the first occurrence of each user, in order.
fn dedup(users: &[UserId]) -> Vec<UserId> {
    let mut seen = std::collections::HashSet::new();
    users.iter().filter(|u| seen.insert(*u)).cloned().collect()
}
