//! Event-store throughput on both backends: single-event appends from 1 and 16 concurrent
//! tasks, batched appends, and read-all.
//!
//! Run with `cargo bench -p pawpost-store --bench store` (PostgreSQL from `PAWPOST_TEST_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`; a fresh database is created).
//! `PAWPOST_BENCH_SCALE` (default 1.0) scales the event counts; `PAWPOST_BENCH_BACKEND=sqlite`
//! or `postgres` runs one backend only.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use pawpost_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Position};
use uuid::Uuid;

fn event(i: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        "MessageSent",
        1,
        &serde_json::json!({
            "messageId": Uuid::now_v7(),
            "senderId": "user-42",
            "kind": "text",
            "content": {"sealed": "v1:q4Kx3m9Zb1TnYc8kLw0Pa7GZJd2vQ5sE3yRfX6uHn0iK9oB1tMcVaW8lSe4pUg"},
            "n": i,
        }),
        Metadata::now(Some("user-42".into())),
    )
    .unwrap()
}

async fn appenders(store: &Arc<dyn EventStore>, tasks: u64, per_task: u64, batch: u64) -> f64 {
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut i = 0;
            while i < per_task {
                let stream = format!("conversation-bench-{t}-{}", i % 50);
                let events = (i..i + batch).map(event).collect();
                s.append(&stream, ExpectedVersion::Any, events)
                    .await
                    .unwrap();
                i += batch;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    (tasks * per_task) as f64 / start.elapsed().as_secs_f64()
}

async fn read_all(store: &Arc<dyn EventStore>) -> (u64, f64) {
    let start = Instant::now();
    let mut after = Position::START;
    let mut n = 0u64;
    loop {
        let page = store.read_all(after, 5000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        n += page.len() as u64;
    }
    (n, n as f64 / start.elapsed().as_secs_f64())
}

async fn run(name: &str, store: Arc<dyn EventStore>, scale: f64) {
    let n = |x: f64| ((x * scale) as u64).max(16);
    let single_1 = appenders(&store, 1, n(2_000.0), 1).await;
    let single_16 = appenders(&store, 16, n(4_000.0), 1).await;
    let batch_1 = appenders(&store, 1, n(100_000.0), 100).await / 1.0;
    let batch_16 = appenders(&store, 16, n(20_000.0), 100).await;
    // Let PostgreSQL's snapshot gate pass the last commits before timing reads.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (total, read) = read_all(&store).await;
    println!("| {name} | single, 1 task | {single_1:>10.0} events/s |");
    println!("| {name} | single, 16 tasks | {single_16:>10.0} events/s |");
    println!("| {name} | batches of 100, 1 task | {batch_1:>10.0} events/s |");
    println!("| {name} | batches of 100, 16 tasks | {batch_16:>10.0} events/s |");
    println!("| {name} | read-all ({total} events, pages of 5,000) | {read:>10.0} events/s |");
}

fn main() {
    let scale = pawpost_store::testing::bench_scale();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("| backend | workload | throughput |");
        println!("| --- | --- | --- |");
        for (name, store, _guard) in pawpost_store::testing::bench_backends().await {
            run(name, store, scale).await;
        }
    });
}
