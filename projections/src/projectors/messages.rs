//! `messages`: messages with their versions, reactions, mentions, tombstones, and the
//! full-text search index.

use pawpost_codec::Reveal;
use pawpost_domain::{ConversationEvent as E, MessageId};

use super::{enum_str, is_message_event, json, text, Projector};
use crate::db::{micros, DbError, Dialect, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// Projects everything that happens to messages.
pub struct MessagesProjector;

/// Replaces the message's search entry with `content` (or removes it).
/// The text is stored lower-cased (Unicode): search lower-cases its query the same way, so
/// case folds identically on both backends, beyond ASCII too.
fn index(
    tx: &mut dyn Tx,
    message: &MessageId,
    conv: &str,
    content: Option<&str>,
) -> Result<(), DbError> {
    let id = message.to_string();
    let folded = content.map(str::to_lowercase);
    let content = folded.as_deref();
    match tx.dialect() {
        Dialect::Sqlite => {
            // FTS5 deletes efficiently by rowid only: the row shares the message row's rowid.
            let Some(row) = tx.query_opt(
                "SELECT rowid FROM rm_messages WHERE id = $1",
                &[id.clone().into()],
            )?
            else {
                return Ok(());
            };
            let rowid = row.int(0)?;
            tx.execute("DELETE FROM rm_search WHERE rowid = $1", &[rowid.into()])?;
            if let Some(c) = content.filter(|c| !c.is_empty()) {
                tx.execute(
                    "INSERT INTO rm_search (rowid, content, message_id, conversation_id) VALUES ($1, $2, $3, $4)",
                    &[rowid.into(), c.into(), id.into(), conv.into()],
                )?;
            }
        }
        Dialect::Postgres => {
            tx.execute(
                "DELETE FROM rm_search WHERE message_id = $1",
                &[id.clone().into()],
            )?;
            if let Some(c) = content.filter(|c| !c.is_empty()) {
                tx.execute(
                    "INSERT INTO rm_search (message_id, conversation_id, content) VALUES ($1, $2, $3)",
                    &[id.into(), conv.into(), c.into()],
                )?;
            }
        }
    }
    Ok(())
}

/// Indexes a message that was just inserted (nothing to replace).
fn index_new(
    tx: &mut dyn Tx,
    message: &MessageId,
    conv: &str,
    content: Option<&str>,
) -> Result<(), DbError> {
    let Some(folded) = content.filter(|c| !c.is_empty()).map(str::to_lowercase) else {
        return Ok(());
    };
    let id = message.to_string();
    match tx.dialect() {
        Dialect::Sqlite => {
            // Two plain statements: an INSERT … SELECT into a virtual table goes through a
            // temporary table and is several times slower.
            let Some(row) = tx.query_opt(
                "SELECT rowid FROM rm_messages WHERE id = $1",
                &[id.clone().into()],
            )?
            else {
                return Ok(());
            };
            tx.execute(
                "INSERT INTO rm_search (rowid, content, message_id, conversation_id)
                 VALUES ($1, $2, $3, $4)",
                &[row.int(0)?.into(), folded.into(), id.into(), conv.into()],
            )?;
        }
        Dialect::Postgres => {
            tx.execute(
                "INSERT INTO rm_search (message_id, content, conversation_id) VALUES ($1, $2, $3)
                 ON CONFLICT (message_id) DO NOTHING",
                &[id.into(), folded.into(), conv.into()],
            )?;
        }
    }
    Ok(())
}

impl Projector for MessagesProjector {
    fn name(&self) -> &'static str {
        "messages"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "rm_messages",
            "rm_message_versions",
            "rm_reactions",
            "rm_mentions",
            "rm_search",
        ]
    }

    fn reveal(&self) -> Reveal {
        Reveal::Content
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        stream.starts_with("conversation-") && is_message_event(event_type)
    }

    fn apply(&self, tx: &mut dyn Tx, env: &Envelope) -> Result<(), DbError> {
        let DomainEvent::Conversation { id, event } = &env.event else {
            return Ok(());
        };
        let conv = id.to_string();
        let v = env.version;
        match event {
            E::MessageSent {
                message_id,
                sender_id,
                kind,
                content,
                attachments,
                location,
                reply_to,
                forwarded_from,
                mentions,
                temp_id,
                system_type,
                at,
            } => {
                let (body, erased) = text(content);
                let inserted = tx.execute(
                    "INSERT INTO rm_messages (id, conversation_id, seq, sender_id, kind, content,
                        content_erased, attachments, location, reply_to, forwarded_from, mentions,
                        temp_id, system_type, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        message_id.to_string().into(),
                        conv.clone().into(),
                        v.into(),
                        sender_id.to_string().into(),
                        enum_str(kind).into(),
                        body.clone(),
                        erased.into(),
                        json(&crate::render::attachments(attachments))?.into(),
                        location
                            .as_ref()
                            .map(crate::render::location)
                            .map(|l| json(&l))
                            .transpose()?
                            .into(),
                        reply_to.map(|r| r.to_string()).into(),
                        forwarded_from.as_ref().map(json).transpose()?.into(),
                        json(mentions)?.into(),
                        temp_id.as_ref().map(|t| t.to_string()).into(),
                        system_type.clone().into(),
                        micros(*at).into(),
                    ],
                )?;
                if inserted == 0 {
                    return Ok(());
                }
                tx.execute(
                    "INSERT INTO rm_message_versions (message_id, version_no, content, content_erased, at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, version_no) DO NOTHING",
                    &[message_id.to_string().into(), v.into(), body, erased.into(), micros(*at).into()],
                )?;
                for m in mentions {
                    tx.execute(
                        "INSERT INTO rm_mentions (message_id, user_id, conversation_id, seq)
                         VALUES ($1, $2, $3, $4) ON CONFLICT (message_id, user_id) DO NOTHING",
                        &[
                            message_id.to_string().into(),
                            m.to_string().into(),
                            conv.clone().into(),
                            v.into(),
                        ],
                    )?;
                }
                index_new(tx, message_id, &conv, content.as_clear())?;
            }
            E::MessageEdited {
                message_id,
                content,
                at,
                ..
            } => {
                let (body, erased) = text(content);
                let added = tx.execute(
                    "INSERT INTO rm_message_versions (message_id, version_no, content, content_erased, at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, version_no) DO NOTHING",
                    &[message_id.to_string().into(), v.into(), body.clone(), erased.into(), micros(*at).into()],
                )?;
                if added == 0 {
                    return Ok(());
                }
                tx.execute(
                    "UPDATE rm_messages SET content = $2, content_erased = $3, edited_at = $4,
                        edit_count = edit_count + 1 WHERE id = $1",
                    &[
                        message_id.to_string().into(),
                        body,
                        erased.into(),
                        micros(*at).into(),
                    ],
                )?;
                let deleted = tx
                    .query_opt(
                        "SELECT deleted_at FROM rm_messages WHERE id = $1",
                        &[message_id.to_string().into()],
                    )?
                    .map(|r| r.opt_int(0))
                    .transpose()?
                    .flatten()
                    .is_some();
                if !deleted {
                    index(tx, message_id, &conv, content.as_clear())?;
                }
            }
            E::MessageDeleted { message_id, by, at } => {
                tx.execute(
                    "UPDATE rm_messages SET deleted_at = $2, deleted_by = $3
                     WHERE id = $1 AND deleted_at IS NULL",
                    &[
                        message_id.to_string().into(),
                        micros(*at).into(),
                        by.to_string().into(),
                    ],
                )?;
                index(tx, message_id, &conv, None)?;
            }
            E::ReactionAdded {
                message_id,
                user_id,
                reaction,
                at,
            } => {
                tx.execute(
                    "INSERT INTO rm_reactions (message_id, user_id, reaction, at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (message_id, user_id, reaction) DO NOTHING",
                    &[message_id.to_string().into(), user_id.to_string().into(), reaction.to_string().into(), micros(*at).into()],
                )?;
            }
            E::ReactionRemoved {
                message_id,
                user_id,
                reaction,
                ..
            } => {
                tx.execute(
                    "DELETE FROM rm_reactions WHERE message_id = $1 AND user_id = $2 AND reaction = $3",
                    &[message_id.to_string().into(), user_id.to_string().into(), reaction.to_string().into()],
                )?;
            }
            _ => {}
        }
        Ok(())
    }
}
