//! pawpost's read side (DESIGN.md §5): projectors turn the event log into the tables every
//! query and every unread badge reads.
//!
//! Layout:
//! * `db.rs`: the store's SQL surface ([`db::Tx`], sqlx, async) over SQLite and PostgreSQL;
//!   read models live in the same database as the log.
//! * `envelope.rs`: stored events decoded for projectors (personal content opened when needed).
//! * `projectors/`: `conversations`, `messages` (with the search index, membership ranges,
//!   hidden messages and the per-user unread counters) and `users`; each applies events
//!   idempotently.
//! * `worker.rs`, `runner.rs`: each projector is a log worker (`pawpost-workers`), its batch
//!   and checkpoint committed in one transaction; [`Projections`] holds their runners and
//!   progress, catches them up (replay) and resets them.
//! * `render.rs`: JSON shapes of attachments, locations and list previews.
//! * `visible.rs`: what a user may see and what counts as unread for them, as SQL conditions
//!   shared by the queries and the counters.

pub mod db;
pub mod envelope;
pub mod projectors;
pub mod queries;
pub mod render;
mod runner;
mod visible;
pub mod worker;

pub use runner::{ProjectionError, Projections};

/// The event-log position type projectors checkpoint.
pub use pawpost_store::Position as Checkpoint;
