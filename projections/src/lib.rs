//! pawpost's read side (DESIGN.md §5): projectors turn the event log into the tables every
//! query and every unread badge reads.
//!
//! Layout:
//! * `db/`: one SQL surface ([`db::Tx`]) over SQLite and PostgreSQL; read models live in the
//!   same database as the log.
//! * `envelope.rs`: stored events decoded for projectors (personal content opened when needed).
//! * `projectors/`: `conversations`, `messages` (with the search index) and `users`; each
//!   applies events idempotently.
//! * `checkpoint.rs`, `runner.rs`: [`Projections`] catches each projector up from its checkpoint
//!   and follows the log live, committing every batch together with its checkpoint.
//! * `render.rs`: JSON shapes of attachments, locations and list previews.
//! * `lease.rs`: which process runs the projectors (a serving process heartbeats; `pawpost
//!   replay` refuses while a fresh lease is held by someone else).

pub mod checkpoint;
pub mod db;
pub mod envelope;
pub mod lease;
pub mod projectors;
pub mod queries;
pub mod render;
mod runner;

pub use runner::{ProjectionError, Projections};

/// The event-log position type projectors checkpoint.
pub use pawpost_store::Position as Checkpoint;
