//! What pawpost's load tools share: the access tokens they sign as the identity service would.
//! The tools are network clients: nothing here depends on the server's crates.

pub mod token;
