//! `/blocks`: whom the caller blocks; blocking and unblocking.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::Projection;
use pawpost_projections::queries::users::BlockView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::consistency::{self, Accepted, Settled};
use super::super::extract::{self, Body, Caller};
use super::super::problem::{ApiResult, Problem};
use super::required;
use crate::AppState;

/// The users the caller blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    /// Oldest block first.
    blocks: Vec<BlockView>,
}

/// A block, as created or found.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockAnswer {
    block: BlockView,
}

/// Whom to block.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockRequest {
    /// The user to block (not the caller).
    #[schema(value_type = String, required = true)]
    user_id: Option<String>,
    /// Why (1–500 characters); only the caller sees it.
    reason: Option<String>,
}

/// Whom the caller blocks, with their reasons.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/blocks",
    tag = "blocks",
    responses(
        (status = 200, description = "The caller's blocks", body = BlockList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn list_blocks(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<BlockList>> {
    let blocks = state.app.list_blocks(&caller).await?;
    Ok(Json(BlockList { blocks }))
}

/// Blocks a user: they can no longer message the caller directly. 201 when the block is new,
/// 200 when the caller already blocked them (the first block and its reason stay).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/blocks",
    tag = "blocks",
    request_body = BlockRequest,
    responses(
        (status = 201, description = "Blocked", body = BlockAnswer),
        (status = 200, description = "Already blocked", body = BlockAnswer),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The caller themself, an unknown user, or a bad reason", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<BlockRequest>,
) -> ApiResult<Response> {
    let target = extract::user_id(&required(body.user_id, "userId")?, "userId")?;
    let blocked = state
        .app
        .block(&caller, target.clone(), body.reason)
        .await?;
    let status = if blocked.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if let Settled::Lagging(p) = state.app.settle(Projection::Users, blocked.position).await {
        return Ok(consistency::accepted(p));
    }
    let block = state.app.block_of(&caller, &target).await?;
    Ok((status, Json(BlockAnswer { block })).into_response())
}

/// Lifts a block. Idempotent: 204 also when the user was not blocked.
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/blocks/{userId}",
    tag = "blocks",
    params(("userId" = String, Path, description = "The blocked user")),
    responses(
        (status = 204, description = "Not blocked (any more)"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id breaks the user id rules", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let target = extract::user_id(&raw, "userId")?;
    let position = state.app.unblock(&caller, target).await?;
    Ok(match state.app.settle(Projection::Users, position).await {
        Settled::Visible => StatusCode::NO_CONTENT.into_response(),
        Settled::Lagging(p) => consistency::accepted(p),
    })
}
