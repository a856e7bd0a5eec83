//! `/api/v1/messaging/typing/*` and `/api/v1/messaging/presence/*`: typing and presence
//! signals (in-process; the SignalR hub relays the same signals). See [`crate::signals`].

use axum::extract::State;
use axum::Json;
use pawpost_domain::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{self, Body, Caller};
use super::problem::{ApiError, ApiResult, Problem};
use super::support::require_participant;
use crate::signals::{Presence, PresenceStatus, TypingSignal};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(typing_start))
        .routes(routes!(typing_stop))
        .routes(routes!(presence_update))
        .routes(routes!(presence_get))
}

/// Largest status line, in characters.
pub const MAX_STATUS_MESSAGE_CHARS: usize = 200;
/// Most users asked about in one presence request.
pub const MAX_PRESENCE_USERS: usize = 100;

/// A field the body must carry: 422 naming it when absent (the JSON extractor can only name
/// the body for a missing top-level field).
fn required<T>(value: Option<T>, field: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
}

/// Where the caller types.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypingRequest {
    /// A conversation the caller takes part in.
    #[schema(value_type = String, required = true)]
    conversation_id: Option<String>,
}

/// The caller's new presence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate {
    /// `online`, `away`, `busy` or `offline`.
    #[schema(value_type = PresenceStatus, required = true)]
    status: Option<PresenceStatus>,
    /// A free-text status line (at most 200 characters, one line; blank clears it).
    status_message: Option<String>,
}

/// Whose presence to read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceQuery {
    /// User ids (at most 100; duplicates answered once).
    #[schema(value_type = Vec<String>, required = true)]
    user_ids: Option<Vec<String>>,
}

/// Presence of the users asked about, in the order asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceList {
    presence: Vec<Presence>,
}

/// The conversation of a typing request, after checking the caller takes part (404 if not).
async fn typing_target(
    state: &AppState,
    caller: &Caller,
    body: &TypingRequest,
) -> ApiResult<pawpost_domain::ConversationId> {
    let raw = required(body.conversation_id.as_deref(), "conversationId")?;
    let conversation = extract::conversation_id(raw)?;
    require_participant(state, caller, conversation).await?;
    Ok(conversation)
}

/// The caller types in a conversation. Clients repeat it every few seconds while the user
/// types; without a repeat it expires after 6 seconds. Broadcast to the conversation.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/typing/start",
    tag = "realtime",
    request_body = TypingRequest,
    responses(
        (status = 200, description = "The signal sent", body = TypingSignal),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn typing_start(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<TypingRequest>,
) -> ApiResult<Json<TypingSignal>> {
    let conversation = typing_target(&state, &caller, &body).await?;
    Ok(Json(state.signals.start_typing(conversation, &caller.id)))
}

/// The caller stopped typing (sent a message, cleared the field). Broadcast to the
/// conversation.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/typing/stop",
    tag = "realtime",
    request_body = TypingRequest,
    responses(
        (status = 200, description = "The signal sent", body = TypingSignal),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn typing_stop(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<TypingRequest>,
) -> ApiResult<Json<TypingSignal>> {
    let conversation = typing_target(&state, &caller, &body).await?;
    Ok(Json(state.signals.stop_typing(conversation, &caller.id)))
}

/// Sets the caller's presence (and its status line); now becomes their last-seen time.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/presence/update",
    tag = "realtime",
    request_body = PresenceUpdate,
    responses(
        (status = 200, description = "The caller's presence", body = Presence),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status or a bad status line", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn presence_update(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<PresenceUpdate>,
) -> ApiResult<Json<Presence>> {
    let status = required(body.status, "status")?;
    let message = status_message(body.status_message)?;
    Ok(Json(
        state.signals.set_presence(&caller.id, status, message),
    ))
}

/// A status line: trimmed; blank = none; at most 200 characters, no control characters.
fn status_message(raw: Option<String>) -> ApiResult<Option<String>> {
    let Some(text) = raw.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_STATUS_MESSAGE_CHARS {
        return Err(ApiError::invalid(
            "statusMessage",
            format!("statusMessage is longer than {MAX_STATUS_MESSAGE_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "statusMessage",
            "statusMessage contains a control character",
        ));
    }
    Ok(Some(text))
}

/// The presence of the given users (`offline` for users who never set one). A POST because
/// the list can be long. Presence is not private on this platform (as in Stream Chat), so any
/// authenticated user may ask.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/presence/get",
    tag = "realtime",
    request_body = PresenceQuery,
    responses(
        (status = 200, description = "Their presence, in the order asked", body = PresenceList),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many users or a bad user id", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn presence_get(
    State(state): State<AppState>,
    _caller: Caller,
    Body(body): Body<PresenceQuery>,
) -> ApiResult<Json<PresenceList>> {
    let user_ids = required(body.user_ids, "userIds")?;
    if user_ids.len() > MAX_PRESENCE_USERS {
        return Err(ApiError::invalid(
            "userIds",
            format!("at most {MAX_PRESENCE_USERS} userIds per request"),
        ));
    }
    let mut users: Vec<UserId> = Vec::with_capacity(user_ids.len());
    for (i, raw) in user_ids.iter().enumerate() {
        let user = extract::user_id(raw, &format!("userIds[{i}]"))?;
        if !users.contains(&user) {
            users.push(user);
        }
    }
    let presence = users.iter().map(|u| state.signals.presence(u)).collect();
    Ok(Json(PresenceList { presence }))
}
