//! The sync feed, typing and presence over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{conversation_command, group_titled, register, send_text, uid, Api};
use pawpost_domain::{ConversationCommand, ConversationId, MessageId};
use pawpost_server::signals::TypingSignal;
use serde_json::{json, Value};
use uuid::Uuid;

async fn run(api: &Api, conv: ConversationId, cmd: ConversationCommand) {
    conversation_command(api, conv, cmd).await;
}

async fn group(api: &Api, owner: &str, members: &[&str]) -> ConversationId {
    group_titled(api, "Dog walks", owner, members).await
}

async fn send(api: &Api, conv: ConversationId, who: &str, text: &str) -> MessageId {
    send_text(api, conv, who, text).await
}

/// One sync page as `user` after `since`.
async fn sync(api: &Api, user: &str, since: Option<&str>, limit: u32) -> Value {
    let path = match since {
        Some(c) => format!("/api/v1/messaging/sync?since={c}&limit={limit}"),
        None => format!("/api/v1/messaging/sync?limit={limit}"),
    };
    api.user(user).get(&path).await.expect(200)
}

/// `(type, conversationId, content)` of each event of a page.
fn summary(page: &Value) -> Vec<(String, String, String)> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["conversationId"].as_str().unwrap_or("").to_string(),
                e["data"]["content"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn t(kind: &str, conv: &ConversationId, content: &str) -> (String, String, String) {
    (kind.to_string(), conv.to_string(), content.to_string())
}

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------

async fn sync_from_a_cursor_gives_exactly_the_new_events_in_order(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    send(&api, conv, "alice", "one").await;

    let first = sync(&api, "alice", None, 500).await;
    assert_eq!(first["hasMore"], false);
    let kinds: Vec<&str> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    // Alice's profile (from her token), the group, her message.
    assert_eq!(
        kinds,
        ["ProfileUpdated", "ConversationCreated", "MessageSent"]
    );
    let created = &first["events"][1];
    assert_eq!(created["conversationId"], conv.to_string());
    assert_eq!(created["seq"], 1);
    assert_eq!(first["events"][2]["seq"], 2);
    assert_eq!(first["events"][2]["data"]["content"], "one");
    assert!(first["events"][2]["occurredAt"].is_string());
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    assert_eq!(first["events"][2]["cursor"], cursor.as_str());

    // Nothing new yet.
    let idle = sync(&api, "alice", Some(&cursor), 500).await;
    assert_eq!(idle["events"], json!([]));
    assert_eq!(idle["nextCursor"], cursor.as_str());
    assert_eq!(idle["hasMore"], false);

    send(&api, conv, "bob", "two").await;
    send(&api, conv, "bob", "three").await;
    api.user("alice")
        .put(
            &format!("/api/v1/messaging/conversations/{conv}/draft"),
            json!({"content": "four?"}),
        )
        .await
        .expect(200);

    let next = sync(&api, "alice", Some(&cursor), 500).await;
    assert_eq!(
        summary(&next),
        [
            t("MessageSent", &conv, "two"),
            t("MessageSent", &conv, "three"),
            t("DraftSaved", &conv, "four?"),
        ]
    );
    assert_eq!(next["events"][0]["seq"], 3);
    assert_eq!(next["events"][1]["seq"], 4);
    assert_eq!(next["events"][2]["seq"], Value::Null);
    assert_eq!(next["hasMore"], false);
    let cursor = next["nextCursor"].as_str().unwrap().to_string();
    let idle = sync(&api, "alice", Some(&cursor), 500).await;
    assert_eq!(idle["events"], json!([]));
}

async fn sync_pages_cover_the_feed_once(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    for text in ["a", "b", "c", "d"] {
        send(&api, conv, "bob", text).await;
    }
    let whole = sync(&api, "alice", None, 500).await;
    let all: Vec<Value> = whole["events"].as_array().unwrap().clone();
    assert_eq!(all.len(), 6, "{whole}");

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let page = sync(&api, "alice", cursor.as_deref(), 2).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        paged.extend(events.iter().cloned());
        cursor = Some(page["nextCursor"].as_str().unwrap().to_string());
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(paged, all);
}

async fn sync_shows_only_the_callers_conversations_and_stretches(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    register(&api, &["carol"]).await;
    send(&api, conv, "alice", "before").await;
    run(
        &api,
        conv,
        ConversationCommand::RemoveParticipant {
            actor: uid("alice"),
            user: uid("bob"),
            at: Utc::now(),
        },
    )
    .await;
    send(&api, conv, "alice", "after").await;
    run(
        &api,
        conv,
        ConversationCommand::AddParticipants {
            actor: uid("alice"),
            users: vec![uid("carol")],
            at: Utc::now(),
        },
    )
    .await;
    send(&api, conv, "alice", "welcome").await;

    let bob = sync(&api, "bob", None, 500).await;
    let bob_conv: Vec<(String, String, String)> = summary(&bob)
        .into_iter()
        .filter(|e| !e.1.is_empty())
        .collect();
    assert_eq!(
        bob_conv,
        [
            t("ConversationCreated", &conv, ""),
            t("MessageSent", &conv, "before"),
            t("ParticipantRemoved", &conv, ""),
        ]
    );

    let carol = sync(&api, "carol", None, 500).await;
    assert_eq!(
        summary(&carol),
        [
            ("ProfileUpdated".to_string(), String::new(), String::new()),
            t("ParticipantsAdded", &conv, ""),
            t("MessageSent", &conv, "welcome"),
        ]
    );
    // Nobody sees another user's own stream.
    let foreign: Vec<&Value> = carol["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ProfileUpdated")
        .collect();
    assert_eq!(foreign.len(), 1);
    assert_eq!(foreign[0]["data"]["userId"], "carol");

    // A user in no conversation sees only their own profile.
    let dave = sync(&api, "dave", None, 500).await;
    assert_eq!(summary(&dave).len(), 1);
    assert_eq!(dave["events"][0]["data"]["userId"], "dave");
}

async fn sync_refusals(api: Api) {
    let alice = api.user("alice");
    let p = alice
        .get("/api/v1/messaging/sync?since=definitely-not-a-cursor")
        .await
        .problem(400, "invalid_cursor");
    assert_eq!(p["field"], "since");
    for limit in ["0", "501", "many"] {
        let p = alice
            .get(&format!("/api/v1/messaging/sync?limit={limit}"))
            .await
            .problem(400, "invalid_query");
        assert_eq!(p["field"], "limit");
    }
    api.anonymous()
        .get("/api/v1/messaging/sync")
        .await
        .problem(401, "missing_token");
}

// ---------------------------------------------------------------------------------------------
// Typing
// ---------------------------------------------------------------------------------------------

async fn typing_start_and_stop_are_broadcast(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let signals = api.server.state.signals.clone();
    let mut rx = signals.subscribe_typing();
    let alice = api.user("alice");
    let body = json!({"conversationId": conv.to_string()});

    let answer = alice
        .post("/api/v1/messaging/typing/start", body.clone())
        .await
        .expect(200);
    assert_eq!(answer["typing"], true);
    assert_eq!(
        rx.try_recv().unwrap(),
        TypingSignal {
            conversation_id: conv.to_string(),
            user_id: "alice".into(),
            typing: true,
        }
    );
    assert!(signals.is_typing(conv, &uid("alice")));
    assert!(!signals.is_typing(conv, &uid("bob")));
    assert_eq!(signals.typing_in(conv), vec![uid("alice")]);

    let answer = alice
        .post("/api/v1/messaging/typing/stop", body)
        .await
        .expect(200);
    assert_eq!(answer["typing"], false);
    let stop = rx.try_recv().unwrap();
    assert!(!stop.typing);
    assert_eq!(stop.user_id, "alice");
    assert!(!signals.is_typing(conv, &uid("alice")));
    assert!(rx.try_recv().is_err(), "one signal per request");
}

async fn typing_refusals(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    register(&api, &["carol"]).await;
    let mut rx = api.server.state.signals.subscribe_typing();
    let carol = api.user("carol");
    for path in [
        "/api/v1/messaging/typing/start",
        "/api/v1/messaging/typing/stop",
    ] {
        carol
            .post(path, json!({"conversationId": conv.to_string()}))
            .await
            .problem(404, "not_found");
        carol
            .post(path, json!({"conversationId": Uuid::now_v7().to_string()}))
            .await
            .problem(404, "not_found");
        let p = carol
            .post(path, json!({"conversationId": "nope"}))
            .await
            .problem(400, "invalid_id");
        assert_eq!(p["field"], "conversationId");
        let p = carol.post(path, json!({})).await.problem(422, "invalid");
        assert_eq!(p["field"], "conversationId");
        api.anonymous()
            .post(path, json!({"conversationId": conv.to_string()}))
            .await
            .problem(401, "missing_token");
    }
    assert!(rx.try_recv().is_err(), "refused requests signal nothing");
    assert!(!api.server.state.signals.is_typing(conv, &uid("carol")));
}

// ---------------------------------------------------------------------------------------------
// Presence
// ---------------------------------------------------------------------------------------------

async fn presence_is_updated_and_read(api: Api) {
    let mut rx = api.server.state.signals.subscribe_presence();
    let me = api
        .user("alice")
        .post(
            "/api/v1/messaging/presence/update",
            json!({"status": "busy", "statusMessage": " grooming a poodle "}),
        )
        .await
        .expect(200);
    assert_eq!(me["userId"], "alice");
    assert_eq!(me["status"], "busy");
    assert_eq!(me["statusMessage"], "grooming a poodle");
    assert!(me["lastSeen"].is_string());
    assert_eq!(rx.try_recv().unwrap().user_id, "alice");

    let got = api
        .user("bob")
        .post(
            "/api/v1/messaging/presence/get",
            json!({"userIds": ["alice", "zed", "alice"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        got["presence"],
        json!([
            me,
            {"userId": "zed", "status": "offline"},
        ])
    );

    let me = api
        .user("alice")
        .post(
            "/api/v1/messaging/presence/update",
            json!({"status": "offline"}),
        )
        .await
        .expect(200);
    assert_eq!(me["status"], "offline");
    assert!(me.get("statusMessage").is_none());
    assert!(me["lastSeen"].is_string());
}

async fn presence_refusals(api: Api) {
    let alice = api.user("alice");
    for (body, field) in [
        (json!({"status": "sleeping"}), "status"),
        (json!({}), "status"),
        (
            json!({"status": "away", "statusMessage": "x".repeat(201)}),
            "statusMessage",
        ),
    ] {
        let p = alice
            .post("/api/v1/messaging/presence/update", body.clone())
            .await
            .problem(422, "invalid");
        assert_eq!(p["field"], field, "{body}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    for (body, field) in [
        (json!({"userIds": many}), "userIds"),
        (json!({"userIds": ["bob", "two words"]}), "userIds[1]"),
        (json!({}), "userIds"),
    ] {
        let p = alice
            .post("/api/v1/messaging/presence/get", body)
            .await
            .problem(422, "invalid");
        assert_eq!(p["field"], field);
    }
    api.anonymous()
        .post(
            "/api/v1/messaging/presence/update",
            json!({"status": "online"}),
        )
        .await
        .problem(401, "missing_token");
    // Nothing was recorded by the refusals.
    let got = api
        .user("bob")
        .post(
            "/api/v1/messaging/presence/get",
            json!({"userIds": ["alice"]}),
        )
        .await
        .expect(200);
    assert_eq!(got["presence"][0]["status"], "offline");
}

async fn the_openapi_document_lists_these_routes(api: Api) {
    let doc = api
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect(200);
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/messaging/users/{userId}", "get"),
        ("/api/v1/messaging/users/{userId}", "put"),
        ("/api/v1/messaging/blocks", "get"),
        ("/api/v1/messaging/blocks", "post"),
        ("/api/v1/messaging/blocks/{userId}", "delete"),
        ("/api/v1/messaging/drafts", "get"),
        (
            "/api/v1/messaging/conversations/{conversationId}/draft",
            "put",
        ),
        (
            "/api/v1/messaging/conversations/{conversationId}/draft",
            "delete",
        ),
        ("/api/v1/messaging/sync", "get"),
        ("/api/v1/messaging/typing/start", "post"),
        ("/api/v1/messaging/typing/stop", "post"),
        ("/api/v1/messaging/presence/update", "post"),
        ("/api/v1/messaging/presence/get", "post"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} documented"
        );
    }
}

both!(
    sync_from_a_cursor_gives_exactly_the_new_events_in_order,
    sync_pages_cover_the_feed_once,
    sync_shows_only_the_callers_conversations_and_stretches,
    sync_refusals,
    typing_start_and_stop_are_broadcast,
    typing_refusals,
    presence_is_updated_and_read,
    presence_refusals,
    the_openapi_document_lists_these_routes,
);
