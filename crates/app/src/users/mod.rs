//! Use cases about users: the directory and profiles set by the platform ([`profiles`]),
//! blocks ([`blocks`]) and drafts ([`drafts`]).

pub mod blocks;
pub mod drafts;
pub mod profiles;

pub use blocks::Blocked;
pub use profiles::Profile;
