//! The conversation aggregate, stream `conversation-{uuid}`.
//!
//! Its version is the conversation's gapless sequence: a message's `seq` is the version of its
//! `MessageSent`. Files: [`command`] (what callers ask), [`event`] (what happened), `state`
//! (folded state and queries), `evolve` (folding), `decide/` (the rules), `participant` and
//! `message` (the per-user and per-message records).

pub mod command;
mod decide;
pub mod event;
mod evolve;
mod message;
mod participant;
mod state;

pub use command::{ConversationCommand, ForwardFact};
pub use event::{message_key_id, ConversationEvent, ForwardedFrom, NewParticipant};
pub use message::{look_up_in, MessageFacts, MessageLookup};
pub use participant::{MembershipRange, Participant};
pub use state::{ConversationDetails, ConversationState};

use crate::aggregate::Aggregate;
use crate::error::DomainError;

impl Aggregate for ConversationState {
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    const STREAM_PREFIX: &'static str = "conversation";

    fn decide(&self, cmd: &ConversationCommand) -> Result<Vec<ConversationEvent>, DomainError> {
        decide::decide(self, cmd)
    }

    fn evolve(&mut self, version: u64, event: &ConversationEvent) {
        self.apply(version, event);
    }

    fn version(&self) -> u64 {
        self.version
    }
}
