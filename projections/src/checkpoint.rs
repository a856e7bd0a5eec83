//! Projector checkpoints, stored and committed with the read models they describe.

use pawpost_store::Position;

use crate::db::{DbError, Dialect, Tx};

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The position `name` has applied up to (start if never run). In PostgreSQL the row is locked
/// until the transaction ends, so two runners of one projector take turns.
pub async fn load(tx: &mut Tx, name: &str) -> Result<Position, DbError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => "SELECT commit_pos, seq_pos FROM projection_checkpoints WHERE name = $1",
        Dialect::Postgres => {
            "SELECT commit_pos, seq_pos FROM projection_checkpoints WHERE name = $1 FOR UPDATE"
        }
    };
    match tx.query_opt(sql, &[name.into()]).await? {
        Some(row) => Ok(Position {
            commit: row.int(0)? as u64,
            seq: row.int(1)? as u64,
        }),
        None => Ok(Position::START),
    }
}

/// Records that `name` has applied everything up to `position`.
pub async fn save(tx: &mut Tx, name: &str, position: Position) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO projection_checkpoints (name, commit_pos, seq_pos, updated_at)
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

/// Forgets `name`'s progress (rebuild from the start).
pub async fn reset(tx: &mut Tx, name: &str) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM projection_checkpoints WHERE name = $1",
        &[name.into()],
    )
    .await?;
    Ok(())
}
