//! Values that cross the read-model SQL boundary, the same on both backends: bind parameters
//! ([`Arg`], typed even when null — PostgreSQL needs each parameter's type, and a `NULL` of the
//! wrong type does not insert) and result rows ([`Row`]).

use super::DbError;

/// A value bound to a statement: `BIGINT` (times are epoch microseconds), `TEXT` (ids, JSON)
/// or `BOOLEAN`, possibly null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

impl Arg {
    /// A null `TEXT`.
    pub const NULL_TEXT: Arg = Arg::Text(None);
    /// A null `BIGINT`.
    pub const NULL_INT: Arg = Arg::Int(None);
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<u64> for Arg {
    fn from(v: u64) -> Self {
        Arg::Int(Some(i64::try_from(v).unwrap_or(i64::MAX)))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<u64>> for Arg {
    fn from(v: Option<u64>) -> Self {
        Arg::Int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(Some(i)) => ValueRef::Integer(*i),
            Arg::Text(Some(s)) => ValueRef::Text(s.as_bytes()),
            Arg::Bool(Some(b)) => ValueRef::Integer(i64::from(*b)),
            Arg::Int(None) | Arg::Text(None) | Arg::Bool(None) => ValueRef::Null,
        }))
    }
}

/// Epoch microseconds of a time (the read models' time column type).
pub fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// The time of epoch microseconds.
pub fn from_micros(us: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(us)
}

/// A column value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// One result row, read by column index.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    fn get(&self, i: usize) -> Result<&Value, DbError> {
        self.0
            .get(i)
            .ok_or_else(|| DbError::Decode(format!("no column {i}")))
    }

    /// An integer column (a boolean reads as 0/1).
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.get(i)? {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => Err(DbError::Decode(format!(
                "column {i}: {other:?} is not an integer"
            ))),
        }
    }

    /// A nullable integer column.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// A text column.
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        match self.get(i)? {
            Value::Text(s) => Ok(s.clone()),
            other => Err(DbError::Decode(format!(
                "column {i}: {other:?} is not text"
            ))),
        }
    }

    /// A nullable text column.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.get(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// A boolean column (SQLite stores 0/1).
    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        match self.get(i)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(v) => Ok(*v != 0),
            other => Err(DbError::Decode(format!(
                "column {i}: {other:?} is not a boolean"
            ))),
        }
    }

    /// Every column rendered as text, for dumps that compare whole tables.
    pub fn values(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|v| match v {
                Value::Null => "NULL".into(),
                Value::Int(i) => i.to_string(),
                Value::Text(s) => format!("{s:?}"),
                Value::Bool(b) => b.to_string(),
            })
            .collect()
    }
}
