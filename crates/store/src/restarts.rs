//! Noticing that the database server restarted, which is when commits it acknowledged without
//! waiting for their WAL flush may be gone (PostgreSQL's read models commit that way).
//!
//! Every new pooled connection asks the server who it is: when it started and when it last
//! discarded its statistics. The second changes when the server reinitialises after a crash of
//! one of its processes without restarting (crash recovery throws the statistics away); the
//! first changes on every restart. A server that answers differently from the one seen before
//! counts as a restart. The check runs before the connection is handed out, and the connections
//! of a restarted server are all new: whatever a caller reads from the restarted server, the
//! restart was counted before it.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use tokio::sync::watch;

/// Who the server is: its start time and when it last reset its statistics (after a crash).
const IDENTITY: &str = "SELECT pg_postmaster_start_time()::text || ' ' \
     || coalesce((SELECT stats_reset FROM pg_stat_bgwriter)::text, '')";

/// The restarts of a database server this process noticed. Cheap to clone; SQLite's never
/// change (the database lives and dies with the process).
#[derive(Clone, Debug)]
pub struct Restarts(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The identity of the server as last seen.
    seen: Mutex<Option<String>>,
    count: watch::Sender<u64>,
}

impl Default for Restarts {
    fn default() -> Self {
        Restarts(Arc::new(Inner {
            seen: Mutex::new(None),
            count: watch::channel(0).0,
        }))
    }
}

impl Restarts {
    /// How many restarts were noticed so far.
    pub fn count(&self) -> u64 {
        *self.0.count.borrow()
    }

    /// Changes whenever a restart is noticed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.count.subscribe()
    }

    /// The server answered `identity`: a restart if it differs from the one seen before.
    pub(crate) fn observe(&self, identity: String) {
        // Plain data: a panic while it was held leaves it usable.
        let mut seen = self.0.seen.lock().unwrap_or_else(|p| p.into_inner());
        let restarted = seen.as_ref().is_some_and(|s| *s != identity);
        *seen = Some(identity);
        drop(seen);
        if restarted {
            tracing::warn!("the database server restarted since it was last seen");
            self.0.count.send_modify(|n| *n += 1);
        }
    }

    /// `options` whose new connections tell this tracker who the server is.
    pub(crate) fn watching(&self, options: PgPoolOptions) -> PgPoolOptions {
        let restarts = self.clone();
        options.after_connect(move |conn, _meta: PoolConnectionMetadata| {
            identify(restarts.clone(), conn)
        })
    }
}

fn identify(restarts: Restarts, conn: &mut PgConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let identity: String = sqlx::query_scalar(IDENTITY).fetch_one(conn).await?;
        restarts.observe(identity);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_different_server_counts() {
        let r = Restarts::default();
        r.observe("a".into());
        r.observe("a".into());
        assert_eq!(r.count(), 0);
        r.observe("b".into());
        assert_eq!(r.count(), 1);
        r.observe("b".into());
        assert_eq!(r.count(), 1);
    }
}
