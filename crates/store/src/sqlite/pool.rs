//! A bounded pool of SQLite connections on one file: at most `size` exist, and more
//! concurrent users wait for one rather than opening and closing extra connections (under
//! load that churn — schema parsing, WAL index mapping — costs far more than waiting).

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// Idle connections, and one permit per connection that may exist.
pub struct ConnectionPool {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

/// The right to one connection of a pool; gives it back when dropped.
pub struct Lease {
    pool: Arc<ConnectionPool>,
    conn: Option<Connection>,
    _permit: OwnedSemaphorePermit,
}

impl ConnectionPool {
    /// A pool of at most `size` connections (opened on demand).
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(ConnectionPool {
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    /// Waits until one of the pool's connections is free. Fails only if the pool is closed,
    /// which it never is.
    pub async fn lease(self: &Arc<Self>) -> Result<Lease, AcquireError> {
        let permit = self.permits.clone().acquire_owned().await?;
        let conn = self.lock_idle().pop();
        Ok(Lease {
            pool: self.clone(),
            conn,
            _permit: permit,
        })
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A plain Vec: a panic while it was held leaves it valid.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Lease {
    /// The leased connection, opened with `open` if the pool had none idle.
    pub fn get_or_open<E>(
        &mut self,
        open: impl FnOnce() -> Result<Connection, E>,
    ) -> Result<&mut Connection, E> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => open()?,
        };
        Ok(self.conn.insert(conn))
    }
}

impl Lease {
    /// The leased connection, if one was opened.
    pub fn connection(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Holding a permit, at most `size` connections exist: every one goes back.
        if let Some(conn) = self.conn.take() {
            self.pool.lock_idle().push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn connections_are_reused_and_never_exceed_the_size() {
        let pool = ConnectionPool::new(2);
        let opened = std::sync::atomic::AtomicUsize::new(0);
        let open = || {
            opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Connection::open_in_memory()
        };
        let (mut a, mut b) = (pool.lease().await.unwrap(), pool.lease().await.unwrap());
        a.get_or_open(open).unwrap();
        b.get_or_open(open).unwrap();
        // A third waits while both are out…
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), pool.lease()).await;
        assert!(
            third.is_err(),
            "a third connection was leased beyond the size"
        );
        // …and gets a returned connection, not a new one.
        drop(a);
        let mut c = pool.lease().await.unwrap();
        c.get_or_open(open).unwrap();
        assert_eq!(opened.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}
