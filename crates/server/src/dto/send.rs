//! The message a client sends (REST `POST …/messages` body, the hub's `SendMessage` argument):
//! its wire shape, and its parsing into the application's [`NewMessage`] (errors name the field
//! as the request spells it).

use pawpost_app::messages::NewMessage;
use pawpost_domain::values::{AttachmentKind, AttachmentRef, Location, MessageKind};
use pawpost_domain::TempId;
use pawpost_projections::queries::messages::MessageView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{message_id, user_id};
use super::{body_of, invalid_as};
use pawpost_app::{AppError, AppResult};

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
    fn to_ref(&self, i: usize) -> AppResult<AttachmentRef> {
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

impl From<pawpost_app::messages::Sent> for SentMessage {
    fn from(sent: pawpost_app::messages::Sent) -> Self {
        SentMessage {
            message: sent.message,
            temp_id: sent.temp_id,
        }
    }
}

/// Validates a send request; errors name the field as the request spells it.
pub fn parse(r: &SendRequest) -> AppResult<NewMessage> {
    let kind: MessageKind = r.kind.unwrap_or_default().into();
    // A caption may be left empty for non-text messages; text needs a body.
    let body = match r.content.as_deref() {
        Some(c) if kind != MessageKind::Text && c.trim().is_empty() => None,
        Some(c) => Some(body_of(c)?),
        None if kind == MessageKind::Text => {
            return Err(AppError::invalid(
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
        .collect::<AppResult<Vec<_>>>()?;
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
        .collect::<AppResult<Vec<_>>>()?;
    let temp_id = r
        .temp_id
        .as_deref()
        .map(TempId::parse)
        .transpose()
        .map_err(|e| invalid_as(e, "tempId"))?;
    Ok(NewMessage {
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
