//! Commands about one message: edit, delete (for everyone, or hidden for the actor), react,
//! unreact, mark read and delivered. Each answers once the change is stored, with the log
//! position a read-your-writes adapter may wait for ([`App::settle`]).

use chrono::Utc;
use pawpost_domain::values::{MessageBody, Reaction};
use pawpost_domain::{ConversationCommand, ConversationId, DomainError, MessageId, UserCommand};
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult};

/// A participant-only failure reads as "no such conversation": whether a conversation the
/// actor takes no part in exists is not disclosed.
fn undisclosed(e: AppError, code: &str) -> AppError {
    if e.code == code {
        AppError::not_found("conversation")
    } else {
        e
    }
}

impl App {
    /// The author edits a message's text.
    pub async fn edit_message(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        body: MessageBody,
    ) -> AppResult<Option<Position>> {
        let at = Utc::now();
        self.on_message(actor, conversation, message, |message| {
            ConversationCommand::EditMessage {
                actor: actor.id.clone(),
                message,
                body: body.clone(),
                at,
            }
        })
        .await
    }

    /// The author, or an admin of a group, deletes a message for everyone.
    pub async fn delete_for_everyone(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
    ) -> AppResult<Option<Position>> {
        let at = Utc::now();
        self.on_message(actor, conversation, message, |message| {
            ConversationCommand::DeleteForEveryone {
                actor: actor.id.clone(),
                message,
                at,
            }
        })
        .await
    }

    /// Hides a message the actor can see, for the actor only (404 once hidden).
    pub async fn delete_for_me(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
    ) -> AppResult<Option<Position>> {
        self.message(actor, conversation, message, false).await?;
        let command = UserCommand::DeleteForMe {
            actor: actor.id.clone(),
            conversation_id: conversation,
            message_ids: vec![message],
            visible_to_actor: true,
            at: Utc::now(),
        };
        Ok(self
            .users
            .execute_new(&actor.id.stream(), &command, &actor.meta())
            .await?
            .position)
    }

    /// Adds (`add`) or removes the actor's reaction; repeating either changes nothing.
    pub async fn react(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        reaction: Reaction,
        add: bool,
    ) -> AppResult<Option<Position>> {
        let at = Utc::now();
        self.on_message(actor, conversation, message, |message| {
            let (actor, reaction) = (actor.id.clone(), reaction.clone());
            if add {
                ConversationCommand::AddReaction {
                    actor,
                    message,
                    reaction,
                    at,
                }
            } else {
                ConversationCommand::RemoveReaction {
                    actor,
                    message,
                    reaction,
                    at,
                }
            }
        })
        .await
    }

    /// Moves the actor's read (`read`) or delivered marker forward to a message.
    pub async fn mark(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        read: bool,
    ) -> AppResult<Option<Position>> {
        let at = Utc::now();
        self.on_message(actor, conversation, message, |message| {
            let actor = actor.id.clone();
            if read {
                ConversationCommand::MarkRead { actor, message, at }
            } else {
                ConversationCommand::MarkDelivered { actor, message, at }
            }
        })
        .await
    }

    async fn on_message(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        build: impl Fn(pawpost_domain::conversation::MessageLookup) -> ConversationCommand,
    ) -> AppResult<Option<Position>> {
        self.message_command(actor, conversation, message, build)
            .await
            .map(|outcome| outcome.position)
            .map_err(|e| undisclosed(e, DomainError::NotParticipant.code()))
    }
}
