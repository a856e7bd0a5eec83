//! pawpost's read side (DESIGN.md §5): projectors turn the event log into the tables every
//! query and every unread badge reads.
//!
//! Layout:
//! * `db.rs`: the store's SQL surface ([`db::Tx`], sqlx, async) over SQLite and PostgreSQL;
//!   read models live in the same database as the log.
//! * `envelope.rs`: stored events decoded for projectors (personal content opened when needed).
//! * `projectors/`: `conversations`, `messages` (with the search index) and `users`; each
//!   applies events idempotently.
//! * `worker.rs`, `runner.rs`: each projector is a log worker (`pawpost-workers`), its batch
//!   and checkpoint committed in one transaction; [`Projections`] holds their runners and
//!   progress, catches them up (replay) and resets them.
//! * `render.rs`: JSON shapes of attachments, locations and list previews.

pub mod db;
pub mod envelope;
pub mod projectors;
pub mod queries;
pub mod render;
mod runner;
pub mod worker;

pub use runner::{ProjectionError, Projections};

/// The event-log position type projectors checkpoint.
pub use pawpost_store::Position as Checkpoint;
