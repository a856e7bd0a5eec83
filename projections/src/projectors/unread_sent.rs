//! How the messages a batch writes enter the counters (`unread.rs`): for every participant
//! row of their conversations, the messages they can see move their last visible message and,
//! when from someone else, after their read marker and not deleted in the same batch, their
//! unread and mention counts. A handful of statements per batch, whatever its size: the rows,
//! ranges and hides involved are read with `IN` lists and the changes written as one multi-row
//! statement per 64 rows.

use std::collections::{HashMap, HashSet};

use crate::db::{insert_many, Arg, DbError, Row, Tx};

/// A message just written, as the counters see it.
pub(super) struct Sent {
    /// Its id.
    pub(super) id: String,
    /// Its seq (the stream version of its `MessageSent`).
    pub(super) seq: i64,
    /// Who sent it (their own messages never count for them).
    pub(super) sender: String,
    /// Whom it mentions.
    pub(super) mentions: Vec<String>,
    /// Deleted for everyone in the same batch (written as a tombstone).
    pub(super) deleted: bool,
}

/// A membership range: `(from_seq, to_seq)`, open while `to_seq` is `None`.
type Stretch = (i64, Option<i64>);

/// Rows of `head IN (…)` over `keys`, in statements of at most 64 keys (of four shapes, so few
/// statements to prepare).
async fn select_in(tx: &mut Tx, head: &str, keys: &[Arg]) -> Result<Vec<Row>, DbError> {
    let mut out = Vec::new();
    let mut rest = keys;
    for chunk in [64, 16, 4, 1] {
        if rest.len() < chunk {
            continue;
        }
        let marks: Vec<String> = (1..=chunk).map(|i| format!("${i}")).collect();
        let sql = format!("{head} IN ({})", marks.join(", "));
        while rest.len() >= chunk {
            out.extend(tx.query(&sql, &rest[..chunk]).await?);
            rest = &rest[chunk..];
        }
    }
    Ok(out)
}

/// Counts the messages a batch just wrote, grouped by conversation.
pub(super) async fn count_sent(tx: &mut Tx, sent: &[(String, Vec<Sent>)]) -> Result<(), DbError> {
    if sent.is_empty() {
        return Ok(());
    }
    let mut counts = Vec::with_capacity(sent.len() * 2);
    for (conv, list) in sent {
        counts.extend([conv.clone().into(), (list.len() as i64).into()]);
    }
    insert_many(
        tx,
        "INSERT INTO rm_message_counts (conversation_id, message_count)",
        2,
        &counts,
        "ON CONFLICT (conversation_id)
         DO UPDATE SET message_count = rm_message_counts.message_count + excluded.message_count",
    )
    .await?;
    let convs: Vec<Arg> = sent.iter().map(|(c, _)| c.clone().into()).collect();
    let readers = select_in(
        tx,
        "SELECT conversation_id, user_id, read_seq, last_seq FROM rm_unread WHERE conversation_id",
        &convs,
    )
    .await?;
    if readers.is_empty() {
        return Ok(());
    }
    let mut ranges: HashMap<(String, String), Vec<Stretch>> = HashMap::new();
    for r in select_in(
        tx,
        "SELECT conversation_id, user_id, from_seq, to_seq FROM rm_membership_ranges
         WHERE conversation_id",
        &convs,
    )
    .await?
    {
        ranges
            .entry((r.text(0)?, r.text(1)?))
            .or_default()
            .push((r.int(2)?, r.opt_int(3)?));
    }
    // A hide the log holds before the message itself (never, through the commands): the
    // counts must still be those of the tables.
    let ids: Vec<Arg> = sent
        .iter()
        .flat_map(|(_, list)| list.iter().map(|m| m.id.clone().into()))
        .collect();
    let hidden: HashSet<(String, String)> = select_in(
        tx,
        "SELECT user_id, message_id FROM rm_hidden_messages WHERE message_id",
        &ids,
    )
    .await?
    .into_iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect::<Result<_, DbError>>()?;
    let by_conv: HashMap<&str, &[Sent]> = sent
        .iter()
        .map(|(c, list)| (c.as_str(), list.as_slice()))
        .collect();
    let mut changes = Vec::new();
    for r in readers {
        let (conv, user, read, last) = (r.text(0)?, r.text(1)?, r.int(2)?, r.opt_int(3)?);
        let list = by_conv.get(conv.as_str()).copied().unwrap_or_default();
        let key = (conv, user);
        let stretches = ranges.get(&key).map(Vec::as_slice).unwrap_or_default();
        let (conv, user) = key;
        let (mut unread, mut mentioned, mut newest) = (0i64, 0i64, last);
        for m in list {
            let in_range = stretches
                .iter()
                .any(|(from, to)| m.seq > *from && to.is_none_or(|to| m.seq <= to));
            if !in_range || (!hidden.is_empty() && hidden.contains(&(user.clone(), m.id.clone()))) {
                continue;
            }
            newest = newest.max(Some(m.seq));
            if m.seq > read && m.sender != user && !m.deleted {
                unread += 1;
                mentioned += i64::from(m.mentions.contains(&user));
            }
        }
        if unread != 0 || mentioned != 0 || newest != last {
            changes.extend([
                conv.into(),
                user.into(),
                unread.into(),
                mentioned.into(),
                newest.into(),
            ]);
        }
    }
    // The rows exist (just read): the upsert is a multi-row update of the counts.
    insert_many(
        tx,
        "INSERT INTO rm_unread (conversation_id, user_id, unread_count, mention_count, last_seq)",
        5,
        &changes,
        "ON CONFLICT (conversation_id, user_id) DO UPDATE SET
            unread_count = rm_unread.unread_count + excluded.unread_count,
            mention_count = rm_unread.mention_count + excluded.mention_count,
            last_seq = excluded.last_seq",
    )
    .await?;
    Ok(())
}
