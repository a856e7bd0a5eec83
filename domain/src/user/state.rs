//! A user's private state folded from `user-{id}`, and its read-only queries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::ids::{ConversationId, MessageId, UserId};
use crate::values::{DisplayName, ImageUrl, Locale, NotificationLevel};

/// How a conversation is muted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MuteSetting {
    /// Until when; `None` = until unmuted.
    pub until: Option<DateTime<Utc>>,
    /// What still comes through.
    pub level: NotificationLevel,
    /// When it was set.
    pub since: DateTime<Utc>,
}

impl MuteSetting {
    /// Whether the mute is in force at `now` (a timed mute lapses by itself).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A saved draft, without its text (which lives, sealed, in the log and the drafts read model).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DraftState {
    /// The message it would answer.
    pub reply_to: Option<MessageId>,
    /// When it was last saved.
    pub saved_at: DateTime<Utc>,
    pub(crate) content_fingerprint: Option<u64>,
}

/// The user's profile, as last set by `UpdateProfile`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The name others see.
    pub display_name: DisplayName,
    /// The picture; `None` = no avatar.
    pub avatar_url: Option<ImageUrl>,
    /// Free text such as "owner" or "provider"; `None` = no role.
    pub role: Option<String>,
    /// The preferred language; `None` = unset.
    pub locale: Option<Locale>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
}

/// The user aggregate: mutes, archive, pins, hidden messages, blocks, drafts and the profile of
/// one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserState {
    pub(crate) version: u64,
    pub(crate) mutes: HashMap<ConversationId, MuteSetting>,
    pub(crate) archived: HashMap<ConversationId, DateTime<Utc>>,
    pub(crate) pinned: HashMap<ConversationId, DateTime<Utc>>,
    pub(crate) hidden: HashMap<ConversationId, BTreeSet<MessageId>>,
    pub(crate) blocked: BTreeMap<UserId, DateTime<Utc>>,
    pub(crate) drafts: HashMap<ConversationId, DraftState>,
    pub(crate) profile: Option<Profile>,
}

impl UserState {
    /// Whether this user blocks `user` (the server passes it as `blocked_by_other`).
    pub fn is_blocked(&self, user: &UserId) -> bool {
        self.blocked.contains_key(user)
    }

    /// Everyone this user blocks, ordered by id.
    pub fn blocked_users(&self) -> impl Iterator<Item = &UserId> + '_ {
        self.blocked.keys()
    }

    /// The mute of a conversation, if set (check [`MuteSetting::is_active`] for timed mutes).
    pub fn mute(&self, conversation: &ConversationId) -> Option<&MuteSetting> {
        self.mutes.get(conversation)
    }

    /// Whether a conversation is archived.
    pub fn is_archived(&self, conversation: &ConversationId) -> bool {
        self.archived.contains_key(conversation)
    }

    /// Whether a conversation is pinned.
    pub fn is_pinned(&self, conversation: &ConversationId) -> bool {
        self.pinned.contains_key(conversation)
    }

    /// Whether this user hid a message of a conversation for themself.
    pub fn hidden(&self, conversation: &ConversationId, message: &MessageId) -> bool {
        self.hidden
            .get(conversation)
            .is_some_and(|ids| ids.contains(message))
    }

    /// The draft of a conversation, if any.
    pub fn draft(&self, conversation: &ConversationId) -> Option<&DraftState> {
        self.drafts.get(conversation)
    }

    /// The user's profile, if they ever set one.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }
}
