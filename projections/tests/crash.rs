//! Crash safety of the projections on both backends (DESIGN.md §5): a batch and its checkpoint
//! commit together, so a projector that fails halfway through a batch leaves neither its rows
//! nor its checkpoint moved, and running again (the same runner, a restarted one, or the live
//! follower after its back-off) ends with exactly the tables of an uninterrupted rebuild. A
//! batch seen twice changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::{assert_same, group, uid, World};
use pawpost_codec::Reveal;
use pawpost_domain::values::{MessageBody, NotificationLevel, Reaction};
use pawpost_domain::{ConversationCommand as C, ConversationId, MessageId, UserCommand as U};
use pawpost_projections::db::{DbError, Tx};
use pawpost_projections::envelope::{decode, Envelope};
use pawpost_projections::projectors::{self, Projector};
use pawpost_projections::{ProjectionError, Projections};
use pawpost_store::{Position, RecordedEvent};

const INJECTED: &str = "injected crash";

/// A projector that fails on the `fail_at`-th event it is asked to apply (counting from 1,
/// over its whole life), once; every other event goes to the real projector.
struct Faulty {
    inner: Arc<dyn Projector>,
    fail_at: usize,
    seen: AtomicUsize,
    crashes: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Projector for Faulty {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }

    fn reveal(&self) -> Reveal {
        self.inner.reveal()
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        self.inner.wants(stream, event_type)
    }

    async fn apply(&self, tx: &mut Tx, event: &Envelope) -> Result<(), DbError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            self.crashes.fetch_add(1, Ordering::SeqCst);
            return Err(DbError::Other(INJECTED.into()));
        }
        self.inner.apply(tx, event).await
    }

    /// The real projector's batch path, failing partway when the batch holds the
    /// `fail_at`-th event: the events before it have been written when the failure comes.
    async fn apply_batch(&self, tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
        let before = self.seen.fetch_add(events.len(), Ordering::SeqCst);
        if (before + 1..=before + events.len()).contains(&self.fail_at) {
            self.inner
                .apply_batch(tx, &events[..self.fail_at - before - 1])
                .await?;
            self.crashes.fetch_add(1, Ordering::SeqCst);
            return Err(DbError::Other(INJECTED.into()));
        }
        self.inner.apply_batch(tx, events).await
    }

    async fn on_reset(&self, tx: &mut Tx) -> Result<(), DbError> {
        self.inner.on_reset(tx).await
    }

    async fn on_caught_up(&self, tx: &mut Tx) -> Result<(), DbError> {
        self.inner.on_caught_up(tx).await
    }
}

/// Projections over `w`'s store whose every projector fails once, on the `fail_at`-th event
/// it applies; and the number of crashes so far.
fn faulty(w: &World, fail_at: usize) -> (Projections, Arc<AtomicUsize>) {
    let crashes = Arc::new(AtomicUsize::new(0));
    let wrapped = projectors::all()
        .into_iter()
        .map(|inner| {
            Arc::new(Faulty {
                inner,
                fail_at,
                seen: AtomicUsize::new(0),
                crashes: crashes.clone(),
            }) as Arc<dyn Projector>
        })
        .collect();
    let projections =
        Projections::with_projectors(w.store.clone(), w.codec.clone(), wrapped).unwrap();
    (projections, crashes)
}

/// The next batch after `after` for projector `name`: raw log events, cut right after the
/// `k`-th event the projector reads (the others it skips without applying).
fn next_batch(
    events: &[RecordedEvent],
    after: Position,
    name: &str,
    k: usize,
) -> Vec<RecordedEvent> {
    let projector = projectors::all()
        .into_iter()
        .find(|p| p.name() == name)
        .unwrap();
    let mut batch = Vec::new();
    let mut wanted = 0;
    for e in events.iter().filter(|e| e.position > after) {
        batch.push(e.clone());
        if projector.wants(&e.stream, &e.event_type) {
            wanted += 1;
            if wanted == k {
                break;
            }
        }
    }
    batch
}

fn is_injected(e: &ProjectionError) -> bool {
    e.to_string().contains(INJECTED)
}

async fn react(w: &World, c: ConversationId, who: &str, m: MessageId, r: &str, add: bool) {
    let (actor, reaction, at) = (uid(who), Reaction::parse(r).unwrap(), Utc::now());
    let message = w.look(c, who, m).await;
    let cmd = if add {
        C::AddReaction {
            actor,
            message,
            reaction,
            at,
        }
    } else {
        C::RemoveReaction {
            actor,
            message,
            reaction,
            at,
        }
    };
    w.conv(c, cmd).await.unwrap();
}

async fn edit(w: &World, c: ConversationId, who: &str, m: MessageId, text: &str) {
    w.conv(
        c,
        C::EditMessage {
            actor: uid(who),
            message: w.look(c, who, m).await,
            body: MessageBody::parse(text).unwrap(),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
}

async fn read(w: &World, c: ConversationId, who: &str, m: MessageId) {
    w.conv(
        c,
        C::MarkRead {
            actor: uid(who),
            message: w.look(c, who, m).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
}

/// The conversations of the history.
struct History {
    group: ConversationId,
    direct: ConversationId,
    first: MessageId,
}

/// The first part of the history: conversations, messages, reactions, an edit.
async fn opening(w: &World) -> History {
    w.profile("alice", "Alice A.").await;
    w.profile("bob", "Bob B.").await;
    let g = group(w, "alice", &["bob", "carol", "dave"], "Walkers").await;
    let direct = ConversationId::direct(&uid("alice"), &uid("bob"));
    w.conv(
        direct,
        C::CreateDirect {
            id: direct,
            actor: uid("alice"),
            other: uid("bob"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let m1 = w.send(g, "bob", "Rex walked 5 km").await;
    w.send(g, "carol", "トリミングの予約は明日です").await;
    w.send(direct, "bob", "hi alice").await;
    react(w, g, "alice", m1, "👍", true).await;
    react(w, g, "carol", m1, "👍", true).await;
    react(w, g, "alice", m1, "❤️", true).await;
    edit(w, g, "bob", m1, "Rex walked 6 km").await;
    History {
        group: g,
        direct,
        first: m1,
    }
}

/// The rest: every kind of change, including leaving and coming back, so that a batch
/// replayed over later state would show.
async fn rest(w: &World, h: &History) {
    let (g, d, m1) = (h.group, h.direct, h.first);
    react(w, g, "alice", m1, "❤️", false).await;
    edit(w, g, "bob", m1, "Rex walked 7 km, tired now").await;
    let m2 = w.send(g, "carol", "oops wrong chat").await;
    w.conv(
        g,
        C::DeleteForEveryone {
            actor: uid("carol"),
            message: w.look(g, "carol", m2).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let m3 = w.send(g, "dave", "poodle grooming at 10").await;
    read(w, g, "alice", m3).await;
    w.conv(
        g,
        C::MarkDelivered {
            actor: uid("carol"),
            message: w.look(g, "carol", m3).await,
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.conv(
        g,
        C::Leave {
            actor: uid("dave"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.send(g, "alice", "while dave is away").await;
    w.conv(
        g,
        C::AddParticipants {
            actor: uid("alice"),
            users: vec![uid("dave")],
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let back = w.send(g, "dave", "back again").await;
    react(w, g, "bob", back, "🎉", true).await;
    w.conv(
        d,
        C::Leave {
            actor: uid("bob"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    w.send(d, "alice", "bob?").await;
    w.conv(
        d,
        C::CreateDirect {
            id: d,
            actor: uid("bob"),
            other: uid("alice"),
            at: Utc::now(),
        },
    )
    .await
    .unwrap();
    let hello = w.send(d, "bob", "back in the direct chat").await;
    read(w, d, "alice", hello).await;
    let user = |who: &str, cmd: U| {
        let who = uid(who);
        async move { w.user(&who, cmd).await.unwrap() }
    };
    user(
        "bob",
        U::DeleteForMe {
            actor: uid("bob"),
            conversation_id: g,
            message_ids: vec![m3],
            visible_to_actor: true,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "alice",
        U::Mute {
            actor: uid("alice"),
            conversation_id: g,
            until: None,
            level: NotificationLevel::Mentions,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "alice",
        U::Pin {
            actor: uid("alice"),
            conversation_id: d,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "carol",
        U::Archive {
            actor: uid("carol"),
            conversation_id: g,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "bob",
        U::Block {
            actor: uid("bob"),
            user: uid("dave"),
            reason: None,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "carol",
        U::SaveDraft {
            actor: uid("carol"),
            conversation_id: g,
            content: MessageBody::parse("draft about 予約").unwrap(),
            reply_to: None,
            is_participant: true,
            at: Utc::now(),
        },
    )
    .await;
    user(
        "alice",
        U::Unmute {
            actor: uid("alice"),
            conversation_id: g,
            at: Utc::now(),
        },
    )
    .await;
    for i in 0..6 {
        let from = ["bob", "carol", "dave"][i % 3];
        let m = w.send(g, from, &format!("walk report {i}")).await;
        react(w, g, "alice", m, "👍", true).await;
        if i % 2 == 0 {
            react(w, g, "alice", m, "👍", false).await;
        }
        read(w, g, "alice", m).await;
        let (bob, conversation_id, at) = (uid("bob"), d, Utc::now());
        let toggle = if i % 2 == 0 {
            U::Mute {
                actor: bob,
                conversation_id,
                until: None,
                level: NotificationLevel::None,
                is_participant: true,
                at,
            }
        } else {
            U::Unmute {
                actor: bob,
                conversation_id,
                at,
            }
        };
        user("bob", toggle).await;
    }
}

/// Crashes in the middle of small batches, several times over, on every projector: each
/// failing batch rolls back entirely and leaves the checkpoint where the previous batch put
/// it. A new runner over the same store then finishes the work, and the tables equal a
/// rebuild from scratch.
async fn a_crash_mid_batch_rolls_back_and_a_restart_resumes(w: World) {
    // Events each batch holds that the projector reads (and applies).
    const K: usize = 4;
    let h = opening(&w).await;
    w.project().await;
    rest(&w, &h).await;
    let events = w.events().await;
    // Three runs, each crashing once: in the 2nd event of its 2nd batch, in the 3rd of its 2nd
    // batch, in the 2nd of its 1st batch; each run resumes from the previous one's checkpoint.
    for fail_at in [K + 2, K + 3, 2] {
        let (crashing, crashes) = faulty(&w, fail_at);
        for name in crashing.names() {
            let mut at = crashing.checkpoint(name).await.unwrap();
            assert!(at > Position::START, "{name} was projected before");
            loop {
                let batch = next_batch(&events, at, name, K);
                if batch.is_empty() {
                    break;
                }
                let before = w.dump().await;
                match crashing.apply_batch(name, &batch).await {
                    Ok(p) => {
                        assert_eq!(p, batch.last().unwrap().position);
                        at = p;
                    }
                    Err(e) => {
                        assert!(is_injected(&e), "{name}: {e}");
                        assert_eq!(
                            crashing.checkpoint(name).await.unwrap(),
                            at,
                            "{name}: the checkpoint stays before the failed batch (fail_at {fail_at})"
                        );
                        assert_same(
                            &before,
                            &w.dump().await,
                            &format!(
                                "{name}: nothing of the failed batch remains (fail_at {fail_at})"
                            ),
                        );
                        break;
                    }
                }
            }
        }
        assert_eq!(
            crashes.load(Ordering::SeqCst),
            3,
            "every projector crashed once (fail_at {fail_at})"
        );
    }
    let interrupted = w.dump().await;

    // Restart: a new runner with the real projectors, over the same store.
    let restarted = Projections::new(w.store.clone(), w.codec.clone()).unwrap();
    w.project_with(&restarted).await;
    let resumed = w.dump().await;
    assert_ne!(
        resumed["worker_checkpoints"], interrupted["worker_checkpoints"],
        "the restart had work left"
    );
    w.rebuild().await;
    assert_same(
        &resumed,
        &w.dump().await,
        "resumed (left) vs rebuilt (right)",
    );
}

/// A crash inside `catch_up`'s one big batch: nothing of it stays, the checkpoint does not
/// move; catching up again with the same runner completes it.
async fn a_crash_in_catch_up_leaves_the_checkpoint(w: World) {
    let h = opening(&w).await;
    w.project().await;
    rest(&w, &h).await;
    let before = w.dump().await;
    let (crashing, crashes) = faulty(&w, 5);
    for name in crashing.names() {
        let checkpoint = crashing.checkpoint(name).await.unwrap();
        let err = crashing.catch_up(name, |_| {}).await.unwrap_err();
        assert!(is_injected(&err), "{name}: {err}");
        assert_eq!(
            crashing.checkpoint(name).await.unwrap(),
            checkpoint,
            "{name}"
        );
    }
    assert_eq!(crashes.load(Ordering::SeqCst), 3);
    assert_same(&before, &w.dump().await, "the failed batches left nothing");
    w.project_with(&crashing).await;
    let resumed = w.dump().await;
    assert_ne!(resumed, before);
    w.rebuild().await;
    assert_same(
        &resumed,
        &w.dump().await,
        "resumed (left) vs rebuilt (right)",
    );
}

/// A rebuild that crashes in its last batch, after earlier batches committed: on SQLite the
/// search index is still deferred (empty, marked), and the next run finishes the rebuild and
/// builds it; the result equals the incrementally built read models.
async fn a_crash_late_in_a_rebuild_is_finished_by_the_next_run(w: World) {
    let h = opening(&w).await;
    w.project().await;
    rest(&w, &h).await;
    w.project().await;
    let built = w.dump().await;
    let messages = projectors::all()
        .into_iter()
        .find(|p| p.name() == "messages")
        .unwrap();
    let wanted = w
        .events()
        .await
        .iter()
        .filter(|e| messages.wants(&e.stream, &e.event_type))
        .count();
    // Batches of 3 log events; the messages projector fails on its very last event.
    let (crashing, crashes) = faulty(&w, wanted);
    let crashing = crashing.with_catch_up_batch(3);
    crashing.reset("messages").await.unwrap();
    let err = crashing.catch_up("messages", |_| {}).await.unwrap_err();
    assert!(is_injected(&err), "{err}");
    assert_eq!(crashes.load(Ordering::SeqCst), 1);
    assert!(
        crashing.checkpoint("messages").await.unwrap() > Position::START,
        "batches before the crash committed"
    );
    let mid = w.dump().await;
    assert!(!mid["rm_messages"].is_empty());
    if w.projections.db().dialect() == pawpost_projections::db::Dialect::Sqlite {
        assert!(
            mid["rm_search"].is_empty(),
            "the search index waits for the end of the rebuild"
        );
        assert_eq!(mid["rm_search_deferred"].len(), 1, "and says so");
    }
    let restarted = Projections::new(w.store.clone(), w.codec.clone())
        .unwrap()
        .with_catch_up_batch(3);
    w.project_with(&restarted).await;
    assert_same(
        &built,
        &w.dump().await,
        "incremental (left) vs rebuilt after a crash (right)",
    );
}

/// The live follower backs off after a failed batch and resumes from its checkpoint.
async fn the_follower_recovers_from_a_failed_batch(w: World) {
    let h = opening(&w).await;
    rest(&w, &h).await;
    let (crashing, crashes) = faulty(&w, 5);
    let crashing = Arc::new(crashing);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (feed, feed_task) = pawpost_workers::LogFeed::spawn(w.store.clone(), stopped.clone());
    let tasks = crashing.spawn(&feed, stopped);
    let target = *w.last.lock().unwrap();
    assert!(
        crashing.wait_for(target, Duration::from_secs(30)).await,
        "the followers reached the end of the log"
    );
    stop.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    feed_task.await.unwrap();
    assert_eq!(
        crashes.load(Ordering::SeqCst),
        3,
        "every follower crashed once"
    );
    let followed = w.dump().await;
    w.rebuild().await;
    assert_same(
        &followed,
        &w.dump().await,
        "followed (left) vs rebuilt (right)",
    );
}

/// A batch seen again (after a crash before the commit was acknowledged, or by a second
/// runner) is skipped by its checkpoint: no reaction, edit or membership is applied twice.
async fn a_batch_applied_twice_changes_nothing(w: World) {
    let h = opening(&w).await;
    rest(&w, &h).await;
    let events = w.events().await;
    let half = events.len() / 2;
    let projections = &w.projections;
    for name in projections.names() {
        let p = projections
            .apply_batch(name, &events[..half])
            .await
            .unwrap();
        assert_eq!(p, events[half - 1].position);
        // Overlapping: the first half again, then the rest.
        let p = projections.apply_batch(name, &events).await.unwrap();
        assert_eq!(p, events.last().unwrap().position);
    }
    let once = w.dump().await;
    for name in projections.names() {
        for batch in [&events[..], &events[..half], &events[half..]] {
            let p = projections.apply_batch(name, batch).await.unwrap();
            assert_eq!(p, events.last().unwrap().position, "{name}");
        }
    }
    assert_same(
        &once,
        &w.dump().await,
        "applied once (left) vs again (right)",
    );
    // And what was applied equals a rebuild.
    w.rebuild().await;
    assert_same(&once, &w.dump().await, "batches (left) vs rebuilt (right)");
    // The counts the brief worries about, directly.
    let m1 = h.first.to_string();
    let (edits, reactions) = w
        .q(move |tx| {
            Box::pin(async move {
                let edits = tx
                    .query_opt(
                        "SELECT edit_count FROM rm_messages WHERE id = $1",
                        &[m1.clone().into()],
                    )
                    .await?
                    .unwrap()
                    .int(0)?;
                let reactions = tx
                    .query(
                        "SELECT user_id, reaction FROM rm_reactions WHERE message_id = $1",
                        &[m1.into()],
                    )
                    .await?
                    .len();
                Ok((edits, reactions))
            })
        })
        .await;
    assert_eq!(edits, 2);
    assert_eq!(
        reactions, 2,
        "alice 👍 and carol 👍; alice's ❤️ was removed"
    );
}

/// The projector contract (`Projector::apply` must be idempotent and must not rely on the
/// runner's checkpoint): re-applying a tail of the log directly through the projectors (a
/// redelivered batch whose checkpoint was lost), over the fully projected state, changes
/// nothing.
///
/// It caught `depart` closing whatever membership range was open, so a replayed
/// `ParticipantLeft` closed the range a later re-join opened, hiding later messages.
async fn projectors_are_idempotent_without_the_checkpoint(w: World) {
    let h = opening(&w).await;
    let opened = *w.last.lock().unwrap();
    rest(&w, &h).await;
    let events = w.events().await;
    w.project().await;
    let once = w.dump().await;
    for p in projectors::all() {
        let mut envelopes = Vec::new();
        for e in events
            .iter()
            .filter(|e| e.position > opened && p.wants(&e.stream, &e.event_type))
        {
            envelopes.extend(decode(&w.codec, e, p.reveal()).await.unwrap());
        }
        w.q(move |tx| {
            Box::pin(async move {
                for env in &envelopes {
                    p.apply(tx, env).await?;
                }
                Ok(())
            })
        })
        .await;
    }
    assert_same(&once, &w.dump().await, "once (left) vs re-applied (right)");
}

/// A wrapper that forwards everything but `wants` (so it is offered every event).
struct Unfiltered(Arc<dyn Projector>);

#[async_trait::async_trait]
impl Projector for Unfiltered {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    fn reveal(&self) -> Reveal {
        self.0.reveal()
    }

    async fn apply(&self, tx: &mut Tx, event: &Envelope) -> Result<(), DbError> {
        self.0.apply(tx, event).await
    }

    async fn apply_batch(&self, tx: &mut Tx, events: &[&Envelope]) -> Result<(), DbError> {
        self.0.apply_batch(tx, events).await
    }

    async fn on_reset(&self, tx: &mut Tx) -> Result<(), DbError> {
        self.0.on_reset(tx).await
    }

    async fn on_caught_up(&self, tx: &mut Tx) -> Result<(), DbError> {
        self.0.on_caught_up(tx).await
    }
}

/// `Projector::wants` only saves decoding: the events a projector declines must be ones its
/// `apply` ignores, so offering it every event builds the same tables.
///
/// It caught `apply` bumping `rm_conversations.version` on the message events that
/// `ConversationsProjector` declines.
async fn declined_events_change_nothing(w: World) {
    let h = opening(&w).await;
    rest(&w, &h).await;
    // The group's last events are a message and a reaction.
    let last = w.send(h.group, "carol", "last word").await;
    react(&w, h.group, "bob", last, "👍", true).await;
    w.project().await;
    let filtered = w.dump().await;
    let unfiltered = Projections::with_projectors(
        w.store.clone(),
        w.codec.clone(),
        projectors::all()
            .into_iter()
            .map(|p| Arc::new(Unfiltered(p)) as Arc<dyn Projector>)
            .collect(),
    )
    .unwrap();
    for name in unfiltered.names() {
        unfiltered.reset(name).await.unwrap();
    }
    w.project_with(&unfiltered).await;
    assert_same(
        &filtered,
        &w.dump().await,
        "filtered (left) vs offered every event (right)",
    );
}

both!(
    a_crash_mid_batch_rolls_back_and_a_restart_resumes,
    a_crash_in_catch_up_leaves_the_checkpoint,
    a_crash_late_in_a_rebuild_is_finished_by_the_next_run,
    the_follower_recovers_from_a_failed_batch,
    a_batch_applied_twice_changes_nothing,
);

mod wants {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_declined_events_change_nothing() {
        super::declined_events_change_nothing(super::World::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_declined_events_change_nothing() {
        let w = super::World::postgres().await;
        super::declined_events_change_nothing(w).await;
    }
}

mod idempotency {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_projectors_are_idempotent_without_the_checkpoint() {
        super::projectors_are_idempotent_without_the_checkpoint(super::World::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_projectors_are_idempotent_without_the_checkpoint() {
        let w = super::World::postgres().await;
        super::projectors_are_idempotent_without_the_checkpoint(w).await;
    }
}
