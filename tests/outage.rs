//! PostgreSQL goes down in the middle of a run of sends (a server of the test's own, stopped
//! at once as a crash or failover would, then started again). Every answer in the window is
//! 503 `unavailable` with `Retry-After` (the hub: a completion error `unavailable`), never 500;
//! `/readyz` reports the outage; the pools reconnect by themselves; retrying each send with its
//! `tempId` until it is accepted leaves exactly one message per `tempId`, none lost.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{direct_between, Api};
use pawpost_server::auth::Role;
use pawpost_signalr::protocol::{HubMessage, Outcome, Protocol};
use pawpost_signalr::testing::Client;
use pawpost_store::testing::PgCluster;
use serde_json::json;
use sqlx::Connection;

const DEADLINE: Duration = Duration::from_secs(60);
const SENDERS: usize = 4;
const PER_SENDER: usize = 40;

/// Sends `PER_SENDER` messages, each retried with its `tempId` until accepted; counts the
/// 503s it met. Panics on any other answer.
async fn sender(api: Arc<Api>, conversation: String, n: usize, unavailable: Arc<AtomicUsize>) {
    let bob = api.user("bob");
    for i in 0..PER_SENDER {
        let temp = format!("s{n}-{i}");
        let deadline = Instant::now() + DEADLINE;
        loop {
            let resp = bob
                .post(
                    &format!("/api/v1/messaging/conversations/{conversation}/messages"),
                    json!({"content": format!("message {temp}"), "tempId": temp}),
                )
                .await;
            match resp.status {
                200..=202 => break,
                503 => {
                    assert!(
                        resp.headers.get("retry-after").is_some(),
                        "a 503 without Retry-After: {}",
                        resp.text
                    );
                    let problem = resp.problem(503, "unavailable");
                    assert!(problem["detail"].is_string());
                    unavailable.fetch_add(1, Ordering::Relaxed);
                    assert!(Instant::now() < deadline, "{temp} never got through");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => {
                    let parked = api
                        .with_role("root", Role::Admin)
                        .get("/api/v1/admin/workers/messages/parked")
                        .await
                        .text;
                    panic!(
                        "send {temp} answered {other}: {} (parked: {parked})",
                        resp.text
                    )
                }
            }
        }
    }
}

async fn readyz(api: &Api) -> u16 {
    reqwest::get(format!("{}/readyz", api.server.url()))
        .await
        .map_or(0, |r| r.status().as_u16())
}

async fn wait_ready(api: &Api, want: u16) {
    let deadline = Instant::now() + DEADLINE;
    while readyz(api).await != want {
        assert!(Instant::now() < deadline, "/readyz never answered {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_under_sends_gives_503_and_loses_nothing() {
    let cluster = PgCluster::start();
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE DATABASE pawpost")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let api = Api::start(tempfile::tempdir().unwrap(), cluster.url("pawpost"), |_| {}).await;
    let conversation = direct_between(&api, "alice", "bob").await;
    let bob_token = api.token("bob", Role::Provider);
    let mut hub = Client::connect(
        &format!("{}/hubs/messaging", api.server.url()),
        &bob_token,
        Protocol::Json,
    )
    .await;

    let api = Arc::new(api);
    let unavailable = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            tokio::spawn(sender(
                api.clone(),
                conversation.clone(),
                n,
                unavailable.clone(),
            ))
        })
        .collect();

    // Let the sends get going, then take the database away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop_now();
    wait_ready(&api, 503).await;
    let body: serde_json::Value = reqwest::get(format!("{}/readyz", api.server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "unavailable", "{body}");

    // The hub answers the same way.
    hub.invoke(
        "1",
        "SendMessage",
        vec![json!({"conversationId": conversation, "content": "over the hub", "tempId": "hub-1"})],
    )
    .await;
    let outcome = loop {
        match tokio::time::timeout(DEADLINE, hub.next()).await.unwrap() {
            Some(HubMessage::Completion {
                invocation_id,
                outcome,
            }) if invocation_id == "1" => break outcome,
            Some(_) => continue,
            None => panic!("the hub closed the connection"),
        }
    };
    let Outcome::Error(error) = outcome else {
        panic!("a send during the outage succeeded: {outcome:?}")
    };
    assert!(error.ends_with("(unavailable)"), "{error}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.start_again();
    wait_ready(&api, 200).await;
    for s in senders {
        timeout_join(s).await;
    }
    assert!(
        unavailable.load(Ordering::Relaxed) > 0,
        "no send met the outage: the test proved nothing"
    );

    // Exactly one message per tempId, in the read models too (projector commits lost to the
    // crash were applied again).
    let head = *api.server.state.store.appended().borrow();
    assert!(api.server.state.projections.wait_for(head, DEADLINE).await);
    let mut temps: Vec<String> = Vec::new();
    let mut before = String::new();
    loop {
        let page = api
            .user("alice")
            .get(&format!(
                "/api/v1/messaging/conversations/{conversation}/messages?limit=100{before}"
            ))
            .await
            .expect(200);
        temps.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["tempId"].as_str().map(str::to_string)),
        );
        if page["hasMore"] != true {
            break;
        }
        before = format!("&before={}", page["oldestMessageId"].as_str().unwrap());
    }
    let total = temps.len();
    temps.sort();
    temps.dedup();
    assert_eq!(temps.len(), total, "a tempId was stored twice");
    let expected = SENDERS * PER_SENDER;
    let sent = temps.iter().filter(|t| t.starts_with('s')).count();
    assert_eq!(sent, expected, "lost messages: {total} stored");
}

async fn timeout_join(task: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(DEADLINE * 2, task)
        .await
        .expect("a sender never finished")
        .unwrap();
}
