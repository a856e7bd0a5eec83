//! The worker runtime with real stores (SQLite and PostgreSQL): back-off, parking, retries on
//! demand, resumption after a restart, lag and failure metrics, and exactly one running
//! instance across two hosts.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pawpost_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Position, RecordedEvent};
use pawpost_workers::{
    parked, Backoff, Effects, LogFeed, LogWorker, Runnable, Runner, WorkerError, WorkerHost,
    MAX_ATTEMPTS,
};
use tokio::sync::watch;

const DEADLINE: Duration = Duration::from_secs(30);

/// Records every event it handles in `test_effects` (a database effect: one row per event id,
/// so an event applied twice fails the test). Events of type `Poison` fail while it is not
/// healed; `transient` failures come first when asked for.
struct Recorder {
    name: &'static str,
    healed: AtomicBool,
    transient_left: AtomicU32,
    attempts: Mutex<Vec<(String, Instant)>>,
}

impl Recorder {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Recorder {
            name,
            healed: AtomicBool::new(false),
            transient_left: AtomicU32::new(0),
            attempts: Mutex::default(),
        })
    }
}

#[async_trait]
impl LogWorker for Recorder {
    type Batch = Vec<(String, String)>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn wants(&self, stream: &str, _event_type: &str) -> bool {
        stream.starts_with("test-")
    }

    async fn prepare(&self, events: &[&RecordedEvent]) -> Result<Self::Batch, WorkerError> {
        Ok(events
            .iter()
            .map(|e| (e.event_id.to_string(), e.event_type.clone()))
            .collect())
    }

    async fn apply(&self, effects: &mut Effects, batch: Self::Batch) -> Result<(), WorkerError> {
        for (id, kind) in &batch {
            self.attempts
                .lock()
                .unwrap()
                .push((kind.clone(), Instant::now()));
            if self
                .transient_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(WorkerError::transient("the service is down"));
            }
            if kind == "Poison" && !self.healed.load(Ordering::SeqCst) {
                return Err(WorkerError::permanent(format!("cannot handle {id}")));
            }
        }
        let tx = effects.tx().await?;
        for (id, _) in batch {
            tx.execute(
                "INSERT INTO test_effects (worker, event_id) VALUES ($1, $2)",
                &[self.name.into(), id.into()],
            )
            .await?;
        }
        Ok(())
    }
}

/// Records the events it handles and, in every batch that reaches the head of the log, a
/// `head` row (work a worker leaves for the end of a catch-up).
struct HeadMarker;

#[async_trait]
impl LogWorker for HeadMarker {
    type Batch = Vec<String>;

    fn name(&self) -> &'static str {
        "head-marker"
    }

    fn wants(&self, stream: &str, _event_type: &str) -> bool {
        stream.starts_with("test-")
    }

    async fn prepare(&self, events: &[&RecordedEvent]) -> Result<Self::Batch, WorkerError> {
        Ok(events.iter().map(|e| e.event_id.to_string()).collect())
    }

    async fn apply(&self, effects: &mut Effects, batch: Self::Batch) -> Result<(), WorkerError> {
        let at_head = effects.at_head();
        let tx = effects.tx().await?;
        for id in batch {
            tx.execute(
                "INSERT INTO test_effects (worker, event_id) VALUES ('head-marker', $1)",
                &[id.into()],
            )
            .await?;
        }
        if at_head {
            tx.execute(
                "INSERT INTO test_effects (worker, event_id) VALUES ('head-marker', 'head')
                 ON CONFLICT DO NOTHING",
                &[],
            )
            .await?;
        }
        Ok(())
    }
}

async fn setup(store: &Arc<dyn EventStore>) {
    let mut tx = store.db().begin().await.unwrap();
    tx.batch(&[
        "CREATE TABLE test_effects (worker TEXT NOT NULL, event_id TEXT NOT NULL,
                PRIMARY KEY (worker, event_id))",
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn append(store: &Arc<dyn EventStore>, stream: &str, kind: &str) -> Position {
    let event = NewEvent::json(
        uuid::Uuid::now_v7(),
        kind,
        1,
        &serde_json::json!({"kind": kind}),
        Metadata::now(None),
    )
    .unwrap();
    store
        .append(stream, ExpectedVersion::Any, vec![event])
        .await
        .unwrap()
        .position
}

async fn effects(store: &Arc<dyn EventStore>, worker: &str) -> usize {
    let mut tx = store.db().read().await.unwrap();
    let row = tx
        .query_opt(
            "SELECT count(*) FROM test_effects WHERE worker = $1",
            &[worker.into()],
        )
        .await
        .unwrap()
        .unwrap();
    row.int(0).unwrap() as usize
}

fn short() -> Backoff {
    Backoff {
        base: Duration::from_millis(40),
        cap: Duration::from_millis(400),
    }
}

/// Runs `runner` on a feed of its own until the returned sender is told to stop.
fn run<W: LogWorker>(
    store: &Arc<dyn EventStore>,
    runner: Arc<Runner<W>>,
) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (stop, stopped) = watch::channel(false);
    let (feed, feed_task) = LogFeed::spawn(store.clone(), stopped.clone());
    let task = tokio::spawn(runner.run_until(feed, stopped));
    (stop, vec![task, feed_task])
}

async fn stop(stop: watch::Sender<bool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    stop.send_replace(true);
    for t in tasks {
        t.await.unwrap();
    }
}

/// One event that keeps failing is retried with growing delays, then parked with its error;
/// every other event goes through, the checkpoint passes the poison, and a restarted runner
/// resumes without applying anything twice. Once the cause is fixed, a retry asked for by an
/// admin applies it and forgets it.
async fn a_poison_event_is_parked_and_retried_on_demand(store: Arc<dyn EventStore>) {
    setup(&store).await;
    for i in 0..4 {
        append(&store, &format!("test-{i}"), "Note").await;
    }
    append(&store, "test-x", "Poison").await;
    let mut head = Position::START;
    for i in 0..4 {
        head = append(&store, &format!("test-{i}"), "Note").await;
    }
    let worker = Recorder::new("recorder");
    let runner = Arc::new(Runner::new(worker.clone(), store.clone()).with_backoff(short()));
    let (s, tasks) = run(&store, runner.clone());
    assert!(
        runner.status().wait_for(head, DEADLINE).await,
        "never passed the poison"
    );
    stop(s, tasks).await;

    assert_eq!(
        effects(&store, "recorder").await,
        8,
        "every other event was applied"
    );
    let parked = parked::list(&store.db(), Some("recorder")).await.unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event_type, "Poison");
    assert_eq!(parked[0].attempts, u64::from(MAX_ATTEMPTS));
    assert!(
        parked[0].error.contains("cannot handle"),
        "{}",
        parked[0].error
    );
    let report = runner.status().report(head, None);
    assert_eq!(report.parked, 1);
    assert!(report.failures >= u64::from(MAX_ATTEMPTS), "{report:?}");
    assert_eq!(report.lag_events, 0, "{report:?}");

    // The poison was tried in its batch, then MAX_ATTEMPTS times on its own; the waits between
    // those tries grow (at least half the nominal delay each: 20 ms, then 40 ms).
    let tries: Vec<Instant> = worker
        .attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == "Poison")
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(
        tries.len(),
        MAX_ATTEMPTS as usize + 1,
        "the batch, then each try alone"
    );
    for (i, pair) in tries[1..].windows(2).enumerate() {
        let waited = pair[1] - pair[0];
        let floor = short().nominal(i as u32) / 2;
        assert!(
            waited >= floor,
            "try {i}: waited {waited:?}, at least {floor:?}"
        );
    }

    // A new process resumes from the checkpoint: nothing is applied twice (the effects'
    // primary key would refuse it) and the poison stays parked.
    let later = append(&store, "test-0", "Note").await;
    let healed = Recorder::new("recorder");
    let restarted = Arc::new(Runner::new(healed.clone(), store.clone()).with_backoff(short()));
    let (s, tasks) = run(&store, restarted.clone());
    assert!(restarted.status().wait_for(later, DEADLINE).await);
    assert_eq!(effects(&store, "recorder").await, 9);
    assert_eq!(restarted.status().report(later, None).failures, 0);

    // Fixed: the admin asks for a retry, the runner applies it and forgets it.
    healed.healed.store(true, Ordering::SeqCst);
    assert!(
        parked::request_retry(&store.db(), "recorder", &parked[0].event_id)
            .await
            .unwrap()
    );
    let deadline = Instant::now() + DEADLINE;
    while !parked::list(&store.db(), None).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the retry never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(effects(&store, "recorder").await, 10);
    stop(s, tasks).await;
}

/// A service out of reach fails batches transiently: they are retried with back-off until they
/// go through, counted as failures, never parked, applied once.
async fn transient_failures_back_off_and_never_park(store: Arc<dyn EventStore>) {
    setup(&store).await;
    let worker = Recorder::new("flaky");
    worker
        .transient_left
        .store(MAX_ATTEMPTS + 2, Ordering::SeqCst);
    let runner = Arc::new(Runner::new(worker.clone(), store.clone()).with_backoff(short()));
    let (s, tasks) = run(&store, runner.clone());
    let mut head = Position::START;
    for i in 0..3 {
        head = append(&store, &format!("test-{i}"), "Note").await;
    }
    assert!(runner.status().wait_for(head, DEADLINE).await);
    stop(s, tasks).await;
    assert_eq!(effects(&store, "flaky").await, 3);
    assert!(parked::list(&store.db(), None).await.unwrap().is_empty());
    let report = runner.status().report(head, None);
    assert_eq!(report.failures, u64::from(MAX_ATTEMPTS + 2), "{report:?}");
    assert_eq!(report.consecutive_failures, 0);
    assert!(report.last_error.unwrap().contains("down"));
}

/// While a worker is stuck, its lag shows (events and log time); once through, none.
async fn lag_shows_while_a_worker_is_stuck(store: Arc<dyn EventStore>) {
    setup(&store).await;
    let worker = Recorder::new("laggard");
    worker.transient_left.store(u32::MAX, Ordering::SeqCst);
    let runner = Arc::new(
        Runner::new(worker.clone(), store.clone()).with_backoff(Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(40),
        }),
    );
    let (s, tasks) = run(&store, runner.clone());
    let first = append(&store, "test-1", "Note").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let head = append(&store, "test-2", "Note").await;
    let deadline = Instant::now() + DEADLINE;
    while runner.status().consecutive_failures() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The newest event was appended a second ago (say) and nothing is handled yet.
    let head_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let stuck = runner.status().report(head, Some(head_at));
    assert!(stuck.lag_events >= 1, "{stuck:?}");
    assert!(stuck.lag_seconds >= 1.0, "{stuck:?}");
    assert!(stuck.retrying_at.is_some());
    assert!(runner.status().checkpoint() < first);
    worker.transient_left.store(0, Ordering::SeqCst);
    assert!(runner.status().wait_for(head, DEADLINE).await);
    let through = runner.status().report(head, None);
    assert_eq!(
        (through.lag_events, through.lag_seconds),
        (0, 0.0),
        "{through:?}"
    );
    stop(s, tasks).await;
}

/// Two hosts on one PostgreSQL database (two servers): the worker runs on exactly one of them,
/// every event is applied exactly once, and the other takes over when the first stops.
async fn exactly_one_instance_runs_across_two_hosts(store: Arc<dyn EventStore>) {
    setup(&store).await;
    let (stop_feeds, stopped) = watch::channel(false);
    let (feed_a, task_a) = LogFeed::spawn(store.clone(), stopped.clone());
    let (feed_b, task_b) = LogFeed::spawn(store.clone(), stopped);
    let runner_a = Arc::new(Runner::new(Recorder::new("single"), store.clone()));
    let runner_b = Arc::new(Runner::new(Recorder::new("single"), store.clone()));
    let a = WorkerHost::start(
        store.db(),
        feed_a,
        vec![runner_a.clone() as Arc<dyn Runnable>],
    )
    .await;
    let b = WorkerHost::start(
        store.db(),
        feed_b,
        vec![runner_b.clone() as Arc<dyn Runnable>],
    )
    .await;
    assert!(*a.running().borrow(), "the first host takes the lease");
    assert!(!*b.running().borrow(), "the second stands by");
    let mut head = Position::START;
    for i in 0..20 {
        head = append(&store, &format!("test-{}", i % 3), "Note").await;
    }
    assert!(runner_a.status().wait_for(head, DEADLINE).await);
    assert!(
        runner_b.status().wait_for(head, DEADLINE).await,
        "a standing-by host still sees the progress (read-your-writes)"
    );
    assert_eq!(effects(&store, "single").await, 20);

    a.stop().await;
    let mut running = b.running();
    tokio::time::timeout(DEADLINE, running.wait_for(|r| *r))
        .await
        .expect("the second host never took over")
        .unwrap();
    for i in 0..5 {
        head = append(&store, &format!("test-{i}"), "Note").await;
    }
    assert!(runner_b.status().wait_for(head, DEADLINE).await);
    assert_eq!(
        effects(&store, "single").await,
        25,
        "each event exactly once"
    );
    b.stop().await;
    stop_feeds.send_replace(true);
    task_a.await.unwrap();
    task_b.await.unwrap();
}

/// A catch-up whose log ends exactly at a full batch finishes with a batch of nothing at the
/// head: the work a worker does there is kept (it was rolled back with the empty batch), as it
/// is when a catch-up finds nothing new at all.
async fn a_catch_up_ending_on_a_full_batch_keeps_its_work_at_the_head(store: Arc<dyn EventStore>) {
    setup(&store).await;
    for _ in 0..4 {
        append(&store, "test-a", "Plain").await;
    }
    let runner = Runner::new(Arc::new(HeadMarker), store.clone()).with_catch_up_batch(2);
    assert_eq!(runner.catch_up(|_| {}).await.unwrap(), 4);
    assert_eq!(
        effects(&store, "head-marker").await,
        5,
        "4 events and the head"
    );

    let mut tx = store.db().begin().await.unwrap();
    tx.execute("DELETE FROM test_effects WHERE event_id = 'head'", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let again = Runner::new(Arc::new(HeadMarker), store.clone()).with_catch_up_batch(2);
    assert_eq!(again.catch_up(|_| {}).await.unwrap(), 0, "nothing new");
    assert_eq!(effects(&store, "head-marker").await, 5, "the head, again");
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_dir, store) = pawpost_store::testing::sqlite().await;
                super::$name(store).await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(pawpost_store::testing::postgres().await).await;
            }
        )* }
    };
}

both!(
    a_poison_event_is_parked_and_retried_on_demand,
    transient_failures_back_off_and_never_park,
    lag_shows_while_a_worker_is_stuck,
    exactly_one_instance_runs_across_two_hosts,
    a_catch_up_ending_on_a_full_batch_keeps_its_work_at_the_head,
);
