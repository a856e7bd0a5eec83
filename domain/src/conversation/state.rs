//! The conversation's folded state and the read-only queries the server and projections use.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, ConversationId, MessageId, TempId, UserId};
use crate::values::{ConversationKind, ConversationTitle, Description, ImageUrl, Role};

use super::message::MessageState;
use super::participant::Participant;

/// What a conversation is: fixed at creation except for the editable details.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationState {
    pub(crate) version: u64,
    pub(crate) details: Option<ConversationDetails>,
    pub(crate) participants: BTreeMap<UserId, Participant>,
    pub(crate) messages: HashMap<MessageId, MessageState>,
    pub(crate) by_seq: BTreeMap<u64, MessageId>,
    pub(crate) temp_ids: HashMap<UserId, HashMap<TempId, MessageId>>,
    pub(crate) last_seq: u64,
}

impl ConversationState {
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

    /// A message of this conversation, deleted or not.
    pub fn message(&self, id: &MessageId) -> Option<&MessageState> {
        self.messages.get(id)
    }

    /// The message at conversation sequence `seq`, if a message was sent at that version.
    pub fn message_by_seq(&self, seq: u64) -> Option<&MessageState> {
        self.by_seq.get(&seq).and_then(|id| self.messages.get(id))
    }

    /// The message `sender` sent with `temp_id`, if any (idempotent client retries).
    pub fn message_by_temp_id(&self, sender: &UserId, temp_id: &TempId) -> Option<&MessageState> {
        self.temp_ids
            .get(sender)
            .and_then(|by_temp| by_temp.get(temp_id))
            .and_then(|id| self.messages.get(id))
    }

    /// Every message in sequence order.
    pub fn messages(&self) -> impl Iterator<Item = &MessageState> + '_ {
        self.by_seq.values().filter_map(|id| self.messages.get(id))
    }

    /// Whether `user` may see the message at `seq`: it falls in one of their membership ranges.
    pub fn can_see(&self, user: &UserId, seq: u64) -> bool {
        self.participants.get(user).is_some_and(|p| p.can_see(seq))
    }

    /// Messages from others after `user`'s read marker that they can see, deleted ones
    /// excluded; their own never count. (Delete-for-me lives in the user stream; projections
    /// subtract it.)
    pub fn unread_count(&self, user: &UserId) -> u64 {
        let Some(participant) = self.participants.get(user) else {
            return 0;
        };
        let after = participant.read_seq();
        let count = self
            .by_seq
            .range(after + 1..)
            .filter_map(|(_, id)| self.messages.get(id))
            .filter(|m| &m.author != user && !m.is_deleted() && participant.can_see(m.seq))
            .count();
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    /// The seq of the latest message, 0 if none (the stream version may be higher: membership
    /// and reaction events take versions too).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}
