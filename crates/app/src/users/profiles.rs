//! The user directory: a user's profile, and setting it (the platform's user service keeps
//! pawpost's directory in step; service role only).

use chrono::Utc;
use pawpost_domain::values::{DisplayName, ImageUrl, Locale};
use pawpost_domain::{UserCommand, UserId};
use pawpost_projections::queries::users::{self, UserView};
use pawpost_store::Position;

use crate::{Actor, App, AppError, AppResult, ErrorKind, Role};

/// A whole profile (it replaces the one stored: an absent optional part clears it).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The name others see.
    pub display_name: DisplayName,
    /// The picture.
    pub avatar_url: Option<ImageUrl>,
    /// Free text such as `owner`, `provider`, `admin`.
    pub role: Option<String>,
    /// A language tag.
    pub locale: Option<Locale>,
}

impl App {
    /// The directory entry of `user` (not found if pawpost does not know them).
    pub async fn user(&self, user: &UserId) -> AppResult<UserView> {
        let id = user.to_string();
        self.query(move |tx| Box::pin(async move { users::get(tx, &id).await }))
            .await?
            .ok_or_else(|| AppError::not_found("user"))
    }

    /// Sets `user`'s profile: `forbidden` unless `actor` is the service.
    pub async fn set_profile(
        &self,
        actor: &Actor,
        user: UserId,
        profile: Profile,
    ) -> AppResult<Option<Position>> {
        if actor.role != Role::Service {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "forbidden",
                "only the service role may do this",
            ));
        }
        let command = UserCommand::UpdateProfile {
            actor: user.clone(),
            display_name: profile.display_name,
            avatar_url: profile.avatar_url,
            role: profile.role,
            locale: profile.locale,
            at: Utc::now(),
        };
        let position = self
            .users
            .execute_new(&user.stream(), &command, &actor.meta())
            .await?
            .position;
        // Stored: the user may be added to conversations from now on, whatever the lag of the
        // users read model.
        self.remember(user.as_str());
        Ok(position)
    }

    /// The directory entry of a user whose profile was just stored and projected.
    pub async fn stored_profile(&self, user: &UserId) -> AppResult<UserView> {
        match self.user(user).await {
            Err(e) if e.kind == ErrorKind::NotFound => Err(AppError::internal(
                "a stored profile is missing from the directory",
            )),
            other => other,
        }
    }
}
