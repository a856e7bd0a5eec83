//! The application state every handler receives (STYLE.md §7): cheap, cloneable handles.

use std::sync::Arc;

use pawpost_store::{EventStore, KeyRing};

use crate::auth::JwtKeys;
use crate::Settings;

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
}

impl AppState {
    /// Builds the state from a connected (and migrated) store and the settings; fails if the
    /// configured keys are unusable.
    pub fn new(store: Arc<dyn EventStore>, settings: Settings) -> anyhow::Result<Self> {
        let jwt = JwtKeys::from_settings(&settings)?;
        let keyring = KeyRing::new(&settings.master_key()?, store.clone());
        Ok(Self {
            store,
            settings: Arc::new(settings),
            jwt: Arc::new(jwt),
            keyring,
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
