//! Authentication: who is calling (DESIGN.md §6).
//!
//! * `role.rs`: [`Role`], the marketplace role carried in every token.
//! * `jwt.rs`: [`Claims`], [`JwtKeys`] (HS256 signing and verification, optional RS256
//!   verification), [`issue_token`] for `pawpost token` and tests.
//! * `ttl.rs`: [`parse_ttl`], human token lifetimes such as `24h` or `90m`.

mod jwt;
mod role;
mod ttl;

pub use jwt::{issue_token, AuthError, Claims, JwtKeys};
pub use role::{Role, UnknownRole};
pub use ttl::{parse_ttl, InvalidTtl};
