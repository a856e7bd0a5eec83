//! Typing and presence over the messaging hub (`/hubs/messaging`), on SQLite and PostgreSQL:
//! `UserTyping` reaches the other participants and not the typer's own connections, stops on
//! its own after 6 s, refuses non-participants; `PresenceChanged` tells the users who share a
//! conversation when someone comes online, changes status, and goes offline after their last
//! connection closes; typing and presence set over REST reach hub clients the same way.

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

/// The next invocation of `target` whose first argument satisfies `pick` (other messages are
/// skipped); that argument.
async fn next_push(c: &mut Client, target: &str, pick: impl Fn(&Value) -> bool) -> Value {
    loop {
        match c.next().await {
            Some(HubMessage::Invocation {
                target: t,
                mut arguments,
                ..
            }) if t == target && pick(&arguments[0]) => return arguments.remove(0),
            Some(_) => continue,
            None => panic!("closed while waiting for {target}"),
        }
    }
}

/// The completion of invocation `id` (pushes before it are skipped).
async fn completion(c: &mut Client, id: &str) -> Outcome {
    loop {
        match c.next().await {
            Some(HubMessage::Completion {
                invocation_id,
                outcome,
            }) if invocation_id == id => return outcome,
            Some(_) => continue,
            None => panic!("closed while waiting for completion {id}"),
        }
    }
}

/// A connection of `user` that is fully set up: the server answers the handshake before it
/// joins the connection's groups, but invocations are answered only after, so one round trip
/// (an unknown method, refused) proves the joins happened.
async fn ready(api: &Api, user: &str, role: Role, protocol: Protocol) -> Client {
    let mut c = Client::connect(&hub_url(api), &api.token(user, role), protocol).await;
    c.invoke("ready", "Ready", vec![]).await;
    assert!(matches!(
        completion(&mut c, "ready").await,
        Outcome::Error(_)
    ));
    c
}

/// A direct conversation between alice and bob (created over REST), its id.
async fn direct(api: &Api) -> String {
    common::register(api, &["alice", "bob"]).await;
    let created = api
        .user("alice")
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "direct", "participants": ["bob"], "initialMessage": "hi"}),
        )
        .await
        .expect(201);
    created["conversationId"].as_str().unwrap().to_string()
}

async fn typing_reaches_the_others_and_stops_on_its_own(api: Api) {
    let conv = direct(&api).await;
    let mut alice = ready(&api, "alice", Role::Owner, Protocol::Json).await;
    let mut alice_phone = ready(&api, "alice", Role::Owner, Protocol::MessagePack).await;
    let mut bob = ready(&api, "bob", Role::Provider, Protocol::Json).await;

    alice.invoke("0", "StartTyping", vec![json!(conv)]).await;
    assert_eq!(completion(&mut alice, "0").await, Outcome::Void);
    let typing = next_push(&mut bob, "UserTyping", |_| true).await;
    assert_eq!(
        typing,
        json!({"conversationId": conv, "userId": "alice", "isTyping": true})
    );
    alice.invoke("1", "StopTyping", vec![json!(conv)]).await;
    assert_eq!(completion(&mut alice, "1").await, Outcome::Void);
    let stopped = next_push(&mut bob, "UserTyping", |_| true).await;
    assert_eq!(
        stopped,
        json!({"conversationId": conv, "userId": "alice", "isTyping": false})
    );

    // Not refreshed: the stop comes by itself (within the client's 10 s deadline).
    alice.invoke("2", "StartTyping", vec![json!(conv)]).await;
    assert_eq!(completion(&mut alice, "2").await, Outcome::Void);
    let started = next_push(&mut bob, "UserTyping", |_| true).await;
    assert_eq!(started["isTyping"], true);
    let auto = next_push(&mut bob, "UserTyping", |_| true).await;
    assert_eq!(
        auto,
        json!({"conversationId": conv, "userId": "alice", "isTyping": false})
    );

    // The typer's own devices heard none of it: the next thing on the phone is bob's typing.
    bob.invoke("3", "StartTyping", vec![json!(conv)]).await;
    assert_eq!(completion(&mut bob, "3").await, Outcome::Void);
    let on_phone = next_push(&mut alice_phone, "UserTyping", |_| true).await;
    assert_eq!(on_phone["userId"], "bob", "{on_phone}");
    assert_eq!(on_phone["isTyping"], true);
}

async fn typing_is_refused_to_non_participants(api: Api) {
    let conv = direct(&api).await;
    let mut eve = ready(&api, "eve", Role::Owner, Protocol::Json).await;
    eve.invoke("0", "StartTyping", vec![json!(conv)]).await;
    match completion(&mut eve, "0").await {
        Outcome::Error(e) => assert!(e.contains("not_found"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The connection stays up.
    eve.invoke("1", "UpdatePresence", vec![json!("sleeping")])
        .await;
    match completion(&mut eve, "1").await {
        Outcome::Error(e) => assert!(e.contains("status"), "{e}"),
        other => panic!("{other:?}"),
    }
    eve.invoke(
        "2",
        "UpdatePresence",
        vec![json!("busy"), json!("walking dogs")],
    )
    .await;
    match completion(&mut eve, "2").await {
        Outcome::Result(p) => {
            assert_eq!(p["status"], "busy", "{p}");
            assert_eq!(p["statusMessage"], "walking dogs", "{p}");
        }
        other => panic!("{other:?}"),
    }
}

async fn presence_follows_the_last_connection(api: Api) {
    let conv = direct(&api).await;
    let mut bob = ready(&api, "bob", Role::Provider, Protocol::Json).await;
    let alice_phone = ready(&api, "alice", Role::Owner, Protocol::Json).await;
    let online = next_push(&mut bob, "PresenceChanged", |p| p["userId"] == "alice").await;
    assert_eq!(online["status"], "online", "{online}");
    assert!(online["lastSeen"].is_string(), "{online}");

    let mut alice_laptop = ready(&api, "alice", Role::Owner, Protocol::MessagePack).await;
    alice_laptop
        .invoke(
            "0",
            "UpdatePresence",
            vec![json!("away"), json!("at the vet")],
        )
        .await;
    let Outcome::Result(mine) = completion(&mut alice_laptop, "0").await else {
        panic!("UpdatePresence failed")
    };
    assert_eq!(mine["status"], "away");
    let away = next_push(&mut bob, "PresenceChanged", |p| p["userId"] == "alice").await;
    assert_eq!(
        away["status"], "away",
        "the second device is no new online: {away}"
    );
    assert_eq!(away["statusMessage"], "at the vet");

    // One device closes: still there. The last closes: offline after the grace period.
    drop(alice_phone);
    bob.invoke("1", "StartTyping", vec![json!(conv)]).await;
    assert_eq!(completion(&mut bob, "1").await, Outcome::Void);
    let _ = next_push(&mut alice_laptop, "UserTyping", |p| p["userId"] == "bob").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let status = api
        .user("bob")
        .post(
            "/api/v1/messaging/presence/get",
            json!({"userIds": ["alice"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        status["presence"][0]["status"], "away",
        "one device left: still there: {status}"
    );
    drop(alice_laptop);
    let offline = next_push(&mut bob, "PresenceChanged", |p| p["userId"] == "alice").await;
    assert_eq!(offline["status"], "offline", "{offline}");
    assert!(offline["lastSeen"].is_string(), "{offline}");
}

async fn typing_and_presence_set_over_rest_reach_hub_clients(api: Api) {
    let conv = direct(&api).await;
    let mut alice = ready(&api, "alice", Role::Owner, Protocol::Json).await;

    // bob has no hub connection: an app in the background reporting over REST.
    api.user("bob")
        .post(
            "/api/v1/messaging/presence/update",
            json!({"status": "busy", "statusMessage": "grooming a poodle"}),
        )
        .await
        .expect(200);
    let busy = next_push(&mut alice, "PresenceChanged", |p| p["userId"] == "bob").await;
    assert_eq!(busy["status"], "busy", "{busy}");
    assert_eq!(busy["statusMessage"], "grooming a poodle", "{busy}");

    api.user("bob")
        .post(
            "/api/v1/messaging/typing/start",
            json!({"conversationId": conv}),
        )
        .await
        .expect(200);
    let typing = next_push(&mut alice, "UserTyping", |_| true).await;
    assert_eq!(
        typing,
        json!({"conversationId": conv, "userId": "bob", "isTyping": true})
    );

    // Someone who shares no conversation with bob hears nothing of him: everything eve
    // receives before alice's first message to her is free of bob's presence.
    let mut eve = ready(&api, "eve", Role::Owner, Protocol::Json).await;
    api.user("bob")
        .post(
            "/api/v1/messaging/presence/update",
            json!({"status": "away"}),
        )
        .await
        .expect(200);
    let away = next_push(&mut alice, "PresenceChanged", |p| p["userId"] == "bob").await;
    assert_eq!(away["status"], "away", "{away}");
    api.user("alice")
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "direct", "participants": ["eve"], "initialMessage": "hello eve"}),
        )
        .await
        .expect(201);
    loop {
        match eve.next().await {
            Some(HubMessage::Invocation {
                target, arguments, ..
            }) => {
                assert!(
                    !(target == "PresenceChanged" && arguments[0]["userId"] == "bob"),
                    "eve shares no conversation with bob: {arguments:?}"
                );
                if target == "ReceiveMessage" {
                    break;
                }
            }
            Some(_) => continue,
            None => panic!("eve's connection closed"),
        }
    }
}

async fn a_call_rings_is_accepted_relays_signalling_and_ends(api: Api) {
    let conv = direct(&api).await;
    let mut alice = ready(&api, "alice", Role::Owner, Protocol::Json).await;
    let mut bob = ready(&api, "bob", Role::Provider, Protocol::MessagePack).await;
    alice
        .invoke("0", "InitiateCall", vec![json!(conv), json!("video")])
        .await;
    let Outcome::Result(started) = completion(&mut alice, "0").await else {
        panic!("InitiateCall failed")
    };
    let call_id = started["callId"].as_str().unwrap().to_string();
    let ring = next_push(&mut bob, "IncomingCall", |_| true).await;
    assert_eq!(
        ring,
        json!({"callId": call_id, "conversationId": conv, "from": "alice", "callType": "video"})
    );

    bob.invoke("1", "AcceptCall", vec![json!(call_id)]).await;
    assert_eq!(completion(&mut bob, "1").await, Outcome::Void);
    let accepted = next_push(&mut alice, "CallAccepted", |_| true).await;
    assert_eq!(accepted["callId"], call_id.as_str());
    assert_eq!(accepted["by"], "bob");

    alice
        .invoke(
            "2",
            "SendOffer",
            vec![json!(call_id), json!({"sdp": "v=0"})],
        )
        .await;
    assert_eq!(completion(&mut alice, "2").await, Outcome::Void);
    let offer = next_push(&mut bob, "ReceiveOffer", |_| true).await;
    assert_eq!(
        offer,
        json!({"callId": call_id, "from": "alice", "payload": {"sdp": "v=0"}})
    );
    bob.invoke(
        "3",
        "SendAnswer",
        vec![json!(call_id), json!({"sdp": "v=1"})],
    )
    .await;
    assert_eq!(completion(&mut bob, "3").await, Outcome::Void);
    let answer = next_push(&mut alice, "ReceiveAnswer", |_| true).await;
    assert_eq!(answer["from"], "bob");
    assert_eq!(answer["payload"]["sdp"], "v=1");

    bob.invoke("4", "EndCall", vec![json!(call_id)]).await;
    assert_eq!(completion(&mut bob, "4").await, Outcome::Void);
    let ended = next_push(&mut alice, "CallEnded", |_| true).await;
    assert_eq!(ended["reason"], "ended", "{ended}");
    assert_eq!(ended["by"], "bob");

    // Gone: a second end is refused, the connection stays up.
    alice.invoke("5", "EndCall", vec![json!(call_id)]).await;
    match completion(&mut alice, "5").await {
        Outcome::Error(e) => assert!(e.contains("not_found"), "{e}"),
        other => panic!("{other:?}"),
    }
    alice
        .invoke("6", "InitiateCall", vec![json!(conv), json!("fax")])
        .await;
    match completion(&mut alice, "6").await {
        Outcome::Error(e) => assert!(e.contains("callType"), "{e}"),
        other => panic!("{other:?}"),
    }
}

both!(
    a_call_rings_is_accepted_relays_signalling_and_ends,
    typing_and_presence_set_over_rest_reach_hub_clients,
    typing_reaches_the_others_and_stops_on_its_own,
    typing_is_refused_to_non_participants,
    presence_follows_the_last_connection,
);
