//! A message as the conversation aggregate remembers it: enough to decide, never its text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::ids::{MessageId, TempId, UserId};
use crate::values::{MessageKind, Reaction};

/// Who deleted a message for everyone, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deletion {
    /// The author or an admin.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A message's decision-relevant facts. Read-only outside the aggregate.
///
/// The text itself is not kept (it may be sealed, and state should not hold personal content);
/// only a fingerprint of the current clear text, to recognise an edit that changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageState {
    /// Its id.
    pub id: MessageId,
    /// Its place in the conversation (the version of its `MessageSent`).
    pub seq: u64,
    /// Its sender.
    pub author: UserId,
    /// What it carries.
    pub kind: MessageKind,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The message it answers.
    pub reply_to: Option<MessageId>,
    /// The client's correlation id.
    pub temp_id: Option<TempId>,
    /// How many times it was edited.
    pub edit_count: u32,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// Set once it is deleted for everyone.
    pub deleted: Option<Deletion>,
    /// Reaction → users who reacted with it.
    pub reactions: BTreeMap<Reaction, BTreeSet<UserId>>,
    pub(crate) content_fingerprint: Option<u64>,
}

impl MessageState {
    /// Whether it was deleted for everyone (a tombstone).
    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }

    /// Whether `user` reacted with `reaction`.
    pub fn has_reaction(&self, user: &UserId, reaction: &Reaction) -> bool {
        self.reactions
            .get(reaction)
            .is_some_and(|users| users.contains(user))
    }
}
