//! Who asks: the user a request or hub connection authenticated as.

use pawpost_commands::CommandMeta;
use pawpost_domain::UserId;

use crate::Role;

/// The authenticated user behind a call (from the token's `sub`, `name` and `role`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub id: UserId,
    /// Their display name as the token gives it (may be empty).
    pub name: String,
    /// Their marketplace role.
    pub role: Role,
}

impl Actor {
    /// The metadata of the commands this actor issues.
    pub fn meta(&self) -> CommandMeta {
        CommandMeta {
            actor_id: Some(self.id.to_string()),
            ..CommandMeta::default()
        }
    }

    /// Whether the actor may see the content of messages deleted for everyone: marketplace
    /// staff (the `admin` role), moderating.
    pub fn moderates(&self) -> bool {
        self.role == Role::Admin
    }
}
