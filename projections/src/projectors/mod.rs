//! The projectors: each owns a few `rm_*` tables and keeps them in step with the log.

mod conversations;
mod message_streams;
mod messages;
mod new_messages;
mod search_index;
mod unread;
mod users;
mod visibility;

use pawpost_codec::Reveal;
use serde::Serialize;

use crate::db::{DbError, Tx};
use crate::envelope::Envelope;

pub use conversations::ConversationsProjector;
pub use messages::MessagesProjector;
pub use users::UsersProjector;

/// Turns events into read-model rows. `apply` must be idempotent (upserts, guarded updates):
/// the runner commits each batch with its checkpoint, so a batch is applied at most once, but
/// a projector must not rely on it.
#[async_trait::async_trait]
pub trait Projector: Send + Sync + 'static {
    /// Its name: the checkpoint key and the `--projection` of `pawpost replay`.
    fn name(&self) -> &'static str;
    /// The tables it owns (emptied by a rebuild).
    fn tables(&self) -> &'static [&'static str];
    /// Whether it needs personal content opened.
    fn reveal(&self) -> Reveal;
    /// Whether it reads events of this stream and type at all; others are not even decoded
    /// (most of the log is messages, which the membership projector skips).
    fn wants(&self, _stream: &str, _event_type: &str) -> bool {
        true
    }
    /// Applies one event inside the batch's transaction.
    async fn apply(&self, tx: &mut Tx, event: &Envelope) -> Result<(), DbError>;
    /// Applies a batch of events, in log order, inside one transaction. The result must be
    /// the same as applying them one by one (the property tests compare a rebuild in large
    /// batches with incremental projection); projectors override it to write a batch with
    /// multi-row statements.
    async fn apply_batch(&self, tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
        for event in events {
            self.apply(tx, event).await?;
        }
        Ok(())
    }
    /// Called by a reset after the tables are emptied, in the same transaction: the
    /// projector may prepare for a rebuild from the start of the log.
    async fn on_reset(&self, _tx: &mut Tx) -> Result<(), DbError> {
        Ok(())
    }
    /// Called after a batch that reached the end of the log (then known), in the batch's
    /// transaction: the projector may finish work it left for the end of a rebuild.
    async fn on_caught_up(&self, _tx: &mut Tx) -> Result<(), DbError> {
        Ok(())
    }
}

/// Every projector, in a stable order.
pub fn all() -> Vec<std::sync::Arc<dyn Projector>> {
    vec![
        std::sync::Arc::new(ConversationsProjector),
        std::sync::Arc::new(MessagesProjector),
        std::sync::Arc::new(UsersProjector),
    ]
}

/// Conversation events about messages: the `messages` projector reads these (and the
/// [`is_visibility_event`] ones), the `conversations` projector everything else of a
/// conversation stream.
pub(crate) fn is_message_event(event_type: &str) -> bool {
    matches!(
        event_type,
        "MessageSent" | "MessageEdited" | "MessageDeleted" | "ReactionAdded" | "ReactionRemoved"
    )
}

/// Conversation events that change which messages a user sees or has read: the `messages`
/// projector reads them too, for its membership ranges and counters.
pub(crate) fn is_visibility_event(event_type: &str) -> bool {
    matches!(
        event_type,
        "ConversationCreated"
            | "ParticipantsAdded"
            | "ParticipantRemoved"
            | "ParticipantLeft"
            | "MessagesRead"
    )
}

/// The wire name of a serde enum value (`"member"`, `"text"`, …).
pub(crate) fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// The clear text of a personal field and whether it was erased (its key destroyed). Sealed
/// text means the projector ran without revealing: nothing readable is stored.
pub(crate) fn text(t: &pawpost_domain::PersonalText) -> (crate::db::Arg, bool) {
    use crate::db::Arg;
    use pawpost_domain::PersonalText;
    match t {
        PersonalText::Clear(s) => (Arg::Text(Some(s.clone())), false),
        PersonalText::Erased => (Arg::NULL_TEXT, true),
        PersonalText::Sealed(_) => (Arg::NULL_TEXT, false),
    }
}

/// JSON text of a value, for TEXT columns.
pub(crate) fn json<T: Serialize>(v: &T) -> Result<String, DbError> {
    serde_json::to_string(v).map_err(|e| DbError::Other(e.to_string()))
}
