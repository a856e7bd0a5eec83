//! Details, participants and roles.
//!
//! Admins and the owner manage a non-direct conversation; only the owner manages roles; nobody
//! removes the owner. An owner who leaves hands ownership on (see [`leave`]).

use chrono::{DateTime, Utc};

use crate::error::{DomainError, ValidationRule};
use crate::ids::UserId;
use crate::values::{ConversationKind, ConversationTitle, Description, ImageUrl, Role};

use super::super::event::ConversationEvent;
use super::super::participant::Participant;
use super::super::state::{ConversationDetails, ConversationState};
use super::{current, dedup};

/// The actor's record if they may manage the conversation: not direct, admin or owner.
fn moderator<'a>(
    state: &'a ConversationState,
    actor: &UserId,
    what: &'static str,
) -> Result<(&'a ConversationDetails, &'a Participant), DomainError> {
    let (details, participant) = current(state, actor)?;
    if details.kind == ConversationKind::Direct {
        return Err(DomainError::Forbidden(
            "a direct conversation has no admins",
        ));
    }
    if !participant.role.can_moderate() {
        return Err(DomainError::Forbidden(what));
    }
    Ok((details, participant))
}

pub(super) fn update_details(
    state: &ConversationState,
    actor: &UserId,
    title: &Option<ConversationTitle>,
    description: &Option<Option<Description>>,
    image_url: &Option<Option<ImageUrl>>,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (details, _) = moderator(state, actor, "only admins can change the details")?;
    let new_title = title.clone().or_else(|| details.title.clone());
    let new_description = description
        .clone()
        .unwrap_or_else(|| details.description.clone());
    let new_image = image_url
        .clone()
        .unwrap_or_else(|| details.image_url.clone());
    if new_title == details.title
        && new_description == details.description
        && new_image == details.image_url
    {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ConversationDetailsUpdated {
        title: new_title,
        description: new_description,
        image_url: new_image,
        by: actor.clone(),
        at,
    }])
}

pub(super) fn add(
    state: &ConversationState,
    actor: &UserId,
    users: &[UserId],
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    moderator(state, actor, "only admins can add participants")?;
    if users.is_empty() {
        return Err(DomainError::invalid("userIds", ValidationRule::Empty));
    }
    let user_ids: Vec<UserId> = dedup(users)
        .into_iter()
        .filter(|u| !state.is_participant(u))
        .collect();
    if user_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ParticipantsAdded {
        user_ids,
        by: actor.clone(),
        at,
    }])
}

pub(super) fn remove(
    state: &ConversationState,
    actor: &UserId,
    user: &UserId,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    if actor == user {
        return leave(state, actor, at);
    }
    let (_, remover) = moderator(state, actor, "only admins can remove participants")?;
    let target = state
        .participants
        .get(user)
        .filter(|p| p.is_current())
        .ok_or(DomainError::NotFound("participant"))?;
    match target.role {
        Role::Owner => return Err(DomainError::Forbidden("the owner cannot be removed")),
        Role::Admin if remover.role != Role::Owner => {
            return Err(DomainError::Forbidden("only the owner can remove an admin"))
        }
        _ => {}
    }
    Ok(vec![ConversationEvent::ParticipantRemoved {
        user_id: user.clone(),
        by: actor.clone(),
        at,
    }])
}

/// Leaving. Design choice: an owner who leaves a conversation that still has other members is
/// not refused (there is no explicit transfer command, since `ChangeRole` never grants
/// ownership); instead ownership passes to the longest-standing admin, or, without admins, to
/// the longest-standing member (ties broken by user id). Emits `ParticipantRoleChanged(Owner)`
/// then `ParticipantLeft`. Leaving a direct conversation is allowed: it hides it for the user.
pub(super) fn leave(
    state: &ConversationState,
    actor: &UserId,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, leaver) = current(state, actor)?;
    let mut events = Vec::with_capacity(2);
    if leaver.role == Role::Owner {
        let successor = state
            .current_participants()
            .filter(|p| &p.user_id != actor)
            .min_by_key(|p| {
                let joined = p.current_range().map_or(u64::MAX, |r| r.joined_at_seq);
                (p.role != Role::Admin, joined, p.user_id.clone())
            });
        if let Some(successor) = successor {
            events.push(ConversationEvent::ParticipantRoleChanged {
                user_id: successor.user_id.clone(),
                role: Role::Owner,
                by: actor.clone(),
                at,
            });
        }
    }
    events.push(ConversationEvent::ParticipantLeft {
        user_id: actor.clone(),
        at,
    });
    Ok(events)
}

pub(super) fn change_role(
    state: &ConversationState,
    actor: &UserId,
    user: &UserId,
    role: Role,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, changer) = current(state, actor)?;
    if changer.role != Role::Owner {
        return Err(DomainError::Forbidden("only the owner can change roles"));
    }
    if role == Role::Owner {
        return Err(DomainError::Forbidden(
            "ownership is not granted; it passes on when the owner leaves",
        ));
    }
    if user == actor {
        return Err(DomainError::Forbidden("the owner's own role cannot change"));
    }
    let target = state
        .participants
        .get(user)
        .filter(|p| p.is_current())
        .ok_or(DomainError::NotFound("participant"))?;
    if target.role == role {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::ParticipantRoleChanged {
        user_id: user.clone(),
        role,
        by: actor.clone(),
        at,
    }])
}
