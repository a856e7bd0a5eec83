//! Running the projectors: catch up from each checkpoint, then follow the log live; each batch
//! and its checkpoint commit in one transaction.

use std::sync::Arc;
use std::time::Duration;

use pawpost_codec::EventCodec;
use pawpost_store::{EventStore, Position, RecordedEvent, Subscription};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::checkpoint;
use crate::db::{Db, DbError, Dialect, Tx};
use crate::envelope::{decode_batch, Envelope};
use crate::projectors::{self, Projector};

/// Events read per batch while following the log live (fewer when fewer are new).
const BATCH: usize = 500;
/// Following the log, a projector reads at most once per this interval (see
/// `Subscription::with_min_interval`): under load each batch — one transaction with its
/// checkpoint — carries several commits' events instead of one, at the cost of this much
/// more read-your-writes latency at worst.
const LIVE_COALESCE: Duration = Duration::from_millis(5);
/// Events per transaction while catching up: large transactions write each index page that a
/// batch touches once (SQLite writes every changed page at each commit; random-position
/// index inserts touch one page per row in small transactions) and let the search index
/// flush larger segments. A rebuild runs several times faster than in batches of 500.
const CATCH_UP_BATCH: usize = 10_000;

/// Why projecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Store(#[from] pawpost_store::StoreError),
    #[error(transparent)]
    Codec(#[from] pawpost_codec::CodecError),
    #[error("no projection named {0}")]
    Unknown(String),
}

/// A decoded batch waiting to be applied.
struct Prepared {
    decoded: Vec<Envelope>,
    last: Position,
    /// The batch ended at the end of the log as it was read (fewer events than asked for).
    at_head: bool,
}

struct Entry {
    projector: Arc<dyn Projector>,
    progress: watch::Sender<Position>,
}

/// The read side: projectors over the log, their read-model database and their progress.
pub struct Projections {
    store: Arc<dyn EventStore>,
    db: Db,
    codec: EventCodec,
    entries: Vec<Entry>,
    /// Events per catch-up transaction; a batch with fewer reached the end of the log.
    catch_up_batch: usize,
}

impl Projections {
    /// Every projector over `store`'s database.
    pub fn new(store: Arc<dyn EventStore>, codec: EventCodec) -> Result<Self, ProjectionError> {
        Self::with_projectors(store, codec, projectors::all())
    }

    /// The given projectors (tests wrap them to inject faults).
    pub fn with_projectors(
        store: Arc<dyn EventStore>,
        codec: EventCodec,
        projectors: Vec<Arc<dyn Projector>>,
    ) -> Result<Self, ProjectionError> {
        let db = store.db();
        Ok(Projections {
            store,
            db,
            codec,
            catch_up_batch: CATCH_UP_BATCH,
            entries: projectors
                .into_iter()
                .map(|projector| Entry {
                    projector,
                    progress: watch::channel(Position::START).0,
                })
                .collect(),
        })
    }

    /// Catches up in transactions of `n` events (at least 1) instead of 10,000: a smaller
    /// figure holds the write lock for shorter stretches; tests use it to cut a rebuild into
    /// many batches.
    pub fn with_catch_up_batch(mut self, n: usize) -> Self {
        self.catch_up_batch = n.max(1);
        self
    }

    /// The read-model database (queries run on it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Names of the projectors.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.projector.name()).collect()
    }

    fn entry(&self, name: &str) -> Result<&Entry, ProjectionError> {
        self.entries
            .iter()
            .find(|e| e.projector.name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_string()))
    }

    /// Where `name` stands.
    pub async fn checkpoint(&self, name: &str) -> Result<Position, ProjectionError> {
        let name = self.entry(name)?.projector.name();
        let mut tx = self.db.read().await.map_err(ProjectionError::Db)?;
        Ok(crate::queries::users_extra::projected_position(&mut tx, name).await?)
    }

    /// Applies one batch of stored events with `name`'s projector and moves its checkpoint, in
    /// one transaction. Events at or before the checkpoint are skipped, so a batch seen twice
    /// (a crash before the commit, a second runner) is applied once. A batch of fewer events
    /// than a catch-up transaction holds is taken to reach the end of the log (the live
    /// follower's batches): work a projector left for the end of a rebuild is done with it.
    /// Returns the new checkpoint.
    pub async fn apply_batch(
        &self,
        name: &str,
        events: &[RecordedEvent],
    ) -> Result<Position, ProjectionError> {
        match self.prepare(name, events).await? {
            Some(prepared) => self.commit(name, prepared).await,
            None => self.checkpoint(name).await,
        }
    }

    /// Decodes what `name`'s projector reads of a batch (no database work yet).
    async fn prepare(
        &self,
        name: &str,
        events: &[RecordedEvent],
    ) -> Result<Option<Prepared>, ProjectionError> {
        let projector = &self.entry(name)?.projector;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(None);
        };
        let wanted: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| projector.wants(&e.stream, &e.event_type))
            .collect();
        let decoded = decode_batch(&self.codec, &wanted, projector.reveal()).await?;
        Ok(Some(Prepared {
            decoded,
            last,
            at_head: events.len() < self.catch_up_batch,
        }))
    }

    /// Applies a prepared batch and moves the checkpoint, in one transaction.
    async fn commit(&self, name: &str, prepared: Prepared) -> Result<Position, ProjectionError> {
        let entry = self.entry(name)?;
        let projector = entry.projector.clone();
        let Prepared {
            decoded,
            last,
            at_head,
        } = prepared;
        let mut tx = self.db.begin().await?;
        let from = checkpoint::load(&mut tx, projector.name()).await?;
        let applied = if last <= from {
            from
        } else {
            let fresh: Vec<&Envelope> = decoded.iter().filter(|e| e.position > from).collect();
            projector.apply_batch(&mut tx, &fresh).await?;
            if at_head {
                projector.on_caught_up(&mut tx).await?;
            }
            checkpoint::save(&mut tx, projector.name(), last).await?;
            tx.commit().await?;
            last
        };
        entry.progress.send_if_modified(|p| {
            let changed = applied > *p;
            if changed {
                *p = applied;
            }
            changed
        });
        Ok(applied)
    }

    /// Applies everything committed so far with `name`'s projector; returns how many events it
    /// read. `on_batch` sees the running count (a progress bar).
    pub async fn catch_up(
        &self,
        name: &str,
        mut on_batch: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let mut n = 0u64;
        // Read and decode the next batch while the current one is being written: decoding
        // (opening content) and applying run on different cores.
        let read = |after: Position| async move {
            let batch = self.store.read_all(after, self.catch_up_batch).await?;
            let count = batch.len() as u64;
            let next = batch.last().map(|e| e.position);
            let prepared = self.prepare(name, &batch).await?;
            Ok::<_, ProjectionError>((prepared, next, count))
        };
        let mut pending = read(self.checkpoint(name).await?).await?;
        loop {
            let (Some(prepared), Some(next), count) = pending else {
                // Also when the log ended exactly at a full batch (or had nothing new).
                let projector = self.entry(name)?.projector.clone();
                let mut tx = self.db.begin().await?;
                projector.on_caught_up(&mut tx).await?;
                tx.commit().await?;
                return Ok(n);
            };
            let (committed, following) = tokio::join!(self.commit(name, prepared), read(next));
            committed?;
            n += count;
            on_batch(n);
            pending = following?;
        }
    }

    /// Empties `name`'s tables and checkpoint, so it rebuilds from the start of the log.
    pub async fn reset(&self, name: &str) -> Result<(), ProjectionError> {
        let projector = self.entry(name)?.projector.clone();
        let mut tx = self.db.begin().await?;
        for table in projector.tables() {
            empty(&mut tx, table).await?;
        }
        projector.on_reset(&mut tx).await?;
        checkpoint::reset(&mut tx, projector.name()).await?;
        tx.commit().await?;
        self.entry(name)?.progress.send_replace(Position::START);
        Ok(())
    }

    /// Waits until every projector has applied `position`, at most `timeout`. True if reached.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> bool {
        let all = async {
            for e in &self.entries {
                let mut rx = e.progress.subscribe();
                if rx.wait_for(|p| *p >= position).await.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(timeout, all).await.unwrap_or(false)
    }

    /// Starts one task per projector following the log until `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        self.entries
            .iter()
            .map(|e| {
                let this = self.clone();
                let name = e.projector.name();
                let stop = stop.clone();
                tokio::spawn(async move { this.follow(name, stop).await })
            })
            .collect()
    }

    async fn follow(&self, name: &'static str, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        while !*stop.borrow() {
            // A backlog (a restart after downtime, a reset) goes in the large transactions of
            // a catch-up first; then the log is followed batch by batch.
            let caught_up = tokio::select! {
                r = self.catch_up(name, |_| {}) => r,
                _ = stop.changed() => return,
            };
            if let Err(e) = caught_up {
                tracing::error!(projection = name, error = %e, "catching up failed");
                if wait_or_stop(&mut stop, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
            let from = match self.checkpoint(name).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(projection = name, error = %e, "reading checkpoint failed");
                    if wait_or_stop(&mut stop, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            self.entry(name)
                .map(|e| {
                    e.progress.send_if_modified(|p| {
                        let changed = from > *p;
                        if changed {
                            *p = from;
                        }
                        changed
                    })
                })
                .ok();
            let mut sub = Subscription::new(self.store.clone(), from)
                .with_batch_size(BATCH)
                .with_min_interval(LIVE_COALESCE);
            loop {
                let batch = tokio::select! {
                    b = sub.next_batch() => b,
                    _ = stop.changed() => return,
                };
                let result = match batch {
                    Ok(events) => self.apply_batch(name, &events).await.map(|_| ()),
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = result {
                    tracing::error!(projection = name, error = %e, "projection batch failed; resuming from the checkpoint");
                    if wait_or_stop(&mut stop, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    break;
                }
                backoff = Duration::from_millis(100);
            }
        }
    }
}

/// Empties a read-model table. SQLite's FTS5 tables delete row by row (seconds for a million
/// messages, holding the write lock); dropping and re-creating them from their stored schema
/// is instant.
async fn empty(tx: &mut Tx, table: &str) -> Result<(), DbError> {
    if tx.dialect() == Dialect::Sqlite {
        let virtual_sql = tx
            .query_opt(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1
                   AND sql LIKE 'CREATE VIRTUAL TABLE%'",
                &[table.into()],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()?;
        if let Some(sql) = virtual_sql {
            return tx.batch(&[&format!("DROP TABLE {table}"), &sql]).await;
        }
    }
    tx.execute(&format!("DELETE FROM {table}"), &[]).await?;
    Ok(())
}

/// Sleeps `d` unless `stop` turns true first; returns whether to stop.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
