//! The conversation's folded state and the read-only queries the server and projections use.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{BookingId, ConversationId, UserId};
use crate::values::{ConversationKind, ConversationTitle, Description, ImageUrl, Role};

use super::participant::Participant;

/// What a conversation is: fixed at creation except for the editable details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConversationDetails {
    /// Its id.
    pub id: ConversationId,
    /// Its kind.
    pub kind: ConversationKind,
    /// Its booking, for booking conversations.
    pub booking_id: Option<BookingId>,
    /// The title, if any.
    pub title: Option<ConversationTitle>,
    /// The description, if any.
    pub description: Option<Description>,
    /// The image, if any.
    pub image_url: Option<ImageUrl>,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The conversation aggregate: everything `decide` needs, folded from the stream.
///
/// Small by design: details, participants (roles, membership ranges, markers) and a few
/// versions; nothing per message (decisions about a message get its facts passed in, see
/// [`super::MessageLookup`]). Its size depends on how many people ever took part, never on how
/// many messages were sent, so a command costs the same on the millionth message as on the
/// first, and a snapshot of it is small.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    pub(crate) version: u64,
    pub(crate) details: Option<ConversationDetails>,
    pub(crate) participants: BTreeMap<UserId, Participant>,
    pub(crate) last_seq: u64,
    pub(crate) last_message_change: u64,
}

impl ConversationState {
    /// The shape of this state in snapshots: bump it whenever a field changes.
    pub const SNAPSHOT_SCHEMA: u32 = 1;

    /// Whether the conversation was created.
    pub fn exists(&self) -> bool {
        self.details.is_some()
    }

    /// Its id, once created.
    pub fn id(&self) -> Option<ConversationId> {
        self.details.as_ref().map(|d| d.id)
    }

    /// Its kind, once created.
    pub fn kind(&self) -> Option<ConversationKind> {
        self.details.as_ref().map(|d| d.kind)
    }

    /// Its details, once created.
    pub fn details(&self) -> Option<&ConversationDetails> {
        self.details.as_ref()
    }

    /// Everything known about `user` here (also after they left).
    pub fn participant(&self, user: &UserId) -> Option<&Participant> {
        self.participants.get(user)
    }

    /// Everyone who ever took part, current or not, ordered by user id.
    pub fn participants(&self) -> impl Iterator<Item = &Participant> + '_ {
        self.participants.values()
    }

    /// Those in the conversation now, ordered by user id.
    pub fn current_participants(&self) -> impl Iterator<Item = &Participant> + '_ {
        self.participants.values().filter(|p| p.is_current())
    }

    /// Whether `user` is in the conversation now.
    pub fn is_participant(&self, user: &UserId) -> bool {
        self.participants
            .get(user)
            .is_some_and(Participant::is_current)
    }

    /// The current owner, if the conversation has one (direct conversations do not).
    pub fn owner(&self) -> Option<&UserId> {
        self.current_participants()
            .find(|p| p.role == Role::Owner)
            .map(|p| &p.user_id)
    }

    /// Whether `user` may see the message at `seq`: it falls in one of their membership ranges.
    pub fn can_see(&self, user: &UserId, seq: u64) -> bool {
        self.participants.get(user).is_some_and(|p| p.can_see(seq))
    }

    /// The seq of the latest message, 0 if none (the stream version may be higher: membership
    /// and reaction events take versions too).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The stream version of the last event that changed a message (sent, edited, deleted,
    /// reacted to), 0 if none: message facts current to an earlier version may be out of date.
    pub fn last_message_change(&self) -> u64 {
        self.last_message_change
    }
}
