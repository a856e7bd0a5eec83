//! `GET …/conversations/{id}/messages/search` and `GET /search`: full-text search.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use pawpost_domain::UserId;
use pawpost_projections::queries::search::{self, SearchQuery, SearchResults};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::extract::{conversation_id, Caller, Params};
use super::super::problem::{ApiError, ApiResult, Problem};
use super::super::support::query;
use super::{DEFAULT_SEARCH_LIMIT, MAX_LIMIT};
use crate::AppState;

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
pub(super) async fn search_messages(
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
