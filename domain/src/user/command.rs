//! What a user may ask of their own private stream. The actor is always the stream's owner;
//! whether they take part in a conversation, or can see a message, is a fact the server looks
//! up in the conversation and passes in.

use chrono::{DateTime, Utc};

use crate::ids::{ConversationId, MessageId, UserId};
use crate::personal::PersonalText;
use crate::values::{DisplayName, ImageUrl, Locale, MessageBody, NotificationLevel};

/// A command addressed to stream `user-{actor}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserCommand {
    /// Silences a conversation, until a time or for good.
    Mute {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// Until when (must lie after `at`); `None` = until unmuted.
        until: Option<DateTime<Utc>>,
        /// What still comes through.
        level: NotificationLevel,
        /// Whether the actor is a current participant.
        is_participant: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Lifts a mute (no mute → no-op).
    Unmute {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Moves a conversation out of the main list.
    Archive {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// Whether the actor is a current participant.
        is_participant: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Brings an archived conversation back (not archived → no-op).
    Unarchive {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Keeps a conversation at the top of the list.
    Pin {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// Whether the actor is a current participant.
        is_participant: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Unpins (not pinned → no-op).
    Unpin {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Hides messages for the actor only (everyone else still sees them).
    DeleteForMe {
        /// The stream owner.
        actor: UserId,
        /// Their conversation.
        conversation_id: ConversationId,
        /// The messages (already hidden ones are skipped).
        message_ids: Vec<MessageId>,
        /// Whether every listed message exists in that conversation and the actor can see it.
        visible_to_actor: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Blocks a user: they can no longer message the actor directly.
    Block {
        /// The stream owner.
        actor: UserId,
        /// Whom.
        user: UserId,
        /// Why (clear text, 1–500 characters); personal, sealed in the log.
        reason: Option<PersonalText>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Lifts a block (not blocked → no-op).
    Unblock {
        /// The stream owner.
        actor: UserId,
        /// Whom.
        user: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Saves the unsent text of a conversation (same text and reply → no-op).
    SaveDraft {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// The text (same rules as a message body).
        content: MessageBody,
        /// The message it would answer.
        reply_to: Option<MessageId>,
        /// Whether the actor is a current participant.
        is_participant: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Discards the draft (none → no-op).
    ClearDraft {
        /// The stream owner.
        actor: UserId,
        /// Which conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Sets the actor's profile as a whole (the same name, avatar, role and locale → no-op).
    UpdateProfile {
        /// The stream owner, whose profile it is.
        actor: UserId,
        /// The name others see.
        display_name: DisplayName,
        /// The picture; `None` = no avatar.
        avatar_url: Option<ImageUrl>,
        /// Free text such as "owner", "provider", "admin" or "service" (1–20 characters,
        /// checked by `decide`, surrounding whitespace trimmed); `None` = no role.
        role: Option<String>,
        /// The preferred language; `None` = unset.
        locale: Option<Locale>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl UserCommand {
    /// The stream owner issuing the command.
    pub fn actor(&self) -> &UserId {
        use UserCommand as C;
        match self {
            C::Mute { actor, .. }
            | C::Unmute { actor, .. }
            | C::Archive { actor, .. }
            | C::Unarchive { actor, .. }
            | C::Pin { actor, .. }
            | C::Unpin { actor, .. }
            | C::DeleteForMe { actor, .. }
            | C::Block { actor, .. }
            | C::Unblock { actor, .. }
            | C::SaveDraft { actor, .. }
            | C::ClearDraft { actor, .. }
            | C::UpdateProfile { actor, .. } => actor,
        }
    }

    /// When the command was issued.
    pub fn at(&self) -> DateTime<Utc> {
        use UserCommand as C;
        match self {
            C::Mute { at, .. }
            | C::Unmute { at, .. }
            | C::Archive { at, .. }
            | C::Unarchive { at, .. }
            | C::Pin { at, .. }
            | C::Unpin { at, .. }
            | C::DeleteForMe { at, .. }
            | C::Block { at, .. }
            | C::Unblock { at, .. }
            | C::SaveDraft { at, .. }
            | C::ClearDraft { at, .. }
            | C::UpdateProfile { at, .. } => *at,
        }
    }
}
