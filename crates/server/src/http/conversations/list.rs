//! `GET /conversations`: the caller's conversation list.

use axum::extract::State;
use axum::Json;
use pawpost_app::conversations::ConversationFilter;
use pawpost_domain::values::ConversationKind;
use pawpost_projections::queries::conversations::ConversationPage;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::super::extract::{Caller, Params};
use super::super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

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

/// The filter of a list request (400 `invalid_query` naming the parameter at fault).
fn filter_of(p: ListParams) -> ApiResult<ConversationFilter> {
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
        KindFilter::Direct => Some(ConversationKind::Direct),
        KindFilter::Group => Some(ConversationKind::Group),
        KindFilter::Booking => Some(ConversationKind::Booking),
        KindFilter::System => Some(ConversationKind::System),
    };
    Ok(ConversationFilter {
        kind,
        archived: p.archived,
        page,
        page_size,
    })
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
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<ConversationPage>> {
    let filter = filter_of(p)?;
    Ok(Json(state.app.list_conversations(&caller, filter).await?))
}
