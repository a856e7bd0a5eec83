//! The `PAWPOST_*` environment layer.
//!
//! figment's `Env` parses values (`12345` becomes a number, `true` a bool, `[a]` an array),
//! which suits typed settings but breaks string ones: a numeric-looking secret or a directory
//! named `2024` would be refused. So typed keys go through `Env`, string keys through
//! [`RawEnv`], which hands the value over exactly as set.

use figment::providers::Env;
use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// The prefix of every variable.
const PREFIX: &str = "PAWPOST_";

/// Keys whose values are parsed (addresses, enums, booleans).
const TYPED_KEYS: [&str; 6] = [
    "bind",
    "log_format",
    "dev",
    "max_body_bytes",
    "read_your_writes_ms",
    "cors_origins",
];

/// Keys whose values are taken verbatim.
const STRING_KEYS: [&str; 5] = [
    "database_url",
    "data_dir",
    "jwt_secret",
    "jwt_public_key_pem",
    "master_key",
];

/// The typed variables (`PAWPOST_BIND`, `PAWPOST_LOG_FORMAT`, `PAWPOST_DEV`).
pub(super) fn typed() -> Env {
    Env::prefixed(PREFIX).only(&TYPED_KEYS)
}

/// The string variables (`PAWPOST_DATABASE_URL`, `PAWPOST_DATA_DIR`, `PAWPOST_JWT_SECRET`,
/// `PAWPOST_JWT_PUBLIC_KEY_PEM`, `PAWPOST_MASTER_KEY`), unparsed.
pub(super) struct RawEnv(Env);

impl RawEnv {
    pub(super) fn new() -> Self {
        Self(Env::prefixed(PREFIX).only(&STRING_KEYS))
    }
}

impl Provider for RawEnv {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let dict: Dict = self
            .0
            .iter()
            .map(|(key, value)| (key.as_str().to_owned(), Value::from(value)))
            .collect();
        Ok(Profile::Default.collect(dict))
    }
}
