//! `GET`/`PUT /users/{userId}`: the directory entry of a user; the platform sets profiles.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pawpost_app::users::Profile;
use pawpost_app::Projection;
use pawpost_domain::values::{DisplayName, ImageUrl, Locale};
use pawpost_projections::queries::users::UserView;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::consistency::{self, Accepted, Settled};
use super::super::extract::{self, Body, Caller};
use super::super::problem::{ApiResult, Problem};
use super::{invalid_as, required};
use crate::AppState;

/// A profile as the platform sets it. The whole profile is replaced: an absent optional field
/// clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRequest {
    /// The name others see (1–100 characters).
    #[schema(value_type = String, required = true)]
    display_name: Option<String>,
    /// An absolute `http(s)://` URL of the picture.
    avatar_url: Option<String>,
    /// Free text such as `owner`, `provider`, `admin` (1–20 characters).
    role: Option<String>,
    /// A language tag such as `en` or `pt-BR`.
    locale: Option<String>,
}

/// The application's profile of a request (422 naming the field at fault).
fn parse(body: ProfileRequest) -> ApiResult<Profile> {
    Ok(Profile {
        display_name: DisplayName::parse(&required(body.display_name, "displayName")?)
            .map_err(|e| invalid_as("displayName", e))?,
        avatar_url: body
            .avatar_url
            .as_deref()
            .map(ImageUrl::parse)
            .transpose()
            .map_err(|e| invalid_as("avatarUrl", e))?,
        role: body.role,
        locale: body
            .locale
            .as_deref()
            .map(Locale::parse)
            .transpose()
            .map_err(|e| invalid_as("locale", e))?,
    })
}

/// The directory entry of a user.
#[utoipa::path(
    get,
    path = "/api/v1/messaging/users/{userId}",
    tag = "users",
    params(("userId" = String, Path, description = "The user")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id breaks the user id rules", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn get_user(
    State(state): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<UserView>> {
    let user = extract::user_id(&raw, "userId")?;
    Ok(Json(state.app.user(&user).await?))
}

/// Sets a user's profile (the platform's user service keeps pawpost's directory in step).
/// Service role only. Answers 200 with the profile whether it was created or replaced.
#[utoipa::path(
    put,
    path = "/api/v1/messaging/users/{userId}",
    tag = "users",
    params(("userId" = String, Path, description = "The user")),
    request_body = ProfileRequest,
    responses(
        (status = 200, description = "The profile as stored", body = UserView),
        (status = 202, description = "Stored; not yet visible to queries", body = Accepted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not the service", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn put_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<ProfileRequest>,
) -> ApiResult<Response> {
    let user = extract::user_id(&raw, "userId")?;
    let profile = parse(body)?;
    let position = state
        .app
        .set_profile(&caller, user.clone(), profile)
        .await?;
    if let Settled::Lagging(p) = state.app.settle(Projection::Users, position).await {
        return Ok(consistency::accepted(p));
    }
    Ok(Json(state.app.stored_profile(&user).await?).into_response())
}
