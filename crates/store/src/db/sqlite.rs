//! The SQLite side of [`super::Tx`], on rusqlite (see README "Dependencies": through sqlx each
//! statement costs a hand-off to a connection thread, which made rebuilds 5 times slower).
//!
//! Beginning a write transaction (which may wait for the write lock) and committing it (which
//! may run a WAL checkpoint) run on the blocking pool; the statements in between are short,
//! CPU-bound calls made in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::value::{Row, Value};
use super::{Arg, DbError};
use crate::sqlite::{ConnectionPool, Lease};

/// Connections open at most (more concurrent transactions wait).
const POOL: usize = 8;
/// Page cache per connection (negative: KiB).
const CACHE_KIB: i64 = -65_536;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// Read-model access to a SQLite file.
pub(crate) struct SqliteDb {
    path: PathBuf,
    pool: Arc<ConnectionPool>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteDb {
    pub(crate) fn new(path: &Path) -> Self {
        SqliteDb {
            path: path.to_path_buf(),
            pool: ConnectionPool::new(POOL),
        }
    }

    /// A new read-model connection.
    fn open(path: &Path) -> Result<Connection, DbError> {
        let conn = crate::sqlite::SqliteStore::open_connection(path)
            .map_err(|e| DbError::Other(e.to_string()))?;
        // Projectors and queries use a few dozen distinct statements; rusqlite's default
        // cache of 16 would re-prepare them over and over.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Read models are derived: a commit lost to a power cut rolls back together with its
        // checkpoint (WAL keeps them consistent) and is projected again, so these commits
        // need not wait for fsync (the log's appends still do).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A rebuild touches index pages all over the read-model tables.
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        // Checkpoint the WAL less often: a rebuild rewrites the same hot pages in every batch.
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        Ok(conn)
    }

    /// Begins a transaction on a pooled connection (`BEGIN IMMEDIATE` for writes: the write
    /// lock is taken at once rather than failing to upgrade halfway).
    ///
    /// The lock is taken in place, without waiting inside SQLite: a transaction that took it on
    /// the blocking pool would hold it until the runtime got round to polling its task again,
    /// which under load took long enough to stall the log's appends behind it. While another
    /// connection holds it, this one sleeps asynchronously between tries, holding nothing.
    pub(crate) async fn begin(self: Arc<Self>, write: bool) -> Result<SqliteTx, DbError> {
        let mut lease = self
            .pool
            .lease()
            .await
            .map_err(|e| DbError::Other(e.to_string()))?;
        if lease.connection().is_none() {
            let path = self.path.clone();
            lease = tokio::task::spawn_blocking(move || {
                lease.get_or_open(|| Self::open(&path))?;
                Ok::<_, DbError>(lease)
            })
            .await
            .map_err(|e| DbError::Other(e.to_string()))??;
        }
        let mut tx = SqliteTx {
            lease,
            open: false,
            write,
        };
        if !write {
            tx.conn()?.execute_batch("BEGIN")?;
            tx.open = true;
            return Ok(tx);
        }
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            match tx.try_begin_immediate() {
                Ok(()) => {
                    tx.open = true;
                    return Ok(tx);
                }
                Err(e) if is_busy(&e) && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(LOCK_RETRY).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// How long a write transaction waits for the write lock before the database counts as
/// unavailable (as the store's own connections).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Between tries for the write lock.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(1);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An open SQLite transaction; rolled back if dropped before commit.
pub(crate) struct SqliteTx {
    lease: Lease,
    open: bool,
    write: bool,
}

impl SqliteTx {
    /// `BEGIN IMMEDIATE` without SQLite's own waiting: busy at once if another connection
    /// holds the write lock.
    fn try_begin_immediate(&mut self) -> Result<(), rusqlite::Error> {
        let Some(conn) = self.lease.connection() else {
            return Err(rusqlite::Error::InvalidQuery);
        };
        conn.busy_handler(None)?;
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_handler(Some(crate::sqlite::wait_for_lock))?;
        begun
    }

    fn conn(&mut self) -> Result<&mut Connection, DbError> {
        self.lease
            .connection()
            .ok_or_else(|| DbError::Other("no connection".into()))
    }

    pub(crate) fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        let mut stmt = self.conn()?.prepare_cached(&rewrite(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64)
    }

    pub(crate) fn query(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.conn()?.prepare_cached(&rewrite(sql))?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(value(r.get_ref(i)?)?);
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    pub(crate) fn batch(&mut self, statements: &[&str]) -> Result<(), DbError> {
        let conn = self.conn()?;
        for sql in statements {
            conn.execute_batch(sql)?;
        }
        Ok(())
    }

    pub(crate) async fn commit(mut self) -> Result<(), DbError> {
        if !self.write {
            return self.finish();
        }
        // A commit may run a WAL checkpoint: off the async threads.
        tokio::task::spawn_blocking(move || self.finish())
            .await
            .map_err(|e| DbError::Other(e.to_string()))?
    }

    fn finish(&mut self) -> Result<(), DbError> {
        self.conn()?.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            if let Ok(conn) = self.conn() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}

/// `$1` → `?1` (statements are written once, PostgreSQL-style).
fn rewrite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn value(v: ValueRef<'_>) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| DbError::Decode(e.to_string()))?
                .to_string(),
        ),
        ValueRef::Real(f) => Value::Int(f as i64),
        ValueRef::Blob(_) => return Err(DbError::Decode("unexpected blob".into())),
    })
}
