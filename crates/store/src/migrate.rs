//! Embedded schema migrations, applied in order, each once, each in its own transaction.

/// A migration: its version, name and SQL.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite migrations (`migrations/sqlite`).
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_event_store",
        sql: include_str!("../../../migrations/sqlite/0001_event_store.sql"),
    },
    Migration {
        version: 2,
        name: "0002_read_models",
        sql: include_str!("../../../migrations/sqlite/0002_read_models.sql"),
    },
    Migration {
        version: 3,
        name: "0003_lighter_message_indexes",
        sql: include_str!("../../../migrations/sqlite/0003_lighter_message_indexes.sql"),
    },
];

/// PostgreSQL migrations (`migrations/postgres`).
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_event_store",
        sql: include_str!("../../../migrations/postgres/0001_event_store.sql"),
    },
    Migration {
        version: 2,
        name: "0002_read_models",
        sql: include_str!("../../../migrations/postgres/0002_read_models.sql"),
    },
    Migration {
        version: 3,
        name: "0003_lighter_message_indexes",
        sql: include_str!("../../../migrations/postgres/0003_lighter_message_indexes.sql"),
    },
];

/// The bookkeeping table, same in both dialects.
pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _pawpost_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
