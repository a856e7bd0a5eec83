//! A participant as the conversation remembers them: role, membership ranges, markers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::values::{ReadMarker, Role};

/// One stretch of membership: the user sees messages with `joined_at_seq < seq ≤ left_at_seq`.
///
/// Joining at version `j` means every message sent after the join event is visible; leaving at
/// version `l` closes the range, so a user who left sees nothing sent after leaving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MembershipRange {
    /// The stream version of the event that let the user in.
    pub joined_at_seq: u64,
    /// The stream version of the event that let them out, if they are out.
    pub left_at_seq: Option<u64>,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// When they left.
    pub left_at: Option<DateTime<Utc>>,
}

impl MembershipRange {
    /// Whether a message at `seq` falls inside this range.
    pub fn contains(&self, seq: u64) -> bool {
        seq > self.joined_at_seq && self.left_at_seq.is_none_or(|left| seq <= left)
    }
}

/// A user who is, or was, in the conversation. Read-only outside the aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Participant {
    /// Who.
    pub user_id: UserId,
    /// Their role (meaningful while current; a re-join starts as `Member`).
    pub role: Role,
    /// Every membership stretch, oldest first; the last is open while they are current.
    pub ranges: Vec<MembershipRange>,
    /// How far they have read.
    pub read: Option<ReadMarker>,
    /// How far messages reached their devices, as reported (see [`Participant::delivered_marker`]).
    pub delivered: Option<ReadMarker>,
}

impl Participant {
    pub(crate) fn new(user_id: UserId, role: Role, seq: u64, at: DateTime<Utc>) -> Self {
        Participant {
            user_id,
            role,
            ranges: vec![MembershipRange {
                joined_at_seq: seq,
                left_at_seq: None,
                joined_at: at,
                left_at: None,
            }],
            read: None,
            delivered: None,
        }
    }

    /// Whether they are in the conversation now.
    pub fn is_current(&self) -> bool {
        self.ranges.last().is_some_and(|r| r.left_at_seq.is_none())
    }

    /// The open membership range, while current.
    pub fn current_range(&self) -> Option<&MembershipRange> {
        self.ranges.last().filter(|r| r.left_at_seq.is_none())
    }

    /// Whether they can see the message at `seq` (now or from when they were in).
    pub fn can_see(&self, seq: u64) -> bool {
        self.ranges.iter().any(|r| r.contains(seq))
    }

    /// The seq read up to, 0 if nothing read.
    pub fn read_seq(&self) -> u64 {
        self.read.as_ref().map_or(0, |m| m.seq)
    }

    /// The effective delivered marker: reading a message implies it was delivered, so this is
    /// whichever of the read and delivered markers is further.
    pub fn delivered_marker(&self) -> Option<&ReadMarker> {
        match (&self.read, &self.delivered) {
            (Some(r), Some(d)) => Some(if r.seq > d.seq { r } else { d }),
            (r, d) => r.as_ref().or(d.as_ref()),
        }
    }

    /// The seq delivered up to (implied by reading too), 0 if none.
    pub fn delivered_seq(&self) -> u64 {
        self.delivered_marker().map_or(0, |m| m.seq)
    }

    pub(crate) fn rejoin(&mut self, seq: u64, at: DateTime<Utc>) {
        if self.is_current() {
            return;
        }
        self.role = Role::Member;
        self.ranges.push(MembershipRange {
            joined_at_seq: seq,
            left_at_seq: None,
            joined_at: at,
            left_at: None,
        });
    }

    pub(crate) fn leave(&mut self, seq: u64, at: DateTime<Utc>) {
        if let Some(range) = self.ranges.last_mut().filter(|r| r.left_at_seq.is_none()) {
            range.left_at_seq = Some(seq);
            range.left_at = Some(at);
        }
    }
}
