//! The `messages` projector's counters: per (conversation, user) in `rm_unread` the unread and
//! mention counts the conversation list shows, the read marker they count from and the seq of
//! the last message the user can see; per conversation in `rm_message_counts` its number of
//! messages. The list reads them as they are, so it costs the same for a conversation of ten
//! messages and one of a million.
//!
//! **Exact by construction.** The counters always equal what the list used to count at query
//! time ([`crate::visible::unread_for`]) over this projector's own tables: messages, mentions,
//! membership ranges, hidden messages, and the read marker in `rm_unread`. Each change to one
//! of those tables is made with the change it makes to the counters, computed on the tables as
//! they stand at that moment (before the change for what leaves the counts, after it for what
//! enters them). So the counters are exact in whatever order a batch makes its changes (it
//! writes its new messages before its other events), and a rebuild ends with the numbers of
//! incremental projection. Everything they depend on is this projector's, committed in its
//! batch's transaction: no other projector's lag can make them wrong.
//!
//! **Bounded.** A new message touches the rows of its conversation's participants; a read
//! counts the messages it reads (an index range); a deletion or a hide looks at one message; a
//! join or a departure at the messages after it (none, in log order); the last visible message
//! is looked up again only when a hide or a departure takes it away, walking the index back.

use std::collections::{HashMap, HashSet};

use crate::db::{DbError, Tx};
use crate::visible::{hidden_for, mentions, unread_for};

/// A message just written, as the counters see it.
pub(super) struct Sent {
    pub id: String,
    pub seq: i64,
    pub sender: String,
    pub mentions: Vec<String>,
    /// Deleted for everyone in the same batch (written as a tombstone).
    pub deleted: bool,
}

/// Counts messages just written to `conv` for every participant who can see
/// them, and moves each one's last visible message.
pub(super) async fn count_sent(tx: &mut Tx, conv: &str, sent: &[Sent]) -> Result<(), DbError> {
    let (Some(lo), Some(hi)) = (
        sent.iter().map(|m| m.seq).min(),
        sent.iter().map(|m| m.seq).max(),
    ) else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO rm_message_counts (conversation_id, message_count) VALUES ($1, $2)
         ON CONFLICT (conversation_id)
         DO UPDATE SET message_count = rm_message_counts.message_count + excluded.message_count",
        &[conv.into(), (sent.len() as i64).into()],
    )
    .await?;
    let readers = tx
        .query(
            "SELECT user_id, read_seq, last_seq FROM rm_unread WHERE conversation_id = $1",
            &[conv.into()],
        )
        .await?;
    if readers.is_empty() {
        return Ok(());
    }
    let mut ranges: HashMap<String, Vec<(i64, Option<i64>)>> = HashMap::new();
    for r in tx
        .query(
            "SELECT user_id, from_seq, to_seq FROM rm_membership_ranges WHERE conversation_id = $1",
            &[conv.into()],
        )
        .await?
    {
        ranges
            .entry(r.text(0)?)
            .or_default()
            .push((r.int(1)?, r.opt_int(2)?));
    }
    // A hide the log holds before the message itself (never, through the commands): the
    // counts must still be those of the tables.
    let hidden: HashSet<(String, String)> = tx
        .query(
            "SELECT user_id, message_id FROM rm_hidden_messages WHERE message_id IN
               (SELECT id FROM rm_messages WHERE conversation_id = $1 AND seq BETWEEN $2 AND $3)",
            &[conv.into(), lo.into(), hi.into()],
        )
        .await?
        .into_iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_, DbError>>()?;
    for r in readers {
        let (user, read, last) = (r.text(0)?, r.int(1)?, r.opt_int(2)?);
        let stretches = ranges.get(&user).map(Vec::as_slice).unwrap_or_default();
        let (mut unread, mut mentioned, mut newest) = (0i64, 0i64, last);
        for m in sent {
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
            tx.execute(
                "UPDATE rm_unread SET unread_count = unread_count + $3,
                    mention_count = mention_count + $4, last_seq = $5
                 WHERE conversation_id = $1 AND user_id = $2",
                &[
                    conv.into(),
                    user.into(),
                    unread.into(),
                    mentioned.into(),
                    newest.into(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// Takes a message out of the counts that hold it, before it is deleted for everyone (a
/// message already deleted, or not there, changes nothing). Its tombstone stays visible: the
/// last visible message does not move.
pub(super) async fn uncount_deleted(tx: &mut Tx, message: &str) -> Result<(), DbError> {
    let Some(row) = tx
        .query_opt(
            "SELECT conversation_id FROM rm_messages WHERE id = $1 AND deleted_at IS NULL",
            &[message.into()],
        )
        .await?
    else {
        return Ok(());
    };
    let sql = format!(
        "UPDATE rm_unread SET unread_count = unread_count - 1,
            mention_count = mention_count - (SELECT count(*) FROM rm_mentions mn
                WHERE mn.message_id = $2 AND mn.user_id = rm_unread.user_id)
         WHERE conversation_id = $1
           AND EXISTS (SELECT 1 FROM rm_messages m WHERE m.id = $2 AND {})",
        unread_for("rm_unread.user_id", "rm_unread.read_seq")
    );
    tx.execute(&sql, &[row.text(0)?.into(), message.into()])
        .await?;
    Ok(())
}

/// `user`'s read marker in `conv` moves up to `up_to` (a marker never moves back): the
/// messages it passes leave their counts, counted over that range only.
pub(super) async fn read(tx: &mut Tx, conv: &str, user: &str, up_to: i64) -> Result<(), DbError> {
    let Some(row) = tx
        .query_opt(
            "SELECT read_seq FROM rm_unread WHERE conversation_id = $1 AND user_id = $2",
            &[conv.into(), user.into()],
        )
        .await?
    else {
        return Ok(());
    };
    let from = row.int(0)?;
    if up_to <= from {
        return Ok(());
    }
    let (unread, mentioned) = unread_between(tx, conv, user, from, from, up_to, "").await?;
    tx.execute(
        "UPDATE rm_unread SET read_seq = $3, unread_count = unread_count - $4,
            mention_count = mention_count - $5
         WHERE conversation_id = $1 AND user_id = $2",
        &[
            conv.into(),
            user.into(),
            up_to.into(),
            unread.into(),
            mentioned.into(),
        ],
    )
    .await?;
    Ok(())
}

/// How many messages of `conv` with `after < seq <= up_to` count as unread for `user` (read
/// marker `read_seq`) and meet `extra` (an SQL condition on `m`, may use `$3` = `after`), and
/// how many of those mention them.
pub(super) async fn unread_between(
    tx: &mut Tx,
    conv: &str,
    user: &str,
    read_seq: i64,
    after: i64,
    up_to: i64,
    extra: &str,
) -> Result<(i64, i64), DbError> {
    let sql = format!(
        "SELECT count(*), COALESCE(sum(CASE WHEN {} THEN 1 ELSE 0 END), 0) FROM rm_messages m
         WHERE m.conversation_id = $1 AND m.seq > $3 AND m.seq <= $4 AND {} {extra}",
        mentions("$2"),
        unread_for("$2", "$5")
    );
    let row = tx
        .query_opt(
            &sql,
            &[
                conv.into(),
                user.into(),
                after.into(),
                up_to.into(),
                read_seq.into(),
            ],
        )
        .await?;
    match row {
        Some(r) => Ok((r.int(0)?, r.int(1)?)),
        None => Ok((0, 0)),
    }
}

/// Looks up again the last message of `conv` that `user` can see (tombstones included): range
/// by range from the newest, each an index walk back from the range's end that passes over
/// the messages hidden for them only.
pub(super) async fn refresh_last(tx: &mut Tx, conv: &str, user: &str) -> Result<(), DbError> {
    let mut ranges = tx
        .query(
            "SELECT from_seq, to_seq FROM rm_membership_ranges
             WHERE conversation_id = $1 AND user_id = $2",
            &[conv.into(), user.into()],
        )
        .await?
        .into_iter()
        .map(|r| Ok((r.int(0)?, r.opt_int(1)?.unwrap_or(i64::MAX))))
        .collect::<Result<Vec<_>, DbError>>()?;
    ranges.sort_by_key(|(_, to)| std::cmp::Reverse(*to));
    let sql = format!(
        "SELECT m.seq FROM rm_messages m
         WHERE m.conversation_id = $1 AND m.seq > $3 AND m.seq <= $4 AND NOT {}
         ORDER BY m.seq DESC LIMIT 1",
        hidden_for("$2")
    );
    let mut last: Option<i64> = None;
    for (from, to) in ranges {
        if last.is_some_and(|l| l >= to) {
            break;
        }
        let found = tx
            .query_opt(&sql, &[conv.into(), user.into(), from.into(), to.into()])
            .await?
            .map(|r| r.int(0))
            .transpose()?;
        last = last.max(found);
    }
    tx.execute(
        "UPDATE rm_unread SET last_seq = $3 WHERE conversation_id = $1 AND user_id = $2",
        &[conv.into(), user.into(), last.into()],
    )
    .await?;
    Ok(())
}
