//! Read-your-writes: a command's answer waits (a bounded time) for the projection its answer
//! and the actor's next query read, and only that one. If it lags past the bound, the adapter
//! answers "accepted" with the position to wait for instead.

use pawpost_store::Position;

use crate::App;

/// A read model a command's answer may wait for. Membership changes and read markers change
/// both the participants (`Conversations`) and the counters (`Messages`): they wait for `All`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Conversations, their details and participants (`conversations`).
    Conversations,
    /// Messages, reactions, edits, search, and what depends on who sees which message:
    /// membership ranges, hidden messages, unread and mention counters (`messages`).
    Messages,
    /// Profiles, blocks, drafts, mutes, hidden messages (`users`).
    Users,
    /// Every read model.
    All,
}

impl Projection {
    fn name(self) -> Option<&'static str> {
        match self {
            Projection::Conversations => Some("conversations"),
            Projection::Messages => Some("messages"),
            Projection::Users => Some("users"),
            Projection::All => None,
        }
    }
}

/// Whether a command's effect is visible to queries yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The projection includes it (or the command changed nothing).
    Visible,
    /// The projection had not reached `Position` within the bound.
    Lagging(Position),
}

impl App {
    /// Waits until `projection` includes `position` (none: nothing to wait for), at most the
    /// configured read-your-writes bound.
    pub async fn settle(&self, projection: Projection, position: Option<Position>) -> Settled {
        let Some(position) = position else {
            return Settled::Visible;
        };
        let reached = match projection.name() {
            Some(name) => {
                self.projections
                    .wait_for_one(name, position, self.read_your_writes)
                    .await
            }
            None => {
                self.projections
                    .wait_for(position, self.read_your_writes)
                    .await
            }
        };
        if reached {
            Settled::Visible
        } else {
            Settled::Lagging(position)
        }
    }
}
