//! `messages`: messages with their versions, reactions, mentions, tombstones, and the
//! full-text search index.

use pawpost_codec::Reveal;
use std::collections::HashMap;

use pawpost_domain::{ConversationEvent as E, MessageId, PersonalText};

use super::{enum_str, is_message_event, json, text, Projector};
use crate::db::{insert_many, micros, Arg, DbError, Dialect, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// Projects everything that happens to messages.
pub struct MessagesProjector;

/// Replaces the message's search entry with `content` (or removes it).
/// The text is stored lower-cased (Unicode): search lower-cases its query the same way, so
/// case folds identically on both backends, beyond ASCII too.
async fn index(
    tx: &mut Tx,
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
            let Some(row) = tx
                .query_opt(
                    "SELECT rowid FROM rm_messages WHERE id = $1",
                    &[id.clone().into()],
                )
                .await?
            else {
                return Ok(());
            };
            let rowid = row.int(0)?;
            tx.execute("DELETE FROM rm_search WHERE rowid = $1", &[rowid.into()])
                .await?;
            if let Some(c) = content.filter(|c| !c.is_empty()) {
                tx.execute(
                    "INSERT INTO rm_search (rowid, content) VALUES ($1, $2)",
                    &[rowid.into(), c.into()],
                )
                .await?;
            }
        }
        Dialect::Postgres => {
            tx.execute(
                "DELETE FROM rm_search WHERE message_id = $1",
                &[id.clone().into()],
            )
            .await?;
            if let Some(c) = content.filter(|c| !c.is_empty()) {
                tx.execute(
                    "INSERT INTO rm_search (message_id, conversation_id, content) VALUES ($1, $2, $3)",
                    &[id.into(), conv.into(), c.into()],
                ).await?;
            }
        }
    }
    Ok(())
}

/// Whether the search index waits for the end of a rebuild. On SQLite, indexing message by
/// message while a million are replayed costs more than everything else the projector does
/// (the FTS5 index is re-merged as it grows, edits and deletions re-tokenize the old text),
/// so `reset` marks the index deferred (a row in `rm_search_deferred`): batches then leave
/// the index alone, and the batch that reaches the end of the log indexes every visible
/// message as it stands, in the same transaction that clears the mark. A crash in between
/// leaves the mark, and the next run finishes the job. The result is the same index as one
/// built incrementally (the property tests compare them).
async fn search_deferred(tx: &mut Tx) -> Result<bool, DbError> {
    if tx.dialect() != Dialect::Sqlite {
        return Ok(false);
    }
    Ok(tx
        .query_opt("SELECT 1 FROM rm_search_deferred LIMIT 1", &[])
        .await?
        .is_some())
}

/// The search text of a message's content: lower-cased clear text, `None` when there is
/// nothing to index (sealed, erased, empty).
fn search_text(content: &PersonalText) -> Option<String> {
    content
        .as_clear()
        .filter(|c| !c.is_empty())
        .map(str::to_lowercase)
}

/// A message sent in the batch being applied, folded with the batch's later events about it,
/// so it is written once, in its state at the end of the batch.
struct NewMessage<'a> {
    id: MessageId,
    conv: String,
    row: Vec<Arg>,
    mentions: Vec<String>,
    seq: u64,
    edited_at: Option<i64>,
    edit_count: i64,
    deleted: Option<(i64, String)>,
    /// `(version_no, content, erased, at)`: the original, then each edit.
    versions: Vec<(u64, Arg, bool, i64)>,
    /// `(user, reaction, at)`, in the order added.
    reactions: Vec<(String, String, i64)>,
    search: Option<String>,
    /// The batch's events about it after the send (re-applied one by one if the message was
    /// already there: a batch seen twice).
    later: Vec<&'a Envelope>,
}

/// `rm_messages` columns written for a new message.
const MESSAGE_COLUMNS: &str = "INSERT INTO rm_messages (id, conversation_id, seq, sender_id, kind,
    content, content_erased, attachments, location, reply_to, forwarded_from, mentions, temp_id,
    system_type, created_at, edited_at, edit_count, deleted_at, deleted_by)";
const MESSAGE_WIDTH: usize = 19;

impl<'a> NewMessage<'a> {
    /// The message of a `MessageSent` event (`None` for any other event).
    fn sent(env: &Envelope) -> Result<Option<Self>, DbError> {
        let DomainEvent::Conversation {
            id,
            event:
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
                },
        } = &env.event
        else {
            return Ok(None);
        };
        let conv = id.to_string();
        let (body, erased) = text(content);
        let at = micros(*at);
        let row = vec![
            message_id.to_string().into(),
            conv.clone().into(),
            env.version.into(),
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
            at.into(),
        ];
        Ok(Some(NewMessage {
            id: *message_id,
            conv,
            row,
            mentions: mentions.iter().map(|m| m.to_string()).collect(),
            seq: env.version,
            edited_at: None,
            edit_count: 0,
            deleted: None,
            versions: vec![(env.version, body, erased, at)],
            reactions: Vec::new(),
            search: search_text(content),
            later: Vec::new(),
        }))
    }

    /// Folds a later event about this message in (what `apply_one` would do to its rows).
    fn fold(&mut self, env: &'a Envelope, event: &E) {
        self.later.push(env);
        match event {
            E::MessageEdited { content, at, .. } => {
                let (body, erased) = text(content);
                let at = micros(*at);
                self.row[5] = body.clone();
                self.row[6] = erased.into();
                self.versions.push((env.version, body, erased, at));
                self.edited_at = Some(at);
                self.edit_count += 1;
                if self.deleted.is_none() {
                    self.search = search_text(content);
                }
            }
            E::MessageDeleted { by, at, .. } => {
                if self.deleted.is_none() {
                    self.deleted = Some((micros(*at), by.to_string()));
                }
                self.search = None;
            }
            E::ReactionAdded {
                user_id,
                reaction,
                at,
                ..
            } => {
                let (user, reaction) = (user_id.to_string(), reaction.to_string());
                if !self
                    .reactions
                    .iter()
                    .any(|(u, r, _)| *u == user && *r == reaction)
                {
                    self.reactions.push((user, reaction, micros(*at)));
                }
            }
            E::ReactionRemoved {
                user_id, reaction, ..
            } => {
                let (user, reaction) = (user_id.to_string(), reaction.to_string());
                self.reactions
                    .retain(|(u, r, _)| *u != user || *r != reaction);
            }
            _ => {}
        }
    }
}

/// The message an event is about (`None` for events this projector ignores).
fn subject(event: &E) -> Option<MessageId> {
    match event {
        E::MessageSent { message_id, .. }
        | E::MessageEdited { message_id, .. }
        | E::MessageDeleted { message_id, .. }
        | E::ReactionAdded { message_id, .. }
        | E::ReactionRemoved { message_id, .. } => Some(*message_id),
        _ => None,
    }
}

/// Writes new messages with multi-row statements; returns the ones that were already there
/// (their `MessageSent` was applied before: nothing of them is written).
async fn write_new<'a>(
    tx: &mut Tx,
    messages: Vec<NewMessage<'a>>,
    search_now: bool,
) -> Result<Vec<NewMessage<'a>>, DbError> {
    if messages.is_empty() {
        return Ok(messages);
    }
    let mut values = Vec::with_capacity(messages.len() * MESSAGE_WIDTH);
    for m in &messages {
        values.extend(m.row.iter().cloned());
        values.push(m.edited_at.into());
        values.push(m.edit_count.into());
        values.push(m.deleted.as_ref().map(|d| d.0).into());
        values.push(m.deleted.as_ref().map(|d| d.1.clone()).into());
    }
    let sqlite = tx.dialect() == Dialect::Sqlite;
    let returning = if sqlite {
        "ON CONFLICT (id) DO NOTHING RETURNING id, rowid"
    } else {
        "ON CONFLICT (id) DO NOTHING RETURNING id"
    };
    let inserted: HashMap<String, Option<i64>> =
        insert_many(tx, MESSAGE_COLUMNS, MESSAGE_WIDTH, &values, returning)
            .await?
            .into_iter()
            .map(|r| {
                let rowid = if sqlite { Some(r.int(1)?) } else { None };
                Ok((r.text(0)?, rowid))
            })
            .collect::<Result<_, DbError>>()?;
    let (written, existing): (Vec<_>, Vec<_>) = messages
        .into_iter()
        .partition(|m| inserted.contains_key(&m.id.to_string()));

    let (mut versions, mut mentions, mut reactions, mut search) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in &written {
        let id = m.id.to_string();
        for (no, body, erased, at) in &m.versions {
            versions.extend([
                id.clone().into(),
                (*no).into(),
                body.clone(),
                (*erased).into(),
                (*at).into(),
            ]);
        }
        for user in &m.mentions {
            mentions.extend([
                id.clone().into(),
                user.clone().into(),
                m.conv.clone().into(),
                m.seq.into(),
            ]);
        }
        for (user, reaction, at) in &m.reactions {
            reactions.extend([
                id.clone().into(),
                user.clone().into(),
                reaction.clone().into(),
                (*at).into(),
            ]);
        }
        if let Some(content) = m.search.as_ref().filter(|_| search_now) {
            match inserted.get(&id).copied().flatten() {
                // SQLite: `(rowid, content)`.
                Some(rowid) => search.extend([rowid.into(), content.clone().into()]),
                // PostgreSQL: `(content, message_id, conversation_id)`.
                None => search.extend([content.clone().into(), id.into(), m.conv.clone().into()]),
            }
        }
    }
    insert_many(
        tx,
        "INSERT INTO rm_message_versions (message_id, version_no, content, content_erased, at)",
        5,
        &versions,
        "ON CONFLICT (message_id, version_no) DO NOTHING",
    )
    .await?;
    insert_many(
        tx,
        "INSERT INTO rm_mentions (message_id, user_id, conversation_id, seq)",
        4,
        &mentions,
        "ON CONFLICT (message_id, user_id) DO NOTHING",
    )
    .await?;
    insert_many(
        tx,
        "INSERT INTO rm_reactions (message_id, user_id, reaction, at)",
        4,
        &reactions,
        "ON CONFLICT (message_id, user_id, reaction) DO NOTHING",
    )
    .await?;
    if sqlite {
        // The search row shares the message row's rowid (FTS5 deletes by rowid only). One
        // row per statement: FTS5 takes a multi-row VALUES list through a temporary table,
        // which costs more than the statements it saves.
        for row in search.chunks(2) {
            tx.execute(
                "INSERT INTO rm_search (rowid, content) VALUES ($1, $2)",
                row,
            )
            .await?;
        }
    } else {
        insert_many(
            tx,
            "INSERT INTO rm_search (content, message_id, conversation_id)",
            3,
            &search,
            "ON CONFLICT (message_id) DO NOTHING",
        )
        .await?;
    }
    Ok(existing)
}

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
            "rm_message_streams",
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
        self.apply_one(tx, env, search_now).await?;
        super::message_streams::record(tx, &[env]).await
    }

    /// On SQLite, a rebuild leaves the search index for the end: see [`search_deferred`].
    async fn on_reset(&self, tx: &mut Tx) -> Result<(), DbError> {
        if tx.dialect() == Dialect::Sqlite {
            tx.execute("DELETE FROM rm_search_deferred", &[]).await?;
            tx.execute(
                "INSERT INTO rm_search_deferred (since) VALUES ($1)",
                &[micros(chrono::Utc::now()).into()],
            )
            .await?;
        }
        Ok(())
    }

    /// Builds the deferred search index, if any, from the messages as they now stand.
    async fn on_caught_up(&self, tx: &mut Tx) -> Result<(), DbError> {
        if !search_deferred(tx).await? {
            return Ok(());
        }
        let mut after = 0i64;
        loop {
            let rows = tx
                .query(
                    "SELECT rowid, content FROM rm_messages
                 WHERE rowid > $1 AND deleted_at IS NULL AND content IS NOT NULL
                 ORDER BY rowid LIMIT 10000",
                    &[after.into()],
                )
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.int(0)?;
            for row in rows {
                let content = row.text(1)?;
                if content.is_empty() {
                    continue;
                }
                tx.execute(
                    "INSERT INTO rm_search (rowid, content) VALUES ($1, $2)",
                    &[row.int(0)?.into(), content.to_lowercase().into()],
                )
                .await?;
            }
        }
        tx.execute("DELETE FROM rm_search_deferred", &[]).await?;
        Ok(())
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
        super::message_streams::record(tx, events).await
    }
}
