//! Given/when/then tests of the conversation aggregate: every command's success and every
//! refusal. Submodules under `tests/conversation/` group them by concern.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "conversation/create.rs"]
mod create;
#[path = "conversation/edit_delete.rs"]
mod edit_delete;
#[path = "conversation/facts.rs"]
mod facts;
#[path = "conversation/membership.rs"]
mod membership;
#[path = "conversation/messages.rs"]
mod messages;
#[path = "conversation/receipts.rs"]
mod receipts;
#[path = "conversation/visibility.rs"]
mod visibility;
