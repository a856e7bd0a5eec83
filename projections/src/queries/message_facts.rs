//! A message's facts for a command about it (edit, delete, react, mark read, reply): what the
//! conversation aggregate needs to decide, and how current the answer is (DESIGN.md §3).

use pawpost_domain::conversation::{MessageFacts, MessageLookup};
use pawpost_domain::values::{MessageKind, Reaction};
use pawpost_domain::{MessageId, UserId};

use crate::db::{DbError, Tx};

/// Message `id` of `conversation` as the messages projection has it, with `actor`'s reactions,
/// and the conversation version the projection is current to.
///
/// The version is read first: under PostgreSQL's read-committed reads each statement sees at
/// least what the one before saw, so the facts are never older than the version claims (newer
/// facts only make a decision look again).
pub async fn lookup(
    tx: &mut Tx,
    conversation: &str,
    id: MessageId,
    actor: &UserId,
) -> Result<MessageLookup, DbError> {
    let as_of = tx
        .query_opt(
            "SELECT version FROM rm_message_streams WHERE conversation_id = $1",
            &[conversation.into()],
        )
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .map_or(0, |v| u64::try_from(v).unwrap_or(0));
    let message = id.to_string();
    let Some(row) = tx
        .query_opt(
            "SELECT seq, sender_id, kind, deleted_at IS NOT NULL, content
             FROM rm_messages WHERE id = $1 AND conversation_id = $2",
            &[message.as_str().into(), conversation.into()],
        )
        .await?
    else {
        return Ok(MessageLookup::missing(id, as_of));
    };
    let reactions = tx
        .query(
            "SELECT reaction FROM rm_reactions WHERE message_id = $1 AND user_id = $2",
            &[message.as_str().into(), actor.as_str().into()],
        )
        .await?
        .into_iter()
        .filter_map(|r| r.text(0).ok().and_then(|t| Reaction::parse(&t).ok()))
        .collect();
    let author = UserId::parse(&row.text(1)?)
        .map_err(|e| DbError::Other(format!("rm_messages.sender_id: {e}")))?;
    let kind: MessageKind = serde_json::from_value(serde_json::Value::String(row.text(2)?))
        .map_err(|e| DbError::Other(format!("rm_messages.kind: {e}")))?;
    let facts = MessageFacts {
        seq: u64::try_from(row.int(0)?).unwrap_or(0),
        author,
        kind,
        deleted: row.bool(3)?,
        content_fingerprint: row.opt_text(4)?.map(|c| MessageFacts::fingerprint(&c)),
        actor_reactions: reactions,
    };
    Ok(MessageLookup::found(id, facts, as_of))
}
