//! The PostgreSQL side of [`super::Tx`]: sqlx, async end to end (no blocking pool).

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Column, PgPool, Postgres, Row as _, TypeInfo};

use super::value::{Row, Value};
use super::{Arg, DbError};
use crate::restarts::Restarts;

/// Connections of the pool for write transactions.
pub(crate) const WRITE_POOL: u32 = 8;
/// Connections of the pool for read-only transactions (queries).
pub(crate) const READ_POOL: u32 = 16;

/// A read-model pool of `size` connections on the database at `url`. Its commits do not wait
/// for their WAL flush (read models are derived, as SQLite's `synchronous=NORMAL`): a commit
/// lost to a crash rolls back together with its checkpoint and is projected again. Not waiting
/// also ends a projector's transaction sooner, and a running transaction holds back the xid
/// gate of every reader tailing the log.
pub(crate) fn pool(url: &str, size: u32, restarts: &Restarts) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    Ok(restarts
        .watching(PgPoolOptions::new())
        .max_connections(size)
        .acquire_timeout(super::ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_lazy_with(options.options([("synchronous_commit", "off")])))
}

/// Binds `args` in order.
pub(crate) fn bind<'q>(
    mut query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(v.as_deref()),
            Arg::Bool(v) => query.bind(*v),
        };
    }
    query
}

/// A result row as [`Row`] (read models use integers, text and booleans only).
pub(crate) fn row(r: &PgRow) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let v = match col.type_info().name() {
            "INT8" => r.try_get::<Option<i64>, _>(i)?.map(Value::Int),
            "INT4" => r
                .try_get::<Option<i32>, _>(i)?
                .map(|v| Value::Int(v.into())),
            "INT2" => r
                .try_get::<Option<i16>, _>(i)?
                .map(|v| Value::Int(v.into())),
            "BOOL" => r.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
            "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" => {
                r.try_get::<Option<String>, _>(i)?.map(Value::Text)
            }
            other => {
                return Err(DbError::Decode(format!(
                    "column {} has unsupported type {other}",
                    col.name()
                )))
            }
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}
