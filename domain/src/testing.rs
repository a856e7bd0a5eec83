//! A given/when/then harness for decision tests (feature `testing`).
//!
//! ```
//! # use pawpost_domain::testing::given;
//! # use pawpost_domain::{ConversationCommand, ConversationEvent, DomainError, UserId};
//! # let alice = UserId::parse("alice").unwrap();
//! given(Vec::<ConversationEvent>::new())
//!     .when(ConversationCommand::Leave { actor: alice, at: chrono::Utc::now() })
//!     .then_err(|e| matches!(e, DomainError::NotFound("conversation")));
//! ```
//!
//! The given events are applied at versions `1..=n`, exactly as a stream replay would; `then`
//! compares the decided events and returns the state with them applied, for follow-up checks.

use std::fmt::Debug;

use crate::aggregate::Aggregate;
use crate::conversation::{ConversationEvent, ConversationState, MessageLookup};
use crate::error::DomainError;
use crate::ids::{MessageId, UserId};
use crate::user::{UserEvent, UserState};

/// Links an event type to its aggregate, so `given(events)` infers which aggregate to build.
pub trait EventOf: Sized {
    /// The aggregate whose stream holds these events.
    type Aggregate: Aggregate<Event = Self>;
}

impl EventOf for ConversationEvent {
    type Aggregate = ConversationState;
}

impl EventOf for UserEvent {
    type Aggregate = UserState;
}

/// Starts a scenario: the stream already holds `events` (versions 1..=n).
pub fn given<E: EventOf>(events: impl IntoIterator<Item = E>) -> Given<E::Aggregate> {
    let events: Vec<E> = events.into_iter().collect();
    let mut state = E::Aggregate::default();
    for (i, event) in events.iter().enumerate() {
        state.evolve(i as u64 + 1, event);
    }
    Given { state, events }
}

/// Starts a scenario on an empty stream of aggregate `A`.
pub fn given_nothing<A: Aggregate>() -> Given<A> {
    Given {
        state: A::default(),
        events: Vec::new(),
    }
}

/// A state built from past events, waiting for a command.
pub struct Given<A: Aggregate> {
    state: A,
    events: Vec<A::Event>,
}

impl Given<ConversationState> {
    /// The message `id` looked up in the given events for `actor`, current to the last one
    /// (what a caught-up read model would answer).
    pub fn lookup(&self, id: MessageId, actor: &UserId) -> MessageLookup {
        crate::conversation::look_up_in(&self.events, id, actor)
    }
}

pub use crate::conversation::look_up_in as lookup_in;

impl<A: Aggregate> Given<A> {
    /// Decides `cmd` against the state.
    pub fn when(self, cmd: A::Command) -> Then<A> {
        let result = self.state.decide(&cmd);
        Then {
            state: self.state,
            result,
        }
    }

    /// The state before the command.
    pub fn state(&self) -> &A {
        &self.state
    }
}

/// The outcome of a decision, to assert on.
pub struct Then<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, DomainError>,
}

impl<A: Aggregate> Then<A> {
    /// Asserts the command produced exactly `expected`; returns the state with them applied.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "decided events differ");
                let mut state = self.state;
                state.apply_new(&events);
                state
            }
            Err(e) => panic!("expected events {expected:#?}, got error {e:?}"),
        }
    }

    /// Asserts the command was accepted but changed nothing (an idempotent repeat).
    #[track_caller]
    pub fn then_nothing(self) -> A {
        self.then(Vec::new())
    }

    /// Asserts the command was refused with an error satisfying `check`
    /// (e.g. `|e| matches!(e, DomainError::Blocked)`).
    #[track_caller]
    pub fn then_err(self, check: impl FnOnce(&DomainError) -> bool) {
        match self.result {
            Ok(events) => panic!("expected an error, got events {events:#?}"),
            Err(e) => assert!(check(&e), "unexpected error {e:?}"),
        }
    }

    /// Asserts the command was refused with exactly `expected`.
    #[track_caller]
    pub fn then_error(self, expected: DomainError) {
        match self.result {
            Ok(events) => panic!("expected {expected:?}, got events {events:#?}"),
            Err(e) => assert_eq!(e, expected),
        }
    }

    /// The raw outcome, for custom assertions.
    pub fn result(&self) -> &Result<Vec<A::Event>, DomainError> {
        &self.result
    }
}

impl<A: Aggregate> Debug for Then<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Then")
            .field("result", &self.result)
            .finish()
    }
}
