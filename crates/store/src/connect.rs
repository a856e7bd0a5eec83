use std::sync::Arc;

use crate::{EventStore, StoreError};

/// The storage backends pawpost runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Opens the store named by `url`: `sqlite:PATH` / `sqlite://PATH` (the file is created), or
/// `postgres://…` / `postgresql://…`. Does not migrate: call [`EventStore::migrate`].
pub async fn connect(url: &str) -> Result<Arc<dyn EventStore>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(crate::postgres::PgStore::connect(url).await?))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(StoreError::Invalid("sqlite url without a path".into()));
        }
        Ok(Arc::new(crate::sqlite::SqliteStore::open(path).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database url (expected sqlite:PATH or postgres://…): {}",
            redact(url)
        )))
    }
}

/// A url safe to print: the password, if any, is replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
