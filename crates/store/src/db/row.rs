//! Result rows of the read-model SQL, read by column index.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::DbError;

/// One result row (sqlx's backend-neutral row). Booleans read from SQLite's 0/1 integers and
/// from PostgreSQL's booleans alike.
pub struct Row(pub(crate) AnyRow);

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Row({} columns)", self.0.len())
    }
}

impl Row {
    fn decode<T>(&self, i: usize) -> Result<T, DbError>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.0
            .try_get::<T, _>(i)
            .map_err(|e| DbError::Decode(format!("column {i}: {e}")))
    }

    /// An integer column (a boolean reads as 0/1).
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        self.opt_int(i)?.ok_or_else(|| {
            DbError::Decode(format!("column {i}: null where an integer was expected"))
        })
    }

    /// A nullable integer column.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.decode::<Option<i64>>(i) {
            Ok(v) => Ok(v),
            Err(e) => match self.0.try_get::<Option<bool>, _>(i) {
                Ok(b) => Ok(b.map(i64::from)),
                Err(_) => Err(e),
            },
        }
    }

    /// A text column.
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        self.opt_text(i)?
            .ok_or_else(|| DbError::Decode(format!("column {i}: null where text was expected")))
    }

    /// A nullable text column.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        self.decode::<Option<String>>(i)
    }

    /// A boolean column (SQLite stores 0/1).
    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        match self.0.try_get::<Option<bool>, _>(i) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(DbError::Decode(format!(
                "column {i}: null where a boolean was expected"
            ))),
            Err(_) => Ok(self.int(i)? != 0),
        }
    }

    /// Every column rendered as text (`NULL`, numbers, quoted text, booleans), for dumps
    /// that compare whole tables.
    pub fn values(&self) -> Vec<String> {
        (0..self.0.len())
            .map(|i| {
                if let Ok(v) = self.0.try_get::<Option<i64>, _>(i) {
                    v.map_or("NULL".into(), |v| v.to_string())
                } else if let Ok(v) = self.0.try_get::<Option<String>, _>(i) {
                    v.map_or("NULL".into(), |v| format!("{v:?}"))
                } else if let Ok(v) = self.0.try_get::<Option<bool>, _>(i) {
                    v.map_or("NULL".into(), |v| v.to_string())
                } else if let Ok(v) = self.0.try_get::<Option<f64>, _>(i) {
                    v.map_or("NULL".into(), |v| v.to_string())
                } else {
                    "?".into()
                }
            })
            .collect()
    }
}
