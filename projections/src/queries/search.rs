//! Full-text search over the messages a user can see: substring matches (partial words, CJK)
//! through trigram indexes — FTS5 `trigram` on SQLite, `pg_trgm` on PostgreSQL — over text
//! lower-cased by the projector, so case folds the same way (Unicode) on both.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::messages::{view, MessageView, COLUMNS};
use crate::db::{micros, Arg, DbError, Dialect, Tx};
use crate::visible::visible_to;

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub conversation_id: Option<String>,
    pub sender_id: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u32,
}

/// Matching messages (newest first) and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    pub results: Vec<MessageView>,
    pub total_count: u64,
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Messages visible to `user` (current participant, inside their membership ranges, not
/// deleted, not hidden for them) whose text contains `q.text`, case-insensitively.
pub async fn search(tx: &mut Tx, user: &str, q: &SearchQuery) -> Result<SearchResults, DbError> {
    let text = q.text.trim();
    if text.is_empty() {
        return Ok(SearchResults {
            results: Vec::new(),
            total_count: 0,
        });
    }
    // The index holds lower-cased text; fold the query the same way (Unicode, not only ASCII).
    let mut params: Vec<Arg> = vec![user.into(), like_pattern(&text.to_lowercase()).into()];
    let matcher = match tx.dialect() {
        // Both trigram indexes answer LIKE '%…%' (partial words, CJK).
        Dialect::Sqlite => {
            "m.rowid IN (SELECT rowid FROM rm_search WHERE content LIKE $2 ESCAPE '\\')"
        }
        Dialect::Postgres => {
            "m.id IN (SELECT message_id FROM rm_search WHERE content LIKE $2 ESCAPE '\\')"
        }
    };
    let mut cond = String::new();
    if let Some(c) = &q.conversation_id {
        params.push(c.clone().into());
        cond.push_str(&format!(" AND m.conversation_id = ${}", params.len()));
    }
    if let Some(s) = &q.sender_id {
        params.push(s.clone().into());
        cond.push_str(&format!(" AND m.sender_id = ${}", params.len()));
    }
    if let Some(s) = q.start {
        params.push(micros(s).into());
        cond.push_str(&format!(" AND m.created_at >= ${}", params.len()));
    }
    if let Some(e) = q.end {
        params.push(micros(e).into());
        cond.push_str(&format!(" AND m.created_at <= ${}", params.len()));
    }
    let base = format!(
        "FROM rm_messages m
         JOIN rm_participants p ON p.conversation_id = m.conversation_id AND p.user_id = $1 AND p.active = TRUE
         WHERE {matcher} AND m.deleted_at IS NULL AND {visible} {cond}",
        visible = visible_to("$1")
    );
    let total = tx
        .query_opt(&format!("SELECT count(*) {base}"), &params)
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0) as u64;
    params.push(i64::from(q.limit.clamp(1, 100)).into());
    params.push(i64::from(q.offset).into());
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS} {base} ORDER BY m.created_at DESC, m.id LIMIT ${} OFFSET ${}",
                params.len() - 1,
                params.len()
            ),
            &params,
        )
        .await?;
    let mut results = Vec::with_capacity(rows.len());
    for r in &rows {
        results.push(view(tx, r, false).await?);
    }
    Ok(SearchResults {
        results,
        total_count: total,
    })
}
