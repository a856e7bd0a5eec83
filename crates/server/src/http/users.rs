//! `/api/v1/messaging/users/{id}` (profiles, service role) and `/api/v1/messaging/blocks`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use pawpost_domain::values::{DisplayName, ImageUrl, Locale};
use pawpost_domain::{PersonalText, UserCommand, ValidationError};
use pawpost_projections::queries::users::{self, BlockView, UserView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::consistency::{self, settle, Accepted, Settled};
use super::extract::{self, Body, Caller};
use super::problem::{ApiError, ApiResult, Problem};
use super::support::{self, fresh_command_id, query, user_command};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user, put_user))
        .routes(routes!(list_blocks, block))
        .routes(routes!(unblock))
}

/// A 422 for a value that broke a rule, naming the request's field (`field`) rather than the
/// domain's name for it (a draft's `content` is a message `body` to the domain).
pub(super) fn invalid_as(field: &str, e: ValidationError) -> ApiError {
    ApiError::invalid(field, format!("{field} {}", e.rule))
}

/// A field the body must carry: 422 naming it when absent (the JSON extractor can only name
/// the body for a missing top-level field).
pub(super) fn required<T>(value: Option<T>, field: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
}

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

/// A profile as the platform sets it. The whole profile is replaced: an absent optional field
/// clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRequest {
    /// The name others see (1–100 characters).
    #[schema(value_type = String, required = true)]
    display_name: Option<String>,
    /// An absolute `http(s)://` URL of the picture.
    avatar_url: Option<String>,
    /// Free text such as `owner`, `provider`, `admin` (1–20 characters).
    role: Option<String>,
    /// A language tag such as `en` or `pt-BR`.
    locale: Option<String>,
}

/// The directory entry of a user.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/users/{userId}",
    tag = "users",
    params(("userId" = String, Path, description = "The user")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id breaks the user id rules", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<UserView>> {
    let user = extract::user_id(&raw, "userId")?;
    let id = user.to_string();
    query(&state, move |tx| {
        Box::pin(async move { users::get(tx, &id).await })
    })
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found("user"))
}

/// Sets a user's profile (the platform's user service keeps pawpost's directory in step).
/// Service role only. Answers 200 with the profile whether it was created or replaced.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/users/{userId}",
    tag = "users",
    params(("userId" = String, Path, description = "The user")),
    request_body = ProfileRequest,
    responses(
        (status = 200, description = "The profile as stored", body = UserView),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not the service", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<ProfileRequest>,
) -> ApiResult<Response> {
    caller.require_service()?;
    let user = extract::user_id(&raw, "userId")?;
    let command = UserCommand::UpdateProfile {
        actor: user.clone(),
        display_name: DisplayName::parse(&required(body.display_name, "displayName")?)
            .map_err(|e| invalid_as("displayName", e))?,
        avatar_url: body
            .avatar_url
            .as_deref()
            .map(ImageUrl::parse)
            .transpose()
            .map_err(|e| invalid_as("avatarUrl", e))?,
        role: body.role,
        locale: body
            .locale
            .as_deref()
            .map(Locale::parse)
            .transpose()
            .map_err(|e| invalid_as("locale", e))?,
        at: Utc::now(),
    };
    let outcome = user_command(&state, &caller, &user, fresh_command_id(), command).await?;
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    state.app.remember(user.as_str());
    let id = user.to_string();
    let view = query(&state, move |tx| {
        Box::pin(async move { users::get(tx, &id).await })
    })
    .await?
    .ok_or_else(|| ApiError::internal("a stored profile is missing from the directory"))?;
    Ok(Json(view).into_response())
}

// ---------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------

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
async fn list_blocks(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<BlockList>> {
    let user = caller.id.to_string();
    let blocks = query(&state, move |tx| {
        Box::pin(async move { users::blocks(tx, &user).await })
    })
    .await?;
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
async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<BlockRequest>,
) -> ApiResult<Response> {
    let target = extract::user_id(&required(body.user_id, "userId")?, "userId")?;
    if target != caller.id && !support::is_known_user(&state, &target).await? {
        return Err(ApiError::invalid("userId", "userId is not a known user"));
    }
    let command = UserCommand::Block {
        actor: caller.id.clone(),
        user: target.clone(),
        reason: body.reason.map(PersonalText::clear),
        at: Utc::now(),
    };
    let outcome = user_command(&state, &caller, &caller.id, fresh_command_id(), command).await?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    let (user, blocked) = (caller.id.to_string(), target.to_string());
    let block = query(&state, move |tx| {
        Box::pin(async move { users::blocks(tx, &user).await })
    })
    .await?
    .into_iter()
    .find(|b| b.user_id == blocked)
    .ok_or_else(|| ApiError::internal("a stored block is missing from the read model"))?;
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
async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let target = extract::user_id(&raw, "userId")?;
    let command = UserCommand::Unblock {
        actor: caller.id.clone(),
        user: target,
        at: Utc::now(),
    };
    let outcome = user_command(&state, &caller, &caller.id, fresh_command_id(), command).await?;
    Ok(match settle(&state, outcome.position).await {
        Settled::Visible => StatusCode::NO_CONTENT.into_response(),
        Settled::Lagging(p) => consistency::accepted(p),
    })
}
