//! Who takes part where, as the read models say: the checks both adapters need before
//! conversation-scoped calls that are no command (typing, calls, look-ups by message).

use pawpost_domain::{ConversationId, MessageId, UserId};
use pawpost_projections::queries;

use crate::{Actor, App, AppError, AppResult};

impl App {
    /// `not_found` (404) unless `actor` is a current participant of `conversation` (a
    /// conversation the actor cannot see is not disclosed to exist).
    pub async fn require_participant(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<()> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        if self
            .query(move |tx| {
                Box::pin(
                    async move { queries::conversations::is_participant(tx, &user, &conv).await },
                )
            })
            .await?
        {
            Ok(())
        } else {
            Err(AppError::not_found("conversation"))
        }
    }

    /// The conversation of `message`, if `actor` takes part in it (`not_found` for the message
    /// otherwise, whether it does not exist or the actor takes no part).
    pub async fn conversation_of(
        &self,
        actor: &Actor,
        message: MessageId,
    ) -> AppResult<ConversationId> {
        let id = message.to_string();
        let found = self
            .query(move |tx| {
                Box::pin(async move {
                    tx.query_opt(
                        "SELECT conversation_id FROM rm_messages WHERE id = $1",
                        &[id.into()],
                    )
                    .await?
                    .map(|r| r.text(0))
                    .transpose()
                })
            })
            .await?;
        let conversation = found
            .and_then(|c| c.parse::<uuid::Uuid>().ok())
            .map(ConversationId::from_uuid)
            .ok_or_else(|| AppError::not_found("message"))?;
        self.require_participant(actor, conversation)
            .await
            .map_err(|_| AppError::not_found("message"))?;
        Ok(conversation)
    }

    /// The conversations `user` currently takes part in (their ids); tried again for a while
    /// when the database is unavailable (a connection that cannot join its groups would miss
    /// every push).
    pub async fn active_conversations(&self, user: &UserId) -> AppResult<Vec<String>> {
        crate::retry::while_unavailable(|| self.active_conversations_once(user)).await
    }

    async fn active_conversations_once(&self, user: &UserId) -> AppResult<Vec<String>> {
        let user = user.to_string();
        self.query(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT conversation_id FROM rm_participants
                     WHERE user_id = $1 AND active = TRUE",
                    &[user.into()],
                )
                .await?
                .iter()
                .map(|r| r.text(0))
                .collect()
            })
        })
        .await
    }
}
