//! The caller's own settings of a conversation: `POST …/mute`, `…/archive`, `…/pin`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use pawpost_app::conversations::Mute;
use pawpost_app::Projection;
use pawpost_domain::values::NotificationLevel;
use pawpost_domain::ConversationId;
use pawpost_store::Position;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::consistency::Accepted;
use super::super::extract::{Body, Caller};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::{lagging, path_id, ConversationSettings};
use crate::AppState;

/// What still notifies a user from a muted conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MuteLevel {
    All,
    Mentions,
    None,
}

impl From<MuteLevel> for NotificationLevel {
    fn from(l: MuteLevel) -> Self {
        match l {
            MuteLevel::All => NotificationLevel::All,
            MuteLevel::Mentions => NotificationLevel::Mentions,
            MuteLevel::None => NotificationLevel::None,
        }
    }
}

/// `POST /{conversationId}/mute`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MuteRequest {
    /// `true` mutes, `false` unmutes (required).
    muted: Option<bool>,
    /// Until when (RFC 3339, in the future); absent: until unmuted.
    until: Option<DateTime<Utc>>,
    /// What still notifies while muted (default `none`: a mute silences everything).
    level: Option<MuteLevel>,
}

/// `POST /{conversationId}/archive`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ArchiveRequest {
    /// `true` archives, `false` brings it back (required).
    archived: Option<bool>,
}

/// `POST /{conversationId}/pin`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PinRequest {
    /// `true` pins, `false` unpins (required).
    pinned: Option<bool>,
}

/// A required boolean of a settings body.
fn required(flag: Option<bool>, field: &str) -> ApiResult<bool> {
    flag.ok_or_else(|| ApiError::invalid(field, format!("{field} is required (true or false)")))
}

/// The caller's settings once the change at `position` is visible. Settings are facts of the
/// caller's own stream: the users model holds them.
async fn settings_after(
    state: &AppState,
    caller: &Caller,
    id: ConversationId,
    position: Option<Position>,
) -> ApiResult<Response> {
    if let Some(accepted) = lagging(state, Projection::Users, position).await {
        return Ok(accepted);
    }
    let summary = state.app.conversation_summary(caller, id).await?;
    Ok(Json(ConversationSettings::from(&summary)).into_response())
}

/// Mutes or unmutes the conversation for the caller alone.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/mute",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = MuteRequest,
    responses(
        (status = 200, description = "The caller's settings", body = ConversationSettings),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`muted` missing, `until` not in the future, …)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn mute(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MuteRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let mute = required(req.muted, "muted")?.then(|| Mute {
        until: req.until,
        level: req.level.unwrap_or(MuteLevel::None).into(),
    });
    let position = state.app.set_mute(&caller, id, mute).await?;
    settings_after(&state, &caller, id, position).await
}

/// Archives the conversation for the caller (out of their main list) or brings it back.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/archive",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = ArchiveRequest,
    responses(
        (status = 200, description = "The caller's settings", body = ConversationSettings),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`archived` is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<ArchiveRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let archived = required(req.archived, "archived")?;
    let position = state.app.set_archived(&caller, id, archived).await?;
    settings_after(&state, &caller, id, position).await
}

/// Pins the conversation at the top of the caller's list, or unpins it.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/pin",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = PinRequest,
    responses(
        (status = 200, description = "The caller's settings", body = ConversationSettings),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`pinned` is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn pin(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<PinRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    let pinned = required(req.pinned, "pinned")?;
    let position = state.app.set_pinned(&caller, id, pinned).await?;
    settings_after(&state, &caller, id, position).await
}
