//! Command handling: how a command becomes events (DESIGN.md §1). The server's command bus,
//! the projections' tests and the examples all go through it.
//!
//! [`CommandHandler`] loads an aggregate from its cache (catching up from the log only when the
//! cache is behind), lets the pure domain decide, seals and appends the events with the version
//! it decided on, and retries a bounded number of times when another writer got there first.
//! A command carries an id; its events' ids derive from it, so replaying the same command
//! returns the original result instead of acting twice.

mod cache;
mod facts;
mod group;
mod handler;
mod load;
mod snapshots;

pub use handler::{CommandError, CommandHandler, CommandMeta, Outcome, RecordedDomainEvent};
