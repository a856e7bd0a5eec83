//! Worker checkpoints: the log position each worker has handled up to, committed with the
//! worker's database effects (or right after its outside effects).

use pawpost_store::db::{DbError, Dialect, Tx};
use pawpost_store::Position;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn position(row: &pawpost_store::db::Row) -> Result<Position, DbError> {
    Ok(Position {
        commit: u64::try_from(row.int(0)?).unwrap_or(0),
        seq: u64::try_from(row.int(1)?).unwrap_or(0),
    })
}

/// Where `name` stands (start if it never ran), locking its row until the transaction ends on
/// PostgreSQL, so two runners of one worker take turns (SQLite write transactions hold the
/// database's write lock already).
pub async fn load(tx: &mut Tx, name: &str) -> Result<Position, DbError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => "SELECT commit_pos, seq_pos FROM worker_checkpoints WHERE name = $1",
        Dialect::Postgres => {
            "SELECT commit_pos, seq_pos FROM worker_checkpoints WHERE name = $1 FOR UPDATE"
        }
    };
    match tx.query_opt(sql, &[name.into()]).await? {
        Some(row) => position(&row),
        None => Ok(Position::START),
    }
}

/// Where `name` stands, without locking anything (readers, read-only transactions).
pub async fn peek(tx: &mut Tx, name: &str) -> Result<Position, DbError> {
    match tx
        .query_opt(
            "SELECT commit_pos, seq_pos FROM worker_checkpoints WHERE name = $1",
            &[name.into()],
        )
        .await?
    {
        Some(row) => position(&row),
        None => Ok(Position::START),
    }
}

/// Records that `name` has handled everything up to `position`.
pub async fn save(tx: &mut Tx, name: &str, position: Position) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO worker_checkpoints (name, commit_pos, seq_pos, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET commit_pos = excluded.commit_pos,
            seq_pos = excluded.seq_pos, updated_at = excluded.updated_at",
        &[
            name.into(),
            to_i64(position.commit).into(),
            to_i64(position.seq).into(),
            chrono::Utc::now().timestamp_micros().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Forgets `name`'s progress (it starts again from the beginning of the log).
pub async fn reset(tx: &mut Tx, name: &str) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM worker_checkpoints WHERE name = $1",
        &[name.into()],
    )
    .await?;
    Ok(())
}
