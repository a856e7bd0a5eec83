//! The user stream's rules. Toggles are idempotent: repeating one changes nothing and emits
//! nothing. Conversation-scoped commands that add something (mute, archive, pin, draft) need
//! the actor to be a current participant; undoing one never does, so a user who left can
//! still clean up.

use crate::error::{DomainError, ValidationRule};
use crate::ids::MessageId;
use crate::personal::{fingerprint_str, PersonalText};

use super::command::UserCommand as C;
use super::event::UserEvent as E;
use super::state::UserState;

/// Largest block reason, in characters.
const MAX_REASON_CHARS: usize = 500;

/// Largest profile role, in characters.
const MAX_ROLE_CHARS: usize = 20;

pub(super) fn decide(state: &UserState, cmd: &C) -> Result<Vec<E>, DomainError> {
    match cmd {
        C::Mute {
            conversation_id,
            until,
            level,
            is_participant,
            at,
            ..
        } => {
            participant(*is_participant)?;
            if until.is_some_and(|until| until <= *at) {
                return Err(DomainError::invalid("until", ValidationRule::NotInFuture));
            }
            let unchanged = state
                .mute(conversation_id)
                .is_some_and(|m| m.until == *until && m.level == *level);
            Ok(when(!unchanged, || E::ConversationMuted {
                conversation_id: *conversation_id,
                until: *until,
                level: *level,
                at: *at,
            }))
        }
        C::Unmute {
            conversation_id,
            at,
            ..
        } => Ok(when(state.mutes.contains_key(conversation_id), || {
            E::ConversationUnmuted {
                conversation_id: *conversation_id,
                at: *at,
            }
        })),
        C::Archive {
            conversation_id,
            is_participant,
            at,
            ..
        } => {
            participant(*is_participant)?;
            Ok(when(!state.is_archived(conversation_id), || {
                E::ConversationArchived {
                    conversation_id: *conversation_id,
                    at: *at,
                }
            }))
        }
        C::Unarchive {
            conversation_id,
            at,
            ..
        } => Ok(when(state.is_archived(conversation_id), || {
            E::ConversationUnarchived {
                conversation_id: *conversation_id,
                at: *at,
            }
        })),
        C::Pin {
            conversation_id,
            is_participant,
            at,
            ..
        } => {
            participant(*is_participant)?;
            Ok(when(!state.is_pinned(conversation_id), || {
                E::ConversationPinned {
                    conversation_id: *conversation_id,
                    at: *at,
                }
            }))
        }
        C::Unpin {
            conversation_id,
            at,
            ..
        } => Ok(when(state.is_pinned(conversation_id), || {
            E::ConversationUnpinned {
                conversation_id: *conversation_id,
                at: *at,
            }
        })),
        C::DeleteForMe {
            conversation_id,
            message_ids,
            visible_to_actor,
            at,
            ..
        } => {
            if message_ids.is_empty() {
                return Err(DomainError::invalid("messageIds", ValidationRule::Empty));
            }
            if !visible_to_actor {
                return Err(DomainError::NotFound("message"));
            }
            let mut seen = std::collections::HashSet::new();
            let fresh: Vec<MessageId> = message_ids
                .iter()
                .filter(|id| seen.insert(**id) && !state.hidden(conversation_id, id))
                .copied()
                .collect();
            Ok(when(!fresh.is_empty(), || E::MessagesHiddenForMe {
                conversation_id: *conversation_id,
                message_ids: fresh,
                at: *at,
            }))
        }
        C::Block {
            actor,
            user,
            reason,
            at,
        } => {
            if user == actor {
                return Err(DomainError::invalid("userId", ValidationRule::SameAsActor));
            }
            if let Some(reason) = reason {
                check_reason(reason)?;
            }
            Ok(when(!state.is_blocked(user), || E::UserBlocked {
                user_id: user.clone(),
                by: actor.clone(),
                reason: reason.clone(),
                at: *at,
            }))
        }
        C::Unblock { user, at, .. } => Ok(when(state.is_blocked(user), || E::UserUnblocked {
            user_id: user.clone(),
            at: *at,
        })),
        C::SaveDraft {
            actor,
            conversation_id,
            content,
            reply_to,
            is_participant,
            at,
        } => {
            participant(*is_participant)?;
            let unchanged = state.draft(conversation_id).is_some_and(|d| {
                d.reply_to == *reply_to
                    && d.content_fingerprint == Some(fingerprint_str(content.as_str()))
            });
            Ok(when(!unchanged, || E::DraftSaved {
                conversation_id: *conversation_id,
                user_id: actor.clone(),
                content: PersonalText::clear(content.as_str()),
                reply_to: *reply_to,
                at: *at,
            }))
        }
        C::ClearDraft {
            conversation_id,
            at,
            ..
        } => Ok(when(state.drafts.contains_key(conversation_id), || {
            E::DraftCleared {
                conversation_id: *conversation_id,
                at: *at,
            }
        })),
        C::UpdateProfile {
            actor,
            display_name,
            avatar_url,
            role,
            locale,
            at,
        } => {
            let role = role.as_deref().map(check_role).transpose()?;
            let unchanged = state.profile().is_some_and(|p| {
                p.display_name == *display_name
                    && p.avatar_url == *avatar_url
                    && p.role.as_deref() == role
                    && p.locale == *locale
            });
            Ok(when(!unchanged, || E::ProfileUpdated {
                user_id: actor.clone(),
                display_name: display_name.clone(),
                avatar_url: avatar_url.clone(),
                role: role.map(str::to_owned),
                locale: locale.clone(),
                at: *at,
            }))
        }
    }
}

/// One event if `cond`, else none (the idempotent no-op).
fn when(cond: bool, event: impl FnOnce() -> E) -> Vec<E> {
    if cond {
        vec![event()]
    } else {
        vec![]
    }
}

fn participant(is_participant: bool) -> Result<(), DomainError> {
    if is_participant {
        Ok(())
    } else {
        Err(DomainError::NotParticipant)
    }
}

/// A block reason must be clear text, not blank, at most 500 characters, no control characters
/// except line breaks.
fn check_reason(reason: &PersonalText) -> Result<(), DomainError> {
    let text = reason.require_clear("reason")?;
    let rule = if text.trim().is_empty() {
        ValidationRule::Empty
    } else if text.chars().count() > MAX_REASON_CHARS {
        ValidationRule::TooLong {
            max: MAX_REASON_CHARS,
        }
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        ValidationRule::ControlCharacter
    } else {
        return Ok(());
    };
    Err(DomainError::invalid("reason", rule))
}

/// A profile role is free text: trimmed, not blank, at most 20 characters, no control
/// characters. Returns the trimmed role.
fn check_role(role: &str) -> Result<&str, DomainError> {
    let role = role.trim();
    let rule = if role.is_empty() {
        ValidationRule::Empty
    } else if role.chars().count() > MAX_ROLE_CHARS {
        ValidationRule::TooLong {
            max: MAX_ROLE_CHARS,
        }
    } else if role.chars().any(char::is_control) {
        ValidationRule::ControlCharacter
    } else {
        return Ok(role);
    };
    Err(DomainError::invalid("role", rule))
}
