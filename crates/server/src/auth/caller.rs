//! The authenticated user of a request or hub connection, from their token.

use pawpost_app::{Actor, AppError, ErrorKind};
use pawpost_domain::UserId;

use super::{AuthError, Role};
use crate::AppState;

/// The authenticated user making a call (from a Bearer JWT or the hub's `access_token`): the
/// application's [`Actor`]. Decoding the token registers nobody: the adapters call
/// `App::register` in their one place for it.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl std::ops::Deref for Caller {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl Caller {
    /// `forbidden` (403) unless the caller has the `service` role.
    pub fn require_service(&self) -> Result<(), AppError> {
        if self.role == Role::Service {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorKind::Forbidden,
                "forbidden",
                "only the service role may do this",
            ))
        }
    }
}

fn unauthorized(code: &'static str, detail: impl Into<String>) -> AppError {
    AppError::new(ErrorKind::Unauthorized, code, detail)
}

/// Verifies a token and turns its claims into a caller.
pub fn caller_from_token(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let claims = state.jwt.verify(token).map_err(|e| match e {
        AuthError::Expired => unauthorized("token_expired", e.to_string()),
        other => unauthorized("invalid_token", other.to_string()),
    })?;
    let id = UserId::parse(&claims.sub).map_err(|e| {
        unauthorized(
            "invalid_token",
            format!("the token's sub is not a user id: {e}"),
        )
    })?;
    Ok(Caller(Actor {
        id,
        name: claims.name,
        role: claims.role,
    }))
}
