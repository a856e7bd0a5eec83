//! `messages`: messages with their versions, reactions, mentions, tombstones, and the
//! full-text search index (`search_index.rs`); new messages are written in bulk
//! (`new_messages.rs`).

use pawpost_codec::Reveal;
use std::collections::HashMap;

use pawpost_domain::{ConversationEvent as E, MessageId};

use super::new_messages::{subject, write_new, NewMessage};
use super::search_index::{self, index, search_deferred};
use super::{is_message_event, text, Projector};
use crate::db::{micros, DbError, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// Projects everything that happens to messages.
pub struct MessagesProjector;

impl MessagesProjector {
    /// Applies one event to rows that may already exist (the path of events about messages
    /// sent in earlier batches, and of a batch seen twice).
    async fn apply_one(
        &self,
        tx: &mut Tx,
        env: &Envelope,
        search_now: bool,
    ) -> Result<(), DbError> {
        let DomainEvent::Conversation { id, event } = &env.event else {
            return Ok(());
        };
        let conv = id.to_string();
        let v = env.version;
        match event {
            E::MessageSent { .. } => {
                if let Some(m) = NewMessage::sent(env)? {
                    write_new(tx, vec![m], search_now).await?;
                }
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
                ).await?;
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
                )
                .await?;
                let deleted = tx
                    .query_opt(
                        "SELECT deleted_at FROM rm_messages WHERE id = $1",
                        &[message_id.to_string().into()],
                    )
                    .await?
                    .map(|r| r.opt_int(0))
                    .transpose()?
                    .flatten()
                    .is_some();
                if !deleted && search_now {
                    index(tx, message_id, &conv, content.as_clear()).await?;
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
                )
                .await?;
                if search_now {
                    index(tx, message_id, &conv, None).await?;
                }
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
                ).await?;
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
                ).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[async_trait::async_trait]
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

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> Result<(), DbError> {
        let search_now = !search_deferred(tx).await?;
        self.apply_one(tx, env, search_now).await
    }

    /// On SQLite, a rebuild leaves the search index for the end: see [`search_deferred`].
    async fn on_reset(&self, tx: &mut Tx) -> Result<(), DbError> {
        search_index::defer(tx).await
    }

    /// Builds the deferred search index, if any, from the messages as they now stand.
    async fn on_caught_up(&self, tx: &mut Tx) -> Result<(), DbError> {
        search_index::build_deferred(tx).await
    }

    /// Messages sent in the batch are folded with the batch's later events about them and
    /// written with multi-row statements; events about older messages go one by one.
    async fn apply_batch(&self, tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
        let search_now = !search_deferred(tx).await?;
        let mut new: Vec<NewMessage> = Vec::new();
        let mut index: HashMap<MessageId, usize> = HashMap::new();
        let mut older: Vec<&Envelope> = Vec::new();
        for env in events {
            let DomainEvent::Conversation { event, .. } = &env.event else {
                continue;
            };
            let Some(message) = subject(event) else {
                continue;
            };
            match index.get(&message) {
                Some(&i) => new[i].fold(env, event),
                None => match NewMessage::sent(env)? {
                    Some(m) => {
                        index.insert(message, new.len());
                        new.push(m);
                    }
                    None => older.push(env),
                },
            }
        }
        for existing in write_new(tx, new, search_now).await? {
            for env in existing.later {
                self.apply_one(tx, env, search_now).await?;
            }
        }
        for env in older {
            self.apply_one(tx, env, search_now).await?;
        }
        Ok(())
    }
}
