//! Moving the actor's read or delivered marker in a conversation up to a message they can see,
//! and the unread counts the read marker leaves.

use pawpost_domain::{ConversationId, MessageId};
use pawpost_projections::queries::conversations;
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult};

/// The actor's unread counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    /// Unread messages left in this conversation.
    pub unread_count: u64,
    /// Unread messages over all the actor's conversations.
    pub unread_total: u64,
    /// The actor's read marker (it never moves back).
    pub last_read_seq: u64,
}

impl App {
    /// Moves `actor`'s read (`read`) or delivered marker in `conversation` up to `message`:
    /// not found unless they take part and the message is one of that conversation's they
    /// can see.
    pub async fn mark_conversation(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        read: bool,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        self.message(actor, conversation, message, false).await?;
        self.mark(actor, conversation, message, read).await
    }

    /// `actor`'s unread counts and read marker in `conversation` (not found if they take no
    /// part).
    pub async fn read_state(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> AppResult<ReadState> {
        let (user, conv) = (actor.id.to_string(), conversation.to_string());
        self.query(move |tx| {
            Box::pin(async move {
                let summary = conversations::summary(tx, &user, &conv).await?;
                let total = conversations::unread_total(tx, &user).await?;
                let marker = conversations::participants(tx, &user, &conv)
                    .await?
                    .unwrap_or_default()
                    .into_iter()
                    .find(|p| p.user_id == user)
                    .map_or(0, |p| p.last_read_seq);
                Ok(summary.map(|s| ReadState {
                    unread_count: s.unread_count,
                    unread_total: total,
                    last_read_seq: marker,
                }))
            })
        })
        .await?
        .ok_or_else(|| AppError::not_found("conversation"))
    }
}
