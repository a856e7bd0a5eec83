//! Read-your-writes: a command's answer waits (a bounded time) for the read models to include
//! the events it appended, so the same user's next query sees the change. If the projections
//! lag past the bound, the answer is 202 with the position to wait for instead.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_store::Position;
use serde::Serialize;
use utoipa::ToSchema;

use crate::cursor;

pub use pawpost_app::Settled;

/// The 202 body: the change is stored but not yet visible to queries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Always `accepted`.
    pub status: &'static str,
    /// The log position of the change (a sync cursor): queries will show it once the read
    /// models reach it.
    pub position: String,
}

/// 202 with the position of a change the read models have not shown yet.
pub fn accepted(position: Position) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "accepted",
            position: cursor::encode(position),
        }),
    )
        .into_response()
}
