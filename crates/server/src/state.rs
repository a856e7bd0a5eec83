//! The application state every handler receives (STYLE.md §7): cheap, cloneable handles.

use std::sync::Arc;

use pawpost_codec::EventCodec;
use pawpost_domain::{ConversationState, UserState};
use pawpost_projections::Projections;
use pawpost_store::{EventStore, KeyRing};
use pawpost_workers::{LogFeed, WorkerStatus};

use crate::auth::JwtKeys;
use crate::commands::CommandHandler;
use crate::Settings;

/// A conversation's state is snapshotted every this many events (its cold load then reads at
/// most this many events after the snapshot).
const SNAPSHOT_EVERY: u64 = 1000;

/// Shared handles, cloned into every request with `.with_state`. No globals anywhere else.
#[derive(Clone)]
pub struct AppState {
    /// The event log (and the key table beside it).
    pub store: Arc<dyn EventStore>,
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// Token signing and verification keys.
    pub jwt: Arc<JwtKeys>,
    /// Per-message data keys, wrapped by the master key (forgettable payloads).
    pub keyring: KeyRing,
    /// Typed events to stored events and back, sealing personal content with `keyring`.
    pub codec: EventCodec,
    /// Commands on conversation streams.
    pub conversations: Arc<CommandHandler<ConversationState>>,
    /// Commands on user streams.
    pub users: Arc<CommandHandler<UserState>>,
    /// The read models: queries, and waits for a position to be projected (read-your-writes).
    /// Whether this process also runs the projectors depends on the projection leases.
    pub projections: Arc<Projections>,
    /// The application layer: the use cases both adapters call.
    pub app: pawpost_app::App,
    /// Typing and presence: ephemeral, in-process, broadcast to the real-time hub.
    pub signals: Arc<crate::signals::Signals>,
    /// The process's shared reader of the log (the workers and the live dispatcher follow it).
    pub feed: LogFeed,
    /// Every log worker's status (progress, lag, failures), in this process.
    pub workers: Arc<Vec<Arc<WorkerStatus>>>,
}

impl AppState {
    /// Builds the state from a connected (and migrated) store and the settings; fails if the
    /// configured keys are unusable.
    pub fn new(
        store: Arc<dyn EventStore>,
        settings: Settings,
        feed: LogFeed,
    ) -> anyhow::Result<Self> {
        let jwt = JwtKeys::from_settings(&settings)?;
        let keyring = KeyRing::new(&settings.master_key()?, store.clone());
        let codec = EventCodec::new(keyring.clone());
        let projections = Projections::new(store.clone(), codec.clone())?;
        let workers = Arc::new(projections.statuses());
        let projections = Arc::new(projections);
        let conversations = Arc::new(
            CommandHandler::new(store.clone(), codec.clone())
                .with_snapshots(ConversationState::SNAPSHOT_SCHEMA, SNAPSHOT_EVERY),
        );
        let users = Arc::new(CommandHandler::new(store.clone(), codec.clone()));
        let app = pawpost_app::App::new(
            store.clone(),
            conversations.clone(),
            users.clone(),
            projections.clone(),
            codec.clone(),
            settings.read_your_writes,
        );
        Ok(Self {
            workers,
            projections,
            conversations,
            users,
            app,
            store,
            settings: Arc::new(settings),
            jwt: Arc::new(jwt),
            keyring,
            codec,
            signals: Arc::default(),
            feed,
        })
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("settings", &self.settings)
            .field("jwt", &self.jwt)
            .finish_non_exhaustive()
    }
}
