//! One SQL surface over both backends for the read models.
//!
//! Projectors and queries are plain synchronous code over [`Tx`]; statements are written once,
//! in PostgreSQL's `$1` style (rewritten to `?1` for SQLite), with the types of [`Value`]. SQLite
//! work runs on a blocking thread with a rusqlite transaction; PostgreSQL work runs on a blocking
//! thread that drives a pooled connection's transaction. The few statements that must differ
//! (full-text search) ask [`Tx::dialect`].

mod postgres;
mod sqlite;
mod value;

use std::sync::Arc;

use pawpost_store::EventStore;

pub use value::{from_micros, micros, Row, Value};

/// Why a read-model operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("decoding a row: {0}")]
    Decode(String),
    #[error("{0}")]
    Other(String),
}

/// Which SQL dialect a [`Tx`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A transaction on the read-model database.
pub trait Tx {
    /// The dialect, for the few statements that differ.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs a query and returns every row.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs a statement of several `;`-separated commands without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;

    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// The read-model database: the same database as the event log.
#[derive(Clone)]
pub enum ReadDb {
    Sqlite(Arc<sqlite::SqliteDb>),
    Postgres(Arc<postgres::PgDb>),
}

impl ReadDb {
    /// The read-model database of `store`: the same SQLite file or PostgreSQL database.
    pub fn for_store(store: &Arc<dyn EventStore>) -> Result<ReadDb, DbError> {
        let any = store.as_any();
        if let Some(s) = any.downcast_ref::<pawpost_store::sqlite::SqliteStore>() {
            return Ok(Self::sqlite(s.path()));
        }
        if let Some(p) = any.downcast_ref::<pawpost_store::postgres::PgStore>() {
            return Ok(Self::postgres(p.pool().clone()));
        }
        Err(DbError::Other(format!(
            "no read-model database for a {:?} store",
            store.backend()
        )))
    }

    /// A SQLite read-model database at `path`.
    pub fn sqlite(path: &std::path::Path) -> ReadDb {
        ReadDb::Sqlite(Arc::new(sqlite::SqliteDb::new(path)))
    }

    /// A PostgreSQL read-model database on `pool`.
    pub fn postgres(pool: deadpool_postgres::Pool) -> ReadDb {
        ReadDb::Postgres(Arc::new(postgres::PgDb::new(pool)))
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            ReadDb::Sqlite(_) => Dialect::Sqlite,
            ReadDb::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, DbError> + Send + 'static,
    {
        match self {
            ReadDb::Sqlite(db) => db.clone().transaction(false, f).await,
            ReadDb::Postgres(db) => db.clone().transaction(false, f).await,
        }
    }

    /// Runs queries `f` in one read-only transaction: a consistent snapshot that neither waits
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, DbError> + Send + 'static,
    {
        match self {
            ReadDb::Sqlite(db) => db.clone().transaction(true, f).await,
            ReadDb::Postgres(db) => db.clone().transaction(true, f).await,
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
pub fn insert_many(
    tx: &mut dyn Tx,
    head: &str,
    width: usize,
    values: &[Value],
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
            let params = &values[at * width..(at + chunk) * width];
            out.extend(tx.query(&sql, params)?);
            at += chunk;
            rows -= chunk;
        }
    }
    Ok(out)
}

/// `head VALUES ($1, $2), ($3, $4) tail` for `rows` rows of `width`.
fn multi_row_sql(head: &str, width: usize, rows: usize, tail: &str) -> String {
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
