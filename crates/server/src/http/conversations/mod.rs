//! `/api/v1/messaging/conversations`: the conversation list, creation, detail, settings,
//! membership and per-user state (mute, archive, pin, read marker). One file per route; the
//! logic is `pawpost_app`'s (`conversations` use cases).
//!
//! Commands answer once the caller's next query shows their change (read-your-writes, see
//! `consistency.rs`): each waits for the projection its answer reads; if it lags past the bound
//! the answer is 202 with the position instead. A conversation the caller does not take part in
//! is a 404 everywhere (its existence is not disclosed), before any rule of the domain is
//! consulted.

mod create;
mod detail;
mod leave;
mod list;
mod markers;
mod participants;
mod settings;
mod update;

use axum::response::Response;
use chrono::{DateTime, Utc};
use pawpost_app::{Projection, Settled};
use pawpost_domain::{ConversationId, DomainError, UserId};
use pawpost_projections::queries::conversations::{
    ConversationDetail, ConversationSummary, ParticipantView,
};
use pawpost_store::Position;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::consistency;
use super::extract;
use super::problem::ApiResult;
use crate::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list, create::create))
        .routes(routes!(detail::detail, update::update, leave::leave))
        .routes(routes!(
            participants::participants,
            participants::add_participants,
            participants::remove_participant
        ))
        .routes(routes!(settings::mute))
        .routes(routes!(settings::archive))
        .routes(routes!(settings::pin))
        .routes(routes!(markers::read))
        .routes(routes!(markers::delivered))
}

/// The caller's own settings for a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSettings {
    /// Whether the caller muted it (an expired timed mute counts as not muted).
    pub is_muted: bool,
    /// Until when, for a timed mute.
    pub muted_until: Option<DateTime<Utc>>,
    /// What still notifies the caller while muted: `all`, `mentions`, `none`.
    pub notification_level: Option<String>,
    /// Whether it is out of the caller's main list.
    pub is_archived: bool,
    /// Whether it stays at the top of the caller's list.
    pub is_pinned: bool,
}

impl From<&ConversationSummary> for ConversationSettings {
    fn from(s: &ConversationSummary) -> Self {
        ConversationSettings {
            is_muted: s.is_muted,
            muted_until: s.muted_until,
            notification_level: s.notification_level.clone(),
            is_archived: s.is_archived,
            is_pinned: s.is_pinned,
        }
    }
}

/// `{conversation}`: one conversation as the caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationEnvelope {
    /// Details, the caller's view of the list row, and the participants.
    pub conversation: ConversationDetail,
}

/// `{participants}`: the members of a conversation, current first, then former ones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantList {
    /// Each with role, membership and read/delivered markers.
    pub participants: Vec<ParticipantView>,
}

/// The `conversationId` path parameter.
fn path_id(raw: &str) -> ApiResult<ConversationId> {
    extract::conversation_id(raw)
}

/// Waits for `projection` to include `position`: `Some(202)` when it lags past the bound.
async fn lagging(
    state: &AppState,
    projection: Projection,
    position: Option<Position>,
) -> Option<Response> {
    match state.app.settle(projection, position).await {
        Settled::Visible => None,
        Settled::Lagging(p) => Some(consistency::accepted(p)),
    }
}

/// User ids from a request list (`field[i]` names the one at fault).
fn user_ids(raw: &[String], field: &str) -> ApiResult<Vec<UserId>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| extract::user_id(r, &format!("{field}[{i}]")))
        .collect()
}

/// Optional text `raw` parsed by `parse` (which names its field).
fn optional<T>(
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, pawpost_domain::ValidationError>,
) -> ApiResult<Option<T>> {
    raw.map(parse)
        .transpose()
        .map_err(|e| DomainError::Invalid(e).into())
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
