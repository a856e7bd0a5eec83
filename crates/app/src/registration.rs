//! Users are known from their tokens: the first call of a user without a profile records one
//! from the token's `name` and `role` (a profile set through `PUT /users/{id}` is never
//! overwritten). This is the one place where that happens; the adapters call
//! [`App::register`] explicitly (the HTTP API in a layer before its handlers, the hub when a
//! connection opens). Remembered per process, so later calls cost a set look-up.

use std::time::Duration;

use chrono::Utc;
use pawpost_domain::values::DisplayName;
use pawpost_domain::{UserCommand, UserId};
use pawpost_projections::queries;

use crate::{command_id, Actor, App, AppError, AppResult, ErrorKind, Projection};

/// Tries of a registration while the database is out of reach or saturated (a burst of new
/// connections): the command is idempotent, so a retry records the profile at most once.
const REGISTER_ATTEMPTS: u32 = 6;
/// The first pause between tries; doubled each time (≈ 3 s in all).
const REGISTER_BACKOFF: Duration = Duration::from_millis(50);

impl App {
    /// Records `actor`'s profile from their token if pawpost has none yet, trying again for a
    /// few seconds while the database is unavailable.
    pub async fn register(&self, actor: &Actor) -> AppResult<()> {
        let mut pause = REGISTER_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.register_once(actor).await {
                Err(e) if e.kind == ErrorKind::Unavailable && attempt < REGISTER_ATTEMPTS => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                done => return done,
            }
        }
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
