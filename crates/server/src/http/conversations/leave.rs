//! `DELETE /conversations/{conversationId}`: the caller leaves.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pawpost_app::Projection;

use super::super::consistency::Accepted;
use super::super::extract::Caller;
use super::super::problem::{ApiResult, Problem};
use super::{lagging, path_id};
use crate::AppState;

/// The caller leaves the conversation (it disappears from their list; a direct one comes back
/// when they open it again). An owner who leaves hands ownership on (the domain's rule).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    responses(
        (status = 204, description = "Left"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let position = state.app.leave(&caller, id).await?;
    // The caller's list and participation (what they may read) are the conversations model's.
    if let Some(accepted) = lagging(&state, Projection::All, position).await {
        return Ok(accepted);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
