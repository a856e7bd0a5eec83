//! `GET …/messages/{messageId}/history`: a message's edit history.

use axum::extract::{Path, State};
use axum::Json;
use pawpost_projections::queries::messages::{self, MessageVersion};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::extract::Caller;
use super::super::problem::{ApiError, ApiResult, Problem};
use super::super::support::{self, query};
use super::{moderates, path_ids, visible_message};
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// GET /messages/{messageId}/history
// ---------------------------------------------------------------------------------------------

/// Every version of a message's text.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Oldest first: the original, then each edit. Empty for a deleted message (its content
    /// is gone for everyone but marketplace staff).
    pub versions: Vec<MessageVersion>,
}

/// A message's edit history.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/history",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    responses(
        (status = 200, description = "The versions", body = History),
        (status = 400, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
) -> ApiResult<Json<History>> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let show_deleted = moderates(&caller);
    visible_message(&state, &caller, conversation, message, show_deleted).await?;
    let (user, id) = (caller.id.to_string(), message.to_string());
    let versions = query(&state, move |tx| {
        Box::pin(async move { messages::history(tx, &user, &id, show_deleted).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(History { versions }))
}
