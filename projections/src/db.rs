//! The read models' database: the one beside the log, through the store's SQL surface
//! (`pawpost_store::db`: sqlx, async, both backends).

pub use pawpost_store::db::{from_micros, insert_many, micros, Arg, Db, DbError, Dialect, Row, Tx};
