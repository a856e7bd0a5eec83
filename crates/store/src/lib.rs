//! pawpost's event store: the only source of truth.
//!
//! Layout:
//! * [`EventStore`] (`store.rs`): the contract every backend keeps (DESIGN.md §4): atomic appends
//!   with expected-version checks, idempotent event ids, gapless per-stream versions, and a global
//!   order that readers see exactly once, never skipping an event.
//! * `sqlite/`: the embedded default. WAL, `synchronous=FULL`, one writer task with group commit.
//! * `postgres/`: production and multi-node. xid8 snapshot gate, group commit over a few writer
//!   connections, no NOTIFY inside append transactions.
//! * [`Subscription`] (`subscription.rs`): catch-up then live tailing built on `read_all`.
//! * [`KeyRing`] (`crypto.rs`): per-message data keys wrapped by a master key (forgettable payloads).
//! * `migrate.rs`: embedded SQL migrations from `migrations/{sqlite,postgres}` (sqlx's
//!   migrator), adopting the history of databases written before sqlx.
//! * [`db`]: the database beside the log (read models, checkpoints, leases), one async SQL
//!   surface over both backends.
//! * [`Restarts`] (`restarts.rs`): noticing that the PostgreSQL server restarted (commits that
//!   did not wait for their WAL flush may be gone).
//! * `outage.rs`: which database errors mean "unavailable for now" ([`StoreError::Unavailable`]).
//!
//! All database access goes through sqlx (pools that reconnect by themselves, async queries).

mod connect;
mod crypto;
pub mod db;
mod dedupe;
mod error;
mod migrate;
mod outage;
pub mod postgres;
mod restarts;
pub mod sqlite;
mod store;
mod subscription;
mod types;

pub use connect::{connect, redact, Backend};
pub use crypto::{CryptoError, KeyRing, MasterKey};
pub use error::StoreError;
pub use outage::is_outage;
pub use restarts::Restarts;
pub use store::EventStore;
pub use subscription::Subscription;
pub use types::{AppendResult, ExpectedVersion, Metadata, NewEvent, Position, RecordedEvent};

#[cfg(feature = "testing")]
pub mod testing;
