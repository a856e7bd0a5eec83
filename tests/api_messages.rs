//! `/api/v1/messaging/conversations/{id}/messages` and `/api/v1/messaging/search` over real
//! HTTP, on SQLite and PostgreSQL. Conversations are created through the command handler
//! (their HTTP endpoints are built elsewhere).

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{conversation_command, group_titled, register, uid, user_command, Api};
use pawpost_domain::{ConversationCommand, ConversationId, MessageId, UserCommand};
use serde_json::{json, Value};
use uuid::Uuid;

/// Makes `users` known to the server (one request each).
async fn know(api: &Api, users: &[&str]) {
    register(api, users).await
}

async fn conv_command(api: &Api, conv: ConversationId, cmd: ConversationCommand) {
    conversation_command(api, conv, cmd).await
}

/// A group owned by `owner` with `members`; everyone made known first.
async fn group(api: &Api, owner: &str, members: &[&str]) -> ConversationId {
    group_titled(api, "Dog walkers", owner, members).await
}

/// The direct conversation of `a` and `b`.
async fn direct(api: &Api, a: &str, b: &str) -> ConversationId {
    know(api, &[a, b]).await;
    let id = ConversationId::direct(&uid(a), &uid(b));
    let cmd = ConversationCommand::CreateDirect {
        id,
        actor: uid(a),
        other: uid(b),
        at: Utc::now(),
    };
    conv_command(api, id, cmd).await;
    id
}

fn messages_path(conv: ConversationId) -> String {
    format!("/api/v1/messaging/conversations/{conv}/messages")
}

fn message_path(conv: ConversationId, message: &str) -> String {
    format!("{}/{message}", messages_path(conv))
}

/// `user` sends `content`; returns the message.
async fn send(api: &Api, user: &str, conv: ConversationId, content: &str) -> Value {
    let body = api
        .user(user)
        .post(&messages_path(conv), json!({ "content": content }))
        .await
        .expect(201);
    body["message"].clone()
}

/// The ids of a page of messages, in order.
fn ids(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn id_of(m: &Value) -> String {
    m["id"].as_str().unwrap().to_string()
}

async fn a_temp_id_makes_sending_idempotent(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let alice = api.user("alice");
    let sent = alice
        .post(
            &messages_path(conv),
            json!({ "content": "Rex is ready", "tempId": "t-1" }),
        )
        .await
        .expect(201);
    assert_eq!(sent["tempId"], "t-1");
    assert_eq!(sent["message"]["content"], "Rex is ready");
    assert_eq!(sent["message"]["senderId"], "alice");
    assert_eq!(sent["message"]["type"], "text");
    assert_eq!(sent["message"]["conversationId"], conv.to_string());
    let id = id_of(&sent["message"]);

    let page = api.user("bob").get(&messages_path(conv)).await.expect(200);
    assert_eq!(ids(&page), vec![id.clone()]);
    assert_eq!(page["messages"][0]["content"], "Rex is ready");

    let retry = alice
        .post(
            &messages_path(conv),
            json!({ "content": "Rex is ready", "tempId": "t-1" }),
        )
        .await
        .expect(200);
    assert_eq!(retry["message"]["id"], id.as_str());
    assert_eq!(retry["tempId"], "t-1");
    let page = api.user("bob").get(&messages_path(conv)).await.expect(200);
    assert_eq!(ids(&page), vec![id.clone()], "still one message");

    let p = alice
        .post(
            &messages_path(conv),
            json!({ "content": "something else", "tempId": "t-1" }),
        )
        .await
        .problem(409, "duplicate_temp_id");
    assert_eq!(p["field"], "tempId");
    // Bob may use the same tempId: tempIds are per sender.
    let bobs = api
        .user("bob")
        .post(
            &messages_path(conv),
            json!({ "content": "ok", "tempId": "t-1" }),
        )
        .await
        .expect(201);
    assert_ne!(bobs["message"]["id"], id.as_str());
}

async fn replies_show_a_preview_and_mentions(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    know(&api, &["carol"]).await;
    let first = send(&api, "alice", conv, "Who walks Rex on Monday?").await;
    let reply = api
        .user("bob")
        .post(
            &messages_path(conv),
            json!({
                "content": "I can, @alice",
                "replyToMessageId": id_of(&first),
                "mentions": ["alice"],
            }),
        )
        .await
        .expect(201);
    let m = &reply["message"];
    assert_eq!(m["parentMessageId"], id_of(&first).as_str());
    assert_eq!(m["replyTo"]["id"], id_of(&first).as_str());
    assert_eq!(m["replyTo"]["senderId"], "alice");
    assert_eq!(m["replyTo"]["preview"], "Who walks Rex on Monday?");
    assert_eq!(m["mentions"], json!(["alice"]));

    let p = api
        .user("bob")
        .post(
            &messages_path(conv),
            json!({ "content": "hi @carol", "mentions": ["carol"] }),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "mentions");
    let p = api
        .user("bob")
        .post(
            &messages_path(conv),
            json!({ "content": "x", "replyToMessageId": "nope" }),
        )
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "replyToMessageId");
    api.user("bob")
        .post(
            &messages_path(conv),
            json!({ "content": "x", "replyToMessageId": Uuid::now_v7().to_string() }),
        )
        .await
        .problem(404, "not_found");
}

async fn the_author_edits_and_history_keeps_versions(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let m = send(&api, "alice", conv, "See you at 5").await;
    let path = message_path(conv, &id_of(&m));
    let edited = api
        .user("alice")
        .put(&path, json!({ "content": "See you at 6" }))
        .await
        .expect(200);
    assert_eq!(edited["message"]["content"], "See you at 6");
    assert_eq!(edited["message"]["isEdited"], true);
    assert_eq!(edited["message"]["editCount"], 1);

    let history = api
        .user("bob")
        .get(&format!("{path}/history"))
        .await
        .expect(200);
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(versions[0]["content"], "See you at 5");
    assert_eq!(versions[1]["content"], "See you at 6");

    api.user("bob")
        .put(&path, json!({ "content": "hijacked" }))
        .await
        .problem(403, "forbidden");
    let p = api
        .user("alice")
        .put(&path, json!({ "content": "   " }))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "content");
    let p = api
        .user("alice")
        .put(&path, json!({}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "content");
    let detail = api.user("bob").get(&path).await.expect(200);
    assert_eq!(detail["message"]["content"], "See you at 6");
}

async fn deleting_for_everyone_leaves_a_tombstone_and_for_me_hides(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let m1 = send(&api, "alice", conv, "wrong chat, sorry").await;
    let m2 = send(&api, "alice", conv, "keep this").await;
    let p1 = message_path(conv, &id_of(&m1));
    let p2 = message_path(conv, &id_of(&m2));

    api.user("bob")
        .delete(&format!("{p1}?forEveryone=true"))
        .await
        .problem(403, "forbidden");
    let r = api
        .user("alice")
        .delete(&format!("{p1}?forEveryone=true"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let page = api.user("bob").get(&messages_path(conv)).await.expect(200);
    assert_eq!(ids(&page), vec![id_of(&m1), id_of(&m2)]);
    let tomb = &page["messages"][0];
    assert_eq!(tomb["isDeleted"], true);
    assert_eq!(tomb["content"], Value::Null);
    assert_eq!(tomb["deletedBy"], "alice");
    assert!(!page.to_string().contains("wrong chat"));
    api.user("alice")
        .delete(&format!("{p1}?forEveryone=true"))
        .await
        .problem(409, "already_deleted");
    let history = api
        .user("bob")
        .get(&format!("{p1}/history"))
        .await
        .expect(200);
    assert_eq!(history["versions"], json!([]));

    let r = api.user("bob").delete(&p2).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let bobs = api.user("bob").get(&messages_path(conv)).await.expect(200);
    assert_eq!(ids(&bobs), vec![id_of(&m1)], "hidden for bob");
    let alices = api
        .user("alice")
        .get(&messages_path(conv))
        .await
        .expect(200);
    assert_eq!(
        ids(&alices),
        vec![id_of(&m1), id_of(&m2)],
        "alice still sees it"
    );
    assert_eq!(alices["messages"][1]["content"], "keep this");
    api.user("bob").get(&p2).await.problem(404, "not_found");
    api.user("alice").get(&p2).await.expect(200);
    api.user("bob")
        .delete(&format!("{p2}?forEveryone=maybe"))
        .await
        .problem(400, "invalid_query");
}

fn group_of<'a>(reactions: &'a Value, reaction: &str) -> Option<&'a Value> {
    reactions
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["reaction"] == reaction)
}

async fn reactions_are_grouped_with_user_ids(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let m = send(&api, "alice", conv, "Photo of Rex").await;
    let path = format!("{}/react", message_path(conv, &id_of(&m)));
    api.user("bob")
        .post(&path, json!({ "reaction": "👍" }))
        .await
        .expect(200);
    api.user("alice")
        .post(&path, json!({ "reaction": "❤️" }))
        .await
        .expect(200);
    let body = api
        .user("alice")
        .post(&path, json!({ "reaction": "👍" }))
        .await
        .expect(200);
    let reactions = &body["reactions"];
    assert_eq!(reactions.as_array().unwrap().len(), 2, "{reactions}");
    let thumbs = group_of(reactions, "👍").unwrap();
    assert_eq!(thumbs["count"], 2);
    let mut users: Vec<&str> = thumbs["userIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    users.sort_unstable();
    assert_eq!(users, vec!["alice", "bob"]);
    assert_eq!(
        group_of(reactions, "❤️").unwrap()["userIds"],
        json!(["alice"])
    );

    let r = api
        .user("alice")
        .delete_with(&path, json!({ "reaction": "👍" }))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let detail = api
        .user("bob")
        .get(&message_path(conv, &id_of(&m)))
        .await
        .expect(200);
    let thumbs = group_of(&detail["reactions"], "👍").unwrap();
    assert_eq!(thumbs["count"], 1);
    assert_eq!(thumbs["userIds"], json!(["bob"]));
    assert_eq!(detail["message"]["reactions"], detail["reactions"]);

    let p = api
        .user("bob")
        .post(&path, json!({ "reaction": "" }))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "reaction");
    let p = api
        .user("bob")
        .post(&path, json!({}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "reaction");
}

async fn the_detail_shows_read_receipts(api: Api) {
    let conv = group(&api, "alice", &["bob", "carol"]).await;
    let m = send(&api, "alice", conv, "Vet at 3pm").await;
    let path = message_path(conv, &id_of(&m));
    let detail = api.user("alice").get(&path).await.expect(200);
    assert_eq!(detail["readBy"], json!([]));
    assert_eq!(detail["message"]["content"], "Vet at 3pm");

    let message = id_of(&m).parse::<MessageId>().unwrap();
    let found = pawpost_domain::conversation::MessageFacts {
        seq: m["seq"].as_u64().unwrap(),
        author: uid("alice"),
        kind: pawpost_domain::values::MessageKind::Text,
        deleted: false,
        content_fingerprint: None,
        actor_reactions: vec![],
    };
    let cmd = ConversationCommand::MarkRead {
        actor: uid("bob"),
        message: pawpost_domain::conversation::MessageLookup::found(message, found, 0),
        at: Utc::now(),
    };
    conv_command(&api, conv, cmd).await;
    let detail = api.user("alice").get(&path).await.expect(200);
    let readers: Vec<&str> = detail["readBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userId"].as_str().unwrap())
        .collect();
    assert_eq!(readers, vec!["bob"]);
    assert!(detail["readBy"][0]["at"].is_string());
    let delivered: Vec<&str> = detail["deliveredTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userId"].as_str().unwrap())
        .collect();
    assert_eq!(delivered, vec!["bob"]);
}

async fn messages_page_before_and_after(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(id_of(
            &send(&api, "alice", conv, &format!("message {i}")).await,
        ));
    }
    let bob = api.user("bob");
    let base = messages_path(conv);
    let page = bob.get(&format!("{base}?limit=2")).await.expect(200);
    assert_eq!(ids(&page), sent[3..5].to_vec());
    assert_eq!(page["hasMore"], true);
    assert_eq!(page["oldestMessageId"], sent[3].as_str());
    assert_eq!(page["newestMessageId"], sent[4].as_str());

    let page = bob
        .get(&format!("{base}?limit=2&before={}", sent[3]))
        .await
        .expect(200);
    assert_eq!(ids(&page), sent[1..3].to_vec());
    assert_eq!(page["hasMore"], true);
    let page = bob
        .get(&format!("{base}?limit=2&before={}", sent[1]))
        .await
        .expect(200);
    assert_eq!(ids(&page), sent[0..1].to_vec());
    assert_eq!(page["hasMore"], false);

    let page = bob
        .get(&format!("{base}?limit=2&after={}", sent[0]))
        .await
        .expect(200);
    assert_eq!(ids(&page), sent[1..3].to_vec());
    assert_eq!(page["hasMore"], true);
    let page = bob
        .get(&format!("{base}?limit=5&after={}", sent[2]))
        .await
        .expect(200);
    assert_eq!(ids(&page), sent[3..5].to_vec());
    assert_eq!(page["hasMore"], false);
    let page = bob.get(&base).await.expect(200);
    assert_eq!(ids(&page), sent, "default limit 50 holds all");
    assert_eq!(page["hasMore"], false);

    for bad in ["limit=0", "limit=101", "limit=-1", "limit=ten"] {
        let p = bob
            .get(&format!("{base}?{bad}"))
            .await
            .problem(400, "invalid_query");
        assert_eq!(p["field"], "limit", "{bad}");
    }
    let p = bob
        .get(&format!("{base}?before=yesterday"))
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "before");
    let p = bob
        .get(&format!("{base}?after={}", Uuid::now_v7()))
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "after");
}

/// Message ids of search results.
fn result_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

async fn search_finds_partial_words_and_cjk_it_may_show(api: Api) {
    let walkers = group(&api, "alice", &["bob"]).await;
    let sitters = group(&api, "alice", &["carol"]).await;
    let walk = id_of(&send(&api, "alice", walkers, "Walking Rex in the PARK tomorrow").await);
    let cjk = id_of(&send(&api, "bob", walkers, "我们明天在公园见面").await);
    let noon = id_of(&send(&api, "carol", sitters, "Park meetup at noon").await);
    let gone = id_of(&send(&api, "alice", walkers, "parking is free, secretword").await);

    let alice = api.user("alice");
    let body = alice
        .get("/api/v1/messaging/search?query=par")
        .await
        .expect(200);
    assert_eq!(body["totalCount"], 3, "{body}");
    let mut found = result_ids(&body);
    found.sort();
    let mut expected = vec![walk.clone(), noon.clone(), gone.clone()];
    expected.sort();
    assert_eq!(found, expected);

    let body = alice
        .get(&format!(
            "/api/v1/messaging/search?query=park&conversationId={walkers}"
        ))
        .await
        .expect(200);
    let mut found = result_ids(&body);
    found.sort();
    let mut expected = vec![walk.clone(), gone.clone()];
    expected.sort();
    assert_eq!(found, expected);

    let body = alice
        .get("/api/v1/messaging/search?query=%E5%85%AC%E5%9B%AD")
        .await
        .expect(200);
    assert_eq!(result_ids(&body), vec![cjk.clone()]);
    assert_eq!(body["results"][0]["content"], "我们明天在公园见面");

    // Bob is not in the sitters' group: never their messages.
    let body = api
        .user("bob")
        .get("/api/v1/messaging/search?query=park")
        .await
        .expect(200);
    assert!(!result_ids(&body).contains(&noon), "{body}");
    assert_eq!(body["totalCount"], 2);
    let body = api
        .user("bob")
        .get(&format!(
            "/api/v1/messaging/search?query=park&conversationId={sitters}"
        ))
        .await
        .expect(200);
    assert_eq!(body["totalCount"], 0);

    // Deleted messages are never found.
    let r = alice
        .delete(&format!(
            "{}?forEveryone=true",
            message_path(walkers, &gone)
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let body = alice
        .get("/api/v1/messaging/search?query=secretword")
        .await
        .expect(200);
    assert_eq!(body["totalCount"], 0);
    assert_eq!(body["results"], json!([]));

    // Filters: sender, dates, paging.
    let body = alice
        .get("/api/v1/messaging/search?query=park&senderId=carol")
        .await
        .expect(200);
    assert_eq!(result_ids(&body), vec![noon.clone()]);
    let body = alice
        .get("/api/v1/messaging/search?query=park&startDate=2000-01-01&endDate=2000-01-02")
        .await
        .expect(200);
    assert_eq!(body["totalCount"], 0);
    let body = alice
        .get("/api/v1/messaging/search?query=park&startDate=2000-01-01T00:00:00Z&limit=1")
        .await
        .expect(200);
    assert_eq!(body["totalCount"], 2);
    assert_eq!(body["results"].as_array().unwrap().len(), 1);

    for (q, field) in [
        ("query=", "query"),
        ("query=%20%20", "query"),
        ("conversationId=x", "query"),
        ("query=park&startDate=tomorrow", "startDate"),
        ("query=park&endDate=2024-13-01", "endDate"),
        ("query=park&conversationId=nope", "conversationId"),
        ("query=park&limit=0", "limit"),
        (
            "query=park&startDate=2001-01-02&endDate=2001-01-01",
            "endDate",
        ),
    ] {
        let p = alice
            .get(&format!("/api/v1/messaging/search?{q}"))
            .await
            .problem(400, "invalid_query");
        assert_eq!(p["field"], field, "{q}");
    }
    api.anonymous()
        .get("/api/v1/messaging/search?query=park")
        .await
        .problem(401, "missing_token");
}

async fn non_participants_get_404(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    know(&api, &["mallory"]).await;
    let m = send(&api, "alice", conv, "private").await;
    let mallory = api.user("mallory");
    let path = message_path(conv, &id_of(&m));
    mallory
        .get(&messages_path(conv))
        .await
        .problem(404, "not_found");
    mallory
        .post(&messages_path(conv), json!({ "content": "hi" }))
        .await
        .problem(404, "not_found");
    mallory.get(&path).await.problem(404, "not_found");
    mallory
        .get(&format!("{path}/history"))
        .await
        .problem(404, "not_found");
    mallory
        .put(&path, json!({ "content": "x" }))
        .await
        .problem(404, "not_found");
    mallory
        .delete(&format!("{path}?forEveryone=true"))
        .await
        .problem(404, "not_found");
    mallory
        .post(&format!("{path}/react"), json!({ "reaction": "👍" }))
        .await
        .problem(404, "not_found");
    // An unknown conversation looks the same.
    let unknown = ConversationId::from_uuid(Uuid::now_v7());
    api.user("alice")
        .get(&messages_path(unknown))
        .await
        .problem(404, "not_found");
    // A message of another conversation is not found through this one.
    let other = group(&api, "bob", &["carol"]).await;
    let theirs = send(&api, "bob", other, "elsewhere").await;
    api.user("bob")
        .get(&message_path(conv, &id_of(&theirs)))
        .await
        .problem(404, "not_found");
    // Ids that are no UUIDs.
    let p = api
        .user("alice")
        .get(&message_path(conv, "not-a-uuid"))
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "messageId");
    let p = api
        .user("alice")
        .get("/api/v1/messaging/conversations/nope/messages")
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "conversationId");
    api.anonymous()
        .get(&messages_path(conv))
        .await
        .problem(401, "missing_token");
}

async fn a_former_participant_can_no_longer_read_or_send(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    send(&api, "alice", conv, "before you go").await;
    conv_command(
        &api,
        conv,
        ConversationCommand::Leave {
            actor: uid("bob"),
            at: Utc::now(),
        },
    )
    .await;
    let bob = api.user("bob");
    bob.get(&messages_path(conv))
        .await
        .problem(404, "not_found");
    bob.post(&messages_path(conv), json!({ "content": "wait" }))
        .await
        .problem(404, "not_found");
}

async fn a_blocked_user_cannot_send_directly(api: Api) {
    let conv = direct(&api, "alice", "bob").await;
    send(&api, "alice", conv, "hello bob").await;
    user_command(
        &api,
        "bob",
        UserCommand::Block {
            actor: uid("bob"),
            user: uid("alice"),
            reason: None,
            at: Utc::now(),
        },
    )
    .await;
    api.user("alice")
        .post(&messages_path(conv), json!({ "content": "hello?" }))
        .await
        .problem(403, "blocked");
    // The blocker can still write.
    send(&api, "bob", conv, "please stop").await;
    let page = api
        .user("alice")
        .get(&messages_path(conv))
        .await
        .expect(200);
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
}

async fn invalid_messages_are_refused_naming_the_field(api: Api) {
    let conv = group(&api, "alice", &["bob"]).await;
    let alice = api.user("alice");
    let path = messages_path(conv);
    let long = "é".repeat(10_001);
    let p = alice
        .post(&path, json!({ "content": long }))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "content");
    let p = alice.post(&path, json!({})).await.problem(422, "invalid");
    assert_eq!(p["field"], "content");
    let p = alice
        .post(&path, json!({ "content": "x", "type": "sticker" }))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "type");
    let p = alice
        .post(&path, json!({ "type": "image" }))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "attachments");
    let p = alice
        .post(
            &path,
            json!({ "type": "image", "attachments": [{
                "attachmentId": "a1", "name": "rex.jpg", "url": "https://cdn.example/a1",
                "size": 1024, "mimeType": "jpeg"
            }] }),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "attachments[0].mimeType");
    let p = alice
        .post(
            &path,
            json!({ "type": "location", "location": { "latitude": 91.0, "longitude": 0.0 } }),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "location.latitude");
    alice
        .raw(
            reqwest::Method::POST,
            &path,
            Some(b"{not json".to_vec()),
            Some("application/json"),
        )
        .await
        .problem(400, "malformed_json");

    // Valid non-text messages go through.
    let img = alice
        .post(
            &path,
            json!({ "type": "image", "content": "Rex!", "attachments": [{
                "attachmentId": "a1", "name": "rex.jpg", "url": "https://cdn.example/a1",
                "size": 1024, "mimeType": "image/jpeg"
            }] }),
        )
        .await
        .expect(201);
    assert_eq!(img["message"]["type"], "image");
    assert_eq!(img["message"]["attachments"][0]["kind"], "image");
    assert_eq!(img["message"]["attachments"][0]["name"], "rex.jpg");
    let loc = alice
        .post(
            &path,
            json!({ "type": "location", "location": { "latitude": 48.85, "longitude": 2.35, "label": "Park" } }),
        )
        .await
        .expect(201);
    assert_eq!(loc["message"]["location"]["label"], "Park");
    assert_eq!(loc["message"]["tempId"], Value::Null);
}

async fn forwarding_needs_a_readable_original(api: Api) {
    let source = group(&api, "alice", &["bob"]).await;
    let target = group(&api, "alice", &["carol"]).await;
    let original = send(&api, "bob", source, "Lost dog near the lake").await;
    let fwd = api
        .user("alice")
        .post(
            &messages_path(target),
            json!({ "content": "Lost dog near the lake",
                    "forwardedFrom": { "messageId": id_of(&original) } }),
        )
        .await
        .expect(201);
    assert_eq!(fwd["message"]["isForwarded"], true);
    assert_eq!(
        fwd["message"]["forwardedFrom"]["messageId"],
        id_of(&original).as_str()
    );
    // Carol cannot read the original: she cannot forward it.
    let p = api
        .user("carol")
        .post(
            &messages_path(target),
            json!({ "content": "x", "forwardedFrom": { "messageId": id_of(&original) } }),
        )
        .await
        .problem(404, "not_found");
    assert_eq!(p["field"], "forwardedFrom");
}

async fn message_routes_are_in_the_openapi_document(api: Api) {
    let doc = api
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect(200);
    let paths = &doc["paths"];
    let base = "/api/v1/messaging/conversations/{conversationId}/messages";
    assert!(paths[base]["get"].is_object());
    assert!(paths[base]["post"].is_object());
    let one = format!("{base}/{{messageId}}");
    for m in ["get", "put", "delete"] {
        assert!(paths[one.as_str()][m].is_object(), "{m}");
    }
    let react = format!("{one}/react");
    assert!(paths[react.as_str()]["post"].is_object());
    assert!(paths[react.as_str()]["delete"].is_object());
    assert!(paths[format!("{one}/history").as_str()]["get"].is_object());
    assert!(paths["/api/v1/messaging/search"]["get"].is_object());
}

both!(
    a_temp_id_makes_sending_idempotent,
    replies_show_a_preview_and_mentions,
    the_author_edits_and_history_keeps_versions,
    deleting_for_everyone_leaves_a_tombstone_and_for_me_hides,
    reactions_are_grouped_with_user_ids,
    the_detail_shows_read_receipts,
    messages_page_before_and_after,
    search_finds_partial_words_and_cjk_it_may_show,
    non_participants_get_404,
    a_former_participant_can_no_longer_read_or_send,
    a_blocked_user_cannot_send_directly,
    invalid_messages_are_refused_naming_the_field,
    forwarding_needs_a_readable_original,
    message_routes_are_in_the_openapi_document,
);
