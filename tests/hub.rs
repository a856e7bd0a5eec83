//! The messaging hub (`/hubs/messaging`) over real WebSockets, on SQLite and PostgreSQL:
//! pushes come from the log to every participant connection (the sender's other devices
//! too), conversations created after connecting included; hub methods go through the same
//! rules as REST. (The official-client tests come with the rest of the hub.)

#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use pawpost_server::auth::Role;
use pawpost_signalr::protocol::{HubMessage, Outcome, Protocol};
use pawpost_signalr::testing::Client;
use serde_json::{json, Value};

fn hub_url(api: &Api) -> String {
    format!("{}/hubs/messaging", api.server.url())
}

/// The next invocation of `target` (other pushes are skipped); its first argument.
async fn next_push(c: &mut Client, target: &str) -> Value {
    loop {
        match c.next().await {
            Some(HubMessage::Invocation {
                target: t,
                mut arguments,
                ..
            }) if t == target => return arguments.remove(0),
            Some(HubMessage::Invocation { .. }) => continue,
            other => panic!("expected {target}, got {other:?}"),
        }
    }
}

async fn a_message_reaches_every_participant_connection(api: Api) {
    let alice_token = api.token("alice", pawpost_server::auth::Role::Owner);
    let bob_token = api.token("bob", pawpost_server::auth::Role::Provider);
    // Connected before the conversation exists.
    let mut bob = Client::connect(&hub_url(&api), &bob_token, Protocol::Json).await;
    let mut alice_phone =
        Client::connect(&hub_url(&api), &alice_token, Protocol::MessagePack).await;
    let created = api
        .user("alice")
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "direct", "participants": ["bob"], "initialMessage": "Rex at 9?"}),
        )
        .await
        .expect(201);
    let conversation = created["conversationId"].as_str().unwrap().to_string();
    let pushed = next_push(&mut bob, "ReceiveMessage").await;
    assert_eq!(pushed["message"]["content"], "Rex at 9?", "{pushed}");
    assert_eq!(pushed["conversationId"], conversation.as_str());
    assert_eq!(pushed["seq"], 2, "{pushed}");
    assert!(pawpost_server::cursor::decode(pushed["cursor"].as_str().unwrap()).is_some());
    let on_phone = next_push(&mut alice_phone, "ReceiveMessage").await;
    assert_eq!(
        on_phone["message"]["id"], pushed["message"]["id"],
        "the sender's other device"
    );

    // Bob answers through the hub: the completion has the message; everyone gets the push.
    bob.invoke(
        "0",
        "SendMessage",
        vec![json!({"conversationId": conversation, "content": "Sure!", "tempId": "t-1"})],
    )
    .await;
    let reply = loop {
        match bob.next().await {
            Some(HubMessage::Completion {
                invocation_id,
                outcome,
            }) if invocation_id == "0" => break outcome,
            Some(_) => continue,
            None => panic!("closed"),
        }
    };
    let Outcome::Result(sent) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(sent["message"]["content"], "Sure!");
    assert_eq!(sent["tempId"], "t-1");
    let on_phone = next_push(&mut alice_phone, "ReceiveMessage").await;
    assert_eq!(on_phone["message"]["id"], sent["message"]["id"]);
    assert_eq!(on_phone["tempId"], "t-1");
}

async fn hub_refusals_keep_the_connection(api: Api) {
    let eve = api.token("eve", pawpost_server::auth::Role::Owner);
    let mut c = Client::connect(&hub_url(&api), &eve, Protocol::Json).await;
    c.invoke("0", "NoSuchMethod", vec![]).await;
    match c.next().await {
        Some(HubMessage::Completion {
            outcome: Outcome::Error(e),
            ..
        }) => {
            assert!(e.contains("Unknown hub method"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // A conversation eve is not in: refused like REST (404, not disclosed).
    c.invoke(
        "1",
        "SendMessage",
        vec![json!({"conversationId": "0190b6d2-0000-7000-8000-000000000001", "content": "hi"})],
    )
    .await;
    match c.next().await {
        Some(HubMessage::Completion {
            outcome: Outcome::Error(e),
            ..
        }) => {
            assert!(e.contains("not_found"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let negotiate = reqwest::Client::new()
        .post(format!("{}/negotiate?negotiateVersion=1", hub_url(&api)))
        .send()
        .await
        .unwrap();
    assert_eq!(negotiate.status(), 401);
}

/// Invokes `target` and waits for its completion (pushes in between are kept for later).
async fn call(c: &mut Client, id: &str, target: &str, args: Vec<Value>) -> Outcome {
    c.invoke(id, target, args).await;
    let mut kept = Vec::new();
    let outcome = loop {
        match c.next().await {
            Some(HubMessage::Completion {
                invocation_id,
                outcome,
            }) if invocation_id == id => break outcome,
            Some(other) => kept.push(other),
            None => panic!("closed while waiting for {target}"),
        }
    };
    c.received.splice(0..0, kept);
    outcome
}

async fn reads_reactions_edits_deletes_and_sync_over_the_hub(api: Api) {
    let alice_token = api.token("alice", pawpost_server::auth::Role::Owner);
    let bob_token = api.token("bob", pawpost_server::auth::Role::Provider);
    api.user("bob")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    let created = api
        .user("alice")
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "group", "title": "Walks", "participants": ["bob"], "initialMessage": "first"}),
        )
        .await
        .expect(201);
    let conversation = created["conversationId"].as_str().unwrap().to_string();
    let first = created["conversation"]["lastMessage"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut alice = Client::connect(&hub_url(&api), &alice_token, Protocol::Json).await;
    let mut bob = Client::connect(&hub_url(&api), &bob_token, Protocol::MessagePack).await;

    // Bob reads: Alice is told, with the cursor of the event.
    assert_eq!(
        call(
            &mut bob,
            "r",
            "MarkAsRead",
            vec![json!(conversation), json!(first)]
        )
        .await,
        Outcome::Void
    );
    let read = next_push(&mut alice, "MessagesRead").await;
    assert_eq!(read["userId"], "bob");
    assert_eq!(read["lastReadMessageId"], first.as_str());
    let cursor = read["cursor"].as_str().unwrap().to_string();

    // Reactions, an edit and a deletion reach both.
    assert_eq!(
        call(
            &mut alice,
            "a",
            "AddReaction",
            vec![json!(first), json!("🐾")]
        )
        .await,
        Outcome::Void
    );
    let r = next_push(&mut bob, "ReactionAdded").await;
    assert_eq!(
        (r["userId"].as_str(), r["reaction"].as_str()),
        (Some("alice"), Some("🐾"))
    );
    assert_eq!(
        call(
            &mut alice,
            "e",
            "EditMessage",
            vec![json!(first), json!("first, edited")]
        )
        .await,
        Outcome::Void
    );
    assert_eq!(
        next_push(&mut bob, "MessageEdited").await["content"],
        "first, edited"
    );
    match call(
        &mut bob,
        "x",
        "EditMessage",
        vec![json!(first), json!("not mine")],
    )
    .await
    {
        Outcome::Error(e) => assert!(e.contains("forbidden"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        call(
            &mut alice,
            "d",
            "DeleteMessage",
            vec![json!(first), json!(true)]
        )
        .await,
        Outcome::Void
    );
    assert_eq!(
        next_push(&mut bob, "MessageDeleted").await["messageId"],
        first.as_str()
    );

    // Sync from the read's cursor: exactly what came after, in order.
    let Outcome::Result(page) = call(&mut bob, "s", "Sync", vec![json!(cursor)]).await else {
        panic!("Sync failed")
    };
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["ReactionAdded", "MessageEdited", "MessageDeleted"],
        "{page}"
    );
}

/// A client that drops and comes back with its last cursor gets exactly what it missed.
async fn a_reconnecting_client_syncs_exactly_what_it_missed(api: Api) {
    let alice = api.user("alice");
    let bob_token = api.token("bob", pawpost_server::auth::Role::Provider);
    api.user("bob")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    let conversation = alice
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "direct", "participants": ["bob"]}),
        )
        .await
        .expect(201)["conversationId"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/messaging/conversations/{conversation}/messages");
    let mut bob = Client::connect(&hub_url(&api), &bob_token, Protocol::Json).await;
    alice
        .post(&path, json!({"content": "one"}))
        .await
        .expect(201);
    let seen = next_push(&mut bob, "ReceiveMessage").await;
    let cursor = seen["cursor"].as_str().unwrap().to_string();
    drop(bob);
    for text in ["two", "three"] {
        alice
            .post(&path, json!({"content": text}))
            .await
            .expect(201);
    }
    let mut bob = Client::connect(&hub_url(&api), &bob_token, Protocol::Json).await;
    let Outcome::Result(page) = call(&mut bob, "s", "Sync", vec![json!(cursor)]).await else {
        panic!("Sync failed")
    };
    let missed: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "MessageSent")
        .map(|e| e["data"]["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(missed, ["two", "three"], "{page}");
}

/// A participant removed from a group stops receiving its messages at once; the others still
/// do.
async fn a_removed_participant_stops_receiving(api: Api) {
    let (carol_token, bob_token) = (
        api.token("carol", pawpost_server::auth::Role::Owner),
        api.token("bob", pawpost_server::auth::Role::Owner),
    );
    api.user("bob")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    api.user("carol")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    let alice = api.user("alice");
    let conversation = alice
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "group", "title": "Vets", "participants": ["bob", "carol"]}),
        )
        .await
        .expect(201)["conversationId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bob = Client::connect(&hub_url(&api), &bob_token, Protocol::Json).await;
    let mut carol = Client::connect(&hub_url(&api), &carol_token, Protocol::Json).await;
    alice
        .delete_with(
            &format!("/api/v1/messaging/conversations/{conversation}/participants"),
            json!({"userId": "bob"}),
        )
        .await
        .expect(204);
    let changed = next_push(&mut bob, "ParticipantsChanged").await;
    assert_eq!(
        changed["removed"],
        json!(["bob"]),
        "bob hears of his removal"
    );
    let path = format!("/api/v1/messaging/conversations/{conversation}/messages");
    alice
        .post(&path, json!({"content": "after bob left"}))
        .await
        .expect(201);
    let got = next_push(&mut carol, "ReceiveMessage").await;
    assert_eq!(got["message"]["content"], "after bob left");
    // Bob's next push, if any, is not that message: ask for something that answers for sure.
    bob.invoke("p", "NoSuchMethod", vec![]).await;
    loop {
        match bob.next().await {
            Some(HubMessage::Invocation {
                target, arguments, ..
            }) => assert!(
                target != "ReceiveMessage",
                "bob received {arguments:?} after his removal"
            ),
            Some(HubMessage::Completion { .. }) => break,
            other => panic!("{other:?}"),
        }
    }
}

/// Browsers may call from a configured origin (echoed, with credentials); others get no CORS
/// headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_configured_origins_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let api = Api::start(dir, url, |s| {
        s.cors_origins = vec!["https://app.pawpost.test".into()]
    })
    .await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{}/negotiate?negotiateVersion=1", hub_url(&api)),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,x-requested-with,x-signalr-user-agent",
        )
        .send()
    };
    let ok = preflight("https://app.pawpost.test").await.unwrap();
    let headers = ok.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.pawpost.test"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in ["authorization", "x-requested-with", "x-signalr-user-agent"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    let other = preflight("https://evil.test").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// `GET /stats` counts hub connections and reports the process's memory (what the load
/// benchmark records per connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_connections_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let api = Api::start(dir, url, |_| {}).await;
    let stats = |api: &Api| {
        let url = format!("{}/stats", api.server.url());
        async move {
            let answer: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            answer
        }
    };
    let before = stats(&api).await;
    assert_eq!(before["connections"], 0, "{before}");
    assert!(before["rssBytes"].as_u64().unwrap() > 0, "{before}");
    assert!(before["openFileLimit"].as_u64().unwrap() > 0, "{before}");
    let a = Client::connect(
        &hub_url(&api),
        &api.token("alice", Role::Owner),
        Protocol::Json,
    )
    .await;
    let b = Client::connect(
        &hub_url(&api),
        &api.token("alice", Role::Owner),
        Protocol::Json,
    )
    .await;
    assert_eq!(stats(&api).await["connections"], 2);
    drop((a, b));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while stats(&api).await["connections"] != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "closed connections are not counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

both!(
    a_removed_participant_stops_receiving,
    reads_reactions_edits_deletes_and_sync_over_the_hub,
    a_reconnecting_client_syncs_exactly_what_it_missed,
    a_message_reaches_every_participant_connection,
    hub_refusals_keep_the_connection,
);
