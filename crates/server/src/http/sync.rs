//! `GET /api/v1/messaging/sync?since=<cursor>`: the caller's change feed (`App::sync`).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use pawpost_app::sync::SyncPage;

use super::extract::{Caller, Params};
use super::problem::{ApiResult, Problem};
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SyncParams {
    /// The `nextCursor` of the previous page (or a `cursor` of an event, or the `position` of a
    /// 202 answer); absent or empty = from the beginning.
    since: Option<String>,
    /// Events per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The caller's changes after `since`, in log order, none twice across pages.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/sync",
    tag = "sync",
    params(SyncParams),
    responses(
        (status = 200, description = "A page of the caller's changes", body = SyncPage),
        (status = 400, description = "A bad cursor (`invalid_cursor`) or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    Params(p): Params<SyncParams>,
) -> ApiResult<Json<SyncPage>> {
    Ok(Json(
        state.app.sync(&caller, p.since.as_deref(), p.limit).await?,
    ))
}
