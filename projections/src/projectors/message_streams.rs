//! `rm_message_streams`: per conversation, the stream version of the last message event the
//! messages projection applied. Read with a message's row in one snapshot, it tells a command
//! how current that message's facts are (see `queries::message_facts`).

use std::collections::BTreeMap;

use crate::db::{DbError, Tx};
use pawpost_domain::EventType;

use super::is_message_event;
use crate::envelope::{DomainEvent, Envelope};

/// Records, for every conversation in `events`, the highest version of a message event among
/// them (other events do not change what a message look-up answers).
pub(super) async fn record(tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
    let mut latest: BTreeMap<&str, u64> = BTreeMap::new();
    for env in events {
        let DomainEvent::Conversation { event, .. } = &env.event else {
            continue;
        };
        if !is_message_event(event.event_type()) {
            continue;
        }
        let Some(conversation) = env.stream.strip_prefix("conversation-") else {
            continue;
        };
        let v = latest.entry(conversation).or_default();
        *v = (*v).max(env.version);
    }
    for (conversation, version) in latest {
        tx.execute(
            "INSERT INTO rm_message_streams (conversation_id, version) VALUES ($1, $2)
             ON CONFLICT (conversation_id) DO UPDATE SET version = excluded.version
             WHERE rm_message_streams.version < excluded.version",
            &[conversation.into(), version.into()],
        )
        .await?;
    }
    Ok(())
}
