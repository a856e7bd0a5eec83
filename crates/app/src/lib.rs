//! pawpost-app: the application layer (DESIGN.md §2). One use case per command and query a
//! client can make, taking typed, validated inputs and answering with an [`AppError`] that both
//! adapters map the same way (problem+json over HTTP; a SignalR completion error with the same
//! `code` on the hub). It knows no HTTP and no SignalR: `crates/server`'s `http/` and `hub/`
//! parse, call a use case here and render.
//!
//! Layout: [`App`] (the handles every use case needs), `error` ([`AppError`]), `role` and
//! `actor` (who asks), `registration` (users known from their tokens, in one place), `settle`
//! (read-your-writes waits for one projection), [`messages`] (send, edit, delete, react, mark
//! read/delivered; where the message pipeline and the attachment check plug in),
//! [`conversations`] (create, list, details, membership, mute/archive/pin, markers),
//! [`users`] (profiles, blocks, drafts), [`sync`] (the change feed) and [`cursor`], and the
//! participation checks and calls the hub needs.

mod actor;
mod calls;
pub mod command_id;
pub mod conversations;
pub mod cursor;
mod error;
pub mod messages;
mod participation;
mod registration;
mod retry;
mod role;
mod settle;
pub mod sync;
pub mod users;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use pawpost_commands::CommandHandler;
use pawpost_domain::{ConversationState, UserState};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::Projections;
use pawpost_store::EventStore;

pub use actor::Actor;
pub use error::{AppError, AppResult, ErrorKind};
pub use role::{Role, UnknownRole};
pub use settle::{Projection, Settled};

/// The handles the use cases share. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) conversations: Arc<CommandHandler<ConversationState>>,
    pub(crate) users: Arc<CommandHandler<UserState>>,
    pub(crate) projections: Arc<Projections>,
    pub(crate) read_your_writes: Duration,
    pub(crate) known_users: Arc<Mutex<HashSet<String>>>,
    pub(crate) codec: pawpost_codec::EventCodec,
}

impl App {
    /// The application over these handles; read-your-writes answers wait at most
    /// `read_your_writes` for a projection.
    pub fn new(
        store: Arc<dyn EventStore>,
        conversations: Arc<CommandHandler<ConversationState>>,
        users: Arc<CommandHandler<UserState>>,
        projections: Arc<Projections>,
        codec: pawpost_codec::EventCodec,
        read_your_writes: Duration,
    ) -> Self {
        App {
            store,
            conversations,
            users,
            projections,
            read_your_writes,
            known_users: Arc::default(),
            codec,
        }
    }

    /// Runs read-model queries `f` in one reading transaction (one consistent snapshot).
    pub async fn query<T, F>(&self, f: F) -> AppResult<T>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, DbError>>,
    {
        let mut tx = self.projections.db().read().await?;
        Ok(f(&mut tx).await?)
    }
}
