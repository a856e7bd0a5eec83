//! Messages of a conversation (paged), one message, its edit history and its receipts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::conversations::is_participant;
use super::time;
use crate::db::{Arg, DbError, Row, Tx};
use crate::render::{self, AttachmentView, LocationView};
use crate::visible::visible_to;

/// Paging of a conversation's messages, by `seq`.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    /// Only messages with a smaller seq (older).
    pub before: Option<u64>,
    /// Only messages with a larger seq (newer).
    pub after: Option<u64>,
    pub limit: u32,
    /// Show the content of deleted-for-everyone messages (moderators); tombstones are always
    /// listed, their content hidden otherwise.
    pub include_deleted_content: bool,
}

/// Reactions of one kind on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionGroup {
    pub reaction: String,
    pub count: u64,
    pub user_ids: Vec<String>,
}

/// What a reply shows of the message it answers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPreview {
    pub id: String,
    pub sender_id: String,
    pub preview: String,
}

/// A message as clients see it: the seed's `Messages` row in camelCase, plus `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    pub sender_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `None` for tombstones (unless shown to moderators) and erased content.
    pub content: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub location: Option<LocationView>,
    pub parent_message_id: Option<String>,
    pub reply_to: Option<ReplyPreview>,
    pub is_forwarded: bool,
    pub forwarded_from: Option<serde_json::Value>,
    pub mentions: Vec<String>,
    pub reactions: Vec<ReactionGroup>,
    pub is_edited: bool,
    pub edited_at: Option<DateTime<Utc>>,
    pub edit_count: u64,
    pub is_deleted: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<String>,
    pub is_erased: bool,
    pub temp_id: Option<String>,
    pub system_message_type: Option<String>,
    pub status: &'static str,
    pub created_at: Option<DateTime<Utc>>,
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
    pub oldest_message_id: Option<String>,
    pub newest_message_id: Option<String>,
}

pub(crate) const COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.kind, m.content,
    m.content_erased, m.attachments, m.location, m.reply_to, m.forwarded_from, m.mentions,
    m.temp_id, m.system_type, m.created_at, m.edited_at, m.edit_count, m.deleted_at, m.deleted_by";

fn parse<T: serde::de::DeserializeOwned>(s: Option<String>) -> Result<Option<T>, DbError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| DbError::Decode(e.to_string())))
        .transpose()
}

pub(crate) async fn view(tx: &mut Tx, r: &Row, show_deleted: bool) -> Result<MessageView, DbError> {
    let id = r.text(0)?;
    let deleted_at = r.opt_int(17)?;
    let deleted = deleted_at.is_some();
    let reply_to_id = r.opt_text(9)?;
    let reply_to = match &reply_to_id {
        Some(rid) => tx
            .query_opt(
                "SELECT id, sender_id, kind, content, deleted_at, content_erased FROM rm_messages WHERE id = $1",
                &[rid.clone().into()],
            ).await?
            .map(|p| {
                Ok::<_, DbError>(ReplyPreview {
                    id: p.text(0)?,
                    sender_id: p.text(1)?,
                    preview: render::preview(&p.text(2)?, p.opt_text(3)?.as_deref(), p.opt_int(4)?.is_some(), p.bool(5)?),
                })
            })
            .transpose()?,
        None => None,
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in tx.query(
        "SELECT reaction, user_id FROM rm_reactions WHERE message_id = $1 ORDER BY reaction, at, user_id",
        &[id.clone().into()],
    ).await? {
        groups.entry(row.text(0)?).or_default().push(row.text(1)?);
    }
    let forwarded: Option<serde_json::Value> = parse(r.opt_text(10)?)?;
    let hide = deleted && !show_deleted;
    let edit_count = r.int(16)? as u64;
    Ok(MessageView {
        conversation_id: r.text(1)?,
        seq: r.int(2)? as u64,
        sender_id: r.text(3)?,
        kind: r.text(4)?,
        content: if hide { None } else { r.opt_text(5)? },
        is_erased: r.bool(6)?,
        attachments: if hide {
            Vec::new()
        } else {
            parse(Some(r.text(7)?))?.unwrap_or_default()
        },
        location: if hide { None } else { parse(r.opt_text(8)?)? },
        parent_message_id: reply_to_id,
        reply_to,
        is_forwarded: forwarded.is_some(),
        forwarded_from: forwarded,
        mentions: parse(Some(r.text(11)?))?.unwrap_or_default(),
        reactions: groups
            .into_iter()
            .map(|(reaction, user_ids)| ReactionGroup {
                count: user_ids.len() as u64,
                reaction,
                user_ids,
            })
            .collect(),
        temp_id: r.opt_text(12)?,
        system_message_type: r.opt_text(13)?,
        created_at: time(r.opt_int(14)?),
        edited_at: time(r.opt_int(15)?),
        is_edited: edit_count > 0,
        edit_count,
        is_deleted: deleted,
        deleted_at: time(deleted_at),
        deleted_by: r.opt_text(18)?,
        status: "sent",
        id,
    })
}

/// A page of the conversation's messages visible to `user`, oldest first; `None` if `user`
/// is not a current participant. Without `after`, the newest page (before `before`).
pub async fn list(
    tx: &mut Tx,
    user: &str,
    conversation: &str,
    q: &MessageQuery,
) -> Result<Option<MessagePage>, DbError> {
    if !is_participant(tx, user, conversation).await? {
        return Ok(None);
    }
    let limit = q.limit.clamp(1, 200);
    let mut params: Vec<Arg> = vec![user.into(), conversation.into()];
    let mut cond = String::new();
    if let Some(b) = q.before {
        params.push(b.into());
        cond.push_str(&format!(" AND m.seq < ${}", params.len()));
    }
    if let Some(a) = q.after {
        params.push(a.into());
        cond.push_str(&format!(" AND m.seq > ${}", params.len()));
    }
    params.push(i64::from(limit + 1).into());
    // With `after`, page forward from it; otherwise take the newest (before `before`).
    let order = if q.after.is_some() && q.before.is_none() {
        "ASC"
    } else {
        "DESC"
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM rm_messages m WHERE m.conversation_id = $2 AND {visible} {cond}
         ORDER BY m.seq {order} LIMIT ${}",
        params.len(),
        visible = visible_to("$1")
    );
    let rows = tx.query(&sql, &params).await?;
    let has_more = rows.len() > limit as usize;
    let mut messages = Vec::with_capacity(rows.len());
    for r in rows.iter().take(limit as usize) {
        messages.push(view(tx, r, q.include_deleted_content).await?);
    }
    messages.sort_by_key(|m| m.seq);
    Ok(Some(MessagePage {
        has_more,
        oldest_message_id: messages.first().map(|m| m.id.clone()),
        newest_message_id: messages.last().map(|m| m.id.clone()),
        messages,
    }))
}

/// One message, if visible to `user` (a current participant).
pub async fn get(
    tx: &mut Tx,
    user: &str,
    message: &str,
    show_deleted: bool,
) -> Result<Option<MessageView>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rm_messages m
         JOIN rm_participants p ON p.conversation_id = m.conversation_id AND p.user_id = $1 AND p.active = TRUE
         WHERE m.id = $2 AND {visible}",
        visible = visible_to("$1")
    );
    let Some(row) = tx.query_opt(&sql, &[user.into(), message.into()]).await? else {
        return Ok(None);
    };
    view(tx, &row, show_deleted).await.map(Some)
}

/// A version of a message's text.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageVersion {
    /// The stream version that produced it (the message's seq for the original).
    pub version: u64,
    pub content: Option<String>,
    pub is_erased: bool,
    pub at: Option<DateTime<Utc>>,
}

/// Every version of a message's text, oldest first (the original, then each edit).
pub async fn history(
    tx: &mut Tx,
    user: &str,
    message: &str,
    show_deleted: bool,
) -> Result<Option<Vec<MessageVersion>>, DbError> {
    let Some(m) = get(tx, user, message, show_deleted).await? else {
        return Ok(None);
    };
    if m.is_deleted && !show_deleted {
        return Ok(Some(Vec::new()));
    }
    let rows = tx
        .query(
            "SELECT version_no, content, content_erased, at FROM rm_message_versions
         WHERE message_id = $1 ORDER BY version_no",
            &[message.into()],
        )
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MessageVersion {
                version: r.int(0)? as u64,
                content: r.opt_text(1)?,
                is_erased: r.bool(2)?,
                at: time(r.opt_int(3)?),
            })
        })
        .collect::<Result<Vec<_>, DbError>>()
        .map(Some)
}

/// Who has read or received a message, and when (from the participants' markers).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub user_id: String,
    pub at: Option<DateTime<Utc>>,
}

/// Read and delivery receipts of one message.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipts {
    pub read_by: Vec<Receipt>,
    pub delivered_to: Vec<Receipt>,
}

/// Receipts of a message visible to `user`: participants (other than the sender) whose read
/// marker — or delivered marker, the further of the two — reached its seq.
pub async fn receipts(tx: &mut Tx, user: &str, message: &str) -> Result<Option<Receipts>, DbError> {
    let Some(m) = get(tx, user, message, false).await? else {
        return Ok(None);
    };
    let rows = tx
        .query(
            "SELECT user_id, read_seq, read_at, delivered_seq, delivered_at FROM rm_participants
         WHERE conversation_id = $1 AND user_id <> $2 ORDER BY user_id",
            &[m.conversation_id.clone().into(), m.sender_id.clone().into()],
        )
        .await?;
    let mut out = Receipts {
        read_by: Vec::new(),
        delivered_to: Vec::new(),
    };
    for r in rows {
        let (read, delivered) = (r.int(1)? as u64, r.int(3)? as u64);
        let user_id = r.text(0)?;
        if read >= m.seq {
            out.read_by.push(Receipt {
                user_id: user_id.clone(),
                at: time(r.opt_int(2)?),
            });
        }
        if read.max(delivered) >= m.seq {
            let at = if delivered >= m.seq {
                time(r.opt_int(4)?)
            } else {
                time(r.opt_int(2)?)
            };
            out.delivered_to.push(Receipt { user_id, at });
        }
    }
    Ok(Some(out))
}
