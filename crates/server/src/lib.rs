//! pawpost's server: everything between the network and the event store.
//!
//! The `pawpost` binary parses its command line and calls into this crate; integration tests
//! start the same server in-process with [`spawn`] on port 0.
//!
//! Layout:
//! * `settings.rs`: [`Settings`], layered from defaults, `pawpost.toml`, `PAWPOST_*` env and
//!   flags ([`settings::Overrides`]); development secrets generated once into the data dir.
//! * `state.rs`: [`AppState`], the cheap handles every handler shares.
//! * `commands` (re-export of `pawpost-commands`): [`commands::CommandHandler`]: cached aggregate, decide, seal, append with the
//!   expected version, bounded retries on conflict, idempotent replays by command id.
//! * `auth/`: access tokens ([`auth::JwtKeys`], [`auth::Claims`], [`auth::Role`]).
//! * `http/`: the HTTP routes, one file per resource, merged in [`http::router`].
//! * `serve.rs`: [`spawn`] / [`serve`]: bind, connect, migrate, serve, shut down gracefully.
//! * `replay.rs`: [`replay()`]: `pawpost replay`, rebuilding read models from the log under the
//!   leases.
//! * `signals.rs`: [`signals::Signals`], typing and presence (in-process, broadcast).
//! * `shutdown.rs`: [`shutdown_signal`] (ctrl-c, SIGTERM).
//! * `telemetry.rs`: [`telemetry::init`], the tracing subscriber of the binary.

pub mod auth;
/// Sync cursors (opaque log positions), shared with the application layer.
pub use pawpost_app::cursor;
pub mod dto;
/// Command handling lives in `pawpost-commands`; re-exported for handlers.
pub use pawpost_commands as commands;
pub mod http;
pub mod hub;
pub mod process;
pub mod replay;
mod serve;
pub mod settings;
mod shutdown;
pub mod signals;
mod state;
pub mod telemetry;

pub use replay::replay;
pub use serve::{connect_and_migrate, serve, spawn, RunningServer};
pub use settings::Settings;
pub use shutdown::shutdown_signal;
pub use state::AppState;
