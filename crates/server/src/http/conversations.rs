//! `/api/v1/messaging/conversations`: the conversation list, creation, detail, settings,
//! membership and per-user state (mute, archive, pin, read marker).
//!
//! Commands answer once the caller's next query shows their change (read-your-writes, see
//! `consistency.rs`); if the read models lag past the bound the answer is 202 with the position
//! instead. A conversation the caller does not take part in is a 404 everywhere (its existence is
//! not disclosed), before any rule of the domain is consulted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use pawpost_domain::values::{
    ConversationTitle, Description, ImageUrl, MessageBody, MessageKind, NotificationLevel,
};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, DomainError, MessageId, UserCommand,
    UserId,
};
use pawpost_projections::queries::conversations::{
    self, ConversationDetail, ConversationPage, ConversationSummary, ListFilter, ParticipantView,
};
use pawpost_projections::queries::{messages, users};
use pawpost_store::Position;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use pawpost_app::Projection;

use super::consistency::{self, settle, Accepted, Settled};
use super::extract::{self, Body, Caller, Params};
use super::problem::{ApiError, ApiResult, Problem};
use super::support::{self, fresh_command_id, query, require_participant};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, update, leave))
        .routes(routes!(participants, add_participants, remove_participant))
        .routes(routes!(mute))
        .routes(routes!(archive))
        .routes(routes!(pin))
        .routes(routes!(read))
        .routes(routes!(delivered))
}

/// Which conversations the list shows.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum KindFilter {
    #[default]
    All,
    Direct,
    Group,
    Booking,
    System,
}

/// Largest page of the conversation list.
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `all` (default), `direct`, `group`, `booking`, `system`.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    kind: Option<KindFilter>,
    /// Only archived (`true`) or only not archived (`false`); both when absent.
    archived: Option<bool>,
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Conversations per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

/// The caller's conversations: pinned first, then by last activity, with exact unread and
/// mention counts and the unread total over all of them.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations",
    tag = "conversations",
    params(ListParams),
    responses(
        (status = 200, description = "A page of the caller's conversations", body = ConversationPage),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<ConversationPage>> {
    let page = p.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::bad_request("invalid_query", "page starts at 1").with_field("page"));
    }
    let page_size = p.page_size.unwrap_or(20);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("pageSize must be between 1 and {MAX_PAGE_SIZE}"),
        )
        .with_field("pageSize"));
    }
    let kind = match p.kind.unwrap_or_default() {
        KindFilter::All => None,
        KindFilter::Direct => Some("direct"),
        KindFilter::Group => Some("group"),
        KindFilter::Booking => Some("booking"),
        KindFilter::System => Some("system"),
    };
    let filter = ListFilter {
        kind: kind.map(str::to_string),
        archived: p.archived,
        page,
        page_size,
    };
    let user = caller.id.to_string();
    let mut tx = state.projections.db().read().await?;
    let page = conversations::list(&mut tx, &user, &filter).await?;
    Ok(Json(page))
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// The caller's own settings for a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSettings {
    /// Whether the caller muted it (an expired timed mute counts as not muted).
    pub is_muted: bool,
    /// Until when, for a timed mute.
    pub muted_until: Option<DateTime<Utc>>,
    /// What still notifies the caller while muted: `all`, `mentions`, `none`.
    pub notification_level: Option<String>,
    /// Whether it is out of the caller's main list.
    pub is_archived: bool,
    /// Whether it stays at the top of the caller's list.
    pub is_pinned: bool,
}

impl From<&ConversationSummary> for ConversationSettings {
    fn from(s: &ConversationSummary) -> Self {
        ConversationSettings {
            is_muted: s.is_muted,
            muted_until: s.muted_until,
            notification_level: s.notification_level.clone(),
            is_archived: s.is_archived,
            is_pinned: s.is_pinned,
        }
    }
}

/// `{conversation}`: one conversation as the caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationEnvelope {
    /// Details, the caller's view of the list row, and the participants.
    pub conversation: ConversationDetail,
}

/// `{participants}`: the members of a conversation, current first, then former ones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantList {
    /// Each with role, membership and read/delivered markers.
    pub participants: Vec<ParticipantView>,
}

/// The `conversationId` path parameter.
fn path_id(raw: &str) -> ApiResult<ConversationId> {
    extract::conversation_id(raw)
}

/// Waits for the read models to include `position`: `Some(202)` when they lag past the bound.
async fn lagging(state: &AppState, position: Option<Position>) -> Option<Response> {
    match settle(state, position).await {
        Settled::Visible => None,
        Settled::Lagging(p) => Some(consistency::accepted(p)),
    }
}

/// The conversation as `caller` sees it (404 if they do not take part).
async fn detail_of(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
) -> ApiResult<ConversationDetail> {
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    query(state, move |tx| {
        Box::pin(async move { conversations::detail(tx, &user, &conv).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("conversation"))
}

/// The caller's list row of the conversation (404 if they do not take part).
async fn summary_of(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
) -> ApiResult<ConversationSummary> {
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    query(state, move |tx| {
        Box::pin(async move { conversations::summary(tx, &user, &conv).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("conversation"))
}

/// User ids from a request list, each checked and known to pawpost; errors name `field[i]`.
async fn known_users(state: &AppState, raw: &[String], field: &str) -> ApiResult<Vec<UserId>> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let name = format!("{field}[{i}]");
        let user = extract::user_id(r, &name)?;
        if !support::is_known_user(state, &user).await? {
            return Err(ApiError::invalid(
                name.clone(),
                format!("{name}: unknown user `{user}`"),
            ));
        }
        out.push(user);
    }
    Ok(out)
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------------------------
// POST / — create
// ---------------------------------------------------------------------------------------------

/// Which kind of conversation a user may create (booking and system ones come from services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CreateKind {
    Direct,
    Group,
}

/// `POST /api/v1/messaging/conversations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConversation {
    /// `direct` or `group` (required).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: Option<CreateKind>,
    /// The other users (the caller may be listed too; they are always a member). Direct:
    /// exactly one other user.
    #[serde(default)]
    participants: Vec<String>,
    /// Group title, 1–200 characters (required for groups; ignored for direct ones).
    title: Option<String>,
    /// Group description, 1–500 characters.
    description: Option<String>,
    /// Group image, an `http(s)://` URL.
    image_url: Option<String>,
    /// A first text message from the caller.
    initial_message: Option<String>,
}

/// The answer to a creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConversation {
    /// The conversation's id (for a direct one, derived from the pair of users).
    pub conversation_id: String,
    /// The conversation as the caller sees it.
    pub conversation: ConversationDetail,
}

/// What a validated creation request will do.
struct Plan {
    id: ConversationId,
    command: ConversationCommand,
    /// In a direct conversation, the other user.
    other: Option<UserId>,
    initial: Option<MessageBody>,
}

/// Optional text `raw` parsed by `parse` (which names its field).
fn optional<T>(
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, pawpost_domain::ValidationError>,
) -> ApiResult<Option<T>> {
    raw.map(parse)
        .transpose()
        .map_err(|e| DomainError::Invalid(e).into())
}

/// Checks a creation request and builds its command.
async fn plan(state: &AppState, caller: &Caller, req: &CreateConversation) -> ApiResult<Plan> {
    let kind = req
        .kind
        .ok_or_else(|| ApiError::invalid("type", "type is required: `direct` or `group`"))?;
    let initial = optional(req.initial_message.as_deref(), MessageBody::parse)
        .map_err(|e| e.with_field("initialMessage"))?;
    let listed = known_users(state, &req.participants, "participants").await?;
    let mut others: Vec<UserId> = Vec::new();
    for user in listed {
        if user != caller.id && !others.contains(&user) {
            others.push(user);
        }
    }
    let at = Utc::now();
    match kind {
        CreateKind::Direct => {
            let [other] = <[UserId; 1]>::try_from(others).map_err(|_| {
                ApiError::invalid(
                    "participants",
                    "a direct conversation needs exactly one other participant",
                )
            })?;
            let id = ConversationId::direct(&caller.id, &other);
            Ok(Plan {
                id,
                command: ConversationCommand::CreateDirect {
                    id,
                    actor: caller.id.clone(),
                    other: other.clone(),
                    at,
                },
                other: Some(other),
                initial,
            })
        }
        CreateKind::Group => {
            let title = ConversationTitle::parse(req.title.as_deref().unwrap_or(""))
                .map_err(DomainError::Invalid)?;
            let description = optional(req.description.as_deref(), Description::parse)?;
            let image_url = optional(req.image_url.as_deref(), ImageUrl::parse)?;
            let id = ConversationId::from_uuid(Uuid::now_v7());
            Ok(Plan {
                id,
                command: ConversationCommand::CreateGroup {
                    id,
                    actor: caller.id.clone(),
                    title,
                    description,
                    image_url,
                    members: others,
                    at,
                },
                other: None,
                initial,
            })
        }
    }
}

/// Whether `blocker` blocks `blocked`.
async fn blocks(state: &AppState, blocker: &UserId, blocked: &UserId) -> ApiResult<bool> {
    let (a, b) = (blocker.to_string(), blocked.to_string());
    query(state, move |tx| {
        Box::pin(async move { users::is_blocked(tx, &a, &b).await })
    })
    .await
}

/// Creates a direct or group conversation, optionally with a first message.
///
/// A direct conversation's id is derived from the pair, so opening it again returns the same
/// conversation with 200 (201 only when it was created now; a caller who had left comes back).
/// The request is checked in full before anything is stored: with an `initialMessage` to a user
/// who blocks the caller, nothing is created (403 `blocked`).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations",
    tag = "conversations",
    request_body = CreateConversation,
    responses(
        (status = 201, description = "Created", body = CreatedConversation),
        (status = 200, description = "The existing direct conversation of this pair", body = CreatedConversation),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The other user blocks the caller (with an initial message)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<CreateConversation>,
) -> ApiResult<Response> {
    let plan = plan(&state, &caller, &req).await?;
    let blocked_by_other = match (&plan.other, &plan.initial) {
        (Some(other), Some(_)) => blocks(&state, other, &caller.id).await?,
        _ => false,
    };
    if blocked_by_other {
        return Err(DomainError::Blocked.into());
    }
    let outcome =
        support::conversation_command(&state, &caller, plan.id, fresh_command_id(), plan.command)
            .await?;
    let created = outcome
        .events
        .iter()
        .any(|e| matches!(e.event, ConversationEvent::ConversationCreated { .. }));
    let mut position = outcome.position;
    if let Some(body) = plan.initial {
        let send = ConversationCommand::SendMessage {
            message_id: MessageId::from_uuid(Uuid::now_v7()),
            actor: caller.id.clone(),
            kind: MessageKind::Text,
            body: Some(body),
            attachments: Vec::new(),
            location: None,
            reply_to: None,
            forward: None,
            mentions: Vec::new(),
            temp_id: None,
            blocked_by_other,
            at: Utc::now(),
        };
        let sent =
            support::conversation_command(&state, &caller, plan.id, fresh_command_id(), send)
                .await?;
        position = sent.position.or(position);
    }
    if let Some(accepted) = lagging(&state, position).await {
        return Ok(accepted);
    }
    let conversation = detail_of(&state, &caller, plan.id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = CreatedConversation {
        conversation_id: plan.id.to_string(),
        conversation,
    };
    Ok((status, Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// /{conversationId} — detail, update, leave
// ---------------------------------------------------------------------------------------------

/// `GET /{conversationId}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    /// Details and the caller's view of the list row (participants included).
    pub conversation: ConversationDetail,
    /// The members, current first, then former ones.
    pub participants: Vec<ParticipantView>,
    /// The caller's mute, archive and pin state.
    pub settings: ConversationSettings,
}

/// One conversation: details, participants and the caller's settings.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 400, description = "conversationId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let id = path_id(&raw)?;
    let conversation = detail_of(&state, &caller, id).await?;
    Ok(Json(ConversationView {
        participants: conversation.participants.clone(),
        settings: ConversationSettings::from(&conversation.summary),
        conversation,
    }))
}

/// `PUT /{conversationId}`: absent fields stay as they are; `description` or `imageUrl` `null`
/// (or blank) clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConversation {
    /// New title, 1–200 characters.
    title: Option<String>,
    /// New description, 1–500 characters; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    description: Option<Option<String>>,
    /// New image URL; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    image_url: Option<Option<String>>,
}

/// A field of an update: absent keeps, `null` or blank clears, otherwise parsed.
fn change<T>(
    raw: &Option<Option<String>>,
    parse: fn(&str) -> Result<T, pawpost_domain::ValidationError>,
) -> ApiResult<Option<Option<T>>> {
    match raw {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Some(s)) => parse(s)
            .map(|v| Some(Some(v)))
            .map_err(|e| DomainError::Invalid(e).into()),
    }
}

/// Changes a group's title, description or image (admins and the owner; never a direct
/// conversation: 403). Answers with the updated conversation.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/conversations/{conversationId}",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = UpdateConversation,
    responses(
        (status = 200, description = "The updated conversation", body = ConversationEnvelope),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not change the details", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<UpdateConversation>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let title = optional(req.title.as_deref(), ConversationTitle::parse)?;
    let command = ConversationCommand::UpdateDetails {
        actor: caller.id.clone(),
        title,
        description: change(&req.description, Description::parse)?,
        image_url: change(&req.image_url, ImageUrl::parse)?,
        at: Utc::now(),
    };
    let outcome =
        support::conversation_command(&state, &caller, id, fresh_command_id(), command).await?;
    if let Some(accepted) = lagging(&state, outcome.position).await {
        return Ok(accepted);
    }
    let conversation = detail_of(&state, &caller, id).await?;
    Ok(Json(ConversationEnvelope { conversation }).into_response())
}

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
async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let command = ConversationCommand::Leave {
        actor: caller.id.clone(),
        at: Utc::now(),
    };
    let outcome =
        support::conversation_command(&state, &caller, id, fresh_command_id(), command).await?;
    if let Some(accepted) = lagging(&state, outcome.position).await {
        return Ok(accepted);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// /{conversationId}/participants
// ---------------------------------------------------------------------------------------------

/// The participants as the caller sees them (404 if they do not take part).
async fn participants_of(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
) -> ApiResult<Vec<ParticipantView>> {
    let (user, conv) = (caller.id.to_string(), conversation.to_string());
    query(state, move |tx| {
        Box::pin(async move { conversations::participants(tx, &user, &conv).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("conversation"))
}

/// The members of a conversation with roles and read/delivered markers.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    responses(
        (status = 200, description = "The participants", body = ParticipantList),
        (status = 400, description = "conversationId is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<ParticipantList>> {
    let id = path_id(&raw)?;
    let participants = participants_of(&state, &caller, id).await?;
    Ok(Json(ParticipantList { participants }))
}

/// `POST /{conversationId}/participants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddParticipants {
    /// Users to add (current members are skipped); at least one.
    #[serde(default)]
    user_ids: Vec<String>,
}

/// Adds members to a group (admins and the owner; never to a direct conversation: 403).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = AddParticipants,
    responses(
        (status = 200, description = "The participants after the change", body = ParticipantList),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not add members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An id is invalid or unknown (`userIds[i]`), or the list is empty", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<AddParticipants>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let users = known_users(&state, &req.user_ids, "userIds").await?;
    let command = ConversationCommand::AddParticipants {
        actor: caller.id.clone(),
        users,
        at: Utc::now(),
    };
    let outcome =
        support::conversation_command(&state, &caller, id, fresh_command_id(), command).await?;
    if let Some(accepted) = lagging(&state, outcome.position).await {
        return Ok(accepted);
    }
    let participants = participants_of(&state, &caller, id).await?;
    Ok(Json(ParticipantList { participants }).into_response())
}

/// `DELETE /{conversationId}/participants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoveParticipant {
    /// The member to remove (the caller themself: leaving).
    user_id: Option<String>,
}

/// Removes a member (admins remove members, only the owner removes admins, nobody removes the
/// owner: 403 otherwise; someone who is not a member: 404).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/participants",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = RemoveParticipant,
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "conversationId is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not remove this member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "userId is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove_participant(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<RemoveParticipant>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let raw_user = req
        .user_id
        .ok_or_else(|| ApiError::invalid("userId", "userId is required"))?;
    let user = extract::user_id(&raw_user, "userId")?;
    let command = ConversationCommand::RemoveParticipant {
        actor: caller.id.clone(),
        user,
        at: Utc::now(),
    };
    let outcome =
        support::conversation_command(&state, &caller, id, fresh_command_id(), command).await?;
    if let Some(accepted) = lagging(&state, outcome.position).await {
        return Ok(accepted);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// The caller's own settings: mute, archive, pin
// ---------------------------------------------------------------------------------------------

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

/// Runs a user command on the caller's own stream about a conversation they take part in, and
/// answers with their settings once visible.
async fn apply_setting(
    state: &AppState,
    caller: &Caller,
    id: ConversationId,
    command: UserCommand,
) -> ApiResult<Response> {
    let outcome =
        support::user_command(state, caller, &caller.id, fresh_command_id(), command).await?;
    if let Some(accepted) = lagging(state, outcome.position).await {
        return Ok(accepted);
    }
    let summary = summary_of(state, caller, id).await?;
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
async fn mute(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MuteRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let (actor, at) = (caller.id.clone(), Utc::now());
    let command = if required(req.muted, "muted")? {
        UserCommand::Mute {
            actor,
            conversation_id: id,
            until: req.until,
            level: req.level.unwrap_or(MuteLevel::None).into(),
            is_participant: true,
            at,
        }
    } else {
        UserCommand::Unmute {
            actor,
            conversation_id: id,
            at,
        }
    };
    apply_setting(&state, &caller, id, command).await
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
async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<ArchiveRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let (actor, at) = (caller.id.clone(), Utc::now());
    let command = if required(req.archived, "archived")? {
        UserCommand::Archive {
            actor,
            conversation_id: id,
            is_participant: true,
            at,
        }
    } else {
        UserCommand::Unarchive {
            actor,
            conversation_id: id,
            at,
        }
    };
    apply_setting(&state, &caller, id, command).await
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
async fn pin(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<PinRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let (actor, at) = (caller.id.clone(), Utc::now());
    let command = if required(req.pinned, "pinned")? {
        UserCommand::Pin {
            actor,
            conversation_id: id,
            is_participant: true,
            at,
        }
    } else {
        UserCommand::Unpin {
            actor,
            conversation_id: id,
            at,
        }
    };
    apply_setting(&state, &caller, id, command).await
}

// ---------------------------------------------------------------------------------------------
// Read and delivered markers
// ---------------------------------------------------------------------------------------------

/// `POST /{conversationId}/read` and `/delivered`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkerRequest {
    /// The newest message read (or delivered): everything up to it counts (required).
    message_id: Option<String>,
}

/// The caller's unread counts after moving the read marker.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadState {
    /// Unread messages left in this conversation.
    pub unread_count: u64,
    /// Unread messages over all the caller's conversations.
    pub unread_total: u64,
    /// The caller's read marker (a marker never moves back: reading an older message keeps it).
    pub last_read_seq: u64,
}

/// The marker's message: a message of this conversation the caller can see (404 otherwise).
async fn marker_message(
    state: &AppState,
    caller: &Caller,
    id: ConversationId,
    req: &MarkerRequest,
) -> ApiResult<MessageId> {
    let raw = req
        .message_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid("messageId", "messageId is required"))?;
    let message = extract::message_id(raw, "messageId")?;
    let (user, msg) = (caller.id.to_string(), message.to_string());
    let found = query(state, move |tx| {
        Box::pin(async move { messages::get(tx, &user, &msg, false).await })
    })
    .await?;
    match found {
        Some(m) if m.conversation_id == id.to_string() => Ok(message),
        _ => Err(ApiError::not_found("message")),
    }
}

/// Moves the caller's read marker up to a message; answers with the unread counts.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/read",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = MarkerRequest,
    responses(
        (status = 200, description = "The caller's unread counts", body = ReadState),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "An id is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "messageId is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MarkerRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let message_id = marker_message(&state, &caller, id, &req).await?;
    let position = state.app.mark(&caller, id, message_id, true).await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Conversations, position).await {
        return Ok(consistency::accepted(p));
    }
    let (user, conv) = (caller.id.to_string(), id.to_string());
    let counts = query(&state, move |tx| {
        Box::pin(async move {
            let summary = conversations::summary(tx, &user, &conv).await?;
            let total = conversations::unread_total(tx, &user).await?;
            let marker = conversations::participants(tx, &user, &conv)
                .await?
                .unwrap_or_default()
                .into_iter()
                .find(|p| p.user_id == user)
                .map_or(0, |p| p.last_read_seq);
            Ok(summary.map(|s| ReadState {
                unread_count: s.unread_count,
                unread_total: total,
                last_read_seq: marker,
            }))
        })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("conversation"))?;
    Ok(Json(counts).into_response())
}

/// Moves the caller's delivered marker up to a message (their client received it). Answers 204:
/// delivery changes no count the caller sees.
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/delivered",
    tag = "conversations",
    params(("conversationId" = String, Path, description = "The conversation (a UUID)")),
    request_body = MarkerRequest,
    responses(
        (status = 204, description = "Marked"),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "An id is not a UUID, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message, or the caller does not take part", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "messageId is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delivered(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(req): Body<MarkerRequest>,
) -> ApiResult<Response> {
    let id = path_id(&raw)?;
    require_participant(&state, &caller, id).await?;
    let message_id = marker_message(&state, &caller, id, &req).await?;
    let position = state.app.mark(&caller, id, message_id, false).await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Conversations, position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
