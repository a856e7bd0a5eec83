//! Users are known from their tokens: the first call of a user without a profile records one
//! from the token's `name` and `role` (a profile set through `PUT /users/{id}` is never
//! overwritten). This is the one place where that happens; the adapters call
//! [`App::register`] explicitly (the HTTP API in a layer before its handlers, the hub when a
//! connection opens). Remembered per process, so later calls cost a set look-up.

use chrono::Utc;
use pawpost_domain::values::DisplayName;
use pawpost_domain::{UserCommand, UserId};
use pawpost_projections::queries;

use crate::{command_id, Actor, App, AppError, AppResult, ErrorKind, Projection};

impl App {
    /// Records `actor`'s profile from their token if pawpost has none yet, trying again for a
    /// while when the database is unavailable (the command is idempotent: recorded at most
    /// once).
    pub async fn register(&self, actor: &Actor) -> AppResult<()> {
        crate::retry::while_unavailable(|| self.register_once(actor)).await
    }

    async fn register_once(&self, actor: &Actor) -> AppResult<()> {
        if self.is_remembered(actor.id.as_str()) {
            return Ok(());
        }
        if !self.has_profile(&actor.id).await? {
            let name = if actor.name.trim().is_empty() {
                actor.id.to_string()
            } else {
                actor.name.clone()
            };
            let display_name = DisplayName::parse(&name)
                .or_else(|_| DisplayName::parse(actor.id.as_str()))
                .map_err(|e| {
                    AppError::new(
                        ErrorKind::Unauthorized,
                        "invalid_token",
                        format!("token name: {e}"),
                    )
                })?;
            let command = UserCommand::UpdateProfile {
                actor: actor.id.clone(),
                display_name,
                avatar_url: None,
                role: Some(actor.role.as_str().to_string()),
                locale: None,
                at: Utc::now(),
            };
            let id = command_id::derived(&["profile-from-token", actor.id.as_str()]);
            let outcome = self
                .users
                .execute(&actor.id.stream(), id, &command, &actor.meta())
                .await?;
            // Others may look this user up right away (adding them to a conversation).
            let _ = self.settle(Projection::Users, outcome.position).await;
        }
        self.remember(actor.id.as_str());
        Ok(())
    }

    /// Whether pawpost knows `user` (a profile from a token or from `PUT /users/{id}`).
    pub async fn is_known_user(&self, user: &UserId) -> AppResult<bool> {
        Ok(self.is_remembered(user.as_str()) || self.has_profile(user).await?)
    }

    /// Remembers that `user` has a profile (after `PUT /users/{id}`).
    pub fn remember(&self, user: &str) {
        self.known_users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.to_string());
    }

    fn is_remembered(&self, user: &str) -> bool {
        self.known_users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(user)
    }

    async fn has_profile(&self, user: &UserId) -> AppResult<bool> {
        let id = user.to_string();
        Ok(self
            .query(move |tx| Box::pin(async move { queries::users::get(tx, &id).await }))
            .await?
            .is_some())
    }
}
