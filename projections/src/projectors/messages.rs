//! `messages`: messages with their versions, reactions, mentions, tombstones, the full-text
//! search index (`search_index.rs`), what each user may see of them (`visibility.rs`:
//! membership ranges, messages hidden for them) and the per-user counters the conversation
//! list reads (`unread.rs`: unread and mention counts, last visible message, message counts).
//! New messages are written in bulk (`new_messages.rs`). It reads the conversation streams'
//! message, membership and read-marker events and the user streams' hides: every event the
//! counters depend on, applied in one transaction per batch.

use pawpost_codec::Reveal;
use std::collections::HashMap;

use pawpost_domain::{ConversationEvent as E, MessageId, UserEvent};

use super::new_messages::{subject, write_new, NewMessage};
use super::search_index::{self, index, search_deferred};
use super::{is_message_event, is_visibility_event, text, unread, visibility, Projector};
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
            return apply_user(tx, env).await;
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
                unread::uncount_deleted(tx, &message_id.to_string()).await?;
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
            E::ConversationCreated { participants, .. } => {
                for p in participants {
                    visibility::join(tx, &conv, p.user_id.as_str(), seq(v)).await?;
                }
            }
            E::ParticipantsAdded { user_ids, .. } => {
                for u in user_ids {
                    visibility::join(tx, &conv, u.as_str(), seq(v)).await?;
                }
            }
            E::ParticipantRemoved { user_id, .. } | E::ParticipantLeft { user_id, .. } => {
                visibility::depart(tx, &conv, user_id.as_str(), seq(v)).await?;
            }
            E::MessagesRead {
                user_id, up_to_seq, ..
            } => unread::read(tx, &conv, user_id.as_str(), seq(*up_to_seq)).await?,
            _ => {}
        }
        Ok(())
    }
}

/// A stream version as stored.
fn seq(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The user-stream events it reads: messages hidden for their user.
async fn apply_user(tx: &mut Tx, env: &Envelope) -> Result<(), DbError> {
    let DomainEvent::User {
        id: user,
        event:
            UserEvent::MessagesHiddenForMe {
                conversation_id,
                message_ids,
                at,
            },
    } = &env.event
    else {
        return Ok(());
    };
    for m in message_ids {
        visibility::hide(
            tx,
            user.as_str(),
            &conversation_id.to_string(),
            &m.to_string(),
            micros(*at),
        )
        .await?;
    }
    Ok(())
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
            "rm_membership_ranges",
            "rm_hidden_messages",
            "rm_unread",
            "rm_message_counts",
            "rm_message_streams",
        ]
    }

    fn reveal(&self) -> Reveal {
        Reveal::Content
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        if stream.starts_with("conversation-") {
            is_message_event(event_type) || is_visibility_event(event_type)
        } else {
            stream.starts_with("user-") && event_type == "MessagesHiddenForMe"
        }
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> Result<(), DbError> {
        let search_now = !search_deferred(tx).await?;
        self.apply_one(tx, env, search_now).await?;
        super::message_streams::record(tx, &[env]).await
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
    /// written with multi-row statements; the other events (about older messages, membership,
    /// read markers, hides) go one by one, in log order, after them (the counters are exact
    /// in any order: see `unread.rs`).
    async fn apply_batch(&self, tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
        let search_now = !search_deferred(tx).await?;
        let mut new: Vec<NewMessage> = Vec::new();
        let mut index: HashMap<MessageId, usize> = HashMap::new();
        let mut older: Vec<&Envelope> = Vec::new();
        for env in events {
            let DomainEvent::Conversation { event, .. } = &env.event else {
                older.push(env);
                continue;
            };
            let Some(message) = subject(event) else {
                older.push(env);
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
        super::message_streams::record(tx, events).await
    }
}
