//! `GET …/conversations/{id}/messages`: a page of the conversation's messages.

use axum::extract::{Path, State};
use axum::Json;
use pawpost_domain::ConversationId;
use pawpost_projections::queries::messages::{self, MessagePage, MessageQuery};
use pawpost_projections::queries::messages_extra;
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::extract::{conversation_id, message_id, Caller, Params};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::super::support::{self, query};
use super::{moderates, DEFAULT_LIMIT, MAX_LIMIT};
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// GET /messages
// ---------------------------------------------------------------------------------------------

/// Paging of the message list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only messages older than this message id.
    before: Option<String>,
    /// Only messages newer than this message id (pages forward from it).
    after: Option<String>,
    /// Messages per page, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Tombstones of messages deleted for everyone are always listed (content hidden); with
    /// `true`, marketplace staff (`admin` role) also see their content. Ignored for others.
    include_deleted: Option<bool>,
}

/// The seq of the cursor message `raw` (`field`) in `conversation`: 400 `invalid_query`
/// naming the field if it is no message of that conversation.
async fn cursor_seq(
    state: &AppState,
    conversation: ConversationId,
    raw: Option<&str>,
    field: &'static str,
) -> ApiResult<Option<u64>> {
    let Some(raw) = raw else { return Ok(None) };
    let id = message_id(raw, field)
        .map_err(|_| ApiError::bad_request("invalid_query", format!("{field} is not a message id")))
        .map_err(|e| e.with_field(field))?;
    let (conv, msg) = (conversation.to_string(), id.to_string());
    let seq = query(state, move |tx| {
        Box::pin(async move { messages_extra::seq_in(tx, &conv, &msg).await })
    })
    .await?;
    seq.map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_query",
            format!("{field} is not a message of this conversation"),
        )
        .with_field(field)
    })
}

/// A page of the conversation's messages, oldest first. Without `after`, the newest page
/// (before `before`); with `after`, the page following it. `hasMore` says whether more
/// messages lie beyond the page in the direction paged.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/messages",
    tag = "messages",
    params(("conversationId" = String, Path, description = "The conversation"), ListParams),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 400, description = "A parameter or id is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(conversation): Path<String>,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<MessagePage>> {
    let conversation = conversation_id(&conversation)?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )
        .with_field("limit"));
    }
    support::require_participant(&state, &caller, conversation).await?;
    let before = cursor_seq(&state, conversation, p.before.as_deref(), "before").await?;
    let after = cursor_seq(&state, conversation, p.after.as_deref(), "after").await?;
    let q = MessageQuery {
        before,
        after,
        limit,
        include_deleted_content: p.include_deleted.unwrap_or(false) && moderates(&caller),
    };
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    let page = query(&state, move |tx| {
        Box::pin(async move { messages::list(tx, &user, &conv, &q).await })
    })
    .await?;
    page.map(Json)
        .ok_or_else(|| ApiError::not_found("conversation"))
}
