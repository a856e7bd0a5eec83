//! Blocks: a user the actor blocks can no longer message them directly. The reason is personal
//! text only the actor sees.

use chrono::Utc;
use pawpost_domain::{PersonalText, UserCommand, UserId};
use pawpost_projections::queries::users::{self, BlockView};
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult};

/// What a block did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    /// False when the actor blocked that user already (the first block and its reason stay).
    pub created: bool,
    /// Where the change is in the log.
    pub position: Option<Position>,
}

impl App {
    /// Whom `actor` blocks, oldest block first.
    pub async fn list_blocks(&self, actor: &Actor) -> AppResult<Vec<BlockView>> {
        let user = actor.id.to_string();
        self.query(move |tx| Box::pin(async move { users::blocks(tx, &user).await }))
            .await
    }

    /// `actor` blocks `target` (`invalid` naming `userId` for a user pawpost does not know;
    /// blocking oneself is the domain's to refuse).
    pub async fn block(
        &self,
        actor: &Actor,
        target: UserId,
        reason: Option<String>,
    ) -> AppResult<Blocked> {
        if target != actor.id && !self.is_known_user(&target).await? {
            return Err(AppError::invalid("userId", "userId is not a known user"));
        }
        let command = UserCommand::Block {
            actor: actor.id.clone(),
            user: target,
            reason: reason.map(PersonalText::clear),
            at: Utc::now(),
        };
        let outcome = self
            .users
            .execute_new(&actor.id.stream(), &command, &actor.meta())
            .await?;
        Ok(Blocked {
            created: !outcome.events.is_empty(),
            position: outcome.position,
        })
    }

    /// `actor`'s block of `target` as the read model shows it (after a block was projected).
    pub async fn block_of(&self, actor: &Actor, target: &UserId) -> AppResult<BlockView> {
        let blocked = target.to_string();
        self.list_blocks(actor)
            .await?
            .into_iter()
            .find(|b| b.user_id == blocked)
            .ok_or_else(|| AppError::internal("a stored block is missing from the read model"))
    }

    /// `actor` lifts their block of `target` (nothing changes if there was none).
    pub async fn unblock(&self, actor: &Actor, target: UserId) -> AppResult<Option<Position>> {
        let command = UserCommand::Unblock {
            actor: actor.id.clone(),
            user: target,
            at: Utc::now(),
        };
        self.on_own_stream(actor, &command).await
    }
}
