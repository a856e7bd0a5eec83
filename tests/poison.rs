//! Events that cannot be read (a malformed payload; content sealed under a key this server
//! cannot unwrap) cost nobody anything else: the live hub pushes `EventUnavailable` in their
//! place and every other event as usual, `Sync` returns the same, and the read models park
//! them where admins see them and can ask for a retry.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{register, uid, Api};
use pawpost_codec::EventCodec;
use pawpost_commands::{CommandHandler, CommandMeta};
use pawpost_domain::values::{MessageBody, MessageKind};
use pawpost_domain::{ConversationCommand, ConversationId, ConversationState, MessageId};
use pawpost_server::auth::Role;
use pawpost_signalr::protocol::{HubMessage, Protocol};
use pawpost_signalr::testing::Client;
use pawpost_store::{ExpectedVersion, KeyRing, MasterKey, Metadata, NewEvent};
use serde_json::{json, Value};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(30);

/// The next push (any target) with its first argument.
async fn next_push(c: &mut Client) -> (String, Value) {
    loop {
        let next = tokio::time::timeout(DEADLINE, c.next())
            .await
            .expect("no push before the deadline");
        match next {
            Some(HubMessage::Invocation {
                target,
                mut arguments,
                ..
            }) => return (target, arguments.remove(0)),
            Some(_) => continue,
            None => panic!("the hub closed the connection"),
        }
    }
}

fn send(who: &str, text: &str) -> ConversationCommand {
    ConversationCommand::SendMessage {
        message_id: MessageId::from_uuid(Uuid::now_v7()),
        actor: uid(who),
        kind: MessageKind::Text,
        body: Some(MessageBody::parse(text).unwrap()),
        attachments: vec![],
        location: None,
        reply_to: None,
        forward: None,
        mentions: vec![],
        temp_id: None,
        blocked_by_other: false,
        at: Utc::now(),
    }
}

async fn direct(api: &Api, a: &str, b: &str) -> ConversationId {
    let created = api
        .user(a)
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "direct", "participants": [b]}),
        )
        .await
        .expect(201);
    created["conversationId"].as_str().unwrap().parse().unwrap()
}

async fn undecodable_events_are_pushed_as_unavailable_and_parked(api: Api) {
    register(&api, &["alice", "bob", "carol"]).await;
    let conv = direct(&api, "alice", "bob").await;
    // The malformed event goes to another conversation of Bob's: a conversation whose own
    // stream holds one cannot take commands any more (its state cannot be folded).
    let other = direct(&api, "carol", "bob").await;
    let bob_token = api.token("bob", Role::Provider);
    let mut bob = Client::connect(
        &format!("{}/hubs/messaging", api.server.url()),
        &bob_token,
        Protocol::Json,
    )
    .await;
    let store = api.server.state.store.clone();

    // 1. Content sealed under a data key wrapped by another master key: this server cannot
    //    read it (the key cannot be opened).
    let foreign = EventCodec::new(KeyRing::new(&MasterKey::generate(), store.clone()));
    CommandHandler::<ConversationState>::new(store.clone(), foreign)
        .execute(
            &conv.stream(),
            Uuid::now_v7(),
            &send("alice", "sealed elsewhere"),
            &CommandMeta::default(),
        )
        .await
        .unwrap();
    // 2. A payload that is not a MessageSent at all.
    let garbage = NewEvent::json(
        Uuid::now_v7(),
        "MessageSent",
        1,
        &json!({"garbage": true}),
        Metadata::now(Some("carol".into())),
    )
    .unwrap();
    store
        .append(&other.stream(), ExpectedVersion::Any, vec![garbage])
        .await
        .unwrap();
    // 3. A good message after them.
    api.user("alice")
        .post(
            &format!("/api/v1/messaging/conversations/{conv}/messages"),
            json!({"content": "Still here", "tempId": "after"}),
        )
        .await
        .expect(201);

    // Live: in order, each bad event replaced by EventUnavailable with its seq and cursor, the
    // good one delivered.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (target, payload) = next_push(&mut bob).await;
        if target == "EventUnavailable" || target == "ReceiveMessage" {
            seen.push((target, payload));
        }
    }
    assert_eq!(seen[0].0, "EventUnavailable", "{seen:?}");
    assert_eq!(seen[1].0, "EventUnavailable", "{seen:?}");
    assert_eq!(seen[2].0, "ReceiveMessage", "{seen:?}");
    assert_eq!(seen[2].1["message"]["content"], "Still here");
    let seqs: Vec<u64> = seen
        .iter()
        .map(|(_, p)| p["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seen[0].1["conversationId"], conv.to_string());
    assert_eq!(seen[1].1["conversationId"], other.to_string());
    assert_eq!(seqs[2], seqs[0] + 1, "no gap in the conversation: {seqs:?}");
    for (_, p) in &seen[..2] {
        assert_eq!(p["code"], "event_unavailable", "{p}");
        assert_eq!(p["eventType"], "MessageSent", "{p}");
        assert!(p["cursor"].is_string());
    }

    // Sync: the same, from the start.
    let page = api
        .user("bob")
        .get("/api/v1/messaging/sync?limit=500")
        .await
        .expect(200);
    let kinds: Vec<(&str, &str, u64)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["conversationId"].as_str()?,
                e["type"].as_str()?,
                e["seq"].as_u64()?,
            ))
        })
        .collect();
    let (a, b) = (conv.to_string(), other.to_string());
    assert!(
        kinds.contains(&(a.as_str(), "EventUnavailable", seqs[0])),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(b.as_str(), "EventUnavailable", seqs[1])),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(a.as_str(), "MessageSent", seqs[2])),
        "{kinds:?}"
    );

    // The read models parked both (after their tries) and went on.
    let admin = api.with_role("root", Role::Admin);
    let deadline = std::time::Instant::now() + DEADLINE;
    let parked = loop {
        let list = admin
            .get("/api/v1/admin/workers/messages/parked")
            .await
            .expect(200);
        if list["parked"].as_array().unwrap().len() >= 2 {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "never parked: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let first = &parked["parked"][0];
    assert_eq!(first["eventType"], "MessageSent");
    assert_eq!(first["attempts"], pawpost_workers::MAX_ATTEMPTS);
    assert!(first["error"].as_str().unwrap().len() > 3, "{first}");
    let page = api
        .user("bob")
        .get(&format!("/api/v1/messaging/conversations/{conv}/messages"))
        .await
        .expect(200);
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, ["Still here"], "{page}");
    let workers = admin.get("/api/v1/admin/workers").await.expect(200);
    let messages = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "messages")
        .unwrap()
        .clone();
    assert_eq!(messages["parked"], 2, "{workers}");
    assert_eq!(messages["runningHere"], true);
    assert!(messages["failures"].as_u64().unwrap() >= 2, "{messages}");

    // A retry on demand: still unreadable, so it stays parked with one more attempt.
    let id = first["eventId"].as_str().unwrap();
    admin
        .post(
            &format!("/api/v1/admin/workers/messages/parked/{id}/retry"),
            json!({}),
        )
        .await
        .expect(202);
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let list = admin
            .get("/api/v1/admin/workers/messages/parked")
            .await
            .expect(200);
        let again = list["parked"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["eventId"] == id)
            .unwrap()
            .clone();
        if again["attempts"].as_u64().unwrap() > u64::from(pawpost_workers::MAX_ATTEMPTS) {
            assert_eq!(again["retryRequested"], false);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never retried: {again}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin
        .post(
            "/api/v1/admin/workers/messages/parked/no-such-event/retry",
            json!({}),
        )
        .await
        .problem(404, "not_found");
    api.user("bob")
        .get("/api/v1/admin/workers")
        .await
        .problem(403, "forbidden");
}

both!(undecodable_events_are_pushed_as_unavailable_and_parked);
