//! The role a user plays on the marketplace.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `role` claim of an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A pet owner.
    Owner,
    /// A groomer, walker, sitter or vet.
    Provider,
    /// Marketplace staff: moderation.
    Admin,
    /// Another back-end system (the booking system, bots): may register users and post
    /// automated messages.
    Service,
}

impl Role {
    /// Every role, in the order they are listed to users.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Provider, Role::Admin, Role::Service];

    /// The wire name (`owner`, `provider`, `admin`, `service`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Provider => "provider",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `owner`, `provider`, `admin`, `service`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected one of: owner, provider, admin, service)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_wire_name_and_rejects_others() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("Owner".parse::<Role>(), Ok(Role::Owner));
        assert!("superuser".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }

    #[test]
    fn serializes_lowercase() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&Role::Provider)?, r#""provider""#);
        assert_eq!(serde_json::from_str::<Role>(r#""service""#)?, Role::Service);
        Ok(())
    }
}
