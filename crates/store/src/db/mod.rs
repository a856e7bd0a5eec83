//! The database beside the log: read models, worker checkpoints, leases and parked events live
//! in the same SQLite file or PostgreSQL database as the events, reached through one async SQL
//! surface over both backends ([`Db`], [`Tx`]).
//!
//! Statements are written once, in PostgreSQL's `$1` style (rewritten to `?1` for SQLite),
//! with the parameter types of [`Arg`]; the few statements that must differ (full-text search,
//! locking) ask [`Tx::dialect`]. PostgreSQL goes through sqlx, async end to end; SQLite through
//! rusqlite (`sqlite.rs` says why). Write transactions on SQLite begin `IMMEDIATE`; read
//! transactions see one snapshot and never wait for the writer.

mod postgres;
mod sqlite;
mod value;

use std::path::Path;
use std::sync::Arc;

use futures::future::{ready, BoxFuture};
use sqlx::PgPool;

pub use value::{from_micros, micros, Arg, Row, Value};

use crate::postgres::ACQUIRE_TIMEOUT;
use crate::restarts::Restarts;

/// Why a read-model operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database is out of reach for now (down, restarting, locked): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("postgres: {0}")]
    Postgres(sqlx::Error),
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("decoding a row: {0}")]
    Decode(String),
    #[error("{0}")]
    Other(String),
}

impl DbError {
    /// True when a retry later can succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_))
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if crate::outage::is_outage(&e) {
            DbError::Unavailable(e.to_string())
        } else {
            DbError::Postgres(e)
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        if crate::outage::is_sqlite_outage(&e) {
            DbError::Unavailable(e.to_string())
        } else {
            DbError::Sqlite(e)
        }
    }
}

/// Which SQL dialect a database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database beside the log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db(Backend, Restarts);

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(Arc<sqlite::SqliteDb>),
    /// Writes (the log workers' batches, checkpoints, leases) and reads (queries) on pools of
    /// their own: a queue of queries under load never holds back the projectors that
    /// read-your-writes answers wait for.
    Postgres {
        write: PgPool,
        read: PgPool,
    },
}

impl Db {
    /// The read-model database in the SQLite file at `path`.
    pub(crate) fn sqlite(path: &Path) -> Db {
        Db(
            Backend::Sqlite(Arc::new(sqlite::SqliteDb::new(path))),
            Restarts::default(),
        )
    }

    /// The read-model database of the PostgreSQL database at `url` (a pool of its own).
    /// Its connections report to `restarts`.
    pub(crate) fn postgres(url: &str, restarts: Restarts) -> Result<Db, sqlx::Error> {
        Ok(Db(
            Backend::Postgres {
                write: postgres::pool(url, postgres::WRITE_POOL, &restarts)?,
                read: postgres::pool(url, postgres::READ_POOL, &restarts)?,
            },
            restarts,
        ))
    }

    /// The restarts of the database server noticed so far (on PostgreSQL, commits of the
    /// read models acknowledged before a restart may be gone; SQLite's never change).
    pub fn restarts(&self) -> &Restarts {
        &self.1
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        match self.0 {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// A read-write transaction: committed by [`Tx::commit`], rolled back if dropped.
    pub fn begin(&self) -> BoxFuture<'static, Result<Tx, DbError>> {
        self.start(true)
    }

    /// A read-only transaction: one consistent snapshot that never waits for writers.
    pub fn read(&self) -> BoxFuture<'static, Result<Tx, DbError>> {
        self.start(false)
    }

    fn start(&self, write: bool) -> BoxFuture<'static, Result<Tx, DbError>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                let db = db.clone();
                Box::pin(async move { Ok(Tx(TxInner::Sqlite(db.begin(write).await?))) })
            }
            Backend::Postgres { write: w, read: r } => {
                let pool = if write { w.clone() } else { r.clone() };
                let statement = if write { "BEGIN" } else { "BEGIN READ ONLY" };
                Box::pin(async move {
                    // In a task of its own: sqlx checks a custom `BEGIN` after it ran, at a
                    // second await point, and a caller cancelled right there would leave the
                    // transaction open on a pooled connection. A task always runs to its end;
                    // if the caller is gone, the transaction it returns is dropped and rolls
                    // back.
                    let tx = tokio::spawn(async move { pool.begin_with(statement).await })
                        .await
                        .map_err(|e| DbError::Other(format!("beginning a transaction: {e}")))??;
                    Ok(Tx(TxInner::Postgres(tx)))
                })
            }
        }
    }

    /// Closes the pool (PostgreSQL; SQLite connections close when dropped).
    pub async fn close(&self) {
        if let Backend::Postgres { write, read } = &self.0 {
            write.close().await;
            read.close().await;
        }
    }
}

/// A transaction on the database beside the log.
pub struct Tx(TxInner);

enum TxInner {
    Sqlite(sqlite::SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

// The methods return boxed futures: sqlx's executor futures are generic over lifetimes, and an
// `async fn` around them trips the compiler's `Send` inference for callers in spawned tasks
// ("implementation of `Send` is not general enough").
impl Tx {
    /// The dialect, for the few statements that differ.
    pub fn dialect(&self) -> Dialect {
        match self.0 {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows changed.
    pub fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<u64, DbError>> {
        match &mut self.0 {
            TxInner::Sqlite(tx) => Box::pin(ready(tx.execute(sql, args))),
            TxInner::Postgres(tx) => Box::pin(async move {
                let done = postgres::bind(sqlx::query(sql), args)
                    .execute(&mut **tx)
                    .await?;
                Ok(done.rows_affected())
            }),
        }
    }

    /// Runs a query and returns every row.
    pub fn query<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        match &mut self.0 {
            TxInner::Sqlite(tx) => Box::pin(ready(tx.query(sql, args))),
            TxInner::Postgres(tx) => Box::pin(async move {
                let rows = postgres::bind(sqlx::query(sql), args)
                    .fetch_all(&mut **tx)
                    .await?;
                rows.iter().map(postgres::row).collect()
            }),
        }
    }

    /// The first row, if any.
    pub fn query_opt<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<Option<Row>, DbError>> {
        Box::pin(async move { Ok(self.query(sql, args).await?.into_iter().next()) })
    }

    /// Runs `statements` (without parameters) one after the other, unprepared (DDL, locks).
    pub fn batch<'a>(
        &'a mut self,
        statements: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        match &mut self.0 {
            TxInner::Sqlite(tx) => Box::pin(ready(tx.batch(statements))),
            TxInner::Postgres(tx) => Box::pin(async move {
                for sql in statements {
                    sqlx::query(sql)
                        .persistent(false)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }),
        }
    }

    /// Commits.
    pub fn commit(self) -> BoxFuture<'static, Result<(), DbError>> {
        match self.0 {
            TxInner::Sqlite(tx) => Box::pin(tx.commit()),
            TxInner::Postgres(tx) => Box::pin(async move {
                tx.commit().await?;
                Ok(())
            }),
        }
    }

    /// Rolls back (dropping the transaction does too).
    pub fn rollback(self) -> BoxFuture<'static, Result<(), DbError>> {
        match self.0 {
            TxInner::Sqlite(tx) => {
                drop(tx);
                Box::pin(ready(Ok(())))
            }
            TxInner::Postgres(tx) => Box::pin(async move {
                tx.rollback().await?;
                Ok(())
            }),
        }
    }
}

/// Rows per multi-row statement; smaller tails go in the next sizes down, so each table has
/// at most four statement shapes to prepare (and cache).
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Inserts many rows with multi-row `VALUES` statements: `head` is `INSERT INTO t (a, b, c)`,
/// `values` holds `width` values per row, `tail` follows the `VALUES` list (an `ON CONFLICT`
/// clause, a `RETURNING` list). Returns the rows `tail` returns. One statement per 64 rows:
/// a round trip each on PostgreSQL, far less per-row work on SQLite.
pub async fn insert_many(
    tx: &mut Tx,
    head: &str,
    width: usize,
    values: &[Arg],
    tail: &str,
) -> Result<Vec<Row>, DbError> {
    if width == 0 || !values.len().is_multiple_of(width) {
        return Err(DbError::Other(format!(
            "insert_many: {} values do not make rows of {width}",
            values.len()
        )));
    }
    let mut rows = values.len() / width;
    let mut at = 0;
    let mut out = Vec::new();
    for chunk in CHUNKS {
        if rows < chunk {
            continue;
        }
        let sql = multi_row_sql(head, width, chunk, tail);
        while rows >= chunk {
            let args = &values[at * width..(at + chunk) * width];
            out.extend(tx.query(&sql, args).await?);
            at += chunk;
            rows -= chunk;
        }
    }
    Ok(out)
}

/// `head VALUES ($1, $2), ($3, $4) tail` for `rows` rows of `width`.
pub fn multi_row_sql(head: &str, width: usize, rows: usize, tail: &str) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 6);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            let _ = write!(sql, "${n}");
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}
