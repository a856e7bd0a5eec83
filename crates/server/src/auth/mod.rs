//! Authentication: who is calling (DESIGN.md §6).
//!
//! * [`Role`], the marketplace role carried in every token (defined by the application layer).
//! * `jwt.rs`: [`Claims`], [`JwtKeys`] (HS256 signing and verification, optional RS256
//!   verification), [`issue_token`] for `pawpost token` and tests.
//! * `ttl.rs`: [`parse_ttl`], human token lifetimes such as `24h` or `90m`.

mod caller;
mod jwt;
mod ttl;

pub use caller::{caller_from_token, Caller};
pub use jwt::{issue_token, AuthError, Claims, JwtKeys};
pub use pawpost_app::{Role, UnknownRole};
pub use ttl::{parse_ttl, InvalidTtl};
