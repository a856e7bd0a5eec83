//! Running the projectors: catch up from each checkpoint, then follow the log live; each batch
//! and its checkpoint commit in one transaction.

use std::sync::Arc;
use std::time::Duration;

use pawpost_codec::EventCodec;
use pawpost_store::{EventStore, Position, RecordedEvent, Subscription};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::checkpoint;
use crate::db::{DbError, ReadDb};
use crate::envelope::{decode_batch, Envelope};
use crate::projectors::{self, Projector};

/// Events applied per transaction.
const BATCH: usize = 500;

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
}

struct Entry {
    projector: Arc<dyn Projector>,
    progress: watch::Sender<Position>,
}

/// The read side: projectors over the log, their read-model database and their progress.
pub struct Projections {
    store: Arc<dyn EventStore>,
    db: ReadDb,
    codec: EventCodec,
    entries: Vec<Entry>,
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
        let db = ReadDb::for_store(&store)?;
        Ok(Projections {
            store,
            db,
            codec,
            entries: projectors
                .into_iter()
                .map(|projector| Entry {
                    projector,
                    progress: watch::channel(Position::START).0,
                })
                .collect(),
        })
    }

    /// The read-model database (queries run on it).
    pub fn db(&self) -> &ReadDb {
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
        Ok(self
            .db
            .transaction(move |tx| checkpoint::load(tx, name))
            .await?)
    }

    /// Applies one batch of stored events with `name`'s projector and moves its checkpoint, in
    /// one transaction. Events at or before the checkpoint are skipped, so a batch seen twice
    /// (a crash before the commit, a second runner) is applied once. Returns the new checkpoint.
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
        Ok(Some(Prepared { decoded, last }))
    }

    /// Applies a prepared batch and moves the checkpoint, in one transaction.
    async fn commit(&self, name: &str, prepared: Prepared) -> Result<Position, ProjectionError> {
        let entry = self.entry(name)?;
        let projector = entry.projector.clone();
        let Prepared { decoded, last } = prepared;
        let applied = self
            .db
            .transaction(move |tx| {
                let from = checkpoint::load(tx, projector.name())?;
                if last <= from {
                    return Ok(from);
                }
                for env in decoded.iter().filter(|e| e.position > from) {
                    projector.apply(tx, env)?;
                }
                checkpoint::save(tx, projector.name(), last)?;
                Ok(last)
            })
            .await?;
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
            let batch = self.store.read_all(after, BATCH).await?;
            let count = batch.len() as u64;
            let next = batch.last().map(|e| e.position);
            let prepared = self.prepare(name, &batch).await?;
            Ok::<_, ProjectionError>((prepared, next, count))
        };
        let mut pending = read(self.checkpoint(name).await?).await?;
        loop {
            let (Some(prepared), Some(next), count) = pending else {
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
        self.db
            .transaction(move |tx| {
                for table in projector.tables() {
                    tx.execute(&format!("DELETE FROM {table}"), &[])?;
                }
                checkpoint::reset(tx, projector.name())
            })
            .await?;
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
            let mut sub = Subscription::new(self.store.clone(), from).with_batch_size(BATCH);
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

/// Sleeps `d` unless `stop` turns true first; returns whether to stop.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
