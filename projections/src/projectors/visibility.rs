//! Which messages each user may see, as the `messages` projector keeps it: membership ranges
//! (a user sees the messages with `from_seq < seq <= to_seq` of each stretch they took part in)
//! and the messages hidden for them (delete for me, from their user stream). They decide what
//! counts as unread, so the projector that keeps the counters writes them, each change with
//! the change it makes to the counters (see `unread.rs`).

use super::unread::{refresh_last, unread_between};
use crate::db::{DbError, Tx};
use crate::visible::{hidden_for, unread_for};

/// The counter row and read marker of (`conv`, `user`): `(read_seq, last_seq)`.
async fn counters(tx: &mut Tx, conv: &str, user: &str) -> Result<(i64, Option<i64>), DbError> {
    let row = tx
        .query_opt(
            "SELECT read_seq, last_seq FROM rm_unread WHERE conversation_id = $1 AND user_id = $2",
            &[conv.into(), user.into()],
        )
        .await?;
    match row {
        Some(r) => Ok((r.int(0)?, r.opt_int(1)?)),
        None => Ok((0, None)),
    }
}

/// Adds `unread` and `mentioned` (negative: takes them away) to a counter row and sets its last
/// visible message.
async fn adjust(
    tx: &mut Tx,
    conv: &str,
    user: &str,
    unread: i64,
    mentioned: i64,
    last: Option<i64>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE rm_unread SET unread_count = unread_count + $3,
            mention_count = mention_count + $4, last_seq = $5
         WHERE conversation_id = $1 AND user_id = $2",
        &[
            conv.into(),
            user.into(),
            unread.into(),
            mentioned.into(),
            last.into(),
        ],
    )
    .await?;
    Ok(())
}

/// `user` takes part in `conv` from `version` on (creation, added, back again): a new range
/// (applied again, nothing changes). The messages after it that no other range showed them
/// enter their counts (none, in log order; a batch writes its new messages first).
pub(super) async fn join(tx: &mut Tx, conv: &str, user: &str, version: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO rm_unread (conversation_id, user_id) VALUES ($1, $2)
         ON CONFLICT (conversation_id, user_id) DO NOTHING",
        &[conv.into(), user.into()],
    )
    .await?;
    let known = tx
        .query_opt(
            "SELECT 1 FROM rm_membership_ranges
             WHERE conversation_id = $1 AND user_id = $2 AND from_seq = $3",
            &[conv.into(), user.into(), version.into()],
        )
        .await?;
    if known.is_some() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO rm_membership_ranges (conversation_id, user_id, from_seq, to_seq)
         VALUES ($1, $2, $3, NULL)",
        &[conv.into(), user.into(), version.into()],
    )
    .await?;
    let (read, last) = counters(tx, conv, user).await?;
    // Shown now, and by no range but this one.
    let others = "AND NOT EXISTS (SELECT 1 FROM rm_membership_ranges r
        WHERE r.conversation_id = m.conversation_id AND r.user_id = $2
          AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq)
          AND r.from_seq <> $3)";
    let (unread, mentioned) =
        unread_between(tx, conv, user, read, version, i64::MAX, others).await?;
    let newest = tx
        .query_opt(
            &format!(
                "SELECT m.seq FROM rm_messages m
                 WHERE m.conversation_id = $1 AND m.seq > $3 AND NOT {}
                 ORDER BY m.seq DESC LIMIT 1",
                hidden_for("$2")
            ),
            &[conv.into(), user.into(), version.into()],
        )
        .await?
        .map(|r| r.int(0))
        .transpose()?;
    if unread != 0 || mentioned != 0 || newest > last {
        adjust(tx, conv, user, unread, mentioned, last.max(newest)).await?;
    }
    Ok(())
}

/// `user` leaves `conv` (or is removed) at `version`: their open range ends there (applied
/// again after a re-join, nothing changes). The messages after it that no other range shows
/// them leave their counts (none, in log order), and their last visible message is looked up
/// again if it was one of those.
pub(super) async fn depart(
    tx: &mut Tx,
    conv: &str,
    user: &str,
    version: i64,
) -> Result<(), DbError> {
    let open = tx
        .query_opt(
            "SELECT 1 FROM rm_membership_ranges
             WHERE conversation_id = $1 AND user_id = $2 AND to_seq IS NULL AND from_seq < $3",
            &[conv.into(), user.into(), version.into()],
        )
        .await?;
    if open.is_none() {
        return Ok(());
    }
    let (read, last) = counters(tx, conv, user).await?;
    // Shown by a range this departure does not end.
    let others = "AND NOT EXISTS (SELECT 1 FROM rm_membership_ranges r
        WHERE r.conversation_id = m.conversation_id AND r.user_id = $2
          AND m.seq > r.from_seq AND (r.to_seq IS NULL OR m.seq <= r.to_seq)
          AND NOT (r.to_seq IS NULL AND r.from_seq < $3))";
    let (unread, mentioned) =
        unread_between(tx, conv, user, read, version, i64::MAX, others).await?;
    tx.execute(
        "UPDATE rm_membership_ranges SET to_seq = $3
         WHERE conversation_id = $1 AND user_id = $2 AND to_seq IS NULL AND from_seq < $3",
        &[conv.into(), user.into(), version.into()],
    )
    .await?;
    if unread != 0 || mentioned != 0 {
        adjust(tx, conv, user, -unread, -mentioned, last).await?;
    }
    if last.is_some_and(|l| l > version) {
        refresh_last(tx, conv, user).await?;
    }
    Ok(())
}

/// `user` deleted `message` for themself (`conv` as their event names it). If the message is
/// there (any conversation: visibility goes by message id), it leaves their counts if it was
/// in them, and their last visible message is looked up again if it was that one.
pub(super) async fn hide(
    tx: &mut Tx,
    user: &str,
    conv: &str,
    message: &str,
    at: i64,
) -> Result<(), DbError> {
    let known = tx
        .query_opt(
            "SELECT 1 FROM rm_hidden_messages WHERE user_id = $1 AND message_id = $2",
            &[user.into(), message.into()],
        )
        .await?;
    if known.is_some() {
        return Ok(());
    }
    let target = tx
        .query_opt(
            "SELECT conversation_id, seq FROM rm_messages WHERE id = $1",
            &[message.into()],
        )
        .await?
        .map(|r| Ok::<_, DbError>((r.text(0)?, r.int(1)?)))
        .transpose()?;
    if let Some((in_conv, _)) = &target {
        let sql = format!(
            "UPDATE rm_unread SET unread_count = unread_count - 1,
                mention_count = mention_count - (SELECT count(*) FROM rm_mentions mn
                    WHERE mn.message_id = $3 AND mn.user_id = $2)
             WHERE conversation_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM rm_messages m WHERE m.id = $3 AND {})",
            unread_for("$2", "rm_unread.read_seq")
        );
        tx.execute(&sql, &[in_conv.into(), user.into(), message.into()])
            .await?;
    }
    tx.execute(
        "INSERT INTO rm_hidden_messages (user_id, message_id, conversation_id, at)
         VALUES ($1, $2, $3, $4)",
        &[user.into(), message.into(), conv.into(), at.into()],
    )
    .await?;
    if let Some((in_conv, seq)) = target {
        let (_, last) = counters(tx, &in_conv, user).await?;
        if last == Some(seq) {
            refresh_last(tx, &in_conv, user).await?;
        }
    }
    Ok(())
}
