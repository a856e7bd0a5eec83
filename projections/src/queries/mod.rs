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

/// Times on the wire.
pub(crate) fn time(us: Option<i64>) -> Option<chrono::DateTime<chrono::Utc>> {
    us.and_then(crate::db::from_micros)
}
