use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pawpost_codec::{CodecError, EventCodec, Reveal};
use pawpost_domain::{Aggregate, DomainError};
use pawpost_store::{EventStore, ExpectedVersion, Metadata, Position, RecordedEvent, StoreError};
use tracing::instrument;
use uuid::Uuid;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cache::{Cache, Entry};
use super::snapshots::SnapshotCodec;

/// How long a peek trusts a state known to be the log's without reading the log again.
pub const PEEK_FRESH: Duration = Duration::from_millis(250);

/// Attempts of decide-and-append before a conflict is reported.
const MAX_ATTEMPTS: usize = 5;

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Other writers kept changing the stream: retries exhausted (HTTP 409).
    #[error("the stream kept changing; gave up after {0} attempts")]
    Conflict(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl CommandError {
    /// The database was out of reach (down, restarting): nothing is lost, and the same command
    /// (same command id) can be retried.
    pub fn is_unavailable(&self) -> bool {
        match self {
            CommandError::Store(e) => e.is_unavailable(),
            CommandError::Codec(CodecError::Crypto(pawpost_store::CryptoError::Store(e))) => {
                e.is_unavailable()
            }
            _ => false,
        }
    }
}

/// Who issued a command, and its place in a causal chain.
#[derive(Debug, Clone, Default)]
pub struct CommandMeta {
    /// The acting user.
    pub actor_id: Option<String>,
    /// The request or conversation of work this belongs to.
    pub correlation_id: Option<Uuid>,
    /// The event or command that caused this one.
    pub causation_id: Option<Uuid>,
    /// The device it came from, if known.
    pub device: Option<String>,
}

/// An event the command produced (or, for a replayed command, had produced), as stored.
#[derive(Debug, Clone)]
pub struct RecordedDomainEvent<E> {
    pub event_id: Uuid,
    pub version: u64,
    pub event: E,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome<A: Aggregate> {
    /// The events appended (empty when the command changed nothing).
    pub events: Vec<RecordedDomainEvent<A::Event>>,
    /// The stream's version after the command (as this process knows it).
    pub version: u64,
    /// Global position of the last event (for read-your-writes waits); `None` if nothing new.
    pub position: Option<Position>,
    /// True when this command id had already been carried out: `events` are the original ones.
    pub replayed: bool,
}

/// Carries out commands on aggregates of type `A`.
pub struct CommandHandler<A: Aggregate> {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) codec: EventCodec,
    pub(crate) cache: Cache<A>,
    pub(crate) conflicts: AtomicU64,
    pub(crate) snapshots: Option<SnapshotCodec<A>>,
}

impl<A: Aggregate> CommandHandler<A> {
    /// A handler appending to `store`, sealing content with `codec`.
    pub fn new(store: Arc<dyn EventStore>, codec: EventCodec) -> Self {
        CommandHandler {
            store,
            codec,
            cache: Cache::new(),
            conflicts: AtomicU64::new(0),
            snapshots: None,
        }
    }

    /// Stores a snapshot of a stream's state every `every` events (in `schema`, which changes
    /// whenever the state's shape does), and loads cold aggregates from them.
    pub fn with_snapshots(mut self, schema: u32, every: u64) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.snapshots = Some(SnapshotCodec {
            schema,
            every: every.max(1),
            encode: |state| serde_json::to_string(state).ok(),
            decode: |data| serde_json::from_str(data).ok(),
        });
        self
    }

    /// The id of the `index`-th event of command `command_id`: replaying a command yields the
    /// same ids, which the store recognises.
    pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
        Uuid::new_v5(&command_id, index.to_string().as_bytes())
    }

    /// How many commands wait for `stream` to be decided (queued behind the group being
    /// appended; observability and tests).
    pub fn queued(&self, stream: &str) -> usize {
        self.cache.queued(stream)
    }

    /// How many appends lost an expected-version race and were decided again (observability).
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// The current state of `stream` (cached, caught up from the log). A copy: prefer
    /// [`CommandHandler::peek`] where a few facts will do.
    pub async fn load(&self, stream: &str) -> Result<A, CommandError> {
        self.peek(stream, A::clone).await
    }

    /// Reads `f` off the current state of `stream` without copying it: cached, and caught up
    /// from the log unless it was known to be the log's less than [`PEEK_FRESH`] ago (this
    /// node's own appends keep a busy stream's state known; only another node's write can be
    /// missed for that long). For the facts a command checks early; its decision is always
    /// made on the state its append expects.
    pub async fn peek<T>(&self, stream: &str, f: impl FnOnce(&A) -> T) -> Result<T, CommandError> {
        let slot = self.cache.slot(stream);
        let mut entry = slot.entry.lock().await;
        if !entry.fresh(PEEK_FRESH) {
            self.ensure_loaded(stream, &mut entry).await?;
            self.catch_up(stream, &mut entry).await?;
        }
        Ok(f(&entry.state))
    }

    /// Decides `command` against `stream` and appends the result, at most once per `command_id`
    /// (a command id derived from a client's key: a retry returns the original outcome).
    #[instrument(skip_all, fields(stream = %stream, command_id = %command_id))]
    pub async fn execute(
        &self,
        stream: &str,
        command_id: Uuid,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        self.run(stream, command_id, true, command, meta).await
    }

    /// Decides and appends a command under a fresh id (UUIDv7), which cannot have been carried
    /// out before: no idempotency look-up.
    #[instrument(skip_all, fields(stream = %stream))]
    pub async fn execute_new(
        &self,
        stream: &str,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        self.run(stream, Uuid::now_v7(), false, command, meta).await
    }

    async fn run(
        &self,
        stream: &str,
        command_id: Uuid,
        may_exist: bool,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        self.submit(stream, command_id, may_exist, command, meta)
            .await
    }

    /// Carries out one command on the locked state of its stream.
    pub(crate) async fn run_one(
        &self,
        stream: &str,
        entry: &mut Entry<A>,
        command_id: Uuid,
        may_exist: bool,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        if may_exist {
            if let Some(done) = self.replay(stream, command_id, entry).await? {
                return Ok(done);
            }
        }
        let first_use = !entry.loaded;
        self.ensure_loaded(stream, entry).await?;
        // The cache is usually current (this node wrote the last events); when another node
        // wrote since, the append below fails its version check and the command is decided
        // again on the caught-up state. Refusals and no-ops are confirmed on caught-up state.
        let mut current = first_use;
        for _ in 0..MAX_ATTEMPTS {
            let decision = entry.state.decide(command);
            let productive = matches!(&decision, Ok(events) if !events.is_empty());
            if !productive {
                if !current {
                    self.catch_up(stream, entry).await?;
                    current = true;
                    continue;
                }
                // A refusal or a no-op may be this very command's own effect, stored meanwhile
                // by a racing replay (another node, a client retry): return the original.
                if may_exist {
                    if let Some(done) = self.replay(stream, command_id, entry).await? {
                        return Ok(done);
                    }
                }
            }
            let events = decision?;
            if events.is_empty() {
                return Ok(Outcome {
                    events: Vec::new(),
                    version: entry.state.version(),
                    position: None,
                    replayed: false,
                });
            }
            let mut envelopes = Vec::with_capacity(events.len());
            for (i, event) in events.iter().enumerate() {
                envelopes.push(
                    self.codec
                        .encode(Self::event_id(command_id, i), event.clone(), metadata(meta))
                        .await?,
                );
            }
            let expected = ExpectedVersion::Exact(entry.state.version());
            match self.store.append(stream, expected, envelopes).await {
                Ok(result) if !result.deduplicated => {
                    let mut recorded = Vec::with_capacity(events.len());
                    for (i, event) in events.into_iter().enumerate() {
                        let version = result.first_version + i as u64;
                        entry.state.evolve(version, &event);
                        recorded.push(RecordedDomainEvent {
                            event_id: Self::event_id(command_id, i),
                            version,
                            event,
                        });
                    }
                    entry.checked = Some(Instant::now());
                    self.maybe_snapshot(stream, entry);
                    return Ok(Outcome {
                        events: recorded,
                        version: entry.state.version(),
                        position: Some(result.position),
                        replayed: false,
                    });
                }
                // Stored already (by a racing replay of this command): return the original.
                Ok(_) | Err(StoreError::DuplicateEvent { .. }) => {
                    if let Some(done) = self.replay(stream, command_id, entry).await? {
                        return Ok(done);
                    }
                    self.catch_up(stream, entry).await?;
                    current = true;
                }
                Err(StoreError::Conflict { .. }) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("stream moved on; catching up and deciding again");
                    self.catch_up(stream, entry).await?;
                    current = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CommandError::Conflict(MAX_ATTEMPTS))
    }

    /// If `command_id` was carried out already, its original outcome.
    pub(crate) async fn replay(
        &self,
        stream: &str,
        command_id: Uuid,
        entry: &mut Entry<A>,
    ) -> Result<Option<Outcome<A>>, CommandError> {
        let mut stored: Vec<RecordedEvent> = Vec::new();
        while let Some(ev) = self
            .store
            .find_event(Self::event_id(command_id, stored.len()))
            .await?
        {
            stored.push(ev);
        }
        let Some(last) = stored.last() else {
            return Ok(None);
        };
        if last.stream != stream {
            return Err(
                DomainError::Conflict("command id reused for another stream".into()).into(),
            );
        }
        let position = Some(last.position);
        self.ensure_loaded(stream, entry).await?;
        self.catch_up(stream, entry).await?;
        let mut events = Vec::with_capacity(stored.len());
        for ev in &stored {
            events.push(RecordedDomainEvent {
                event_id: ev.event_id,
                version: ev.version,
                event: self.codec.decode(ev, Reveal::Content).await?,
            });
        }
        Ok(Some(Outcome {
            events,
            version: entry.state.version(),
            position,
            replayed: true,
        }))
    }
}

pub(crate) fn metadata(meta: &CommandMeta) -> Metadata {
    Metadata {
        actor_id: meta.actor_id.clone(),
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        occurred_at: chrono::Utc::now(),
        device: meta.device.clone(),
    }
}
