//! Embedded schema migrations (`migrations/{sqlite,postgres}`, applied by sqlx's migrator in
//! file order, each once, each in its own transaction, recorded in `_sqlx_migrations`).
//!
//! Databases written before sqlx recorded their migrations in `_pawpost_migrations`; the first
//! run adopts that history (the same files, so the same checksums) and drops the old table, so
//! such a database upgrades in place.

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::StoreError;

/// SQLite's migrations.
pub(crate) static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// PostgreSQL's migrations.
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The bookkeeping table of the hand-written runner of wave 1.
const LEGACY: &str = "_pawpost_migrations";

/// The `_sqlx_migrations` rows (version, description, checksum) that record the legacy
/// table's `versions` as applied. A version this binary does not know is an error (the
/// database was written by a newer pawpost).
fn adopted(
    migrator: &Migrator,
    versions: &[i64],
) -> Result<Vec<(i64, String, Vec<u8>)>, StoreError> {
    versions
        .iter()
        .map(|&v| match migrator.iter().find(|m| m.version == v) {
            Some(m) => Ok((v, m.description.to_string(), m.checksum.to_vec())),
            None => Err(StoreError::Invalid(format!(
                "the database has migration {v}, which this pawpost does not know: \
                 it was written by a newer version"
            ))),
        })
        .collect()
}

/// Records every migration of the legacy table as applied by sqlx and drops the legacy table.
macro_rules! adopt {
    ($tx:expr, $migrator:expr) => {{
        let versions: Vec<i64> = sqlx::query_scalar(&format!("SELECT version FROM {LEGACY}"))
            .fetch_all(&mut *$tx)
            .await?;
        for (version, description, checksum) in adopted($migrator, &versions)? {
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
            )
            .bind(version)
            .bind(description)
            .bind(checksum)
            .execute(&mut *$tx)
            .await?;
        }
        sqlx::query(&format!("DROP TABLE {LEGACY}"))
            .execute(&mut *$tx)
            .await?;
        tracing::info!("adopted the migration history of an earlier pawpost");
    }};
}

/// Applies SQLite's pending migrations on `conn`.
pub(crate) async fn sqlite(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let legacy: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)",
    )
    .bind(LEGACY)
    .fetch_one(&mut *conn)
    .await?;
    if legacy {
        conn.ensure_migrations_table().await?;
        let mut tx = conn.begin().await?;
        adopt!(tx, &SQLITE);
        tx.commit().await?;
    }
    SQLITE.run_direct(conn).await?;
    Ok(())
}

/// Applies PostgreSQL's pending migrations on `conn` (sqlx's migrator holds an advisory lock
/// meanwhile, so nodes starting together migrate one at a time).
pub(crate) async fn postgres(conn: &mut PgConnection) -> Result<(), StoreError> {
    let legacy: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(LEGACY)
        .fetch_one(&mut *conn)
        .await?;
    if legacy {
        conn.ensure_migrations_table().await?;
        let mut tx = conn.begin().await?;
        // Two nodes upgrading at once: one adopts, the other finds the table gone.
        sqlx::query("SELECT pg_advisory_xact_lock(7366372505)")
            .execute(&mut *tx)
            .await?;
        let still: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(LEGACY)
            .fetch_one(&mut *tx)
            .await?;
        if still {
            adopt!(tx, &POSTGRES);
        }
        tx.commit().await?;
    }
    POSTGRES.run_direct(conn).await?;
    Ok(())
}
