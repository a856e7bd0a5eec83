//! Typed configuration (DESIGN.md §8, STYLE.md §9).
//!
//! Layers, lowest to highest: built-in defaults, an optional `pawpost.toml`, `PAWPOST_*`
//! environment variables, then command-line flags ([`Overrides`]). Loading has no side
//! effects: a secret that is not configured is read from the data directory. `pawpost serve`
//! first generates the missing ones there
//! ([`Settings::generate_missing_secrets`], `settings/dev_secrets.rs`), so a development install
//! works without any setup while tokens stay valid across restarts; `pawpost token` never
//! makes one up (a secret the server does not use would sign tokens it rejects).

mod dev_secrets;
mod env;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use pawpost_store::MasterKey;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use dev_secrets::{load_or_generate, read_secret};

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "pawpost.toml";
/// The file (inside the data directory) holding the generated HS256 secret.
pub const JWT_SECRET_FILE: &str = "jwt.secret";
/// The file (inside the data directory) holding the generated master key.
pub const MASTER_KEY_FILE: &str = "master.key";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for terminals.
    #[default]
    Text,
    /// One JSON object per line, for log shippers in production.
    Json,
}

/// Everything the server needs to start. Build it with [`Settings::load`] (the binary) or
/// [`Settings::for_tests`] (tests); every field is public so tests can adjust it afterwards.
///
/// `Debug` never shows the secrets nor the database password.
#[derive(Clone)]
pub struct Settings {
    /// Address the HTTP server binds; port 0 picks a free one.
    pub bind: SocketAddr,
    /// `sqlite:PATH` or `postgres://…`; defaults to `sqlite:{data_dir}/pawpost.db`.
    pub database_url: String,
    /// Where the embedded database, generated secrets and local files live.
    pub data_dir: PathBuf,
    /// HS256 secret that signs and verifies access tokens.
    pub jwt_secret: Option<SecretString>,
    /// Optional RS256 public key (PEM) accepted for verifying tokens issued elsewhere.
    pub jwt_public_key_pem: Option<String>,
    /// Base64 of the 32-byte master key that wraps the per-message data keys.
    pub master_key: Option<SecretString>,
    /// Log output format.
    pub log_format: LogFormat,
    /// Development mode (demo data).
    pub dev: bool,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// How long a command's answer waits for the read models to show its change before
    /// answering 202 with the position instead (read-your-writes).
    pub read_your_writes: std::time::Duration,
    /// Browser origins allowed to call the API and the hub with credentials (CORS); empty:
    /// none (same-origin and non-browser clients only).
    pub cors_origins: Vec<String>,
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--config`: the TOML file to read (it must exist); default `./pawpost.toml` if present.
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// `--bind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    /// `--database`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--dev` (only `Some(true)` when the flag is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<bool>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A layer held a value of the wrong shape (bad address, unknown log format…).
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    /// `--config` named a file that does not exist.
    #[error("config file {0} not found")]
    ConfigNotFound(PathBuf),
    /// A secret file could not be read or written.
    #[error("secret file {}", path.display())]
    SecretFile {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The configured or stored master key is not base64 of 32 bytes.
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
    /// A secret was configured but empty.
    #[error("{0} must not be empty")]
    EmptySecret(&'static str),
    /// A secret is configured nowhere and no server generated one in the data directory.
    #[error(
        "no {name}: set {env}, or start `pawpost serve` once, which generates one into {}",
        path.display()
    )]
    MissingSecret {
        name: &'static str,
        env: &'static str,
        path: PathBuf,
    },
}

impl From<Box<figment::Error>> for SettingsError {
    fn from(e: Box<figment::Error>) -> Self {
        // Not a `source`: the message already says it, and chains would repeat it.
        SettingsError::Invalid(e)
    }
}

/// The shape of the merged layers, before defaults that depend on other fields are filled in.
#[derive(Deserialize)]
struct Raw {
    bind: SocketAddr,
    data_dir: PathBuf,
    database_url: Option<String>,
    jwt_secret: Option<SecretString>,
    jwt_public_key_pem: Option<String>,
    master_key: Option<SecretString>,
    log_format: LogFormat,
    dev: bool,
    max_body_bytes: usize,
    read_your_writes_ms: u64,
    cors_origins: Vec<String>,
}

/// The lowest layer.
#[derive(Serialize)]
struct Defaults {
    bind: SocketAddr,
    data_dir: PathBuf,
    log_format: LogFormat,
    dev: bool,
    max_body_bytes: usize,
    read_your_writes_ms: u64,
    cors_origins: Vec<String>,
}

/// Default largest request body: 1 MiB (messages are at most 10,000 characters; files go
/// through the attachment upload, not JSON bodies).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default read-your-writes wait.
pub const DEFAULT_READ_YOUR_WRITES_MS: u64 = 2_000;

impl Default for Defaults {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            dev: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            read_your_writes_ms: DEFAULT_READ_YOUR_WRITES_MS,
            cors_origins: Vec::new(),
        }
    }
}

impl Settings {
    /// Loads the layered configuration (defaults < file < `PAWPOST_*` env < `overrides`),
    /// reading secrets that are not configured from the data directory. Writes nothing.
    pub fn load(overrides: &Overrides) -> Result<Self, SettingsError> {
        Self::from_figment(Self::figment(overrides)?)
    }

    /// Generates into the data directory the secrets that are configured nowhere and not
    /// stored there yet (`pawpost serve`, before [`Settings::load`]).
    /// Returns the files it wrote.
    pub fn generate_missing_secrets(overrides: &Overrides) -> Result<Vec<PathBuf>, SettingsError> {
        let raw: Raw = Self::figment(overrides)?.extract().map_err(Box::new)?;
        let mut generated = Vec::new();
        let new_master_key: fn() -> String = || MasterKey::generate().to_base64();
        let secrets = [
            (
                raw.jwt_secret.is_some(),
                JWT_SECRET_FILE,
                dev_secrets::new_jwt_secret as fn() -> String,
            ),
            (raw.master_key.is_some(), MASTER_KEY_FILE, new_master_key),
        ];
        for (configured, file, generate) in secrets {
            if configured {
                continue;
            }
            let path = raw.data_dir.join(file);
            let (_, created) =
                load_or_generate(&path, generate).map_err(|source| SettingsError::SecretFile {
                    path: path.clone(),
                    source,
                })?;
            if created {
                generated.push(path);
            }
        }
        Ok(generated)
    }

    /// The merged layers, without extraction: lets callers add a provider of their own.
    pub fn figment(overrides: &Overrides) -> Result<Figment, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Defaults::default()));
        match &overrides.config {
            Some(path) if !path.is_file() => {
                return Err(SettingsError::ConfigNotFound(path.clone()))
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE))
            }
            None => {}
        }
        Ok(figment
            .merge(env::typed())
            .merge(env::RawEnv::new())
            .merge(Serialized::defaults(overrides)))
    }

    /// Extracts settings from `figment`, reading the secrets not configured from the data
    /// directory (absent ones stay absent: [`Settings::jwt_secret`] and
    /// [`Settings::master_key`] say so to the commands that need them).
    pub fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let raw: Raw = figment.extract().map_err(Box::new)?;
        let jwt_secret = resolve_secret(
            raw.jwt_secret,
            "jwt_secret",
            &raw.data_dir.join(JWT_SECRET_FILE),
        )?;
        let master_key = resolve_secret(
            raw.master_key,
            "master_key",
            &raw.data_dir.join(MASTER_KEY_FILE),
        )?;
        if let Some(key) = &master_key {
            MasterKey::from_base64(key.expose_secret())
                .map_err(|e| SettingsError::InvalidMasterKey(e.to_string()))?;
        }
        let database_url = raw
            .database_url
            .unwrap_or_else(|| default_database_url(&raw.data_dir));
        Ok(Self {
            bind: raw.bind,
            database_url,
            data_dir: raw.data_dir,
            jwt_secret,
            jwt_public_key_pem: raw.jwt_public_key_pem.filter(|pem| !pem.trim().is_empty()),
            master_key,
            log_format: raw.log_format,
            dev: raw.dev,
            max_body_bytes: raw.max_body_bytes,
            read_your_writes: std::time::Duration::from_millis(raw.read_your_writes_ms),
            cors_origins: raw.cors_origins,
        })
    }

    /// Settings for tests: `127.0.0.1:0`, the given data directory and database, fresh random
    /// secrets held in memory (nothing is written to `data_dir`).
    pub fn for_tests(data_dir: impl Into<PathBuf>, database_url: impl Into<String>) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            jwt_secret: Some(SecretString::from(dev_secrets::new_jwt_secret())),
            jwt_public_key_pem: None,
            master_key: Some(SecretString::from(MasterKey::generate().to_base64())),
            log_format: LogFormat::Text,
            dev: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            read_your_writes: std::time::Duration::from_millis(DEFAULT_READ_YOUR_WRITES_MS),
            cors_origins: Vec::new(),
        }
    }

    /// The HS256 token secret; a clear error when it is configured nowhere and no server
    /// generated one in the data directory.
    pub fn jwt_secret(&self) -> Result<&SecretString, SettingsError> {
        self.jwt_secret
            .as_ref()
            .ok_or_else(|| self.missing("jwt_secret", "PAWPOST_JWT_SECRET", JWT_SECRET_FILE))
    }

    /// The master key, decoded; a clear error when there is none (as for the token secret).
    pub fn master_key(&self) -> Result<MasterKey, SettingsError> {
        let key = self
            .master_key
            .as_ref()
            .ok_or_else(|| self.missing("master_key", "PAWPOST_MASTER_KEY", MASTER_KEY_FILE))?;
        MasterKey::from_base64(key.expose_secret())
            .map_err(|e| SettingsError::InvalidMasterKey(e.to_string()))
    }

    fn missing(&self, name: &'static str, env: &'static str, file: &str) -> SettingsError {
        SettingsError::MissingSecret {
            name,
            env,
            path: self.data_dir.join(file),
        }
    }

    /// The database url with any password hidden, for logs and messages.
    pub fn database_url_redacted(&self) -> String {
        pawpost_store::redact(&self.database_url)
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &self.database_url_redacted())
            .field("data_dir", &self.data_dir)
            .field("jwt_secret", &"***")
            .field(
                "jwt_public_key_pem",
                &self.jwt_public_key_pem.as_ref().map(|_| "<pem>"),
            )
            .field("master_key", &"***")
            .field("log_format", &self.log_format)
            .field("dev", &self.dev)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("read_your_writes", &self.read_your_writes)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

/// `sqlite:{data_dir}/pawpost.db`.
fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite:{}", data_dir.join("pawpost.db").display())
}

/// The configured secret, or the one stored in `file`, if any.
fn resolve_secret(
    configured: Option<SecretString>,
    name: &'static str,
    file: &Path,
) -> Result<Option<SecretString>, SettingsError> {
    if let Some(secret) = configured {
        if secret.expose_secret().trim().is_empty() {
            return Err(SettingsError::EmptySecret(name));
        }
        return Ok(Some(secret));
    }
    match read_secret(file) {
        Ok(secret) => Ok(Some(secret)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::SecretFile {
            path: file.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;
