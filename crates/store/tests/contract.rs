//! The event-store contract (DESIGN.md §4), run against every backend.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use pawpost_store::{
    EventStore, ExpectedVersion, Metadata, NewEvent, Position, StoreError, Subscription,
};
use uuid::Uuid;

fn event(kind: &str, n: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        kind,
        1,
        &serde_json::json!({ "n": n }),
        Metadata::now(Some("tester".into())),
    )
    .unwrap()
}

async fn appends_get_gapless_versions(store: Arc<dyn EventStore>) {
    let r1 = store
        .append(
            "s-a",
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("A", 2)],
        )
        .await
        .unwrap();
    assert_eq!((r1.first_version, r1.last_version), (1, 2));
    let r2 = store
        .append("s-a", ExpectedVersion::Any, vec![event("A", 3)])
        .await
        .unwrap();
    assert_eq!((r2.first_version, r2.last_version), (3, 3));
    assert!(r2.position > r1.position);
    let events = store.read_stream("s-a", 0, 100).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert_eq!(versions, vec![1, 2, 3]);
    let ns: Vec<u64> = events
        .iter()
        .map(|e| {
            e.decode::<serde_json::Value>().unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, vec![1, 2, 3]);
    assert_eq!(store.read_stream("s-a", 2, 100).await.unwrap().len(), 1);
    assert_eq!(store.stream_version("s-a").await.unwrap(), 3);
    assert_eq!(store.stream_version("nothing").await.unwrap(), 0);
    assert_eq!(events[0].metadata.actor_id.as_deref(), Some("tester"));
}

async fn expected_version_is_enforced(store: Arc<dyn EventStore>) {
    store
        .append("s-b", ExpectedVersion::NoStream, vec![event("B", 1)])
        .await
        .unwrap();
    let err = store
        .append("s-b", ExpectedVersion::NoStream, vec![event("B", 2)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err:?}"
    );
    let err = store
        .append("s-b", ExpectedVersion::Exact(5), vec![event("B", 2)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let ok = store
        .append("s-b", ExpectedVersion::Exact(1), vec![event("B", 2)])
        .await
        .unwrap();
    assert_eq!(ok.last_version, 2);
    let err = store
        .append("s-new", ExpectedVersion::Exact(3), vec![event("B", 1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 0, .. }),
        "{err:?}"
    );
    // A refused append leaves nothing behind.
    assert_eq!(store.stream_version("s-new").await.unwrap(), 0);
    assert_eq!(store.read_stream("s-b", 0, 10).await.unwrap().len(), 2);
    let err = store
        .append("s-b", ExpectedVersion::Any, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

async fn reappending_an_event_id_is_idempotent(store: Arc<dyn EventStore>) {
    let batch = vec![event("C", 1), event("C", 2)];
    let first = store
        .append("s-c", ExpectedVersion::Any, batch.clone())
        .await
        .unwrap();
    store
        .append("s-c", ExpectedVersion::Any, vec![event("C", 3)])
        .await
        .unwrap();
    // Same ids, same payloads, even with a stale expectation: the original result.
    let again = store
        .append("s-c", ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(
        (again.first_version, again.last_version, again.position),
        (first.first_version, first.last_version, first.position)
    );
    assert_eq!(store.stream_version("s-c").await.unwrap(), 3);
    // Same id, different payload: a conflict, nothing written.
    let mut changed = batch[0].clone();
    changed.data = serde_json::value::to_raw_value(&serde_json::json!({"n": 99})).unwrap();
    let err = store
        .append("s-c", ExpectedVersion::Any, vec![changed])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEvent { .. }), "{err:?}");
    // Same id in another stream: a conflict too.
    let err = store
        .append("s-other", ExpectedVersion::Any, vec![batch[1].clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEvent { .. }), "{err:?}");
    assert_eq!(store.stream_version("s-c").await.unwrap(), 3);
    assert_eq!(store.stream_version("s-other").await.unwrap(), 0);
    let found = store.find_event(batch[1].event_id).await.unwrap().unwrap();
    assert_eq!((found.stream.as_str(), found.version), ("s-c", 2));
    assert!(store.find_event(Uuid::now_v7()).await.unwrap().is_none());
}

async fn read_all_is_global_order(store: Arc<dyn EventStore>) {
    for i in 0..30u64 {
        let stream = format!("s-d-{}", i % 4);
        store
            .append(&stream, ExpectedVersion::Any, vec![event("D", i)])
            .await
            .unwrap();
    }
    // PostgreSQL shows a commit to tailing readers once every older transaction of the cluster
    // has ended: wait for it, with a deadline.
    let all = read_all_eventually(&store, 30).await;
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let ns: Vec<u64> = all
        .iter()
        .map(|e| {
            e.decode::<serde_json::Value>().unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, (0..30).collect::<Vec<_>>());
    // Paging resumes exactly after the last position seen.
    let page = store.read_all(all[9].position, 5).await.unwrap();
    assert_eq!(page.len(), 5);
    assert_eq!(page[0].event_id, all[10].event_id);
    let cursor = all[9].position.to_cursor();
    assert_eq!(Position::from_cursor(&cursor), Some(all[9].position));
}

async fn read_all_eventually(
    store: &Arc<dyn EventStore>,
    n: usize,
) -> Vec<pawpost_store::RecordedEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all = store.read_all(Position::START, n + 100).await.unwrap();
        if all.len() >= n || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn exact_version_race_has_one_winner(store: Arc<dyn EventStore>) {
    store
        .append("s-e", ExpectedVersion::Any, vec![event("E", 0)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.append("s-e", ExpectedVersion::Exact(1), vec![event("E", i)])
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                ok += 1;
                assert_eq!(r.last_version, 2);
            }
            Err(e) => assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.stream_version("s-e").await.unwrap(), 2);
}

async fn data_keys_are_kept_and_destroyed(store: Arc<dyn EventStore>) {
    assert_eq!(store.get_key("k1").await.unwrap(), None);
    let stored = store.put_key_if_absent("k1", b"first").await.unwrap();
    assert_eq!(stored, b"first");
    // The first key stays: a racing creator gets the stored one back.
    let stored = store.put_key_if_absent("k1", b"second").await.unwrap();
    assert_eq!(stored, b"first");
    assert_eq!(
        store.get_key("k1").await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    assert!(store.destroy_key("k1").await.unwrap());
    assert!(!store.destroy_key("k1").await.unwrap());
    assert_eq!(store.get_key("k1").await.unwrap(), None);
}

/// Keys of a group of new messages are created in one call; a key stored already is kept
/// (and returned) whether racing creators run alone or in a group.
async fn data_keys_are_created_in_groups(store: Arc<dyn EventStore>) {
    store.put_key_if_absent("g-old", b"stored").await.unwrap();
    let asked: Vec<(String, Vec<u8>)> = ["g-1", "g-old", "g-2"]
        .iter()
        .map(|id| (id.to_string(), format!("new {id}").into_bytes()))
        .collect();
    let got = store.put_keys_if_absent(&asked).await.unwrap();
    assert_eq!(
        got,
        vec![
            ("g-1".to_string(), b"new g-1".to_vec()),
            ("g-old".to_string(), b"stored".to_vec()),
            ("g-2".to_string(), b"new g-2".to_vec()),
        ]
    );
    assert_eq!(
        store.get_key("g-2").await.unwrap(),
        Some(b"new g-2".to_vec())
    );
    assert_eq!(store.put_keys_if_absent(&[]).await.unwrap(), Vec::new());
    // Racing groups over the same ids all get what was stored.
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            let keys: Vec<(String, Vec<u8>)> = (0..10)
                .map(|k| (format!("race-g-{k}"), vec![i; 4]))
                .collect();
            tokio::spawn(async move { store.put_keys_if_absent(&keys).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for k in 0..10 {
        let stored = store
            .get_key(&format!("race-g-{k}"))
            .await
            .unwrap()
            .unwrap();
        assert!(answers.iter().all(|a| a[k].1 == stored), "key {k}");
    }
}

/// 8 writers × 2,000 events over 50 streams while subscribers tail the log: every event exactly
/// once, each stream in version order, nothing skipped, also across the catch-up-to-live switch
/// and with coalesced reads.
/// Creators racing on one key id all get the one that was stored (PostgreSQL: an insert that
/// waited for a concurrent one found nothing in its own snapshot, and failed).
async fn racing_key_creators_get_the_stored_key(store: Arc<dyn EventStore>) {
    for round in 0..20 {
        let id = format!("race-{round}");
        let tasks: Vec<_> = (0..16u8)
            .map(|i| {
                let (store, id) = (store.clone(), id.clone());
                tokio::spawn(async move { store.put_key_if_absent(&id, &[i; 8]).await.unwrap() })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        let stored = store.get_key(&id).await.unwrap().unwrap();
        assert!(got.iter().all(|k| *k == stored), "round {round}: {got:?}");
    }
}

async fn stress_concurrent_writers_and_tailing_subscriber(store: Arc<dyn EventStore>) {
    const WRITERS: u64 = 8;
    const PER_WRITER: u64 = 2_000;
    const STREAMS: u64 = 50;
    let total = (WRITERS * PER_WRITER) as usize;

    let tail = |store: Arc<dyn EventStore>, batch: usize, coalesce: Duration| {
        tokio::spawn(async move {
            let mut sub = Subscription::new(store, Position::START)
                .with_poll_interval(Duration::from_millis(20))
                .with_batch_size(batch)
                .with_min_interval(coalesce);
            let mut seen = Vec::with_capacity(total);
            while seen.len() < total {
                let ev = tokio::time::timeout(Duration::from_secs(60), sub.next())
                    .await
                    .expect("subscriber stalled")
                    .unwrap();
                seen.push(ev);
            }
            // Nothing more than what was written arrives.
            let extra = tokio::time::timeout(Duration::from_millis(200), sub.next()).await;
            assert!(
                extra.is_err(),
                "subscriber received more events than written"
            );
            seen
        })
    };
    // One subscriber from the very start (live all along)…
    let early = tail(store.clone(), 97, Duration::ZERO);

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = store.clone();
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while i < PER_WRITER {
                let stream = format!("stress-{}", (w * 7 + i) % STREAMS);
                // Mostly single events, sometimes a batch of three.
                let n = if i % 10 == 0 {
                    3.min(PER_WRITER - i)
                } else {
                    1
                };
                let events = (i..i + n)
                    .map(|k| {
                        NewEvent::json(
                            Uuid::now_v7(),
                            "Stress",
                            1,
                            &serde_json::json!({ "w": w, "i": k }),
                            Metadata::now(None),
                        )
                        .unwrap()
                    })
                    .collect();
                s.append(&stream, ExpectedVersion::Any, events)
                    .await
                    .unwrap();
                i += n;
            }
        }));
    }
    // …and one that starts once a backlog exists: it catches up, then switches to live.
    let mut poke = store.appended();
    loop {
        if store.read_all(Position::START, 3000).await.unwrap().len() >= 2000 {
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), poke.changed())
            .await
            .expect("no progress")
            .unwrap();
    }
    // (reading at most every 5 ms once live, as projectors follow the log).
    let late = tail(store.clone(), 500, Duration::from_millis(5));
    for w in writers {
        w.await.unwrap();
    }
    for seen in [early.await.unwrap(), late.await.unwrap()] {
        pawpost_store::testing::assert_read_once_in_order(&seen, total);
        // Every writer's events, each exactly once.
        let mut per_writer: HashMap<u64, HashSet<u64>> = HashMap::new();
        for e in &seen {
            let v: serde_json::Value = e.decode().unwrap();
            per_writer
                .entry(v["w"].as_u64().unwrap())
                .or_default()
                .insert(v["i"].as_u64().unwrap());
        }
        for w in 0..WRITERS {
            assert_eq!(per_writer[&w].len(), PER_WRITER as usize);
        }
    }
    let all = read_all_eventually(&store, total).await;
    assert_eq!(all.len(), total);
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_dir, store) = pawpost_store::testing::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let store = pawpost_store::testing::postgres().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}

contract!(
    appends_get_gapless_versions,
    expected_version_is_enforced,
    reappending_an_event_id_is_idempotent,
    read_all_is_global_order,
    exact_version_race_has_one_winner,
    data_keys_are_kept_and_destroyed,
    data_keys_are_created_in_groups,
    racing_key_creators_get_the_stored_key,
    stress_concurrent_writers_and_tailing_subscriber,
);
