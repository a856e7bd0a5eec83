//! pawpost's read side: projectors that turn the event log into the read models every query and
//! unread badge reads (DESIGN.md §5). Each projector will subscribe to the log from its checkpoint
//! and commit its changes and its checkpoint in one transaction. The projectors arrive with the
//! projections issue; this crate holds the place in the workspace's dependency graph
//! (`projections` → {`store`, `domain`}).

/// The event-log position type projectors checkpoint.
pub use pawpost_store::Position as Checkpoint;
