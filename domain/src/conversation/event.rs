//! What happened in a conversation: the payloads of stream `conversation-{uuid}`.
//!
//! Shipped shapes never change (add an upcaster and bump `schema_version` instead). The JSON is
//! `{"type": "MessageSent", "messageId": …}`. A message's `seq` is not in its `MessageSent`: it
//! is the stream version the event was stored at.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::EventType;
use crate::ids::{BookingId, ConversationId, MessageId, TempId, UserId};
use crate::personal::{PersonalData, PersonalText};
use crate::values::{
    AttachmentRef, ConversationKind, ConversationTitle, Description, ImageUrl, Location,
    MessageKind, Reaction, Role,
};

/// A participant as a conversation starts with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewParticipant {
    /// Who.
    pub user_id: UserId,
    /// With which role.
    pub role: Role,
}

/// Where a forwarded message came from (the client links to it if the reader may see it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedFrom {
    /// The original message.
    pub message_id: MessageId,
    /// Its conversation.
    pub conversation_id: ConversationId,
}

/// An event of the conversation stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum ConversationEvent {
    /// The conversation exists, with its first participants.
    ConversationCreated {
        /// Its id (also in the stream name; kept for self-describing payloads).
        conversation_id: ConversationId,
        /// Its kind.
        kind: ConversationKind,
        /// The booking, for booking conversations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        booking_id: Option<BookingId>,
        /// Title, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<ConversationTitle>,
        /// Description, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Description>,
        /// Image, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<ImageUrl>,
        /// Who created it.
        created_by: UserId,
        /// The first participants with their roles.
        participants: Vec<NewParticipant>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Title, description or image changed; carries the complete details after the change.
    ConversationDetailsUpdated {
        /// The title now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<ConversationTitle>,
        /// The description now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Description>,
        /// The image now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<ImageUrl>,
        /// Who changed it.
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Users joined as members (first time or again after leaving).
    ParticipantsAdded {
        /// Who joined.
        user_ids: Vec<UserId>,
        /// Who added them.
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// An admin removed a participant.
    ParticipantRemoved {
        /// Who was removed.
        user_id: UserId,
        /// By whom.
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A participant left by themself.
    ParticipantLeft {
        /// Who.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A participant's role changed (to `Owner` only when the owner leaves).
    ParticipantRoleChanged {
        /// Whose.
        user_id: UserId,
        /// The new role.
        role: Role,
        /// By whom.
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A message was sent; its seq is the version this event is stored at.
    MessageSent {
        /// Its id.
        message_id: MessageId,
        /// Its sender.
        sender_id: UserId,
        /// What it carries.
        kind: MessageKind,
        /// Its text (`Clear("")` when there is none); personal, key `msg-{messageId}`.
        content: PersonalText,
        /// Attached files (names are personal).
        #[serde(default)]
        attachments: Vec<AttachmentRef>,
        /// A shared location (label is personal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Location>,
        /// The message it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageId>,
        /// Where it was forwarded from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded_from: Option<ForwardedFrom>,
        /// Mentioned participants.
        #[serde(default)]
        mentions: Vec<UserId>,
        /// The client's correlation id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temp_id: Option<TempId>,
        /// For system messages, what kind of notice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_type: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The author replaced a message's text; personal, same key as the message.
    MessageEdited {
        /// Which message.
        message_id: MessageId,
        /// The new text.
        content: PersonalText,
        /// By whom.
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A message was deleted for everyone; it stays as a tombstone.
    MessageDeleted {
        /// Which message.
        message_id: MessageId,
        /// By whom (author or admin).
        by: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user reacted to a message.
    ReactionAdded {
        /// Which message.
        message_id: MessageId,
        /// Who.
        user_id: UserId,
        /// With what.
        reaction: Reaction,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user took a reaction back.
    ReactionRemoved {
        /// Which message.
        message_id: MessageId,
        /// Who.
        user_id: UserId,
        /// Which reaction.
        reaction: Reaction,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user's read marker moved forward.
    MessagesRead {
        /// Whose.
        user_id: UserId,
        /// The seq now read up to (inclusive).
        up_to_seq: u64,
        /// The message at that seq.
        message_id: MessageId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user's delivered marker moved forward.
    MessagesDelivered {
        /// Whose.
        user_id: UserId,
        /// The seq now delivered up to (inclusive).
        up_to_seq: u64,
        /// The message at that seq.
        message_id: MessageId,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The data-key id protecting a message's content (its text, every edit, attachment names and
/// location label).
pub fn message_key_id(message_id: &MessageId) -> String {
    format!("msg-{message_id}")
}

impl EventType for ConversationEvent {
    fn event_type(&self) -> &'static str {
        use ConversationEvent as E;
        match self {
            E::ConversationCreated { .. } => "ConversationCreated",
            E::ConversationDetailsUpdated { .. } => "ConversationDetailsUpdated",
            E::ParticipantsAdded { .. } => "ParticipantsAdded",
            E::ParticipantRemoved { .. } => "ParticipantRemoved",
            E::ParticipantLeft { .. } => "ParticipantLeft",
            E::ParticipantRoleChanged { .. } => "ParticipantRoleChanged",
            E::MessageSent { .. } => "MessageSent",
            E::MessageEdited { .. } => "MessageEdited",
            E::MessageDeleted { .. } => "MessageDeleted",
            E::ReactionAdded { .. } => "ReactionAdded",
            E::ReactionRemoved { .. } => "ReactionRemoved",
            E::MessagesRead { .. } => "MessagesRead",
            E::MessagesDelivered { .. } => "MessagesDelivered",
        }
    }
}

impl PersonalData for ConversationEvent {
    fn personal_fields(&mut self) -> Option<(String, Vec<&mut PersonalText>)> {
        match self {
            ConversationEvent::MessageSent {
                message_id,
                content,
                attachments,
                location,
                ..
            } => {
                let mut fields = vec![content];
                fields.extend(attachments.iter_mut().map(|a| &mut a.name));
                if let Some(label) = location.as_mut().and_then(|l| l.label.as_mut()) {
                    fields.push(label);
                }
                Some((message_key_id(message_id), fields))
            }
            ConversationEvent::MessageEdited {
                message_id,
                content,
                ..
            } => Some((message_key_id(message_id), vec![content])),
            _ => None,
        }
    }
}
