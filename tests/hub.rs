//! The messaging hub (`/hubs/messaging`) over real WebSockets, on SQLite and PostgreSQL:
//! pushes come from the log to every participant connection (the sender's other devices
//! too), conversations created after connecting included; hub methods go through the same
//! rules as REST. (The official-client tests come with the rest of the hub.)

#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
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

both!(
    a_message_reaches_every_participant_connection,
    hub_refusals_keep_the_connection,
);
