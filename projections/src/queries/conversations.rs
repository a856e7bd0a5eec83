//! The conversation list per user (with exact unread counts, read from the counters the
//! `messages` projector maintains), conversation detail and participants.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::time;
use crate::db::{Arg, DbError, Row, Tx};
use crate::render;

/// Filters and paging of the list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `direct`, `group`, `booking`, `system`; `None` = all.
    pub kind: Option<String>,
    /// `Some(true)` only archived, `Some(false)` only not archived, `None` both.
    pub archived: Option<bool>,
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
}

/// The last message of a conversation as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub id: String,
    pub seq: u64,
    pub sender_id: String,
    pub preview: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// One row of a user's conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub booking_id: Option<String>,
    /// As this user sees it: a direct conversation is titled with the other person's name.
    pub title: Option<String>,
    pub image_url: Option<String>,
    pub last_message: Option<LastMessage>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_message_preview: Option<String>,
    pub message_count: u64,
    pub unread_count: u64,
    pub mention_count: u64,
    pub is_muted: bool,
    pub muted_until: Option<DateTime<Utc>>,
    pub notification_level: Option<String>,
    pub is_archived: bool,
    pub is_pinned: bool,
    pub role: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A page of the list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub conversations: Vec<ConversationSummary>,
    /// Unread messages over all the user's conversations (not only this page).
    pub unread_total: u64,
    pub has_more: bool,
}

/// The list's rows: counters and the last visible message come from the `messages`
/// projector's `rm_unread` row of (conversation, user), the message itself joined by its seq,
/// the message count from `rm_message_counts`. Nothing here counts or scans messages.
fn summary_sql(extra: &str, order_and_limit: &str) -> String {
    format!(
        "SELECT * FROM (SELECT c.id AS id, c.kind, c.booking_id,
            CASE WHEN c.kind = 'direct' THEN
                (SELECT COALESCE(u.display_name, o.user_id) FROM rm_participants o
                   LEFT JOIN rm_users u ON u.id = o.user_id
                  WHERE o.conversation_id = c.id AND o.user_id <> $1
                  ORDER BY o.user_id LIMIT 1)
            ELSE c.title END,
            c.image_url, c.created_at AS created_at, c.updated_at, p.role,
            COALESCE(uc.muted, FALSE), uc.muted_until, uc.mute_level,
            COALESCE(uc.archived, FALSE) AS archived, COALESCE(uc.pinned, FALSE) AS pinned,
            COALESCE(mc.message_count, 0), COALESCE(n.unread_count, 0),
            COALESCE(n.mention_count, 0),
            lm.id AS last_id, lm.seq AS last_seq, lm.sender_id AS last_sender,
            lm.kind AS last_kind, lm.content AS last_content, lm.deleted_at AS last_deleted,
            lm.content_erased AS last_erased, lm.created_at AS last_at
         FROM rm_participants p
         JOIN rm_conversations c ON c.id = p.conversation_id
         LEFT JOIN rm_user_conversations uc ON uc.user_id = p.user_id AND uc.conversation_id = c.id
         LEFT JOIN rm_unread n ON n.conversation_id = c.id AND n.user_id = p.user_id
         LEFT JOIN rm_messages lm ON lm.conversation_id = c.id AND lm.seq = n.last_seq
         LEFT JOIN rm_message_counts mc ON mc.conversation_id = c.id
         WHERE p.user_id = $1 AND p.active = TRUE {extra}) AS s
         {order_and_limit}"
    )
}

/// The last message of a row (columns 16 to 23), if it has one.
fn last_message(r: &Row) -> Result<Option<LastMessage>, DbError> {
    let Some(id) = r.opt_text(16)? else {
        return Ok(None);
    };
    Ok(Some(LastMessage {
        id,
        seq: r.int(17)? as u64,
        sender_id: r.text(18)?,
        preview: render::preview(
            &r.text(19)?,
            r.opt_text(20)?.as_deref(),
            r.opt_int(21)?.is_some(),
            r.bool(22)?,
        ),
        created_at: time(r.opt_int(23)?),
    }))
}

async fn summaries(
    tx: &mut Tx,
    sql: &str,
    params: &[Arg],
) -> Result<Vec<ConversationSummary>, DbError> {
    let rows = tx.query(sql, params).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let last = last_message(&r)?;
        out.push(ConversationSummary {
            id: r.text(0)?,
            kind: r.text(1)?,
            booking_id: r.opt_text(2)?,
            title: r.opt_text(3)?,
            image_url: r.opt_text(4)?,
            created_at: time(r.opt_int(5)?),
            updated_at: time(r.opt_int(6)?),
            role: r.text(7)?,
            is_muted: r.bool(8)?,
            muted_until: time(r.opt_int(9)?),
            notification_level: r.opt_text(10)?,
            is_archived: r.bool(11)?,
            is_pinned: r.bool(12)?,
            message_count: r.int(13)? as u64,
            unread_count: r.int(14)? as u64,
            mention_count: r.int(15)? as u64,
            last_message_at: last.as_ref().and_then(|l| l.created_at),
            last_message_preview: last.as_ref().map(|l| l.preview.clone()),
            last_message: last,
        });
    }
    Ok(out)
}

/// The user's conversations (current participant only): pinned first, then by last activity;
/// filtered by kind and archive state; paged.
pub async fn list(
    tx: &mut Tx,
    user: &str,
    filter: &ListFilter,
) -> Result<ConversationPage, DbError> {
    let page_size = filter.page_size.clamp(1, 200);
    let page = filter.page.max(1);
    let mut params: Vec<Arg> = vec![user.into()];
    let mut extra = String::new();
    if let Some(kind) = &filter.kind {
        params.push(kind.clone().into());
        extra.push_str(&format!(" AND c.kind = ${}", params.len()));
    }
    if let Some(archived) = filter.archived {
        params.push(archived.into());
        extra.push_str(&format!(
            " AND COALESCE(uc.archived, FALSE) = ${}",
            params.len()
        ));
    }
    params.push(i64::from(page_size + 1).into());
    params.push((i64::from(page - 1) * i64::from(page_size)).into());
    let sql = summary_sql(
        &extra,
        &format!(
            "ORDER BY s.pinned DESC, COALESCE(s.last_at, s.created_at) DESC, s.id
             LIMIT ${} OFFSET ${}",
            params.len() - 1,
            params.len()
        ),
    );
    let mut conversations = summaries(tx, &sql, &params).await?;
    let has_more = conversations.len() > page_size as usize;
    conversations.truncate(page_size as usize);
    Ok(ConversationPage {
        conversations,
        unread_total: unread_total(tx, user).await?,
        has_more,
    })
}

/// One conversation as the list would show it to `user`, if they are a current participant.
pub async fn summary(
    tx: &mut Tx,
    user: &str,
    conversation: &str,
) -> Result<Option<ConversationSummary>, DbError> {
    let sql = summary_sql("AND c.id = $2", "");
    Ok(summaries(tx, &sql, &[user.into(), conversation.into()])
        .await?
        .into_iter()
        .next())
}

/// Unread messages over all of the user's current conversations: the sum of their counters.
pub async fn unread_total(tx: &mut Tx, user: &str) -> Result<u64, DbError> {
    Ok(tx
        .query_opt(
            "SELECT CAST(COALESCE(sum(n.unread_count), 0) AS BIGINT) FROM rm_participants p
             JOIN rm_unread n ON n.conversation_id = p.conversation_id AND n.user_id = p.user_id
             WHERE p.user_id = $1 AND p.active = TRUE",
            &[user.into()],
        )
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0) as u64)
}

/// Conversation details.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub summary: ConversationSummary,
    pub description: Option<String>,
    pub created_by: String,
    pub participants: Vec<ParticipantView>,
}

/// A participant with role, membership and markers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantView {
    pub user_id: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
    pub last_read_seq: u64,
    pub last_read_message_id: Option<String>,
    pub last_read_at: Option<DateTime<Utc>>,
    /// Delivered marker: the further of the delivered and read markers.
    pub last_delivered_seq: u64,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// The participants of a conversation (current first, then former), if `user` is a current one.
pub async fn participants(
    tx: &mut Tx,
    user: &str,
    conversation: &str,
) -> Result<Option<Vec<ParticipantView>>, DbError> {
    if !is_participant(tx, user, conversation).await? {
        return Ok(None);
    }
    let rows = tx.query(
        "SELECT p.user_id, u.display_name, u.avatar_url, p.role, p.active, p.joined_at, p.left_at,
                p.read_seq, p.read_message_id, p.read_at, p.delivered_seq, p.delivered_at
         FROM rm_participants p LEFT JOIN rm_users u ON u.id = p.user_id
         WHERE p.conversation_id = $1
         ORDER BY p.active DESC, p.joined_at, p.user_id",
        &[conversation.into()],
    ).await?;
    rows.into_iter()
        .map(|r| {
            let read = r.int(7)? as u64;
            let delivered = r.int(10)? as u64;
            Ok(ParticipantView {
                user_id: r.text(0)?,
                display_name: r.opt_text(1)?,
                avatar_url: r.opt_text(2)?,
                role: r.text(3)?,
                is_active: r.bool(4)?,
                joined_at: time(r.opt_int(5)?),
                left_at: time(r.opt_int(6)?),
                last_read_seq: read,
                last_read_message_id: r.opt_text(8)?,
                last_read_at: time(r.opt_int(9)?),
                last_delivered_seq: read.max(delivered),
                last_delivered_at: if delivered >= read {
                    time(r.opt_int(11)?)
                } else {
                    time(r.opt_int(9)?)
                },
            })
        })
        .collect::<Result<Vec<_>, DbError>>()
        .map(Some)
}

/// Whether `user` is a current participant of `conversation`.
pub async fn is_participant(tx: &mut Tx, user: &str, conversation: &str) -> Result<bool, DbError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM rm_participants WHERE conversation_id = $1 AND user_id = $2 AND active = TRUE",
            &[conversation.into(), user.into()],
        ).await?
        .is_some())
}

/// Details and participants of a conversation, if `user` is a current participant.
pub async fn detail(
    tx: &mut Tx,
    user: &str,
    conversation: &str,
) -> Result<Option<ConversationDetail>, DbError> {
    let Some(summary) = summary(tx, user, conversation).await? else {
        return Ok(None);
    };
    let Some(row) = tx
        .query_opt(
            "SELECT description, created_by FROM rm_conversations WHERE id = $1",
            &[conversation.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ConversationDetail {
        summary,
        description: row.opt_text(0)?,
        created_by: row.text(1)?,
        participants: participants(tx, user, conversation)
            .await?
            .unwrap_or_default(),
    }))
}
