//! Use cases about messages: send ([`send`]), and the commands about one message (edit, delete
//! for everyone, react, unreact, mark read/delivered: [`change`]), which decide on the message's
//! facts looked up in the read model ([`facts`]); reading one message as the actor sees it.

pub mod change;
pub mod facts;
pub mod send;

use pawpost_domain::{ConversationId, MessageId};
use pawpost_projections::queries::messages::{self, MessageView};

use crate::{Actor, App, AppError, AppResult};

pub use send::{Answer, NewMessage, SendOutcome, Sent};

impl App {
    /// Message `message` of `conversation` as `actor` sees it (404 if it is not one of that
    /// conversation's, or not visible to them). `show_deleted`: the content of a message
    /// deleted for everyone too (moderation).
    pub async fn message(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
        show_deleted: bool,
    ) -> AppResult<MessageView> {
        let (user, id) = (actor.id.to_string(), message.to_string());
        let found = self
            .query(move |tx| {
                Box::pin(async move { messages::get(tx, &user, &id, show_deleted).await })
            })
            .await?;
        found
            .filter(|m| m.conversation_id == conversation.to_string())
            .ok_or_else(|| AppError::not_found("message"))
    }
}
