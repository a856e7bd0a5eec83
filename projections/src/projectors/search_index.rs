//! The `messages` projector's full-text search index (`rm_search`): one entry per visible
//! message, its text lower-cased; on SQLite left for the end of a rebuild.

use pawpost_domain::{MessageId, PersonalText};

use crate::db::{micros, DbError, Dialect, Tx};

/// Replaces the message's search entry with `content` (or removes it).
/// The text is stored lower-cased (Unicode): search lower-cases its query the same way, so
/// case folds identically on both backends, beyond ASCII too.
pub(super) async fn index(
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
pub(super) async fn search_deferred(tx: &mut Tx) -> Result<bool, DbError> {
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
pub(super) fn search_text(content: &PersonalText) -> Option<String> {
    content
        .as_clear()
        .filter(|c| !c.is_empty())
        .map(str::to_lowercase)
}

/// Marks the index deferred for the rebuild that follows a reset (SQLite only).
pub(super) async fn defer(tx: &mut Tx) -> Result<(), DbError> {
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

/// Builds the deferred index, if any, from the messages as they now stand, and clears the mark.
pub(super) async fn build_deferred(tx: &mut Tx) -> Result<(), DbError> {
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
