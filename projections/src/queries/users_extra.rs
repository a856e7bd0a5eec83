//! What the change feed (`GET /sync`) needs beyond the other queries: which stretches of which
//! conversations a user may see, and how far the read models describe the log.

use pawpost_store::Position;

use crate::db::{DbError, Tx};

/// A stretch of a conversation's stream a user may see: the events at versions
/// `from_version..=to_version` (open-ended while they take part). `from_version` is the version
/// of the event that made them a participant, `to_version` the one that ended it (both
/// included: a user sees their own join and their own removal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRange {
    pub conversation_id: String,
    pub from_version: u64,
    pub to_version: Option<u64>,
}

impl MembershipRange {
    /// Whether the event at `version` of this conversation lies in the stretch.
    pub fn covers(&self, version: u64) -> bool {
        self.from_version <= version && self.to_version.is_none_or(|to| version <= to)
    }
}

/// Every stretch of every conversation `user` took part in.
pub async fn membership_ranges(tx: &mut Tx, user: &str) -> Result<Vec<MembershipRange>, DbError> {
    tx.query(
        "SELECT conversation_id, from_seq, to_seq FROM rm_membership_ranges WHERE user_id = $1
         ORDER BY conversation_id, from_seq",
        &[user.into()],
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(MembershipRange {
            conversation_id: r.text(0)?,
            from_version: u64::try_from(r.int(1)?).unwrap_or(0),
            to_version: r.opt_int(2)?.map(|v| u64::try_from(v).unwrap_or(0)),
        })
    })
    .collect()
}

/// How far projector `name` has applied the log (start if it never ran), without locking:
/// for readers, not for projectors.
pub async fn projected_position(tx: &mut Tx, name: &str) -> Result<Position, DbError> {
    pawpost_workers::checkpoint::peek(tx, name).await
}
