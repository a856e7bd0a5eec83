//! A message as [`MessageView`] straight from its `MessageSent` event: what the read model will
//! hold for it once projected, without waiting for the projection (the hub's `SendMessage`
//! completion answers as soon as the event is durable, DESIGN.md §6).

use pawpost_domain::{ConversationEvent, ConversationId, MessageId};

use super::messages::{MessageView, ReplyPreview};
use crate::db::{from_micros, micros, DbError, Tx};
use crate::projectors::enum_str;
use crate::render;

/// The view of `event` (a `MessageSent` with clear content) stored at `seq` of `conversation`;
/// `None` for any other event. `reply_to` is the replied message's preview, if any.
pub fn view(
    conversation: ConversationId,
    seq: u64,
    event: &ConversationEvent,
    reply_to: Option<ReplyPreview>,
) -> Option<MessageView> {
    let ConversationEvent::MessageSent {
        message_id,
        sender_id,
        kind,
        content,
        attachments,
        location,
        reply_to: reply_id,
        forwarded_from,
        mentions,
        temp_id,
        system_type,
        at,
    } = event
    else {
        return None;
    };
    let forwarded = forwarded_from
        .as_ref()
        .and_then(|f| serde_json::to_value(f).ok());
    Some(MessageView {
        id: message_id.to_string(),
        conversation_id: conversation.to_string(),
        seq,
        sender_id: sender_id.to_string(),
        kind: enum_str(kind),
        content: content.as_clear().map(str::to_string),
        is_erased: content.is_erased(),
        attachments: render::attachments(attachments),
        location: location.as_ref().map(render::location),
        parent_message_id: reply_id.map(|r| r.to_string()),
        reply_to,
        is_forwarded: forwarded.is_some(),
        forwarded_from: forwarded,
        mentions: mentions.iter().map(ToString::to_string).collect(),
        reactions: Vec::new(),
        is_edited: false,
        edited_at: None,
        edit_count: 0,
        is_deleted: false,
        deleted_at: None,
        deleted_by: None,
        temp_id: temp_id.as_ref().map(ToString::to_string),
        system_message_type: system_type.clone(),
        status: "sent",
        // The read model keeps microseconds; so does every rendering of a message.
        created_at: from_micros(micros(*at)),
    })
}

/// The preview of message `id` of `conversation` for a reply, as the read model has it
/// (`None` if it has not projected it yet).
pub async fn reply_preview(
    tx: &mut Tx,
    conversation: &str,
    id: MessageId,
) -> Result<Option<ReplyPreview>, DbError> {
    tx.query_opt(
        "SELECT id, sender_id, kind, content, deleted_at, content_erased FROM rm_messages
         WHERE id = $1 AND conversation_id = $2",
        &[id.to_string().into(), conversation.into()],
    )
    .await?
    .map(|p| {
        Ok(ReplyPreview {
            id: p.text(0)?,
            sender_id: p.text(1)?,
            preview: render::preview(
                &p.text(2)?,
                p.opt_text(3)?.as_deref(),
                p.opt_int(4)?.is_some(),
                p.bool(5)?,
            ),
        })
    })
    .transpose()
}
