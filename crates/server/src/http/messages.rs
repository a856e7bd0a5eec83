//! `/api/v1/messaging/conversations/{id}/messages` and `/api/v1/messaging/search`: messages,
//! their edits, deletions, reactions, receipts and history; full-text search.
//!
//! Every route first makes sure the caller is a current participant of the conversation in the
//! path (404 otherwise: a conversation the caller cannot see is not disclosed), and that the
//! message in the path belongs to that conversation (404 otherwise).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use pawpost_commands::{CommandError, Outcome};
use pawpost_domain::conversation::MessageLookup;
use pawpost_domain::values::{
    AttachmentKind, AttachmentRef, ConversationKind, Location, MessageBody, MessageKind, Reaction,
};
use pawpost_domain::{
    ConversationCommand, ConversationEvent, ConversationId, ConversationState, DomainError,
    MessageId, TempId, UserCommand, UserId, ValidationError,
};
use pawpost_projections::queries::messages::{
    self, MessagePage, MessageQuery, MessageVersion, MessageView, ReactionGroup, Receipt,
};
use pawpost_projections::queries::messages_extra;
use pawpost_projections::queries::search::{self, SearchQuery, SearchResults};
use pawpost_projections::queries::sent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::consistency::{self, settle, Accepted, Settled};
use super::extract::{conversation_id, message_id, user_id, Body, Caller, Params};
use super::problem::{ApiError, ApiResult, Problem};
use super::support::{self, derived_command_id, fresh_command_id, query};
use crate::auth::Role;
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, send))
        .routes(routes!(detail, edit, delete))
        .routes(routes!(react, unreact))
        .routes(routes!(history))
        .routes(routes!(search_messages))
}

/// Default page of the message list.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page of the message list and of search results.
pub const MAX_LIMIT: u32 = 100;
/// Default page of search results.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The conversation and message ids of a path (400 `invalid_id` naming the one at fault).
fn path_ids(conversation: &str, message: &str) -> ApiResult<(ConversationId, MessageId)> {
    Ok((
        conversation_id(conversation)?,
        message_id(message, "messageId")?,
    ))
}

/// A 422 for a domain validation error, renaming the field as the request spells it.
fn invalid_as(e: ValidationError, field: impl Into<String>) -> ApiError {
    let field = field.into();
    ApiError::invalid(field.clone(), format!("{field} {}", e.rule))
}

/// A message body from `content` (422 naming `content` when missing, blank or too long).
fn body_of(content: &str) -> ApiResult<MessageBody> {
    MessageBody::parse(content).map_err(|e| invalid_as(e, "content"))
}

/// The message `message` as `caller` sees it, if it is one of `conversation`'s (404 otherwise).
async fn visible_message(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    message: MessageId,
    show_deleted: bool,
) -> ApiResult<MessageView> {
    let (user, id) = (caller.id.to_string(), message.to_string());
    let found = query(state, move |tx| {
        Box::pin(async move { messages::get(tx, &user, &id, show_deleted).await })
    })
    .await?;
    found
        .filter(|m| m.conversation_id == conversation.to_string())
        .ok_or_else(|| ApiError::not_found("message"))
}

/// Whether `caller` may see the content of deleted-for-everyone messages: marketplace staff
/// (the `admin` token role) moderating.
fn moderates(caller: &Caller) -> bool {
    caller.role == Role::Admin
}

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
async fn list(
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

// ---------------------------------------------------------------------------------------------
// POST /messages
// ---------------------------------------------------------------------------------------------

/// What a message carries.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    #[default]
    Text,
    Image,
    File,
    Audio,
    Location,
}

impl From<MessageType> for MessageKind {
    fn from(t: MessageType) -> Self {
        match t {
            MessageType::Text => MessageKind::Text,
            MessageType::Image => MessageKind::Image,
            MessageType::File => MessageKind::File,
            MessageType::Audio => MessageKind::Audio,
            MessageType::Location => MessageKind::Location,
        }
    }
}

/// What an attachment is.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentType {
    Image,
    Document,
    Audio,
    Video,
}

/// A file already uploaded to media storage, attached to a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInput {
    /// The media service's id of the upload.
    attachment_id: String,
    /// What it is; when absent, derived from the MIME type (`image/*`, `audio/*`, `video/*`,
    /// else `document`).
    kind: Option<AttachmentType>,
    /// The original file name.
    name: String,
    /// Where clients fetch it.
    url: String,
    /// Size in bytes.
    size: u64,
    /// The MIME type (`image/jpeg`).
    mime_type: String,
}

impl AttachmentInput {
    /// The validated reference; errors name `attachments[i].<field>`.
    fn to_ref(&self, i: usize) -> ApiResult<AttachmentRef> {
        let kind = match self.kind {
            Some(AttachmentType::Image) => AttachmentKind::Image,
            Some(AttachmentType::Document) => AttachmentKind::Document,
            Some(AttachmentType::Audio) => AttachmentKind::Audio,
            Some(AttachmentType::Video) => AttachmentKind::Video,
            None => kind_from_mime(&self.mime_type),
        };
        AttachmentRef::parse(
            &self.attachment_id,
            kind,
            &self.name,
            &self.url,
            self.size,
            &self.mime_type,
        )
        .map_err(|e| {
            let field = e
                .field
                .strip_prefix("attachments.")
                .map(|rest| format!("attachments[{i}].{rest}"))
                .unwrap_or_else(|| format!("attachments[{i}]"));
            invalid_as(e, field)
        })
    }
}

/// The attachment kind a MIME type suggests.
fn kind_from_mime(mime: &str) -> AttachmentKind {
    let top = mime.trim().split('/').next().unwrap_or("");
    match top.to_ascii_lowercase().as_str() {
        "image" => AttachmentKind::Image,
        "audio" => AttachmentKind::Audio,
        "video" => AttachmentKind::Video,
        _ => AttachmentKind::Document,
    }
}

/// A shared location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationInput {
    /// Degrees north, −90–90.
    latitude: f64,
    /// Degrees east, −180–180.
    longitude: f64,
    /// What the place is called.
    label: Option<String>,
}

/// The message a forwarded message comes from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForwardInput {
    /// The original message; the caller must be able to read it now.
    message_id: String,
}

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    /// The text (required for `text`, an optional caption otherwise); at most 10,000
    /// characters.
    content: Option<String>,
    /// `text` (default), `image`, `file`, `audio`, `location`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: Option<MessageType>,
    /// Uploaded files (at least one for `image`, `file`, `audio`; at most 10).
    attachments: Option<Vec<AttachmentInput>>,
    /// Required for `location`.
    location: Option<LocationInput>,
    /// A message of this conversation this one answers.
    reply_to_message_id: Option<String>,
    /// Where a forwarded message comes from. The client sends the forwarded content itself
    /// (as Sendbird and Stream clients do); the server records and checks the origin.
    forwarded_from: Option<ForwardInput>,
    /// Current participants mentioned (user ids).
    mentions: Option<Vec<String>>,
    /// The client's correlation id: a retry with the same `tempId` and the same content
    /// returns the original message instead of sending it twice.
    temp_id: Option<String>,
}

/// A sent message, and the client's correlation id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub message: MessageView,
    pub temp_id: Option<String>,
}

/// The checked parts of a send request.
struct Checked {
    kind: MessageKind,
    body: Option<MessageBody>,
    attachments: Vec<AttachmentRef>,
    location: Option<Location>,
    reply_to: Option<MessageId>,
    forward: Option<MessageId>,
    mentions: Vec<UserId>,
    temp_id: Option<TempId>,
}

/// Validates a send request; errors name the field as the request spells it.
fn check_send(r: &SendRequest) -> ApiResult<Checked> {
    let kind: MessageKind = r.kind.unwrap_or_default().into();
    // A caption may be left empty for non-text messages; text needs a body.
    let body = match r.content.as_deref() {
        Some(c) if kind != MessageKind::Text && c.trim().is_empty() => None,
        Some(c) => Some(body_of(c)?),
        None if kind == MessageKind::Text => {
            return Err(ApiError::invalid(
                "content",
                "content is required for text messages",
            ))
        }
        None => None,
    };
    let attachments = r
        .attachments
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, a)| a.to_ref(i))
        .collect::<ApiResult<Vec<_>>>()?;
    let location = r
        .location
        .as_ref()
        .map(|l| Location::parse(l.latitude, l.longitude, l.label.as_deref()))
        .transpose()
        .map_err(|e| {
            let field = e.field.clone();
            invalid_as(e, field)
        })?;
    let reply_to = r
        .reply_to_message_id
        .as_deref()
        .map(|m| message_id(m, "replyToMessageId"))
        .transpose()?;
    let forward = r
        .forwarded_from
        .as_ref()
        .map(|f| message_id(&f.message_id, "forwardedFrom.messageId"))
        .transpose()?;
    let mentions = r
        .mentions
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| user_id(m, &format!("mentions[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    let temp_id = r
        .temp_id
        .as_deref()
        .map(TempId::parse)
        .transpose()
        .map_err(|e| invalid_as(e, "tempId"))?;
    Ok(Checked {
        kind,
        body,
        attachments,
        location,
        reply_to,
        forward,
        mentions,
        temp_id,
    })
}

/// The other participant of a direct conversation (`None` for other kinds).
fn direct_other(conversation: &ConversationState, caller: &Caller) -> Option<UserId> {
    if conversation.kind() != Some(ConversationKind::Direct) {
        return None;
    }
    conversation
        .participants()
        .find(|p| p.user_id != caller.id)
        .map(|p| p.user_id.clone())
}

/// Whether `other` blocks `caller`: from the other user's own stream (cached, caught up with
/// the log), so a block takes effect on the next send whatever the read models' lag.
async fn blocked_by(state: &AppState, caller: &Caller, other: Option<UserId>) -> ApiResult<bool> {
    let Some(other) = other else {
        return Ok(false);
    };
    Ok(state
        .users
        .peek(&other.stream(), |u| u.is_blocked(&caller.id))
        .await?)
}

/// The origin of a forwarded message as the domain needs it: 404 when the caller cannot
/// read it (one cannot forward what one cannot read, nor learn that it exists).
async fn forward_fact(
    state: &AppState,
    caller: &Caller,
    original: MessageId,
) -> ApiResult<pawpost_domain::conversation::ForwardFact> {
    let (user, id) = (caller.id.to_string(), original.to_string());
    let found = query(state, move |tx| {
        Box::pin(async move { messages::get(tx, &user, &id, false).await })
    })
    .await?;
    let m = found
        .filter(|m| !m.is_deleted)
        .ok_or_else(|| ApiError::not_found("forwarded message").with_field("forwardedFrom"))?;
    let conversation = conversation_id(&m.conversation_id)?;
    Ok(pawpost_domain::conversation::ForwardFact {
        message_id: original,
        conversation_id: conversation,
        readable_by_actor: true,
    })
}

/// 409 `duplicate_temp_id`: the tempId was used for another message.
fn temp_id_reused(message: MessageId) -> ApiError {
    ApiError::conflict(
        "duplicate_temp_id",
        format!("this tempId was already used for message {message} with other content"),
    )
    .with_field("tempId")
}

/// What a send did: the `MessageSent` it stored (or, for a retry with the same tempId, the
/// one stored first), its seq, and where it is in the log.
struct Sent {
    event: ConversationEvent,
    seq: u64,
    position: Option<pawpost_store::Position>,
    retried: bool,
}

/// Recognises a retry in a replayed outcome: the original message if its kind and content
/// are the request's, else 409 `duplicate_temp_id`.
fn replayed_send(outcome: &Outcome<ConversationState>, c: &Checked) -> ApiResult<Sent> {
    let sent = outcome.events.iter().find_map(|e| match &e.event {
        ConversationEvent::MessageSent {
            message_id,
            kind,
            content,
            ..
        } => Some((
            e,
            *message_id,
            *kind,
            content.as_clear().map(str::to_string),
        )),
        _ => None,
    });
    let Some((recorded, id, kind, content)) = sent else {
        return Err(ApiError::internal("a replayed send holds no MessageSent"));
    };
    let asked = c.body.as_ref().map_or("", MessageBody::as_str);
    if kind == c.kind && content.as_deref() == Some(asked) {
        Ok(Sent {
            event: recorded.event.clone(),
            seq: recorded.version,
            position: outcome.position,
            retried: true,
        })
    } else {
        Err(temp_id_reused(id))
    }
}

/// Runs `SendMessage` once with the reply target's facts `reply_to`; a send with a
/// tempId runs under a command id derived from it, so a retry returns the original.
async fn send_once(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    c: &Checked,
    prepared: &Prepared,
    reply_to: Option<MessageLookup>,
) -> Result<Outcome<ConversationState>, CommandError> {
    let command = ConversationCommand::SendMessage {
        message_id: MessageId::from_uuid(uuid::Uuid::now_v7()),
        actor: caller.id.clone(),
        kind: c.kind,
        body: c.body.clone(),
        attachments: c.attachments.clone(),
        location: c.location.clone(),
        reply_to,
        forward: prepared.forward.clone(),
        mentions: c.mentions.clone(),
        temp_id: c.temp_id.clone(),
        blocked_by_other: prepared.blocked,
        at: Utc::now(),
    };
    let stream = conversation.stream();
    let meta = support::meta(caller);
    match &c.temp_id {
        Some(t) => {
            let id = derived_command_id(&[
                "send",
                caller.id.as_str(),
                &conversation.to_string(),
                t.as_str(),
            ]);
            state
                .conversations
                .execute(&stream, id, &command, &meta)
                .await
        }
        None => {
            state
                .conversations
                .execute_new(&stream, &command, &meta)
                .await
        }
    }
}

/// What a send looked up before deciding.
struct Prepared {
    blocked: bool,
    forward: Option<pawpost_domain::conversation::ForwardFact>,
}

/// Runs `SendMessage`, recognising retries with the same tempId, looking the reply target up
/// again (bounded) when its facts were older than the conversation's last message change.
async fn run_send(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    c: &Checked,
    prepared: &Prepared,
) -> ApiResult<Sent> {
    for _ in 0..4 {
        let reply_to = match c.reply_to {
            Some(target) => Some(support::look_up(state, caller, conversation, target).await?),
            None => None,
        };
        match send_once(state, caller, conversation, c, prepared, reply_to).await {
            Ok(outcome) if outcome.replayed => return replayed_send(&outcome, c),
            Ok(outcome) => {
                let Some(recorded) = outcome.events.into_iter().next() else {
                    return Err(ApiError::internal("a send stored no event"));
                };
                return Ok(Sent {
                    event: recorded.event,
                    seq: recorded.version,
                    position: outcome.position,
                    retried: false,
                });
            }
            Err(CommandError::Domain(DomainError::StaleFacts)) => {
                let head = *state.store.appended().borrow();
                state
                    .projections
                    .wait_for_one("messages", head, state.settings.read_your_writes)
                    .await;
            }
            Err(CommandError::Domain(
                DomainError::NotParticipant | DomainError::NotFound("conversation"),
            )) => return Err(ApiError::not_found("conversation")),
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::StaleFacts.into())
}

/// Sends a message. With a `tempId`, the send is idempotent: a retry with the same tempId and
/// content answers 200 with the original message (nothing is sent twice); the same tempId
/// with other content is 409 `duplicate_temp_id`. In a direct conversation, a user the other
/// participant blocks cannot send (403 `blocked`).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/messages",
    tag = "messages",
    params(("conversationId" = String, Path, description = "The conversation")),
    request_body = SendRequest,
    responses(
        (status = 201, description = "Sent", body = SentMessage),
        (status = 200, description = "A retry with a known tempId: the original message", body = SentMessage),
        (status = 202, description = "Sent; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Blocked by the other participant, or not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation for the caller, or the reply target or forwarded message is not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "tempId reused with other content, or the reply target was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named in `field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(conversation): Path<String>,
    Body(request): Body<SendRequest>,
) -> ApiResult<Response> {
    let conversation = conversation_id(&conversation)?;
    Ok(
        match send_message(&state, &caller, conversation, request, Answer::Visible).await? {
            SendResult::Visible(status, body) => (status, Json(body)).into_response(),
            SendResult::Lagging(p) => consistency::accepted(p),
        },
    )
}

/// What a send did: the message (201 new, 200 a tempId retry), or the position the read
/// models have not reached yet.
#[derive(Debug)]
pub enum SendResult {
    Visible(StatusCode, Box<SentMessage>),
    Lagging(pawpost_store::Position),
}

/// When a send answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Once the read models show the message (REST: the caller's next query sees it); the
    /// message as they show it.
    Visible,
    /// As soon as the event is durable (the hub): the message rendered from the event itself.
    Durable,
}

/// Sends a message as `caller` (REST `POST …/messages` and the hub's `SendMessage`): the
/// participation check, validation, blocks, tempId idempotency, and the answer `answer` asks.
pub async fn send_message(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    request: SendRequest,
    answer: Answer,
) -> ApiResult<SendResult> {
    let (state, caller) = (state.clone(), caller.clone());
    // From the conversation itself (cached, caught up with the log), not the read models: one
    // round trip fewer on the busiest path, and never behind the log.
    let (participant, other) = state
        .conversations
        .peek(&conversation.stream(), |s| {
            (s.is_participant(&caller.id), direct_other(s, &caller))
        })
        .await?;
    if !participant {
        return Err(ApiError::not_found("conversation"));
    }
    let c = check_send(&request)?;
    let prepared = Prepared {
        blocked: blocked_by(&state, &caller, other).await?,
        forward: match c.forward {
            Some(original) => Some(forward_fact(&state, &caller, original).await?),
            None => None,
        },
    };
    let sent = run_send(&state, &caller, conversation, &c, &prepared).await?;
    let status = if sent.retried {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let message = match answer {
        Answer::Durable => {
            let reply = match c.reply_to {
                Some(target) => {
                    let conv = conversation.to_string();
                    query(&state, move |tx| {
                        Box::pin(async move { sent::reply_preview(tx, &conv, target).await })
                    })
                    .await?
                }
                None => None,
            };
            sent::view(conversation, sent.seq, &sent.event, reply)
                .ok_or_else(|| ApiError::internal("a send stored no MessageSent"))?
        }
        Answer::Visible => {
            if let Settled::Lagging(p) = settle(&state, sent.position).await {
                return Ok(SendResult::Lagging(p));
            }
            let id = match &sent.event {
                ConversationEvent::MessageSent { message_id, .. } => *message_id,
                _ => return Err(ApiError::internal("a send stored no MessageSent")),
            };
            visible_message(&state, &caller, conversation, id, false).await?
        }
    };
    let body = SentMessage {
        message,
        temp_id: c.temp_id.map(String::from),
    };
    Ok(SendResult::Visible(status, Box::new(body)))
}

// ---------------------------------------------------------------------------------------------
// GET /messages/{messageId}
// ---------------------------------------------------------------------------------------------

/// A message with its receipts and reactions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDetail {
    pub message: MessageView,
    /// Participants (other than the sender) whose read marker reached the message.
    pub read_by: Vec<Receipt>,
    /// Participants (other than the sender) who received it (read implies received).
    pub delivered_to: Vec<Receipt>,
    /// Reactions grouped by reaction, with the users who reacted.
    pub reactions: Vec<ReactionGroup>,
}

/// One message with who read it, who received it and its reactions.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    responses(
        (status = 200, description = "The message", body = MessageDetail),
        (status = 400, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
) -> ApiResult<Json<MessageDetail>> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let m = visible_message(&state, &caller, conversation, message, moderates(&caller)).await?;
    let (user, id) = (caller.id.to_string(), message.to_string());
    let receipts = query(&state, move |tx| {
        Box::pin(async move { messages::receipts(tx, &user, &id).await })
    })
    .await?
    .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(MessageDetail {
        reactions: m.reactions.clone(),
        message: m,
        read_by: receipts.read_by,
        delivered_to: receipts.delivered_to,
    }))
}

// ---------------------------------------------------------------------------------------------
// PUT /messages/{messageId}
// ---------------------------------------------------------------------------------------------

/// A new text for a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditRequest {
    /// The new text, at most 10,000 characters.
    content: Option<String>,
}

/// A message after a change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedMessage {
    pub message: MessageView,
}

/// The author edits a message's text; earlier versions stay in its history.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = EditRequest,
    responses(
        (status = 200, description = "The edited message", body = UpdatedMessage),
        (status = 202, description = "Edited; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the author edits", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`content` is missing, blank or too long", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<EditRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let content = request
        .content
        .ok_or_else(|| ApiError::invalid("content", "content is required"))?;
    let (body, at) = (body_of(&content)?, Utc::now());
    let outcome = support::message_command(&state, &caller, conversation, message, |message| {
        ConversationCommand::EditMessage {
            actor: caller.id.clone(),
            message,
            body: body.clone(),
            at,
        }
    })
    .await?;
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    let message = visible_message(&state, &caller, conversation, message, false).await?;
    Ok(Json(UpdatedMessage { message }).into_response())
}

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
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Params(p): Params<DeleteParams>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let position = if p.for_everyone.unwrap_or(false) {
        let at = Utc::now();
        support::message_command(&state, &caller, conversation, message, |message| {
            ConversationCommand::DeleteForEveryone {
                actor: caller.id.clone(),
                message,
                at,
            }
        })
        .await?
        .position
    } else {
        visible_message(&state, &caller, conversation, message, false).await?;
        let command = UserCommand::DeleteForMe {
            actor: caller.id.clone(),
            conversation_id: conversation,
            message_ids: vec![message],
            visible_to_actor: true,
            at: Utc::now(),
        };
        support::user_command(&state, &caller, &caller.id, fresh_command_id(), command)
            .await?
            .position
    };
    if let Settled::Lagging(p) = settle(&state, position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// POST / DELETE /messages/{messageId}/react
// ---------------------------------------------------------------------------------------------

/// A reaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionRequest {
    /// An emoji or a short word, 1–50 characters.
    reaction: Option<String>,
}

/// A message's reactions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reactions {
    /// Grouped by reaction, with the users who reacted.
    pub reactions: Vec<ReactionGroup>,
}

/// The validated reaction of a request (422 naming `reaction`).
fn reaction_of(r: ReactionRequest) -> ApiResult<Reaction> {
    let raw = r
        .reaction
        .ok_or_else(|| ApiError::invalid("reaction", "reaction is required"))?;
    Reaction::parse(&raw).map_err(|e| invalid_as(e, "reaction"))
}

/// Adds the caller's reaction (adding it again changes nothing).
#[utoipa::path(
    post,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = ReactionRequest,
    responses(
        (status = 200, description = "The message's reactions now", body = Reactions),
        (status = 202, description = "Added; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reaction` is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn react(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<ReactionRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let (reaction, at) = (reaction_of(request)?, Utc::now());
    let outcome = support::message_command(&state, &caller, conversation, message, |message| {
        ConversationCommand::AddReaction {
            actor: caller.id.clone(),
            message,
            reaction: reaction.clone(),
            at,
        }
    })
    .await?;
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    let m = visible_message(&state, &caller, conversation, message, false).await?;
    Ok(Json(Reactions {
        reactions: m.reactions,
    })
    .into_response())
}

/// Removes the caller's reaction (removing one the caller did not add changes nothing).
#[utoipa::path(
    delete,
    path = "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    tag = "messages",
    params(
        ("conversationId" = String, Path, description = "The conversation"),
        ("messageId" = String, Path, description = "The message"),
    ),
    request_body = ReactionRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 202, description = "Removed; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON or an id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation or message for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reaction` is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn unreact(
    State(state): State<AppState>,
    caller: Caller,
    Path((conversation, message)): Path<(String, String)>,
    Body(request): Body<ReactionRequest>,
) -> ApiResult<Response> {
    let (conversation, message) = path_ids(&conversation, &message)?;
    support::require_participant(&state, &caller, conversation).await?;
    let (reaction, at) = (reaction_of(request)?, Utc::now());
    let outcome = support::message_command(&state, &caller, conversation, message, |message| {
        ConversationCommand::RemoveReaction {
            actor: caller.id.clone(),
            message,
            reaction: reaction.clone(),
            at,
        }
    })
    .await?;
    if let Settled::Lagging(p) = settle(&state, outcome.position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

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
async fn history(
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

// ---------------------------------------------------------------------------------------------
// GET /search
// ---------------------------------------------------------------------------------------------

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The text to find (a part of a word, any script; case-insensitive). Required.
    query: Option<String>,
    /// Only this conversation's messages.
    conversation_id: Option<String>,
    /// Only this sender's messages.
    sender_id: Option<String>,
    /// Only messages sent at or after this time (RFC 3339, or `YYYY-MM-DD` for the start of
    /// that day, UTC).
    start_date: Option<String>,
    /// Only messages sent at or before this time (RFC 3339, or `YYYY-MM-DD` for the end of
    /// that day, UTC).
    end_date: Option<String>,
    /// Results per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Results to skip (default 0).
    offset: Option<u32>,
}

/// A 400 `invalid_query` naming `field`.
fn bad_param(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", detail).with_field(field)
}

/// A date parameter: RFC 3339, or a day (`YYYY-MM-DD`, UTC) whose start (or end, for `end`)
/// it means.
fn parse_date(raw: &str, field: &str, end: bool) -> ApiResult<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
    let time = day.and_then(|d| {
        if end {
            d.and_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            d.and_hms_opt(0, 0, 0)
        }
    });
    time.map(|t| t.and_utc()).ok_or_else(|| {
        bad_param(
            field,
            format!("{field} must be an RFC 3339 time or a YYYY-MM-DD date"),
        )
    })
}

/// The search, validated.
fn search_query(p: SearchParams) -> ApiResult<SearchQuery> {
    let text = p.query.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(bad_param(
            "query",
            "query is required and must not be blank",
        ));
    }
    let limit = p.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_param(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let conversation_id = p
        .conversation_id
        .as_deref()
        .map(|c| {
            conversation_id(c)
                .map(|c| c.to_string())
                .map_err(|_| bad_param("conversationId", "conversationId is not a UUID"))
        })
        .transpose()?;
    let sender_id = p
        .sender_id
        .as_deref()
        .map(|s| {
            UserId::parse(s)
                .map(|u| u.to_string())
                .map_err(|e| bad_param("senderId", format!("senderId {}", e.rule)))
        })
        .transpose()?;
    let start = p
        .start_date
        .as_deref()
        .map(|d| parse_date(d, "startDate", false))
        .transpose()?;
    let end = p
        .end_date
        .as_deref()
        .map(|d| parse_date(d, "endDate", true))
        .transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(bad_param("endDate", "endDate lies before startDate"));
        }
    }
    Ok(SearchQuery {
        text,
        conversation_id,
        sender_id,
        start,
        end,
        limit,
        offset: p.offset.unwrap_or(0),
    })
}

/// Messages the caller can see (current participant, inside their membership, not deleted,
/// not hidden for them) containing `query`, newest first, with the total number of matches.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/search",
    tag = "messages",
    params(SearchParams),
    responses(
        (status = 200, description = "Matching messages", body = SearchResults),
        (status = 400, description = "A parameter is missing or invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn search_messages(
    State(state): State<AppState>,
    caller: Caller,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let q = search_query(p)?;
    let user = caller.id.to_string();
    let results = query(&state, move |tx| {
        Box::pin(async move { search::search(tx, &user, &q).await })
    })
    .await?;
    Ok(Json(results))
}
