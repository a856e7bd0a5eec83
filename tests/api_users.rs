//! Profiles (`/users/{id}`), blocks and drafts over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{conversation_command, group_titled, register, send_text, uid, Api};
use pawpost_domain::{ConversationCommand, ConversationId, MessageId};
use pawpost_server::auth::Role;
use serde_json::json;
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

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

async fn the_service_sets_profiles_that_everyone_can_read(api: Api) {
    let svc = api.with_role("accounts", Role::Service);
    let body = json!({
        "displayName": "  Wes the Walker ",
        "avatarUrl": "https://cdn.example.com/wes.png",
        "role": "provider",
        "locale": "pt-BR"
    });
    let view = svc
        .put("/api/v1/messaging/users/wes", body)
        .await
        .expect(200);
    assert_eq!(view["id"], "wes");
    assert_eq!(view["displayName"], "Wes the Walker");
    assert_eq!(view["avatarUrl"], "https://cdn.example.com/wes.png");
    assert_eq!(view["role"], "provider");
    assert_eq!(view["locale"], "pt-BR");

    let read = api
        .user("alice")
        .get("/api/v1/messaging/users/wes")
        .await
        .expect(200);
    assert_eq!(read, view);

    // Replaced as a whole: absent optional fields are cleared.
    let view = svc
        .put("/api/v1/messaging/users/wes", json!({"displayName": "Wes"}))
        .await
        .expect(200);
    assert_eq!(view["displayName"], "Wes");
    assert_eq!(view["avatarUrl"], serde_json::Value::Null);
    assert_eq!(view["role"], serde_json::Value::Null);

    // A profile set by the service is not overwritten by the user's token on first request.
    api.user("wes")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    let read = api
        .user("alice")
        .get("/api/v1/messaging/users/wes")
        .await
        .expect(200);
    assert_eq!(read["displayName"], "Wes");
}

async fn users_are_known_from_their_tokens(api: Api) {
    register(&api, &["bob"]).await;
    let view = api
        .user("alice")
        .get("/api/v1/messaging/users/bob")
        .await
        .expect(200);
    assert_eq!(view["id"], "bob");
    assert_eq!(view["displayName"], "Bob");
    assert_eq!(view["role"], "owner");
}

async fn profile_refusals(api: Api) {
    let alice = api.user("alice");
    let p = alice
        .put(
            "/api/v1/messaging/users/alice",
            json!({"displayName": "Queen"}),
        )
        .await
        .problem(403, "forbidden");
    assert!(p["detail"].as_str().unwrap().contains("service"));
    alice
        .get("/api/v1/messaging/users/nobody")
        .await
        .problem(404, "not_found");
    api.anonymous()
        .get("/api/v1/messaging/users/alice")
        .await
        .problem(401, "missing_token");

    let svc = api.with_role("accounts", Role::Service);
    for (body, field) in [
        (json!({"displayName": "   "}), "displayName"),
        (json!({}), "displayName"),
        (
            json!({"displayName": "Wes", "avatarUrl": "ftp://x/y.png"}),
            "avatarUrl",
        ),
        (
            json!({"displayName": "Wes", "locale": "english please"}),
            "locale",
        ),
        (
            json!({"displayName": "Wes", "role": "x".repeat(21)}),
            "role",
        ),
    ] {
        let p = svc
            .put("/api/v1/messaging/users/wes", body.clone())
            .await
            .problem(422, "invalid");
        assert_eq!(p["field"], field, "{body}");
    }
    // Nothing was stored by the refused requests.
    alice
        .get("/api/v1/messaging/users/wes")
        .await
        .problem(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------

async fn blocks_are_listed_and_lifted(api: Api) {
    register(&api, &["bob", "carol"]).await;
    let alice = api.user("alice");
    let empty = alice.get("/api/v1/messaging/blocks").await.expect(200);
    assert_eq!(empty["blocks"], json!([]));

    let created = alice
        .post(
            "/api/v1/messaging/blocks",
            json!({"userId": "bob", "reason": "spams me"}),
        )
        .await
        .expect(201);
    assert_eq!(created["block"]["userId"], "bob");
    assert_eq!(created["block"]["reason"], "spams me");
    assert!(created["block"]["blockedAt"].is_string());

    // Blocking again changes nothing: 200 with the first block.
    let again = alice
        .post(
            "/api/v1/messaging/blocks",
            json!({"userId": "bob", "reason": "other"}),
        )
        .await
        .expect(200);
    assert_eq!(again["block"]["reason"], "spams me");

    alice
        .post("/api/v1/messaging/blocks", json!({"userId": "carol"}))
        .await
        .expect(201);
    let list = alice.get("/api/v1/messaging/blocks").await.expect(200);
    let ids: Vec<&str> = list["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["userId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bob", "carol"]);
    assert_eq!(list["blocks"][1]["reason"], serde_json::Value::Null);

    // Blocks are the caller's own.
    let bobs = api
        .user("bob")
        .get("/api/v1/messaging/blocks")
        .await
        .expect(200);
    assert_eq!(bobs["blocks"], json!([]));

    let resp = alice.delete("/api/v1/messaging/blocks/bob").await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let list = alice.get("/api/v1/messaging/blocks").await.expect(200);
    assert_eq!(list["blocks"].as_array().unwrap().len(), 1);
    assert_eq!(list["blocks"][0]["userId"], "carol");
    // Idempotent.
    let resp = alice.delete("/api/v1/messaging/blocks/bob").await;
    assert_eq!(resp.status, 204, "{}", resp.text);
}

async fn block_refusals(api: Api) {
    register(&api, &["bob"]).await;
    let alice = api.user("alice");
    for (body, field) in [
        (json!({"userId": "alice"}), "userId"),
        (json!({"userId": "ghost"}), "userId"),
        (json!({"userId": "two words"}), "userId"),
        (json!({}), "userId"),
        (
            json!({"userId": "bob", "reason": "x".repeat(501)}),
            "reason",
        ),
        (json!({"userId": "bob", "reason": "  "}), "reason"),
    ] {
        let p = alice
            .post("/api/v1/messaging/blocks", body.clone())
            .await
            .problem(422, "invalid");
        assert_eq!(p["field"], field, "{body}");
    }
    let list = alice.get("/api/v1/messaging/blocks").await.expect(200);
    assert_eq!(list["blocks"], json!([]));
    api.anonymous()
        .get("/api/v1/messaging/blocks")
        .await
        .problem(401, "missing_token");
    api.anonymous()
        .post("/api/v1/messaging/blocks", json!({"userId": "bob"}))
        .await
        .problem(401, "missing_token");
}

// ---------------------------------------------------------------------------------------------
// Drafts
// ---------------------------------------------------------------------------------------------

async fn drafts_are_saved_listed_and_cleared(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let other = group(&api, "alice", &[]).await;
    let alice = api.user("alice");
    let path = format!("/api/v1/messaging/conversations/{conv}/draft");

    let saved = alice
        .put(&path, json!({"content": "  see you at 5"}))
        .await
        .expect(200);
    assert_eq!(saved["draft"]["conversationId"], conv.to_string());
    assert_eq!(saved["draft"]["content"], "  see you at 5");
    assert_eq!(saved["draft"]["isErased"], false);
    assert_eq!(saved["draft"]["replyToMessageId"], serde_json::Value::Null);

    let message = send(&api, conv, "bob", "when?").await;
    let saved = alice
        .put(
            &path,
            json!({"content": "at 6", "replyToMessageId": message.to_string()}),
        )
        .await
        .expect(200);
    assert_eq!(saved["draft"]["content"], "at 6");
    assert_eq!(saved["draft"]["replyToMessageId"], message.to_string());

    alice
        .put(
            &format!("/api/v1/messaging/conversations/{other}/draft"),
            json!({"content": "note to self"}),
        )
        .await
        .expect(200);
    let list = alice.get("/api/v1/messaging/drafts").await.expect(200);
    let mut convs: Vec<String> = list["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["conversationId"].as_str().unwrap().to_string())
        .collect();
    convs.sort();
    let mut expected = vec![conv.to_string(), other.to_string()];
    expected.sort();
    assert_eq!(convs, expected);

    // Drafts are private.
    let bobs = api
        .user("bob")
        .get("/api/v1/messaging/drafts")
        .await
        .expect(200);
    assert_eq!(bobs["drafts"], json!([]));

    let resp = alice.delete(&path).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let list = alice.get("/api/v1/messaging/drafts").await.expect(200);
    assert_eq!(list["drafts"].as_array().unwrap().len(), 1);
    assert_eq!(list["drafts"][0]["conversationId"], other.to_string());
    assert_eq!(list["drafts"][0]["content"], "note to self");
    let resp = alice.delete(&path).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
}

async fn draft_refusals(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let elsewhere = group(&api, "carol", &[]).await;
    let foreign = send(&api, elsewhere, "carol", "not yours").await;
    let path = format!("/api/v1/messaging/conversations/{conv}/draft");

    // Not a participant, or no such conversation: 404 either way.
    let carol = api.user("carol");
    carol
        .put(&path, json!({"content": "hi"}))
        .await
        .problem(404, "not_found");
    carol.delete(&path).await.problem(404, "not_found");
    let unknown = format!("/api/v1/messaging/conversations/{}/draft", Uuid::now_v7());
    api.user("alice")
        .put(&unknown, json!({"content": "hi"}))
        .await
        .problem(404, "not_found");

    let alice = api.user("alice");
    let p = alice
        .put(
            "/api/v1/messaging/conversations/not-a-uuid/draft",
            json!({"content": "hi"}),
        )
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "conversationId");
    for (body, field) in [
        (json!({"content": "   "}), "content"),
        (json!({}), "content"),
        (json!({"content": "x".repeat(10_001)}), "content"),
        (
            json!({"content": "hi", "replyToMessageId": foreign.to_string()}),
            "replyToMessageId",
        ),
    ] {
        let p = alice.put(&path, body.clone()).await.problem(422, "invalid");
        assert_eq!(p["field"], field, "{body}");
    }
    let p = alice
        .put(&path, json!({"content": "hi", "replyToMessageId": "nope"}))
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "replyToMessageId");
    let list = alice.get("/api/v1/messaging/drafts").await.expect(200);
    assert_eq!(list["drafts"], json!([]));
    api.anonymous()
        .get("/api/v1/messaging/drafts")
        .await
        .problem(401, "missing_token");
}

async fn a_former_participant_can_still_clear_their_draft(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let path = format!("/api/v1/messaging/conversations/{conv}/draft");
    let bob = api.user("bob");
    bob.put(&path, json!({"content": "brb"})).await.expect(200);
    run(
        &api,
        conv,
        ConversationCommand::Leave {
            actor: uid("bob"),
            at: Utc::now(),
        },
    )
    .await;
    bob.put(&path, json!({"content": "back"}))
        .await
        .problem(404, "not_found");
    let resp = bob.delete(&path).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let list = bob.get("/api/v1/messaging/drafts").await.expect(200);
    assert_eq!(list["drafts"], json!([]));
    // Now that the draft is gone, the conversation is not disclosed any more.
    bob.delete(&path).await.problem(404, "not_found");
}

both!(
    the_service_sets_profiles_that_everyone_can_read,
    users_are_known_from_their_tokens,
    profile_refusals,
    blocks_are_listed_and_lifted,
    block_refusals,
    drafts_are_saved_listed_and_cleared,
    draft_refusals,
    a_former_participant_can_still_clear_their_draft,
);
