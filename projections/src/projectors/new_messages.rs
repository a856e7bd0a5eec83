//! New messages as the `messages` projector writes them: a batch's `MessageSent` events folded
//! with the batch's later events about the same messages, written with multi-row statements.

use std::collections::HashMap;

use pawpost_domain::{ConversationEvent as E, MessageId};

use super::search_index::search_text;
use super::unread::{count_sent, Sent};
use super::{enum_str, json, text};
use crate::db::{insert_many, micros, Arg, DbError, Dialect, Tx};
use crate::envelope::{DomainEvent, Envelope};

/// A message sent in the batch being applied, folded with the batch's later events about it,
/// so it is written once, in its state at the end of the batch.
pub(super) struct NewMessage<'a> {
    id: MessageId,
    conv: String,
    row: Vec<Arg>,
    sender: String,
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
    pub(super) later: Vec<&'a Envelope>,
}

/// `rm_messages` columns written for a new message.
const MESSAGE_COLUMNS: &str = "INSERT INTO rm_messages (id, conversation_id, seq, sender_id, kind,
    content, content_erased, attachments, location, reply_to, forwarded_from, mentions, temp_id,
    system_type, created_at, edited_at, edit_count, deleted_at, deleted_by)";
const MESSAGE_WIDTH: usize = 19;

impl<'a> NewMessage<'a> {
    /// The message of a `MessageSent` event (`None` for any other event).
    pub(super) fn sent(env: &Envelope) -> Result<Option<Self>, DbError> {
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
            sender: sender_id.to_string(),
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
    pub(super) fn fold(&mut self, env: &'a Envelope, event: &E) {
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
pub(super) fn subject(event: &E) -> Option<MessageId> {
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
pub(super) async fn write_new<'a>(
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
    // The counters, conversation by conversation (a batch's messages of one conversation in
    // ascending seqs).
    let mut sent: Vec<(String, Vec<Sent>)> = Vec::new();
    for m in written {
        let facts = Sent {
            id: m.id.to_string(),
            seq: i64::try_from(m.seq).unwrap_or(i64::MAX),
            sender: m.sender,
            mentions: m.mentions,
            deleted: m.deleted.is_some(),
        };
        match sent.iter_mut().find(|(conv, _)| *conv == m.conv) {
            Some((_, list)) => list.push(facts),
            None => sent.push((m.conv, vec![facts])),
        }
    }
    for (conv, list) in &sent {
        count_sent(tx, conv, list).await?;
    }
    Ok(existing)
}
