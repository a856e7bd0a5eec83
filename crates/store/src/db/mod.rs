//! The database beside the log: read models, worker checkpoints, leases and parked events live
//! in the same SQLite file or PostgreSQL database as the events, and are reached through one SQL
//! surface over both backends: sqlx's `Any` driver, async end to end.
//!
//! Statements are written once, in PostgreSQL's `$1` style (SQLite understands `$N` too), with
//! the parameter types of [`Arg`]; the few statements that must differ (full-text search,
//! locking) ask [`Tx::dialect`]. Write transactions on SQLite begin `IMMEDIATE` (they take the
//! write lock at once, within the busy timeout, instead of failing to upgrade halfway); read
//! transactions see one snapshot and never wait for the writer.

mod arg;
mod row;

use std::path::Path;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use arg::{from_micros, micros, Arg};
pub use row::Row;

/// Connections of the read-model pool on SQLite (each is a thread of sqlx's).
const SQLITE_POOL: u32 = 8;
/// Connections of the read-model pool on PostgreSQL.
const POSTGRES_POOL: u32 = 16;
/// How long a transaction waits for a pooled connection before the database counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a read-model operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database is out of reach for now (down, restarting, locked): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Sql(sqlx::Error),
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
            DbError::Sql(e)
        }
    }
}

/// Which SQL dialect a database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A pool on the database beside the log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
}

impl Db {
    /// The read-model pool on the SQLite file at `path`. Read models are derived: a commit
    /// lost to a power cut rolls back together with its checkpoint and is projected again, so
    /// these connections commit with `synchronous=NORMAL` (the log's appends still fsync); a
    /// 64 MiB page cache and rarer WAL checkpoints serve rebuilds, which touch index pages all
    /// over the tables.
    pub(crate) fn sqlite(path: &Path) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(SQLITE_POOL)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;
                         PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
                         PRAGMA wal_autocheckpoint = 16384; PRAGMA foreign_keys = OFF;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Db {
            pool,
            dialect: Dialect::Sqlite,
        })
    }

    /// The read-model pool on the PostgreSQL database at `url`. As on SQLite, its commits do
    /// not wait for their WAL flush (derived data); not waiting also ends a projector's
    /// transaction sooner, and a running transaction holds back the xid gate of every reader
    /// tailing the log.
    pub(crate) fn postgres(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(POSTGRES_POOL)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET synchronous_commit = off").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Db {
            pool,
            dialect: Dialect::Postgres,
        })
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A read-write transaction: committed by [`Tx::commit`], rolled back if dropped.
    pub fn begin(&self) -> BoxFuture<'static, Result<Tx, DbError>> {
        self.start(match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })
    }

    /// A read-only transaction: one consistent snapshot that never waits for writers.
    pub fn read(&self) -> BoxFuture<'static, Result<Tx, DbError>> {
        self.start(match self.dialect {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN READ ONLY",
        })
    }

    /// Begins with `statement` in a task of its own. sqlx checks a custom `BEGIN` after it
    /// ran, at a second await point: a caller cancelled right there (an HTTP client that hung
    /// up, a worker told to stop) would leave the transaction open on a pooled connection,
    /// holding SQLite's write lock for good. A task always runs to its end; if the caller is
    /// gone, the transaction it returns is dropped, which rolls it back.
    fn start(&self, statement: &'static str) -> BoxFuture<'static, Result<Tx, DbError>> {
        let (pool, dialect) = (self.pool.clone(), self.dialect);
        Box::pin(async move {
            let inner = tokio::spawn(async move { pool.begin_with(statement).await })
                .await
                .map_err(|e| DbError::Other(format!("beginning a transaction: {e}")))??;
            Ok(Tx { inner, dialect })
        })
    }

    /// Closes the pool (waits for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A transaction on the database beside the log.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    dialect: Dialect,
}

impl Tx {
    /// The dialect, for the few statements that differ.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    // The methods return boxed futures: sqlx's executor futures are generic over lifetimes,
    // and an `async fn` around them trips the compiler's `Send` inference for callers in
    // spawned tasks ("implementation of `Send` is not general enough").

    /// Runs a statement; returns the number of rows changed.
    pub fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<u64, DbError>> {
        Box::pin(async move {
            let done = arg::bind_all(sqlx::query(sql), args)
                .execute(&mut *self.inner)
                .await?;
            Ok(done.rows_affected())
        })
    }

    /// Runs a query and returns every row.
    pub fn query<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            let rows = arg::bind_all(sqlx::query(sql), args)
                .fetch_all(&mut *self.inner)
                .await?;
            Ok(rows.into_iter().map(Row).collect())
        })
    }

    /// The first row, if any.
    pub fn query_opt<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg],
    ) -> BoxFuture<'a, Result<Option<Row>, DbError>> {
        Box::pin(async move {
            let row = arg::bind_all(sqlx::query(sql), args)
                .fetch_optional(&mut *self.inner)
                .await?;
            Ok(row.map(Row))
        })
    }

    /// Runs `statements` (without parameters) one after the other, unprepared (DDL, locks).
    pub fn batch<'a>(
        &'a mut self,
        statements: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            for sql in statements {
                sqlx::query(sql)
                    .persistent(false)
                    .execute(&mut *self.inner)
                    .await?;
            }
            Ok(())
        })
    }

    /// Commits.
    pub fn commit(self) -> BoxFuture<'static, Result<(), DbError>> {
        Box::pin(async move {
            self.inner.commit().await?;
            Ok(())
        })
    }

    /// Rolls back (dropping the transaction does too, in the background).
    pub fn rollback(self) -> BoxFuture<'static, Result<(), DbError>> {
        Box::pin(async move {
            self.inner.rollback().await?;
            Ok(())
        })
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
