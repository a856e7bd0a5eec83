//! Creating conversations. Direct and booking conversations have derived ids, so creating them
//! again is not an error: it returns the same conversation (no events).

use chrono::{DateTime, Utc};

use crate::error::{DomainError, ValidationRule};
use crate::ids::{BookingId, ConversationId, UserId};
use crate::values::{ConversationKind, ConversationTitle, Description, ImageUrl, Role};

use super::super::event::{ConversationEvent, NewParticipant};
use super::super::state::ConversationState;
use super::dedup;

/// The fields of `CreateGroup`, borrowed.
pub(super) struct Group<'a> {
    pub id: ConversationId,
    pub actor: &'a UserId,
    pub title: &'a ConversationTitle,
    pub description: Option<&'a Description>,
    pub image_url: Option<&'a ImageUrl>,
    pub members: &'a [UserId],
    pub at: DateTime<Utc>,
}

pub(super) fn direct(
    state: &ConversationState,
    id: ConversationId,
    actor: &UserId,
    other: &UserId,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    if actor == other {
        return Err(DomainError::invalid("other", ValidationRule::SameAsActor));
    }
    if id != ConversationId::direct(actor, other) {
        return Err(DomainError::invalid("id", ValidationRule::Mismatch));
    }
    if state.exists() {
        // Same conversation. An actor who had left it comes back (the only way back into a
        // direct conversation); otherwise nothing happens.
        return Ok(if state.is_participant(actor) {
            vec![]
        } else {
            vec![ConversationEvent::ParticipantsAdded {
                user_ids: vec![actor.clone()],
                by: actor.clone(),
                at,
            }]
        });
    }
    Ok(vec![ConversationEvent::ConversationCreated {
        conversation_id: id,
        kind: ConversationKind::Direct,
        booking_id: None,
        title: None,
        description: None,
        image_url: None,
        created_by: actor.clone(),
        participants: vec![
            NewParticipant {
                user_id: actor.clone(),
                role: Role::Member,
            },
            NewParticipant {
                user_id: other.clone(),
                role: Role::Member,
            },
        ],
        at,
    }])
}

pub(super) fn group(
    state: &ConversationState,
    g: &Group<'_>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    if state.exists() {
        return Err(DomainError::Conflict("conversation already exists".into()));
    }
    let mut participants = vec![NewParticipant {
        user_id: g.actor.clone(),
        role: Role::Owner,
    }];
    participants.extend(
        dedup(g.members)
            .into_iter()
            .filter(|u| u != g.actor)
            .map(|user_id| NewParticipant {
                user_id,
                role: Role::Member,
            }),
    );
    Ok(vec![ConversationEvent::ConversationCreated {
        conversation_id: g.id,
        kind: ConversationKind::Group,
        booking_id: None,
        title: Some(g.title.clone()),
        description: g.description.cloned(),
        image_url: g.image_url.cloned(),
        created_by: g.actor.clone(),
        participants,
        at: g.at,
    }])
}

pub(super) fn booking(
    state: &ConversationState,
    id: ConversationId,
    booking_id: &BookingId,
    actor: &UserId,
    title: Option<&ConversationTitle>,
    members: &[UserId],
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    if id != ConversationId::booking(booking_id) {
        return Err(DomainError::invalid("id", ValidationRule::Mismatch));
    }
    if state.exists() {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ConversationCreated {
        conversation_id: id,
        kind: ConversationKind::Booking,
        booking_id: Some(booking_id.clone()),
        title: title.cloned(),
        description: None,
        image_url: None,
        created_by: actor.clone(),
        participants: members_of(actor, members)?,
        at,
    }])
}

pub(super) fn system(
    state: &ConversationState,
    id: ConversationId,
    actor: &UserId,
    title: &ConversationTitle,
    members: &[UserId],
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    if state.exists() {
        return Err(DomainError::Conflict("conversation already exists".into()));
    }
    Ok(vec![ConversationEvent::ConversationCreated {
        conversation_id: id,
        kind: ConversationKind::System,
        booking_id: None,
        title: Some(title.clone()),
        description: None,
        image_url: None,
        created_by: actor.clone(),
        participants: members_of(actor, members)?,
        at,
    }])
}

/// Booking and system members: at least one; the actor owns it only if they are a member
/// (a service creating it on behalf of others stays outside).
fn members_of(actor: &UserId, members: &[UserId]) -> Result<Vec<NewParticipant>, DomainError> {
    let members = dedup(members);
    if members.is_empty() {
        return Err(DomainError::invalid("members", ValidationRule::Empty));
    }
    Ok(members
        .into_iter()
        .map(|user_id| NewParticipant {
            role: if &user_id == actor {
                Role::Owner
            } else {
                Role::Member
            },
            user_id,
        })
        .collect())
}
