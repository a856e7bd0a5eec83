//! Use cases about conversations: the actor's list ([`list`]), creating a direct or group one
//! ([`create`]), its details ([`details`]), membership (add, remove, leave: [`membership`]), the
//! actor's own settings (mute, archive, pin: [`settings`]) and markers with the unread counts
//! they leave ([`markers`]); and reading one conversation as the actor sees it.
//!
//! A conversation the actor takes no part in is "not found" everywhere (whether it exists is
//! not disclosed), before any rule of the domain is consulted.

pub mod create;
pub mod details;
pub mod list;
pub mod markers;
pub mod membership;
pub mod settings;

use pawpost_domain::{ConversationCommand, ConversationId, UserCommand, UserId};
use pawpost_projections::queries::conversations::{
    self, ConversationDetail, ConversationSummary, ParticipantView,
};
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult};

pub use create::{ConversationSpec, Created, GroupDetails, NewConversation};
pub use details::DetailsChange;
pub use list::ConversationFilter;
pub use markers::ReadState;
pub use settings::Mute;

impl App {
    /// The conversation as `actor` sees it: details, their list row and the participants
    /// (not found if they take no part).
    pub async fn conversation(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<ConversationDetail> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        self.query(move |tx| Box::pin(async move { conversations::detail(tx, &user, &conv).await }))
            .await?
            .ok_or_else(|| AppError::not_found("conversation"))
    }

    /// `actor`'s list row of the conversation, with their own settings (not found if they take
    /// no part).
    pub async fn conversation_summary(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<ConversationSummary> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        self.query(move |tx| {
            Box::pin(async move { conversations::summary(tx, &user, &conv).await })
        })
        .await?
        .ok_or_else(|| AppError::not_found("conversation"))
    }

    /// The members of the conversation, current first, then former ones (not found if `actor`
    /// takes no part).
    pub async fn participants(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<Vec<ParticipantView>> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        self.query(move |tx| {
            Box::pin(async move { conversations::participants(tx, &user, &conv).await })
        })
        .await?
        .ok_or_else(|| AppError::not_found("conversation"))
    }

    /// `users` if each is known to pawpost; else `invalid` naming the first unknown one as
    /// `field[i]`.
    pub(crate) async fn known_users(
        &self,
        users: Vec<UserId>,
        field: &str,
    ) -> AppResult<Vec<UserId>> {
        for (i, user) in users.iter().enumerate() {
            if !self.is_known_user(user).await? {
                let name = format!("{field}[{i}]");
                return Err(AppError::invalid(
                    name.clone(),
                    format!("{name}: unknown user `{user}`"),
                ));
            }
        }
        Ok(users)
    }

    /// Runs `command` on the conversation's stream as `actor` under a fresh command id.
    pub(crate) async fn on_conversation(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        command: &ConversationCommand,
    ) -> AppResult<Option<Position>> {
        Ok(self
            .conversations
            .execute_new(&conversation.stream(), command, &actor.meta())
            .await?
            .position)
    }

    /// Runs `command` on `actor`'s own stream under a fresh command id.
    pub(crate) async fn on_own_stream(
        &self,
        actor: &Actor,
        command: &UserCommand,
    ) -> AppResult<Option<Position>> {
        Ok(self
            .users
            .execute_new(&actor.id.stream(), command, &actor.meta())
            .await?
            .position)
    }
}
