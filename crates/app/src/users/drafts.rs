//! Drafts: the actor's unsent text of a conversation, one per conversation.

use chrono::Utc;
use pawpost_domain::values::MessageBody;
use pawpost_domain::{ConversationId, MessageId, UserCommand};
use pawpost_projections::queries::conversations;
use pawpost_projections::queries::users::{self, DraftView};
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult, ErrorKind};

impl App {
    /// `actor`'s drafts, most recently saved first.
    pub async fn drafts(&self, actor: &Actor) -> AppResult<Vec<DraftView>> {
        let user = actor.id.to_string();
        self.query(move |tx| Box::pin(async move { users::drafts(tx, &user, None).await }))
            .await
    }

    /// Saves (replaces) `actor`'s draft of a conversation they take part in. The reply target,
    /// if any, must be a message of that conversation they can see (`invalid` naming
    /// `replyToMessageId` otherwise).
    pub async fn save_draft(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        content: MessageBody,
        reply_to: Option<MessageId>,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        if let Some(target) = reply_to {
            match self.message(actor, conversation, target, false).await {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(AppError::invalid(
                        "replyToMessageId",
                        "replyToMessageId is not a message of this conversation",
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        let command = UserCommand::SaveDraft {
            actor: actor.id.clone(),
            conversation_id: conversation,
            content,
            reply_to,
            is_participant: true,
            at: Utc::now(),
        };
        self.on_own_stream(actor, &command).await
    }

    /// `actor`'s draft of `conversation` as the read model shows it (after a save was
    /// projected).
    pub async fn draft(&self, actor: &Actor, conversation: ConversationId) -> AppResult<DraftView> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        self.query(move |tx| Box::pin(async move { users::drafts(tx, &user, Some(&conv)).await }))
            .await?
            .pop()
            .ok_or_else(|| AppError::internal("a saved draft is missing from the read model"))
    }

    /// Discards `actor`'s draft of `conversation` (nothing changes without one). Allowed to
    /// current participants and to former ones who still hold a draft there (holding one
    /// proves they took part, so nothing is disclosed); not found to anyone else.
    pub async fn clear_draft(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<Option<Position>> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        let allowed = self
            .query(move |tx| {
                Box::pin(async move {
                    Ok(conversations::is_participant(tx, &user, &conv).await?
                        || !users::drafts(tx, &user, Some(&conv)).await?.is_empty())
                })
            })
            .await?;
        if !allowed {
            return Err(AppError::not_found("conversation"));
        }
        let command = UserCommand::ClearDraft {
            actor: actor.id.clone(),
            conversation_id: conversation,
            at: Utc::now(),
        };
        self.on_own_stream(actor, &command).await
    }
}
