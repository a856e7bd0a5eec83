//! Who takes part: adding members to a group, removing one, and the actor leaving. The rules
//! (admins add and remove members, only the owner removes admins, nobody removes the owner, an
//! owner who leaves hands ownership on) are the domain's.

use chrono::Utc;
use pawpost_domain::{ConversationCommand, ConversationId, UserId};
use pawpost_store::Position;

use crate::{Actor, App, AppResult};

impl App {
    /// Adds `users` (each known to pawpost; errors name `userIds[i]`) to `conversation`;
    /// current members are skipped.
    pub async fn add_participants(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        users: Vec<UserId>,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let users = self.known_users(users, "userIds").await?;
        let command = ConversationCommand::AddParticipants {
            actor: actor.id.clone(),
            users,
            at: Utc::now(),
        };
        self.on_conversation(actor, conversation, &command).await
    }

    /// Removes member `user` from `conversation` (the actor themself: leaving).
    pub async fn remove_participant(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        user: UserId,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let command = ConversationCommand::RemoveParticipant {
            actor: actor.id.clone(),
            user,
            at: Utc::now(),
        };
        self.on_conversation(actor, conversation, &command).await
    }

    /// `actor` leaves `conversation` (a direct one comes back when they open it again).
    pub async fn leave(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let command = ConversationCommand::Leave {
            actor: actor.id.clone(),
            at: Utc::now(),
        };
        self.on_conversation(actor, conversation, &command).await
    }
}
