//! What a log worker is: a name, the events it wants, and how it handles a batch of them.

use async_trait::async_trait;
use pawpost_store::db::{Db, DbError, Tx};
use pawpost_store::{Position, RecordedEvent, StoreError};

use crate::checkpoint;

/// A consumer of the log: a projector (database effects, committed with its checkpoint) or a
/// side-effect worker (push, previews, scans: outside effects, idempotent by event id, the
/// checkpoint moved after them).
///
/// The runtime ([`crate::WorkerHost`], [`crate::Runner`]) gives it the events it wants, in log
/// order, from its checkpoint, at least once: a batch may come again after a crash before its
/// checkpoint committed, so effects must be idempotent (keyed by event id).
#[async_trait]
pub trait LogWorker: Send + Sync + 'static {
    /// What [`LogWorker::prepare`] makes of a batch for [`LogWorker::apply`].
    type Batch: Send + 'static;

    /// Its name: the key of its checkpoint, lease and parked events.
    fn name(&self) -> &'static str;

    /// Whether it handles events of this stream and type. Others are never given to it (its
    /// checkpoint moves past them all the same).
    fn wants(&self, stream: &str, event_type: &str) -> bool;

    /// Turns the wanted events of a batch (log order) into what `apply` needs: decoding,
    /// opening content, look-ups. No effects. The runtime prepares the next batch while the
    /// current one is applied.
    async fn prepare(&self, events: &[&RecordedEvent]) -> Result<Self::Batch, WorkerError>;

    /// Carries out the effects of a prepared batch. Database effects go through
    /// [`Effects::tx`]: they commit together with the checkpoint.
    async fn apply(&self, effects: &mut Effects, batch: Self::Batch) -> Result<(), WorkerError>;
}

/// Why a worker failed on a batch.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct WorkerError {
    /// The database or a service is out of reach: the same batch will succeed later. Never
    /// parks an event.
    pub transient: bool,
    /// The stored checkpoint is behind the batch (commits lost to a crash of the database):
    /// the worker must resume from the stored checkpoint, not go on from the batch.
    pub rewound: bool,
    pub message: String,
}

impl WorkerError {
    /// A failure about the events themselves (undecodable, refused): after a few tries the
    /// event is parked.
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        WorkerError {
            transient: false,
            rewound: false,
            message: message.to_string(),
        }
    }

    /// A failure of something out of reach: retried with back-off until it works.
    pub fn transient(message: impl std::fmt::Display) -> Self {
        WorkerError {
            transient: true,
            rewound: false,
            message: message.to_string(),
        }
    }

    fn rewound() -> Self {
        WorkerError {
            transient: true,
            rewound: true,
            message: "the stored checkpoint is behind the batch (commits lost to a crash of the \
                      database): resuming from it"
                .into(),
        }
    }
}

impl From<DbError> for WorkerError {
    fn from(e: DbError) -> Self {
        WorkerError {
            transient: e.is_unavailable(),
            rewound: false,
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for WorkerError {
    fn from(e: StoreError) -> Self {
        WorkerError {
            transient: e.is_unavailable(),
            rewound: false,
            message: e.to_string(),
        }
    }
}

/// A batch's effects in the database: one transaction, begun when a worker first asks for it,
/// in which the runtime then moves the checkpoint; a worker with outside effects only never
/// holds a transaction while it works.
pub struct Effects {
    db: Db,
    name: &'static str,
    tx: Option<Tx>,
    /// The checkpoint as the transaction found it (locked), once begun.
    applied: Option<Position>,
    at_head: bool,
    /// A parked event retried: it lies behind the checkpoint but was never applied.
    retry: bool,
    /// Where the runner believes the checkpoint stands (the batch follows it).
    believed: Option<Position>,
    /// The stored checkpoint was found behind `believed`.
    rewound: bool,
}

impl Effects {
    pub(crate) fn new(
        db: Db,
        name: &'static str,
        at_head: bool,
        believed: Option<Position>,
    ) -> Self {
        Effects {
            db,
            name,
            tx: None,
            applied: None,
            at_head,
            retry: false,
            believed,
            rewound: false,
        }
    }

    pub(crate) fn retry(db: Db, name: &'static str) -> Self {
        Effects {
            retry: true,
            ..Effects::new(db, name, false, None)
        }
    }

    /// The batch's transaction (begun, and the worker's checkpoint row locked, on first use).
    pub async fn tx(&mut self) -> Result<&mut Tx, DbError> {
        if self.tx.is_none() {
            let mut tx = self.db.begin().await?;
            let applied = checkpoint::load(&mut tx, self.name).await?;
            if self.believed.is_some_and(|b| applied < b) {
                self.rewound = true;
                return Err(DbError::Other(WorkerError::rewound().message));
            }
            self.applied = Some(applied);
            self.tx = Some(tx);
        }
        self.tx
            .as_mut()
            .ok_or_else(|| DbError::Other("no transaction".into()))
    }

    /// The checkpoint as this batch's transaction found it: events at or before it were applied
    /// already (a batch seen twice) and must be skipped by database effects. The start of the
    /// log for a retried parked event (behind the checkpoint, but never applied).
    pub async fn applied(&mut self) -> Result<Position, DbError> {
        self.tx().await?;
        if self.retry {
            return Ok(Position::START);
        }
        Ok(self.applied.unwrap_or(Position::START))
    }

    /// The error to report for `e`, a failure of this batch: a rewound checkpoint is told
    /// apart, so the runner resumes from the stored checkpoint.
    pub(crate) fn error(&self, e: WorkerError) -> WorkerError {
        if self.rewound {
            WorkerError::rewound()
        } else {
            e
        }
    }

    /// Whether this batch reached the end of the log as it was read (the last of a catch-up,
    /// or any live batch): work left for the end of a rebuild can be done now.
    pub fn at_head(&self) -> bool {
        self.at_head
    }

    /// Moves the checkpoint to `last` (unless it is there already) and commits.
    pub(crate) async fn finish(mut self, last: Position) -> Result<Position, WorkerError> {
        if let Err(e) = self.tx().await {
            return Err(self.error(e.into()));
        }
        let applied = self.applied.unwrap_or(Position::START);
        let Some(mut tx) = self.tx.take() else {
            return Ok(applied);
        };
        if last <= applied {
            // Someone else got there first (a batch seen twice), or a batch of nothing at
            // the head: the checkpoint stays, and what the worker did knowing it (work left
            // for the end of a catch-up) is kept.
            tx.commit().await?;
            return Ok(applied);
        }
        checkpoint::save(&mut tx, self.name, last).await?;
        tx.commit().await?;
        Ok(last)
    }

    /// The transaction, if the worker began one, for the runtime to add to and commit itself
    /// (a retried parked event lies behind the checkpoint: it stays where it is).
    pub(crate) fn into_tx(mut self) -> Option<Tx> {
        self.tx.take()
    }
}
