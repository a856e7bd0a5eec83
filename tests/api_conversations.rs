//! `/api/v1/messaging/conversations` over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, Client};
use reqwest::Method;
use serde_json::{json, Value};

const BASE: &str = "/api/v1/messaging/conversations";

/// Registers `user` (their first request records their profile) and returns their client.
async fn known(api: &Api, user: &str) -> Client {
    let client = api.user(user);
    client.get(BASE).await.expect(200);
    client
}

/// The caller's list.
async fn list_of(client: &Client, query: &str) -> Vec<Value> {
    let body = client.get(&format!("{BASE}{query}")).await.expect(200);
    body["conversations"].as_array().unwrap().clone()
}

/// Creates a group owned by `owner` with `members`; returns its id.
async fn group(owner: &Client, title: &str, members: &[&str]) -> String {
    let body = owner
        .post(
            BASE,
            json!({"type": "group", "title": title, "participants": members}),
        )
        .await
        .expect(201);
    body["conversationId"].as_str().unwrap().to_string()
}

async fn an_empty_list_for_a_new_user(api: Api) {
    let body = api
        .user("alice")
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    assert_eq!(body["conversations"], serde_json::json!([]));
    assert_eq!(body["unreadTotal"], 0);
    assert_eq!(body["hasMore"], false);
}

async fn list_paging_out_of_range_is_refused(api: Api) {
    let alice = api.user("alice");
    let p = alice
        .get("/api/v1/messaging/conversations?pageSize=0")
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "pageSize");
    let p = alice
        .get("/api/v1/messaging/conversations?page=0")
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "page");
    let p = alice
        .get("/api/v1/messaging/conversations?type=secret")
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "type");
    let p = alice
        .get("/api/v1/messaging/conversations?archived=maybe")
        .await
        .problem(400, "invalid_query");
    assert_eq!(p["field"], "archived");
}

async fn the_list_needs_a_valid_token(api: Api) {
    api.anonymous()
        .get("/api/v1/messaging/conversations")
        .await
        .problem(401, "missing_token");
    api.with_token(Some("not.a.token".into()))
        .get("/api/v1/messaging/conversations")
        .await
        .problem(401, "invalid_token");
}

async fn a_direct_conversation_between_alice_and_bob(api: Api) {
    let bob = known(&api, "bob").await;
    let alice = api.user("alice");
    let created = alice
        .post(
            BASE,
            json!({"type": "direct", "participants": ["bob"], "initialMessage": "Hi Bob, is Rex ok?"}),
        )
        .await
        .expect(201);
    let id = created["conversationId"].as_str().unwrap().to_string();
    let conv = &created["conversation"];
    assert_eq!(conv["id"], id.as_str());
    assert_eq!(conv["type"], "direct");
    assert_eq!(conv["title"], "Bob");
    assert_eq!(conv["createdBy"], "alice");
    assert_eq!(conv["lastMessage"]["preview"], "Hi Bob, is Rex ok?");
    assert_eq!(conv["participants"].as_array().unwrap().len(), 2);

    // Opening it again, from either side, is the same conversation: 200, not 201.
    let again = alice
        .post(BASE, json!({"type": "direct", "participants": ["bob"]}))
        .await
        .expect(200);
    assert_eq!(again["conversationId"], id.as_str());
    let from_bob = bob
        .post(
            BASE,
            json!({"type": "direct", "participants": ["alice", "bob"]}),
        )
        .await
        .expect(200);
    assert_eq!(from_bob["conversationId"], id.as_str());
    assert_eq!(from_bob["conversation"]["title"], "Alice");

    // Both see it, titled with the other's name; bob has one unread message.
    let mine = list_of(&alice, "").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["title"], "Bob");
    assert_eq!(mine[0]["unreadCount"], 0);
    let theirs = list_of(&bob, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["id"], id.as_str());
    assert_eq!(theirs[0]["title"], "Alice");
    assert_eq!(theirs[0]["lastMessagePreview"], "Hi Bob, is Rex ok?");
    assert_eq!(theirs[0]["unreadCount"], 1);
    assert_eq!(bob.get(BASE).await.expect(200)["unreadTotal"], 1);

    // Bob reads it.
    let message = theirs[0]["lastMessage"]["id"].as_str().unwrap().to_string();
    let read = bob
        .post(&format!("{BASE}/{id}/read"), json!({"messageId": message}))
        .await
        .expect(200);
    assert_eq!(read["unreadCount"], 0);
    assert_eq!(read["unreadTotal"], 0);
    assert_eq!(read["lastReadSeq"], theirs[0]["lastMessage"]["seq"]);
    assert_eq!(list_of(&bob, "").await[0]["unreadCount"], 0);
    let people = bob
        .get(&format!("{BASE}/{id}/participants"))
        .await
        .expect(200);
    let bob_row = people["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["userId"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob_row["lastReadMessageId"], message.as_str());

    // Delivered markers too; an unknown message is a 404.
    bob.post(
        &format!("{BASE}/{id}/delivered"),
        json!({"messageId": message}),
    )
    .await
    .expect(204);
    let stranger = "0190f0f0-0000-7000-8000-000000000000";
    bob.post(&format!("{BASE}/{id}/read"), json!({"messageId": stranger}))
        .await
        .problem(404, "not_found");
    let p = bob
        .post(&format!("{BASE}/{id}/read"), json!({"messageId": "nope"}))
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "messageId");
}

async fn the_detail_shows_participants_and_settings(api: Api) {
    known(&api, "bob").await;
    let alice = api.user("alice");
    let id = group(&alice, "Dog walkers", &["bob"]).await;
    let body = alice.get(&format!("{BASE}/{id}")).await.expect(200);
    assert_eq!(body["conversation"]["id"], id.as_str());
    assert_eq!(body["conversation"]["title"], "Dog walkers");
    assert_eq!(body["conversation"]["role"], "owner");
    let people: Vec<(String, String)> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["userId"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        people.contains(&("alice".into(), "owner".into())),
        "{people:?}"
    );
    assert!(
        people.contains(&("bob".into(), "member".into())),
        "{people:?}"
    );
    assert_eq!(people.len(), 2);
    assert_eq!(
        body["settings"],
        json!({"isMuted": false, "mutedUntil": null, "notificationLevel": null,
               "isArchived": false, "isPinned": false})
    );
    // Unknown ids are 404, ids that are no UUID 400.
    alice
        .get(&format!("{BASE}/0190f0f0-0000-7000-8000-000000000000"))
        .await
        .problem(404, "not_found");
    let p = alice
        .get(&format!("{BASE}/not-a-uuid"))
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "conversationId");
    api.anonymous()
        .get(&format!("{BASE}/{id}"))
        .await
        .problem(401, "missing_token");
}

async fn a_group_with_admin_rules(api: Api) {
    let bob = known(&api, "bob").await;
    let carol = known(&api, "carol").await;
    let dave = known(&api, "dave").await;
    let alice = api.user("alice");
    let id = group(&alice, "Puppy class", &["bob"]).await;

    // The owner adds members.
    let added = alice
        .post(
            &format!("{BASE}/{id}/participants"),
            json!({"userIds": ["carol", "dave"]}),
        )
        .await
        .expect(200);
    let active: Vec<&str> = added["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["isActive"] == true)
        .map(|p| p["userId"].as_str().unwrap())
        .collect();
    assert_eq!(active.len(), 4, "{active:?}");
    assert!(active.contains(&"carol") && active.contains(&"dave"));

    // A plain member can neither remove someone nor add nor rename.
    bob.delete_with(
        &format!("{BASE}/{id}/participants"),
        json!({"userId": "carol"}),
    )
    .await
    .problem(403, "forbidden");
    bob.post(
        &format!("{BASE}/{id}/participants"),
        json!({"userIds": ["zed"]}),
    )
    .await
    .problem(422, "invalid");
    bob.put(&format!("{BASE}/{id}"), json!({"title": "Mine now"}))
        .await
        .problem(403, "forbidden");

    // Adding an unknown user names it.
    let p = alice
        .post(
            &format!("{BASE}/{id}/participants"),
            json!({"userIds": ["carol", "ghost"]}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "userIds[1]");

    // The owner renames and describes it.
    let updated = alice
        .put(
            &format!("{BASE}/{id}"),
            json!({"title": "Puppy class (Tue)", "description": "Bring treats"}),
        )
        .await
        .expect(200);
    assert_eq!(updated["conversation"]["title"], "Puppy class (Tue)");
    assert_eq!(updated["conversation"]["description"], "Bring treats");
    let cleared = alice
        .put(&format!("{BASE}/{id}"), json!({"description": null}))
        .await
        .expect(200);
    assert_eq!(cleared["conversation"]["description"], Value::Null);
    assert_eq!(cleared["conversation"]["title"], "Puppy class (Tue)");
    let p = alice
        .put(&format!("{BASE}/{id}"), json!({"imageUrl": "ftp://x"}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "imageUrl");

    // The owner removes a member: gone from their list, still listed as former participant.
    alice
        .delete_with(
            &format!("{BASE}/{id}/participants"),
            json!({"userId": "carol"}),
        )
        .await
        .expect(204);
    assert!(list_of(&carol, "").await.is_empty());
    carol
        .get(&format!("{BASE}/{id}"))
        .await
        .problem(404, "not_found");
    let people = alice
        .get(&format!("{BASE}/{id}/participants"))
        .await
        .expect(200);
    let carol_row = people["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["userId"] == "carol")
        .unwrap()
        .clone();
    assert_eq!(carol_row["isActive"], false);
    let p = alice
        .delete_with(&format!("{BASE}/{id}/participants"), json!({}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "userId");

    // A non-participant gets 404 everywhere, never 403.
    let eve = known(&api, "eve").await;
    eve.get(&format!("{BASE}/{id}"))
        .await
        .problem(404, "not_found");
    eve.get(&format!("{BASE}/{id}/participants"))
        .await
        .problem(404, "not_found");
    eve.put(&format!("{BASE}/{id}"), json!({"title": "Hijack"}))
        .await
        .problem(404, "not_found");
    eve.post(
        &format!("{BASE}/{id}/participants"),
        json!({"userIds": ["eve"]}),
    )
    .await
    .problem(404, "not_found");
    eve.delete(&format!("{BASE}/{id}"))
        .await
        .problem(404, "not_found");

    // Dave leaves: 204, and the conversation leaves his list.
    assert_eq!(list_of(&dave, "").await.len(), 1);
    dave.delete(&format!("{BASE}/{id}")).await.expect(204);
    assert!(list_of(&dave, "").await.is_empty());
    dave.get(&format!("{BASE}/{id}"))
        .await
        .problem(404, "not_found");
    assert_eq!(list_of(&bob, "").await.len(), 1);
}

async fn a_direct_conversation_has_no_admins(api: Api) {
    known(&api, "bob").await;
    known(&api, "carol").await;
    let alice = api.user("alice");
    let created = alice
        .post(BASE, json!({"type": "direct", "participants": ["bob"]}))
        .await
        .expect(201);
    let id = created["conversationId"].as_str().unwrap();
    alice
        .put(&format!("{BASE}/{id}"), json!({"title": "Us"}))
        .await
        .problem(403, "forbidden");
    alice
        .post(
            &format!("{BASE}/{id}/participants"),
            json!({"userIds": ["carol"]}),
        )
        .await
        .problem(403, "forbidden");
    // Leaving, then opening it again brings alice back (200: it existed).
    alice.delete(&format!("{BASE}/{id}")).await.expect(204);
    assert!(list_of(&alice, "").await.is_empty());
    let back = alice
        .post(BASE, json!({"type": "direct", "participants": ["bob"]}))
        .await
        .expect(200);
    assert_eq!(back["conversationId"], id);
    assert_eq!(list_of(&alice, "").await.len(), 1);
}

async fn mute_archive_and_pin_show_in_the_list(api: Api) {
    known(&api, "bob").await;
    let alice = api.user("alice");
    let first = group(&alice, "First", &["bob"]).await;
    let second = group(&alice, "Second", &["bob"]).await;

    // Mute with a time and a level.
    let settings = alice
        .post(
            &format!("{BASE}/{first}/mute"),
            json!({"muted": true, "until": "2999-01-01T00:00:00Z", "level": "mentions"}),
        )
        .await
        .expect(200);
    assert_eq!(settings["isMuted"], true);
    assert_eq!(settings["notificationLevel"], "mentions");
    assert!(settings["mutedUntil"]
        .as_str()
        .unwrap()
        .starts_with("2999-01-01T00:00:00"));
    let row = |list: &[Value], id: &str| list.iter().find(|c| c["id"] == id).unwrap().clone();
    let list = list_of(&alice, "").await;
    assert_eq!(row(&list, &first)["isMuted"], true);
    assert_eq!(row(&list, &second)["isMuted"], false);
    // Bob's view is his own.
    assert_eq!(
        row(&list_of(&api.user("bob"), "").await, &first)["isMuted"],
        false
    );

    // Pin the first: it comes first in the list.
    let pinned = alice
        .post(&format!("{BASE}/{first}/pin"), json!({"pinned": true}))
        .await
        .expect(200);
    assert_eq!(pinned["isPinned"], true);
    let list = list_of(&alice, "").await;
    assert_eq!(list[0]["id"], first.as_str());
    assert_eq!(list[0]["isPinned"], true);

    // Archive the second: only in the archived filter.
    let archived = alice
        .post(
            &format!("{BASE}/{second}/archive"),
            json!({"archived": true}),
        )
        .await
        .expect(200);
    assert_eq!(archived["isArchived"], true);
    let only_archived = list_of(&alice, "?archived=true").await;
    assert_eq!(only_archived.len(), 1);
    assert_eq!(only_archived[0]["id"], second.as_str());
    assert_eq!(only_archived[0]["isArchived"], true);
    let not_archived = list_of(&alice, "?archived=false").await;
    assert_eq!(not_archived.len(), 1);
    assert_eq!(not_archived[0]["id"], first.as_str());
    let detail = alice.get(&format!("{BASE}/{second}")).await.expect(200);
    assert_eq!(detail["settings"]["isArchived"], true);

    // And back.
    alice
        .post(&format!("{BASE}/{first}/mute"), json!({"muted": false}))
        .await
        .expect(200);
    alice
        .post(&format!("{BASE}/{first}/pin"), json!({"pinned": false}))
        .await
        .expect(200);
    alice
        .post(
            &format!("{BASE}/{second}/archive"),
            json!({"archived": false}),
        )
        .await
        .expect(200);
    let list = list_of(&alice, "").await;
    assert!(list
        .iter()
        .all(|c| c["isMuted"] == false && c["isPinned"] == false && c["isArchived"] == false));
    assert!(list_of(&alice, "?archived=true").await.is_empty());

    // Refusals: missing flag, a past `until`, a bad level, a stranger.
    let p = alice
        .post(&format!("{BASE}/{first}/mute"), json!({}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "muted");
    let p = alice
        .post(
            &format!("{BASE}/{first}/mute"),
            json!({"muted": true, "until": "2000-01-01T00:00:00Z"}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "until");
    let p = alice
        .post(
            &format!("{BASE}/{first}/mute"),
            json!({"muted": true, "level": "loud"}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "level");
    let p = alice
        .post(
            &format!("{BASE}/{first}/archive"),
            json!({"archived": "yes"}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "archived");
    let eve = known(&api, "eve").await;
    for path in ["mute", "archive", "pin"] {
        eve.post(
            &format!("{BASE}/{first}/{path}"),
            json!({"muted": true, "archived": true, "pinned": true}),
        )
        .await
        .problem(404, "not_found");
    }
}

async fn creation_is_validated(api: Api) {
    known(&api, "bob").await;
    let alice = api.user("alice");
    let p = alice
        .post(BASE, json!({"participants": ["bob"]}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "type");
    let p = alice
        .post(BASE, json!({"type": "channel", "participants": ["bob"]}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "type");
    let p = alice
        .post(BASE, json!({"type": "group", "participants": ["bob"]}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "title");
    let p = alice
        .post(
            BASE,
            json!({"type": "group", "title": "  ", "participants": ["bob"]}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "title");
    let p = alice
        .post(
            BASE,
            json!({"type": "group", "title": "Walks", "participants": ["bob", "ghost"]}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants[1]");
    let p = alice
        .post(
            BASE,
            json!({"type": "direct", "participants": ["bob", "ghost"]}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants[1]");
    let p = alice
        .post(BASE, json!({"type": "direct", "participants": ["alice"]}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants");
    let p = alice
        .post(
            BASE,
            json!({"type": "direct", "participants": ["bob", "bob ", "x y"]}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants[2]");
    let p = alice
        .post(
            BASE,
            json!({"type": "direct", "participants": ["bob"], "initialMessage": " "}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "initialMessage");
    let p = alice
        .post(
            BASE,
            json!({"type": "group", "title": "Walks", "participants": "bob"}),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants");
    alice
        .raw(
            Method::POST,
            BASE,
            Some(b"{\"type\": \"direct\",".to_vec()),
            Some("application/json"),
        )
        .await
        .problem(400, "malformed_json");
    alice
        .raw(
            Method::POST,
            BASE,
            Some(b"type=direct".to_vec()),
            Some("application/x-www-form-urlencoded"),
        )
        .await
        .problem(415, "unsupported_media_type");
    api.anonymous()
        .post(BASE, json!({"type": "direct", "participants": ["bob"]}))
        .await
        .problem(401, "missing_token");
    // Nothing was created by any of these.
    assert!(list_of(&alice, "").await.is_empty());
}

async fn an_initial_message_to_a_blocker_creates_nothing(api: Api) {
    let bob = known(&api, "bob").await;
    let alice = known(&api, "alice").await;
    // Bob blocks alice through the domain (the users endpoints belong to another resource).
    let state = &api.server.state;
    let command = pawpost_domain::UserCommand::Block {
        actor: pawpost_domain::UserId::parse("bob").unwrap(),
        user: pawpost_domain::UserId::parse("alice").unwrap(),
        reason: None,
        at: chrono::Utc::now(),
    };
    let outcome = state
        .users
        .execute(
            "user-bob",
            uuid::Uuid::now_v7(),
            &command,
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(
        state
            .projections
            .wait_for(
                outcome.position.unwrap(),
                std::time::Duration::from_secs(10)
            )
            .await
    );
    alice
        .post(
            BASE,
            json!({"type": "direct", "participants": ["bob"], "initialMessage": "hello?"}),
        )
        .await
        .problem(403, "blocked");
    assert!(list_of(&alice, "").await.is_empty());
    assert!(list_of(&bob, "").await.is_empty());
}

async fn the_openapi_document_lists_the_conversation_routes(api: Api) {
    let doc = api
        .anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect(200);
    let paths = &doc["paths"];
    let expect = [
        ("", ["get", "post"].as_slice()),
        ("/{conversationId}", &["get", "put", "delete"]),
        ("/{conversationId}/participants", &["get", "post", "delete"]),
        ("/{conversationId}/mute", &["post"]),
        ("/{conversationId}/archive", &["post"]),
        ("/{conversationId}/pin", &["post"]),
        ("/{conversationId}/read", &["post"]),
        ("/{conversationId}/delivered", &["post"]),
    ];
    for (suffix, methods) in expect {
        let path = format!("{BASE}{suffix}");
        for method in methods {
            let op = &paths[&path][*method];
            assert!(
                op.is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} documents 401"
            );
        }
    }
    assert!(
        paths[&format!("{BASE}/{{conversationId}}")]["get"]["responses"]["404"]["content"]
            ["application/problem+json"]
            .is_object()
    );
}

both!(
    an_empty_list_for_a_new_user,
    list_paging_out_of_range_is_refused,
    the_list_needs_a_valid_token,
    a_direct_conversation_between_alice_and_bob,
    the_detail_shows_participants_and_settings,
    a_group_with_admin_rules,
    a_direct_conversation_has_no_admins,
    mute_archive_and_pin_show_in_the_list,
    creation_is_validated,
    an_initial_message_to_a_blocker_creates_nothing,
    the_openapi_document_lists_the_conversation_routes,
);
