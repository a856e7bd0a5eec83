//! Group commit: the commands waiting for one stream are decided together and appended in one
//! transaction, so a busy conversation costs one append per group instead of one per message.
//!
//! A caller puts its command in the stream's queue and waits for either its answer or the
//! stream's lock. Whoever gets the lock takes the whole queue and carries it out: each command
//! decided in turn on the state as the previous ones left it, then every event appended with
//! the version the first decision saw (concurrency safety is that of a single command). A
//! refusal or a no-op is decided again on its own on caught-up state, as a lone command is;
//! when the group's append fails (another node wrote, a command was stored already, the
//! database is out of reach), the state is folded again from the log and each command goes
//! through alone, looking itself up first. A caller whose command was taken by a holder that
//! was cancelled before answering submits it again, looking itself up first too: it is carried
//! out at most once.

use std::sync::atomic::Ordering;

use pawpost_domain::Aggregate;
use pawpost_store::{ExpectedVersion, NewEvent, StoreError};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::cache::Entry;
use super::handler::{metadata, CommandError, CommandHandler, CommandMeta, Outcome};
use super::RecordedDomainEvent;

/// A command waiting for its stream.
pub(crate) struct Job<A: Aggregate> {
    pub(crate) command_id: Uuid,
    /// Its id may have been carried out before (look it up first).
    pub(crate) may_exist: bool,
    pub(crate) command: A::Command,
    pub(crate) meta: CommandMeta,
    pub(crate) reply: oneshot::Sender<Result<Outcome<A>, CommandError>>,
}

/// A command decided in the group: its events, sealed.
struct Decided<A: Aggregate> {
    job: Job<A>,
    events: Vec<A::Event>,
}

impl<A: Aggregate> CommandHandler<A> {
    /// Queues a command on `stream` and waits for its outcome, carrying out the queue whenever
    /// this caller gets the stream's lock first.
    pub(crate) async fn submit(
        &self,
        stream: &str,
        command_id: Uuid,
        mut may_exist: bool,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> Result<Outcome<A>, CommandError> {
        let slot = self.cache.slot(stream);
        loop {
            let (reply, mut answer) = oneshot::channel();
            slot.enqueue(Job {
                command_id,
                may_exist,
                command: command.clone(),
                meta: meta.clone(),
                reply,
            });
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut answer => match outcome {
                        Ok(outcome) => return outcome,
                        // Taken by a holder that was cancelled: it may be stored already.
                        Err(_) => {
                            may_exist = true;
                            break;
                        }
                    },
                    mut entry = slot.entry.lock() => {
                        let jobs = slot.take_queue();
                        self.carry_out(stream, &mut entry, jobs).await;
                    }
                }
            }
        }
    }

    /// Carries out the commands taken from the queue, answering each.
    async fn carry_out(&self, stream: &str, entry: &mut Entry<A>, jobs: Vec<Job<A>>) {
        let mut alone = Vec::new();
        if jobs.len() > 1 && entry.loaded {
            alone = self.group(stream, entry, jobs).await;
        } else {
            alone.extend(jobs);
        }
        for job in alone {
            let outcome = self
                .run_one(
                    stream,
                    entry,
                    job.command_id,
                    job.may_exist,
                    &job.command,
                    &job.meta,
                )
                .await;
            let _ = job.reply.send(outcome);
        }
    }

    /// Decides the commands in turn and appends their events at once; returns those to carry
    /// out alone (refusals and no-ops, or all of them when the append failed).
    async fn group(&self, stream: &str, entry: &mut Entry<A>, jobs: Vec<Job<A>>) -> Vec<Job<A>> {
        let mut alone = Vec::new();
        let fresh = self.not_carried_out(stream, entry, jobs).await;
        let base = entry.state.version();
        let mut decided: Vec<Decided<A>> = Vec::with_capacity(fresh.len());
        for job in fresh {
            match entry.state.decide(&job.command) {
                Ok(events) if !events.is_empty() => {
                    entry.state.apply_new(&events);
                    decided.push(Decided { job, events });
                }
                _ => alone.push(job),
            }
        }
        if decided.is_empty() {
            return alone;
        }
        // Sealing failed, or the append: each command goes through alone (and tells why).
        let appended = match self.seal_all(&mut decided).await {
            Ok(envelopes) => match self
                .store
                .append(stream, ExpectedVersion::Exact(base), envelopes)
                .await
            {
                Ok(result) => Some(result),
                Err(StoreError::Conflict { .. }) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(_) => None,
            },
            Err(_) => None,
        };
        match appended {
            Some(result) if !result.deduplicated && result.first_version == base + 1 => {
                let mut version = base;
                for Decided { job, events } in decided {
                    let mut recorded = Vec::with_capacity(events.len());
                    for (i, event) in events.into_iter().enumerate() {
                        version += 1;
                        recorded.push(RecordedDomainEvent {
                            event_id: Self::event_id(job.command_id, i),
                            version,
                            event,
                        });
                    }
                    let _ = job.reply.send(Ok(Outcome {
                        events: recorded,
                        version,
                        position: Some(result.position),
                        replayed: false,
                    }));
                }
                entry.checked = Some(std::time::Instant::now());
                self.maybe_snapshot(stream, entry);
                alone
            }
            _ => {
                // The state holds events that were not stored: fold it again from the log.
                *entry = Entry::default();
                let mut retry: Vec<Job<A>> = decided
                    .into_iter()
                    .map(|d| Job {
                        may_exist: true,
                        ..d.job
                    })
                    .collect();
                retry.extend(alone);
                retry
            }
        }
    }

    /// Answers the commands carried out already (their original outcome) and returns the
    /// others. Whether each was stored is asked all at once, before any decision changes the
    /// state: one round trip's wait for the group.
    async fn not_carried_out(
        &self,
        stream: &str,
        entry: &mut Entry<A>,
        jobs: Vec<Job<A>>,
    ) -> Vec<Job<A>> {
        let stored = futures::future::join_all(jobs.iter().map(|job| async move {
            if !job.may_exist {
                return Ok(false);
            }
            let first = Self::event_id(job.command_id, 0);
            self.store
                .find_event(first)
                .await
                .map(|found| found.is_some())
        }))
        .await;
        let mut fresh = Vec::with_capacity(jobs.len());
        for (job, stored) in jobs.into_iter().zip(stored) {
            let outcome = match stored {
                Ok(false) => {
                    fresh.push(job);
                    continue;
                }
                Ok(true) => self.replay(stream, job.command_id, entry).await,
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(Some(done)) => {
                    let _ = job.reply.send(Ok(done));
                }
                // Gone in between (cannot happen: events are never deleted): decided anew.
                Ok(None) => fresh.push(job),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        fresh
    }

    /// The events of the group, sealed, their data keys created in one round trip first.
    async fn seal_all(&self, decided: &mut [Decided<A>]) -> Result<Vec<NewEvent>, CommandError> {
        let mut all: Vec<A::Event> = decided
            .iter()
            .flat_map(|d| d.events.iter().cloned())
            .collect();
        self.codec.create_keys(&mut all).await?;
        let mut envelopes = Vec::with_capacity(all.len());
        for d in decided.iter() {
            envelopes.extend(self.seal(&d.job, &d.events).await?);
        }
        Ok(envelopes)
    }

    /// The events of `job`, sealed, with ids derived from its command id.
    async fn seal(&self, job: &Job<A>, events: &[A::Event]) -> Result<Vec<NewEvent>, CommandError> {
        let mut sealed = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            sealed.push(
                self.codec
                    .encode(
                        Self::event_id(job.command_id, i),
                        event.clone(),
                        metadata(&job.meta),
                    )
                    .await?,
            );
        }
        Ok(sealed)
    }
}
