//! The actor's conversation list: pinned first, then by last activity, with exact unread and
//! mention counts and the unread total over all of them.

use pawpost_domain::values::ConversationKind;
use pawpost_projections::queries::conversations::{self, ConversationPage, ListFilter};

use crate::{Actor, App, AppResult};

/// Which page of which conversations (validated by the adapter: `page` ≥ 1, `page_size` within
/// the adapter's bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only conversations of this kind; all when absent.
    pub kind: Option<ConversationKind>,
    /// Only archived (`true`) or only not archived (`false`); both when absent.
    pub archived: Option<bool>,
    /// 1-based page.
    pub page: u32,
    /// Conversations per page.
    pub page_size: u32,
}

/// The read model's name of a kind.
fn kind_name(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::Direct => "direct",
        ConversationKind::Group => "group",
        ConversationKind::Booking => "booking",
        ConversationKind::System => "system",
    }
}

impl App {
    /// A page of `actor`'s conversations.
    pub async fn list_conversations(
        &self,
        actor: &Actor,
        filter: ConversationFilter,
    ) -> AppResult<ConversationPage> {
        let filter = ListFilter {
            kind: filter.kind.map(|k| kind_name(k).to_string()),
            archived: filter.archived,
            page: filter.page,
            page_size: filter.page_size,
        };
        let user = actor.id.to_string();
        self.query(move |tx| Box::pin(async move { conversations::list(tx, &user, &filter).await }))
            .await
    }
}
