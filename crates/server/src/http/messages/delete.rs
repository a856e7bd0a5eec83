//! `DELETE …/messages/{messageId}`: delete for everyone, or hide for the caller.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pawpost_app::{Projection, Settled};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::consistency::{self, Accepted};
use super::super::extract::{Caller, Params};
use super::super::problem::{ApiResult, Problem};
use super::path_ids;
use crate::AppState;

// ---------------------------------------------------------------------------------------------
// DELETE /messages/{messageId}
// ---------------------------------------------------------------------------------------------

/// How far a deletion reaches.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// `true`: delete for everyone (the author, or an admin of a group); `false` (default):
    /// hide the message for the caller only.
    for_everyone: Option<bool>,
}

/// Deletes a message for everyone (it stays as a tombstone without content; deleting a
/// tombstone again is 409 `already_deleted`) or hides it for the caller only (hiding it again
/// is 404: the caller no longer sees it).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
        DeleteParams,
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, description = "Deleted; not yet visible to queries", body = Accepted),
        (status = 400, description = "An id or parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the author or a group admin deletes for everyone", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already deleted for everyone", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Params(p): Params<DeleteParams>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    let position = if p.for_everyone.unwrap_or(false) {
        state
            .app
            .delete_for_everyone(&caller, conversation, message)
            .await?
    } else {
        state
            .app
            .delete_for_me(&caller, conversation, message)
            .await?
    };
    // Lists (previews, unread counts) and message pages both change.
    if let Settled::Lagging(p) = state.app.settle(Projection::All, position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
