//! pawpost's log workers (DESIGN.md §10): one runtime for every consumer of the event log —
//! the projectors, and the side-effect workers (push, link previews, scans, booking automation).
//!
//! A worker ([`LogWorker`]) has a name and wants some events; the runtime feeds it batches from
//! its checkpoint, at least once, in log order:
//! * [`Runner`]: catches a worker up from its checkpoint in large, pipelined batches, then
//!   follows the shared feed; the checkpoint commits with the worker's database effects (or
//!   right after its outside effects); failures back off with jitter ([`Backoff`]); an event it
//!   fails on again and again is parked ([`parked`]) instead of blocking it, and retried when
//!   an admin asks.
//! * [`LogFeed`]: one shared reader of the log per process for all local workers and the live
//!   dispatcher; each consumer reads it through a [`FeedReader`] that never skips nor repeats.
//! * [`WorkerHost`]: runs the workers whose leases ([`lease`]) this process holds (one instance
//!   per cluster; a dead holder on the same host is taken over at once; a graceful stop
//!   releases), and reports their lag and failures ([`WorkerReport`]).
//! * [`checkpoint`]: where each worker stands, in the database beside the log.

mod backoff;
pub mod checkpoint;
mod feed;
mod host;
pub mod lease;
pub mod parked;
pub mod process;
mod recovery;
mod runner;
mod status;
mod worker;

pub use backoff::Backoff;
pub use feed::{Events, FeedBatch, FeedReader, LogFeed};
pub use host::{reports, WorkerHost};
pub use runner::{Runnable, Runner, CATCH_UP_BATCH, MAX_ATTEMPTS};
pub use status::{WorkerReport, WorkerStatus};
pub use worker::{Effects, LogWorker, WorkerError};
