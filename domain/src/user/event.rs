//! What happened in a user's private stream `user-{id}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::EventType;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::personal::{PersonalData, PersonalText};
use crate::values::{DisplayName, ImageUrl, Locale, NotificationLevel};

/// An event of a user stream. JSON: `{"type": "ConversationMuted", "conversationId": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum UserEvent {
    /// A conversation was muted (or its mute changed).
    ConversationMuted {
        /// Which.
        conversation_id: ConversationId,
        /// Until when; absent = until unmuted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
        /// What still comes through.
        level: NotificationLevel,
        /// When.
        at: DateTime<Utc>,
    },
    /// The mute was lifted.
    ConversationUnmuted {
        /// Which.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The conversation was archived.
    ConversationArchived {
        /// Which.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The conversation came back from the archive.
    ConversationUnarchived {
        /// Which.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The conversation was pinned.
    ConversationPinned {
        /// Which.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The conversation was unpinned.
    ConversationUnpinned {
        /// Which.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Messages were hidden for this user only.
    MessagesHiddenForMe {
        /// Their conversation.
        conversation_id: ConversationId,
        /// The newly hidden messages.
        message_ids: Vec<MessageId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The stream owner (`by`) blocked `userId`.
    UserBlocked {
        /// Who is blocked.
        user_id: UserId,
        /// Who blocks (the stream owner; names the data key).
        by: UserId,
        /// Why; personal, key `block-{by}-{userId}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<PersonalText>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The block was lifted.
    UserUnblocked {
        /// Who was blocked.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A draft was saved (replacing the previous one).
    DraftSaved {
        /// Which conversation.
        conversation_id: ConversationId,
        /// Whose draft (the stream owner; names the data key).
        user_id: UserId,
        /// The text; personal, key `draft-{userId}-{conversationId}`.
        content: PersonalText,
        /// The message it would answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The draft was discarded (or sent).
    DraftCleared {
        /// Which conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The stream owner's profile was set (replacing the previous one as a whole). Not personal
    /// content: a display name is not a forgettable payload (DESIGN §3).
    ProfileUpdated {
        /// Whose profile (the stream owner).
        user_id: UserId,
        /// The name others see.
        display_name: DisplayName,
        /// The picture; absent = no avatar.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        avatar_url: Option<ImageUrl>,
        /// Free text such as "owner" or "provider" (1–20 characters); absent = no role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// The preferred language; absent = unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locale: Option<Locale>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The data-key id of a user's draft in a conversation (every save reuses it).
pub fn draft_key_id(user: &UserId, conversation_id: &ConversationId) -> String {
    format!("draft-{user}-{conversation_id}")
}

/// The data-key id of the reason `user` gave for blocking `blocked`.
pub fn block_key_id(user: &UserId, blocked: &UserId) -> String {
    format!("block-{user}-{blocked}")
}

impl EventType for UserEvent {
    fn event_type(&self) -> &'static str {
        use UserEvent as E;
        match self {
            E::ConversationMuted { .. } => "ConversationMuted",
            E::ConversationUnmuted { .. } => "ConversationUnmuted",
            E::ConversationArchived { .. } => "ConversationArchived",
            E::ConversationUnarchived { .. } => "ConversationUnarchived",
            E::ConversationPinned { .. } => "ConversationPinned",
            E::ConversationUnpinned { .. } => "ConversationUnpinned",
            E::MessagesHiddenForMe { .. } => "MessagesHiddenForMe",
            E::UserBlocked { .. } => "UserBlocked",
            E::UserUnblocked { .. } => "UserUnblocked",
            E::DraftSaved { .. } => "DraftSaved",
            E::DraftCleared { .. } => "DraftCleared",
            E::ProfileUpdated { .. } => "ProfileUpdated",
        }
    }
}

impl PersonalData for UserEvent {
    fn personal_fields(&mut self) -> Option<(String, Vec<&mut PersonalText>)> {
        match self {
            UserEvent::UserBlocked {
                user_id,
                by,
                reason: Some(reason),
                ..
            } => Some((block_key_id(by, user_id), vec![reason])),
            UserEvent::DraftSaved {
                conversation_id,
                user_id,
                content,
                ..
            } => Some((draft_key_id(user_id, conversation_id), vec![content])),
            _ => None,
        }
    }
}
