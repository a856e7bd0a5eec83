//! The user aggregate, stream `user-{id}`: one user's private view of their conversations
//! (mute, archive, pin, delete-for-me), their blocks, their drafts and their profile. Files:
//! [`command`], [`event`], `state` (folded state and queries), `decide` (the rules), `evolve`
//! (folding).

pub mod command;
mod decide;
pub mod event;
mod evolve;
mod state;

pub use command::UserCommand;
pub use event::{block_key_id, draft_key_id, UserEvent};
pub use state::{DraftState, MuteSetting, Profile, UserState};

use crate::aggregate::Aggregate;
use crate::error::DomainError;

impl Aggregate for UserState {
    type Command = UserCommand;
    type Event = UserEvent;
    const STREAM_PREFIX: &'static str = "user";

    fn decide(&self, cmd: &UserCommand) -> Result<Vec<UserEvent>, DomainError> {
        decide::decide(self, cmd)
    }

    fn evolve(&mut self, version: u64, event: &UserEvent) {
        evolve::evolve(self, version, event);
    }

    fn version(&self) -> u64 {
        self.version
    }
}
