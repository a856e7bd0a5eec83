//! Query functions the HTTP layer calls, one file per read model. Each runs inside a
//! [`crate::db::Tx`] and answers only what the asking user may see (current participants only;
//! messages inside their membership ranges; delete-for-me respected).

pub mod conversations;
pub mod message_facts;
pub mod messages;
pub mod messages_extra;
pub mod search;
pub mod sent;
pub mod users;
pub mod users_extra;

/// SQL condition: message `m` is visible to user `$1` (inside one of their membership ranges,
/// not hidden for them).
pub(crate) const VISIBLE: &str = "EXISTS (SELECT 1 FROM rm_membership_ranges r
        WHERE r.conversation_id = m.conversation_id AND r.user_id = $1
          AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq))
    AND NOT EXISTS (SELECT 1 FROM rm_hidden_messages h WHERE h.user_id = $1 AND h.message_id = m.id)";

/// Times on the wire.
pub(crate) fn time(us: Option<i64>) -> Option<chrono::DateTime<chrono::Utc>> {
    us.and_then(crate::db::from_micros)
}
