//! Changing a group's title, description or image (admins and the owner; never a direct
//! conversation: the domain's rules).

use chrono::Utc;
use pawpost_domain::values::{ConversationTitle, Description, ImageUrl};
use pawpost_domain::{ConversationCommand, ConversationId};
use pawpost_store::Position;

use crate::{Actor, App, AppResult};

/// What changes: `None` keeps a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailsChange {
    /// A new title.
    pub title: Option<ConversationTitle>,
    /// A new description, or none.
    pub description: Option<Option<Description>>,
    /// A new image, or none.
    pub image_url: Option<Option<ImageUrl>>,
}

impl App {
    /// Changes the details of `conversation` as `actor`.
    pub async fn update_details(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        change: DetailsChange,
    ) -> AppResult<Option<Position>> {
        self.require_participant(actor, conversation).await?;
        let command = ConversationCommand::UpdateDetails {
            actor: actor.id.clone(),
            title: change.title,
            description: change.description,
            image_url: change.image_url,
            at: Utc::now(),
        };
        self.on_conversation(actor, conversation, &command).await
    }
}
