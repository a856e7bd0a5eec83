//! Aggregate snapshots: a cold aggregate loads from the latest snapshot plus the events after
//! it; a snapshot that does not fit the log is ignored.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandHandler, CommandMeta};
use pawpost_domain::values::ConversationTitle;
use pawpost_domain::{Aggregate, ConversationCommand, ConversationId, ConversationState};
use pawpost_store::{EventStore, KeyRing, MasterKey};
use uuid::Uuid;

#[macro_use]
mod common;
use common::{send, user};

type Handler = CommandHandler<ConversationState>;
const SCHEMA: u32 = ConversationState::SNAPSHOT_SCHEMA;

/// A group with `messages` messages, written by a handler that snapshots every 10 events.
async fn long_group(store: &Arc<dyn EventStore>, messages: usize) -> (EventCodec, String) {
    let codec = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
    let h = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA, 10);
    let conv = ConversationId::from_uuid(Uuid::now_v7());
    let create = ConversationCommand::CreateGroup {
        id: conv,
        actor: user("alice"),
        title: ConversationTitle::parse("Walkers").unwrap(),
        description: None,
        image_url: None,
        members: vec![user("bob")],
        at: Utc::now(),
    };
    let meta = CommandMeta::default();
    h.execute_new(&conv.stream(), &create, &meta).await.unwrap();
    for i in 0..messages {
        h.execute_new(&conv.stream(), &send("bob", &format!("m{i}")), &meta)
            .await
            .unwrap();
    }
    (codec, conv.stream())
}

/// The stored snapshot's version, waiting (with a deadline) until it reaches `at_least`.
async fn snapshot_version(store: &Arc<dyn EventStore>, stream: &str, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut tx = store.db().read().await.unwrap();
        let v = tx
            .query_opt(
                "SELECT version FROM aggregate_snapshots WHERE stream = $1",
                &[stream.into()],
            )
            .await
            .unwrap()
            .map(|r| r.int(0).unwrap());
        drop(tx);
        if let Some(v) = v.filter(|v| *v >= at_least) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot at {at_least}+ in time: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Replaces the stored snapshot's state (to tell a load from the snapshot apart from a fold).
async fn put_snapshot(store: &Arc<dyn EventStore>, stream: &str, version: u64, data: String) {
    let mut tx = store.db().begin().await.unwrap();
    tx.execute(
        "UPDATE aggregate_snapshots SET version = $2, data = $3 WHERE stream = $1",
        &[stream.into(), version.into(), data.into()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn cold_load_starts_from_the_snapshot(store: Arc<dyn EventStore>) {
    let (codec, stream) = long_group(&store, 35).await;
    let v = snapshot_version(&store, &stream, 30).await;
    let folded = Handler::new(store.clone(), codec.clone())
        .load(&stream)
        .await
        .unwrap();
    assert_eq!(folded.version(), 36);
    // A fresh handler with snapshots gives the same state…
    let cold = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA, 10);
    assert_eq!(cold.load(&stream).await.unwrap(), folded);
    // …and it does start from the snapshot: a marked one shows through.
    let at_snapshot = {
        let mut s = serde_json::to_value(&folded).unwrap();
        s["version"] = serde_json::json!(v);
        s["last_seq"] = serde_json::json!(v);
        s["last_message_change"] = serde_json::json!(v);
        s["details"]["title"] = serde_json::json!("from the snapshot");
        s
    };
    put_snapshot(&store, &stream, v as u64, at_snapshot.to_string()).await;
    let cold = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA, 1000);
    let loaded = cold.load(&stream).await.unwrap();
    assert_eq!(
        loaded.version(),
        36,
        "the events after the snapshot are folded in"
    );
    assert_eq!(
        loaded.details().unwrap().title.as_ref().unwrap().as_str(),
        "from the snapshot"
    );
    // A command on it goes on from there.
    let out = cold
        .execute_new(&stream, &send("alice", "after"), &CommandMeta::default())
        .await
        .unwrap();
    assert_eq!(out.events[0].version, 37);
}

async fn a_snapshot_that_does_not_fit_the_log_is_ignored(store: Arc<dyn EventStore>) {
    let (codec, stream) = long_group(&store, 12).await;
    let v = snapshot_version(&store, &stream, 10).await;
    let folded = Handler::new(store.clone(), codec.clone())
        .load(&stream)
        .await
        .unwrap();
    let mut marked = serde_json::to_value(&folded).unwrap();
    marked["details"]["title"] = serde_json::json!("from the snapshot");
    // Ahead of the log (a database restored from an older backup).
    let mut ahead = marked.clone();
    ahead["version"] = serde_json::json!(500);
    put_snapshot(&store, &stream, 500, ahead.to_string()).await;
    let cold = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA, 1000);
    assert_eq!(cold.load(&stream).await.unwrap(), folded);
    // Not decodable.
    put_snapshot(&store, &stream, v as u64, "{not json".into()).await;
    let cold = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA, 1000);
    assert_eq!(cold.load(&stream).await.unwrap(), folded);
    // Another schema (the state's shape changed since): not even read.
    let cold = Handler::new(store.clone(), codec.clone()).with_snapshots(SCHEMA + 1, 1000);
    assert_eq!(cold.load(&stream).await.unwrap(), folded);
}

both!(
    cold_load_starts_from_the_snapshot,
    a_snapshot_that_does_not_fit_the_log_is_ignored,
);
