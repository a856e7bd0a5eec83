use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pawpost_codec::{CodecError, EventCodec, Reveal};
use pawpost_domain::{Aggregate, DomainError};
use pawpost_store::{EventStore, ExpectedVersion, Metadata, Position, RecordedEvent, StoreError};
use tracing::instrument;
use uuid::Uuid;

use super::cache::Cache;

/// Attempts of decide-and-append before a conflict is reported.
const MAX_ATTEMPTS: usize = 5;
/// Events read per page when catching an aggregate up.
const PAGE: usize = 1000;

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
    /// The aggregate after the command.
    pub state: A,
    /// Global position of the last event (for read-your-writes waits); `None` if nothing new.
    pub position: Option<Position>,
    /// True when this command id had already been carried out: `events` are the original ones.
    pub replayed: bool,
}

/// Carries out commands on aggregates of type `A`.
pub struct CommandHandler<A: Aggregate> {
    store: Arc<dyn EventStore>,
    codec: EventCodec,
    cache: Cache<A>,
    conflicts: AtomicU64,
}

impl<A: Aggregate> CommandHandler<A> {
    /// A handler appending to `store`, sealing content with `codec`.
    pub fn new(store: Arc<dyn EventStore>, codec: EventCodec) -> Self {
        CommandHandler {
            store,
            codec,
            cache: Cache::new(),
            conflicts: AtomicU64::new(0),
        }
    }

    /// The id of the `index`-th event of command `command_id`: replaying a command yields the
    /// same ids, which the store recognises.
    pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
        Uuid::new_v5(&command_id, index.to_string().as_bytes())
    }

    /// How many appends lost an expected-version race and were decided again (observability).
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// The current state of `stream` (cached, caught up from the log).
    pub async fn load(&self, stream: &str) -> Result<A, CommandError> {
        let entry = self.cache.entry(stream);
        let mut state = entry.lock().await;
        self.catch_up(stream, &mut state).await?;
        Ok(state.clone())
    }

    /// Decides `command` against `stream` and appends the result, at most once per `command_id`.
    #[instrument(skip_all, fields(stream = %stream, command_id = %command_id))]
    pub async fn execute(
        &self,
        stream: &str,
        command_id: Uuid,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        let entry = self.cache.entry(stream);
        let mut state = entry.lock().await;
        if let Some(done) = self.replay(stream, command_id, &mut state).await? {
            return Ok(done);
        }
        for _ in 0..MAX_ATTEMPTS {
            // The cache may be behind other writers (nodes): a decision on stale state could
            // refuse wrongly, so catch up first (usually an empty read).
            self.catch_up(stream, &mut state).await?;
            let decision = state.decide(command);
            if !matches!(&decision, Ok(events) if !events.is_empty()) {
                // A refusal or a no-op may be this very command's own effect, stored meanwhile
                // by a racing replay (another node, a client retry): return the original.
                if let Some(done) = self.replay(stream, command_id, &mut state).await? {
                    return Ok(done);
                }
            }
            let events = decision?;
            if events.is_empty() {
                return Ok(Outcome {
                    events: Vec::new(),
                    state: state.clone(),
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
            let expected = ExpectedVersion::Exact(state.version());
            match self.store.append(stream, expected, envelopes).await {
                Ok(result) if !result.deduplicated => {
                    let mut recorded = Vec::with_capacity(events.len());
                    for (i, event) in events.into_iter().enumerate() {
                        let version = result.first_version + i as u64;
                        state.evolve(version, &event);
                        recorded.push(RecordedDomainEvent {
                            event_id: Self::event_id(command_id, i),
                            version,
                            event,
                        });
                    }
                    return Ok(Outcome {
                        events: recorded,
                        state: state.clone(),
                        position: Some(result.position),
                        replayed: false,
                    });
                }
                // Stored already (by a racing replay of this command): return the original.
                Ok(_) | Err(StoreError::DuplicateEvent { .. }) => {
                    if let Some(done) = self.replay(stream, command_id, &mut state).await? {
                        return Ok(done);
                    }
                }
                Err(StoreError::Conflict { .. }) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("stream moved on; catching up and deciding again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CommandError::Conflict(MAX_ATTEMPTS))
    }

    /// If `command_id` was carried out already, its original outcome.
    async fn replay(
        &self,
        stream: &str,
        command_id: Uuid,
        state: &mut A,
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
        self.catch_up(stream, state).await?;
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
            state: state.clone(),
            position,
            replayed: true,
        }))
    }

    /// Applies whatever the log holds beyond the cached version.
    async fn catch_up(&self, stream: &str, state: &mut A) -> Result<(), CommandError> {
        loop {
            let page = self
                .store
                .read_stream(stream, state.version(), PAGE)
                .await?;
            for ev in &page {
                let event: A::Event = self.codec.decode(ev, Reveal::Nothing).await?;
                state.evolve(ev.version, &event);
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }
}

fn metadata(meta: &CommandMeta) -> Metadata {
    Metadata {
        actor_id: meta.actor_id.clone(),
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        occurred_at: chrono::Utc::now(),
        device: meta.device.clone(),
    }
}
