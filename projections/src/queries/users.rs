//! The user directory, blocks and drafts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::time;
use crate::db::{DbError, Tx};

/// A user as the directory knows them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub role: Option<String>,
    pub locale: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One user of the directory.
pub async fn get(tx: &mut Tx, id: &str) -> Result<Option<UserView>, DbError> {
    tx.query_opt(
        "SELECT id, display_name, avatar_url, role, locale, updated_at FROM rm_users WHERE id = $1",
        &[id.into()],
    )
    .await?
    .map(|r| {
        Ok(UserView {
            id: r.text(0)?,
            display_name: r.text(1)?,
            avatar_url: r.opt_text(2)?,
            role: r.opt_text(3)?,
            locale: r.opt_text(4)?,
            updated_at: time(r.opt_int(5)?),
        })
    })
    .transpose()
}

/// Someone the user blocks.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    pub user_id: String,
    pub reason: Option<String>,
    pub blocked_at: Option<DateTime<Utc>>,
}

/// Whom `user` blocks.
pub async fn blocks(tx: &mut Tx, user: &str) -> Result<Vec<BlockView>, DbError> {
    tx.query(
        "SELECT blocked_id, reason, at FROM rm_blocks WHERE user_id = $1 ORDER BY at, blocked_id",
        &[user.into()],
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(BlockView {
            user_id: r.text(0)?,
            reason: r.opt_text(1)?,
            blocked_at: time(r.opt_int(2)?),
        })
    })
    .collect()
}

/// Whether `blocker` blocks `blocked`.
pub async fn is_blocked(tx: &mut Tx, blocker: &str, blocked: &str) -> Result<bool, DbError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM rm_blocks WHERE user_id = $1 AND blocked_id = $2",
            &[blocker.into(), blocked.into()],
        )
        .await?
        .is_some())
}

/// A saved draft.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftView {
    pub conversation_id: String,
    pub content: Option<String>,
    pub is_erased: bool,
    pub reply_to_message_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The user's drafts, or the one of `conversation`.
pub async fn drafts(
    tx: &mut Tx,
    user: &str,
    conversation: Option<&str>,
) -> Result<Vec<DraftView>, DbError> {
    let rows = match conversation {
        Some(c) => tx.query(
            "SELECT conversation_id, content, content_erased, reply_to, updated_at FROM rm_drafts
             WHERE user_id = $1 AND conversation_id = $2",
            &[user.into(), c.into()],
        ).await?,
        None => tx.query(
            "SELECT conversation_id, content, content_erased, reply_to, updated_at FROM rm_drafts
             WHERE user_id = $1 ORDER BY updated_at DESC",
            &[user.into()],
        ).await?,
    };
    rows.into_iter()
        .map(|r| {
            Ok(DraftView {
                conversation_id: r.text(0)?,
                content: r.opt_text(1)?,
                is_erased: r.bool(2)?,
                reply_to_message_id: r.opt_text(3)?,
                updated_at: time(r.opt_int(4)?),
            })
        })
        .collect()
}
