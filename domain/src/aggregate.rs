//! The contract every event-sourced aggregate keeps, so that one generic command handler (in
//! the server) can load, decide, append and evolve any of them.

use std::fmt::{Debug, Display};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::DomainError;
use crate::personal::PersonalData;

/// Names an event for the store's `type` and `schemaVersion` columns.
///
/// The store keeps payloads opaque; it needs the type name (past tense, the enum variant name)
/// to index and upcast events, and the schema version so that a shipped event never has to
/// change shape (an upcaster handles older versions instead).
pub trait EventType {
    /// The event's type name, the variant name in past tense (`"MessageSent"`).
    fn event_type(&self) -> &'static str;

    /// The shape version of this event's payload; bump it (and add an upcaster) on change.
    fn schema_version(&self) -> u32 {
        1
    }
}

/// An aggregate: the state one stream folds into, and the rules that turn a command into events.
///
/// `decide` is pure: it reads the state and the command (which carries the time and every
/// external fact) and returns the events to append, or why nothing may happen. `evolve` folds
/// a stored event into the state. An empty `Ok(vec![])` means "nothing to do" (idempotent
/// repeats such as reacting twice with the same emoji).
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    /// What a caller asks for.
    type Command: Clone + Send + Sync + 'static;

    /// What happened; serialized into the log, sealed where it holds personal content.
    type Event: Clone
        + Debug
        + PartialEq
        + Serialize
        + DeserializeOwned
        + PersonalData
        + EventType
        + Send
        + Sync
        + 'static;

    /// The stream name prefix, e.g. `"conversation"` or `"user"`.
    const STREAM_PREFIX: &'static str;

    /// Decides which events `cmd` produces against the current state.
    fn decide(&self, cmd: &Self::Command) -> Result<Vec<Self::Event>, DomainError>;

    /// Applies an event that was stored at stream version `version` (1-based, gapless). For the
    /// conversation, a `MessageSent` stored at version `v` gives that message `seq = v`.
    fn evolve(&mut self, version: u64, event: &Self::Event);

    /// The last applied version, 0 for a new stream.
    fn version(&self) -> u64;

    /// Applies freshly decided events at the versions they will take: `version() + 1`, `+ 2`, ….
    ///
    /// Handy after a successful append with an exact expected version, and in tests.
    fn apply_new(&mut self, events: &[Self::Event]) {
        for event in events {
            let next = self.version() + 1;
            self.evolve(next, event);
        }
    }

    /// The stream name for an aggregate id: `{STREAM_PREFIX}-{id}`.
    fn stream_name(id: impl Display) -> String {
        format!("{}-{id}", Self::STREAM_PREFIX)
    }
}
