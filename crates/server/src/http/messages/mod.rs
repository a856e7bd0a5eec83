//! `/api/v1/messaging/conversations/{id}/messages` and `/api/v1/messaging/search`: messages,
//! their edits, deletions, reactions, receipts and history; full-text search.
//!
//! Every route first makes sure the caller is a current participant of the conversation in the
//! path (404 otherwise: a conversation the caller cannot see is not disclosed), and that the
//! message in the path belongs to that conversation (404 otherwise).

mod delete;
mod detail;
mod edit;
mod history;
mod list;
mod react;
mod search;
mod send;

use pawpost_domain::{ConversationId, MessageId};
use pawpost_projections::queries::messages::MessageView;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{conversation_id, message_id, Caller};
use super::problem::ApiResult;
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list, send::send))
        .routes(routes!(detail::detail, edit::edit, delete::delete))
        .routes(routes!(react::react, react::unreact))
        .routes(routes!(history::history))
        .routes(routes!(search::search_messages))
}

/// Default page of the message list.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page of the message list and of search results.
pub const MAX_LIMIT: u32 = 100;
/// Default page of search results.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;

/// The conversation and message ids of a path (400 `invalid_id` naming the one at fault).
fn path_ids(conversation: &str, message: &str) -> ApiResult<(ConversationId, MessageId)> {
    Ok((
        conversation_id(conversation)?,
        message_id(message, "messageId")?,
    ))
}

/// The message `message` as `caller` sees it, if it is one of `conversation`'s (404 otherwise).
async fn visible_message(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    message: MessageId,
    show_deleted: bool,
) -> ApiResult<MessageView> {
    Ok(state
        .app
        .message(caller, conversation, message, show_deleted)
        .await?)
}

/// Whether `caller` may see the content of deleted-for-everyone messages: marketplace staff
/// (the `admin` role) moderating.
fn moderates(caller: &Caller) -> bool {
    caller.moderates()
}
