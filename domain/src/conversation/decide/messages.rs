//! Sending, editing and deleting messages.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, ValidationRule};
use crate::ids::{MessageId, TempId, UserId};
use crate::personal::PersonalText;
use crate::values::{AttachmentRef, ConversationKind, Location, MessageBody, MessageKind};

use super::super::command::ForwardFact;
use super::super::event::{ConversationEvent, ForwardedFrom};
use super::super::message::{MessageFacts, MessageLookup};
use super::super::state::ConversationState;
use super::{current, dedup, existing, visible, Needs};

/// Most attachments one message may carry.
pub(crate) const MAX_ATTACHMENTS: usize = 10;

/// The fields of `SendMessage`, borrowed.
pub(super) struct Send<'a> {
    pub message_id: MessageId,
    pub actor: &'a UserId,
    pub kind: MessageKind,
    pub body: Option<&'a MessageBody>,
    pub attachments: &'a [AttachmentRef],
    pub location: Option<&'a Location>,
    pub reply_to: Option<&'a MessageLookup>,
    pub forward: Option<&'a ForwardFact>,
    pub mentions: &'a [UserId],
    pub temp_id: Option<&'a TempId>,
    pub blocked_by_other: bool,
    pub at: DateTime<Utc>,
}

pub(super) fn send(
    state: &ConversationState,
    s: &Send<'_>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (details, sender) = current(state, s.actor)?;
    if s.kind == MessageKind::System {
        return Err(DomainError::Forbidden(
            "system messages are posted by the platform",
        ));
    }
    if details.kind == ConversationKind::Direct && s.blocked_by_other {
        return Err(DomainError::Blocked);
    }
    check_content(s)?;
    if let Some(target) = s.reply_to {
        // Existence and visibility never change; `deleted` is taken as the look-up saw it:
        // a deletion racing the reply is ordered after it (the reply's preview then shows the
        // tombstone), which is what a client that sent its reply first would expect.
        let replied = match visible(state, sender, target, Needs::Fixed) {
            Err(DomainError::NotFound(_)) => return Err(DomainError::NotFound("reply target")),
            other => other?,
        };
        if replied.deleted {
            return Err(DomainError::AlreadyDeleted);
        }
    }
    if s.forward.is_some_and(|f| !f.readable_by_actor) {
        return Err(DomainError::NotFound("forwarded message"));
    }
    let mentions = dedup(s.mentions);
    if mentions.iter().any(|u| !state.is_participant(u)) {
        return Err(DomainError::invalid(
            "mentions",
            ValidationRule::NotAParticipant,
        ));
    }
    Ok(vec![ConversationEvent::MessageSent {
        message_id: s.message_id,
        sender_id: s.actor.clone(),
        kind: s.kind,
        content: PersonalText::clear(s.body.map_or("", MessageBody::as_str)),
        attachments: s.attachments.to_vec(),
        location: s.location.cloned(),
        reply_to: s.reply_to.map(|l| l.id),
        forwarded_from: s.forward.map(|f| ForwardedFrom {
            message_id: f.message_id,
            conversation_id: f.conversation_id,
        }),
        mentions,
        temp_id: s.temp_id.cloned(),
        system_type: None,
        at: s.at,
    }])
}

/// What each kind requires, and that every personal part is valid clear text.
fn check_content(s: &Send<'_>) -> Result<(), DomainError> {
    let missing = match s.kind {
        MessageKind::Text => s.body.is_none().then_some("body"),
        MessageKind::Location => s.location.is_none().then_some("location"),
        MessageKind::Image | MessageKind::File | MessageKind::Audio => {
            s.attachments.is_empty().then_some("attachments")
        }
        MessageKind::System => None,
    };
    if let Some(field) = missing {
        return Err(DomainError::invalid(field, ValidationRule::Required));
    }
    if s.attachments.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(
            "attachments",
            ValidationRule::TooMany {
                max: MAX_ATTACHMENTS,
            },
        ));
    }
    for attachment in s.attachments {
        attachment.validate()?;
    }
    if let Some(location) = s.location {
        location.validate()?;
    }
    Ok(())
}

pub(super) fn post_system(
    state: &ConversationState,
    message_id: MessageId,
    actor: &UserId,
    body: &MessageBody,
    system_type: &str,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    existing(state)?;
    let system_type = system_type.trim();
    let rule = if system_type.is_empty() {
        Some(ValidationRule::Empty)
    } else if system_type.chars().count() > 100 {
        Some(ValidationRule::TooLong { max: 100 })
    } else if system_type.chars().any(char::is_control) {
        Some(ValidationRule::ControlCharacter)
    } else {
        None
    };
    if let Some(rule) = rule {
        return Err(DomainError::invalid("systemType", rule));
    }
    Ok(vec![ConversationEvent::MessageSent {
        message_id,
        sender_id: actor.clone(),
        kind: MessageKind::System,
        content: PersonalText::clear(body.as_str()),
        attachments: vec![],
        location: None,
        reply_to: None,
        forwarded_from: None,
        mentions: vec![],
        temp_id: None,
        system_type: Some(system_type.to_owned()),
        at,
    }])
}

pub(super) fn edit(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    body: &MessageBody,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (_, editor) = current(state, actor)?;
    let message = visible(state, editor, lookup, Needs::Current)?;
    if message.kind == MessageKind::System {
        return Err(DomainError::Forbidden("system messages cannot be edited"));
    }
    if &message.author != actor {
        return Err(DomainError::Forbidden("only the author can edit a message"));
    }
    if message.deleted {
        return Err(DomainError::AlreadyDeleted);
    }
    if message.content_fingerprint == Some(MessageFacts::fingerprint(body.as_str())) {
        return Ok(vec![]);
    }
    Ok(vec![ConversationEvent::MessageEdited {
        message_id: lookup.id,
        content: PersonalText::clear(body.as_str()),
        by: actor.clone(),
        at,
    }])
}

pub(super) fn delete(
    state: &ConversationState,
    actor: &UserId,
    lookup: &MessageLookup,
    at: DateTime<Utc>,
) -> Result<Vec<ConversationEvent>, DomainError> {
    let (details, deleter) = current(state, actor)?;
    let message = visible(state, deleter, lookup, Needs::Current)?;
    let moderates = details.kind != ConversationKind::Direct && deleter.role.can_moderate();
    if &message.author != actor && !moderates {
        return Err(DomainError::Forbidden(
            "only the author or an admin can delete a message",
        ));
    }
    if message.deleted {
        return Err(DomainError::AlreadyDeleted);
    }
    Ok(vec![ConversationEvent::MessageDeleted {
        message_id: lookup.id,
        by: actor.clone(),
        at,
    }])
}
