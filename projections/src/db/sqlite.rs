//! The SQLite side of [`super::Tx`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pawpost_store::sqlite::ConnectionPool;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::{DbError, Dialect, Row, Tx, Value};

/// Connections open at most (see `ConnectionPool`: more concurrent transactions wait).
const POOL: usize = 8;
/// Page cache per connection (negative: KiB).
const CACHE_KIB: i64 = -65_536;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// Read-model access to a SQLite file.
pub struct SqliteDb {
    path: PathBuf,
    pool: Arc<ConnectionPool>,
}

impl SqliteDb {
    pub(super) fn new(path: &Path) -> Self {
        SqliteDb {
            path: path.to_path_buf(),
            pool: ConnectionPool::new(POOL),
        }
    }

    /// A new read-model connection.
    fn open(&self) -> Result<Connection, DbError> {
        let conn = pawpost_store::sqlite::SqliteStore::open_connection(&self.path)
            .map_err(|e| DbError::Other(e.to_string()))?;
        // Projectors and queries use a few dozen distinct statements; rusqlite's default
        // cache of 16 would re-prepare them over and over.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Read models are derived: a commit lost to a power cut rolls back together with its
        // checkpoint (WAL keeps them consistent) and is projected again, so these commits
        // need not wait for fsync (the log's appends still do).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A rebuild touches index pages all over the read-model tables; SQLite's default
        // 2 MiB page cache would read them back again and again.
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        // Checkpoint the WAL less often: a rebuild rewrites the same hot index pages in every
        // batch, and each checkpoint copies them to the database file again.
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        Ok(conn)
    }

    pub(super) async fn transaction<T, F>(
        self: std::sync::Arc<Self>,
        read_only: bool,
        f: F,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, DbError> + Send + 'static,
    {
        let mut lease = self
            .pool
            .lease()
            .await
            .map_err(|e| DbError::Other(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let conn = lease.get_or_open(|| self.open())?;
            // Writes take the write lock up front, IMMEDIATE (busy timeout), rather than
            // failing to upgrade a read transaction halfway; reads only read a snapshot (WAL:
            // never blocked by the writer).
            let behavior = if read_only {
                rusqlite::TransactionBehavior::Deferred
            } else {
                rusqlite::TransactionBehavior::Immediate
            };
            let tx = conn.transaction_with_behavior(behavior)?;
            let value = f(&mut SqliteTx { tx: &tx })?;
            tx.commit()?;
            Ok(value)
        })
        .await
        .map_err(|e| DbError::Other(e.to_string()))?
    }
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

/// `$1` → `?1` (statements are written once, PostgreSQL-style).
fn rewrite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn to_value(v: ValueRef<'_>) -> Result<Value, DbError> {
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

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.tx.prepare_cached(&rewrite(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.tx.prepare_cached(&rewrite(sql))?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(to_value(r.get_ref(i)?)?);
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.tx.execute_batch(sql)?)
    }
}
