//! The PostgreSQL side of [`super::Tx`]: synchronous calls on a blocking thread, each driving
//! the pooled connection's transaction to completion.

use deadpool_postgres::Pool;
use tokio::runtime::Handle;
use tokio_postgres::types::Type;

use super::{DbError, Dialect, Row, Tx, Value};

/// Read-model access to a PostgreSQL database.
pub struct PgDb {
    pool: Pool,
}

impl PgDb {
    pub(super) fn new(pool: Pool) -> Self {
        PgDb { pool }
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
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let tx = handle.block_on(client.build_transaction().read_only(read_only).start())?;
            if !read_only {
                // Read models are derived (as on SQLite, `synchronous=NORMAL`): a commit lost
                // to a crash rolls back together with its checkpoint and is projected again,
                // so it need not wait for its WAL flush. Not waiting also ends the
                // transaction sooner, which matters: a running transaction holds back the
                // xid gate of every reader tailing the log (the live dispatcher, projectors).
                handle.block_on(tx.batch_execute("SET LOCAL synchronous_commit = off"))?;
            }
            let mut wrapper = PgTx {
                tx: &tx,
                handle: &handle,
            };
            let value = f(&mut wrapper)?;
            handle.block_on(tx.commit())?;
            Ok(value)
        })
        .await
        .map_err(|e| DbError::Other(e.to_string()))?
    }
}

struct PgTx<'a> {
    tx: &'a deadpool_postgres::Transaction<'a>,
    handle: &'a Handle,
}

fn params(values: &[Value]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

fn to_row(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                row.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            ref other => {
                return Err(DbError::Decode(format!(
                    "column {} has unsupported type {other}",
                    col.name()
                )))
            }
        };
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, DbError> {
        self.handle.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&stmt, &params(values)).await?)
        })
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
        self.handle.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            let rows = self.tx.query(&stmt, &params(values)).await?;
            rows.iter().map(to_row).collect()
        })
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.handle.block_on(self.tx.batch_execute(sql))?)
    }
}
