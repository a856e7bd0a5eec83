//! The API's cross-cutting contract over real HTTP, on SQLite and PostgreSQL: authentication,
//! problem+json errors for malformed requests, the body size limit, and the OpenAPI document
//! listing every route that is served (and only those).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::Api;
use pawpost_server::auth::{Claims, Role};
use reqwest::Method;
use serde_json::{json, Value};

/// Every endpoint of the REST issue (seed sections Conversation Management, Message
/// Operations, Real-time Operations, plus pawpost's additions).
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/api/v1/messaging/conversations"),
    ("post", "/api/v1/messaging/conversations"),
    ("get", "/api/v1/messaging/conversations/{conversationId}"),
    ("put", "/api/v1/messaging/conversations/{conversationId}"),
    ("delete", "/api/v1/messaging/conversations/{conversationId}"),
    (
        "get",
        "/api/v1/messaging/conversations/{conversationId}/participants",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/participants",
    ),
    (
        "delete",
        "/api/v1/messaging/conversations/{conversationId}/participants",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/mute",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/archive",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/pin",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/read",
    ),
    (
        "get",
        "/api/v1/messaging/conversations/{conversationId}/messages",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/messages",
    ),
    (
        "get",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    ),
    (
        "put",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    ),
    (
        "delete",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}",
    ),
    (
        "post",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    ),
    (
        "delete",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/react",
    ),
    (
        "get",
        "/api/v1/messaging/conversations/{conversationId}/messages/{messageId}/history",
    ),
    ("get", "/api/v1/messaging/search"),
    (
        "put",
        "/api/v1/messaging/conversations/{conversationId}/draft",
    ),
    (
        "delete",
        "/api/v1/messaging/conversations/{conversationId}/draft",
    ),
    ("get", "/api/v1/messaging/drafts"),
    ("get", "/api/v1/messaging/blocks"),
    ("post", "/api/v1/messaging/blocks"),
    ("delete", "/api/v1/messaging/blocks/{userId}"),
    ("get", "/api/v1/messaging/users/{userId}"),
    ("put", "/api/v1/messaging/users/{userId}"),
    ("get", "/api/v1/messaging/sync"),
    ("post", "/api/v1/messaging/typing/start"),
    ("post", "/api/v1/messaging/typing/stop"),
    ("post", "/api/v1/messaging/presence/update"),
    ("post", "/api/v1/messaging/presence/get"),
];

async fn openapi(api: &Api) -> Value {
    api.anonymous()
        .get("/api/v1/openapi.json")
        .await
        .expect(200)
}

/// The document's `(method, path)` pairs.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect()
}

/// Every endpoint is in the OpenAPI document, each with its error answers as problem+json.
async fn every_endpoint_is_documented(api: Api) {
    let doc = openapi(&api).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3: {}",
        doc["openapi"]
    );
    let documented = operations(&doc);
    for (method, path) in ENDPOINTS {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is not in the OpenAPI document"
        );
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents its success"
        );
        let errors: Vec<_> = responses.keys().filter(|s| s.starts_with('4')).collect();
        assert!(!errors.is_empty(), "{method} {path} documents its errors");
        for status in errors {
            assert!(
                responses[status]["content"]["application/problem+json"].is_object(),
                "{method} {path} {status} is problem+json: {}",
                responses[status]
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// Every documented operation is served: without a token it answers 401 (never 404 or 405).
async fn every_documented_route_is_served(api: Api) {
    let doc = openapi(&api).await;
    let anonymous = api.anonymous();
    for (method, path) in operations(&doc) {
        let concrete = path
            .replace("{conversationId}", "0190b6d2-0000-7000-8000-000000000001")
            .replace("{messageId}", "0190b6d2-0000-7000-8000-000000000002")
            .replace("{userId}", "bob");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = anonymous
            .send(method.clone(), &concrete, Some(json!({})))
            .await;
        assert_eq!(
            resp.status, 401,
            "{method} {concrete} without a token: {}",
            resp.text
        );
    }
}

async fn tokens_are_checked(api: Api) {
    let path = "/api/v1/messaging/conversations";
    api.anonymous()
        .get(path)
        .await
        .problem(401, "missing_token");
    api.with_token(Some("garbage".into()))
        .get(path)
        .await
        .problem(401, "invalid_token");
    // Signed with another secret.
    let other = Api::sqlite().await;
    api.with_token(Some(other.token("alice", Role::Owner)))
        .get(path)
        .await
        .problem(401, "invalid_token");
    // Expired (beyond the leeway).
    let mut claims = Claims::new(
        "alice",
        "Alice",
        Role::Owner,
        std::time::Duration::from_secs(60),
    );
    claims.exp -= 3_600;
    claims.iat -= 3_600;
    let expired = api.server.state.jwt.sign(&claims).unwrap();
    let resp = api.with_token(Some(expired)).get(path).await;
    assert_eq!(
        resp.headers.get("www-authenticate").unwrap(),
        "Bearer",
        "401 says how to authenticate"
    );
    resp.problem(401, "token_expired");
    api.user("alice").get(path).await.expect(200);
}

async fn unknown_routes_and_methods_are_problems(api: Api) {
    let alice = api.user("alice");
    alice
        .get("/api/v1/messaging/nothing-here")
        .await
        .problem(404, "not_found");
    alice
        .send(Method::PATCH, "/api/v1/messaging/conversations", None)
        .await
        .problem(405, "method_not_allowed");
}

async fn malformed_bodies_are_refused_naming_the_problem(api: Api) {
    let alice = api.user("alice");
    let path = "/api/v1/messaging/conversations";
    let p = alice
        .raw(
            Method::POST,
            path,
            Some(b"{\"type\": \"group\",".to_vec()),
            Some("application/json"),
        )
        .await
        .problem(400, "malformed_json");
    assert!(p["detail"].as_str().unwrap().contains("JSON"), "{p}");
    alice
        .raw(
            Method::POST,
            path,
            Some(b"type=group".to_vec()),
            Some("application/x-www-form-urlencoded"),
        )
        .await
        .problem(415, "unsupported_media_type");
    let p = alice
        .post(path, json!({"type": "group", "participants": "bob"}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "participants", "{p}");
    let p = alice
        .post(path, json!({"type": "secret", "participants": []}))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "type", "{p}");
    let p = alice
        .get("/api/v1/messaging/conversations/not-a-uuid")
        .await
        .problem(400, "invalid_id");
    assert_eq!(p["field"], "conversationId", "{p}");
}

/// A body over the configured limit is 413, whatever the route.
async fn bodies_over_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let small = Api::start(dir, url, |s| s.max_body_bytes = 1_024).await;
    let big = json!({"type": "group", "title": "x".repeat(4_096), "participants": []});
    small
        .user("alice")
        .post("/api/v1/messaging/conversations", big)
        .await
        .problem(413, "payload_too_large");
}

/// No answer leaks internals: every problem's detail is free of SQL and Rust paths.
async fn problems_do_not_leak_internals(api: Api) {
    let alice = api.user("alice");
    for resp in [
        alice
            .get("/api/v1/messaging/conversations/not-a-uuid")
            .await,
        alice
            .get("/api/v1/messaging/conversations?pageSize=100000")
            .await,
        alice
            .raw(
                Method::POST,
                "/api/v1/messaging/conversations",
                Some(b"[".to_vec()),
                Some("application/json"),
            )
            .await,
    ] {
        let text = resp.text.to_lowercase();
        for leak in ["select ", "sqlite", "postgres", "panicked", "src/", "::"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
}

/// Read-your-writes has a bound: while the read models lag (here: another process holds the
/// projection leases, so this server's projectors stand by), a command answers 202 with the
/// position to wait for; once projected, queries show the change.
async fn a_lagging_read_model_gives_202_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let store = pawpost_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let db = store.db();
    let names = ["conversations", "messages", "users"];
    let another = pawpost_workers::lease::Owner::new("another-process");
    pawpost_workers::lease::acquire(&db, &names, &another)
        .await
        .unwrap();
    let api = Api::start(dir, url, |s| {
        s.read_your_writes = std::time::Duration::from_millis(200)
    })
    .await;
    let (alice, bob) = (api.user("alice"), api.user("bob"));
    bob.get("/api/v1/messaging/conversations").await.expect(200);
    let accepted = alice
        .post(
            "/api/v1/messaging/conversations",
            json!({"type": "group", "title": "Rex's walks", "participants": ["bob"]}),
        )
        .await
        .expect(202);
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    let position = pawpost_server::cursor::decode(accepted["position"].as_str().unwrap())
        .expect("the position is a cursor");
    let list = alice
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    assert_eq!(list["conversations"], json!([]), "not projected yet");

    // The other process goes away: this server takes the leases and projects.
    pawpost_workers::lease::release(&db, &names, &another)
        .await
        .unwrap();
    assert!(
        api.server
            .state
            .projections
            .wait_for(position, std::time::Duration::from_secs(30))
            .await,
        "the read models reach the position"
    );
    let list = alice
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    assert_eq!(list["conversations"][0]["title"], "Rex's walks", "{list}");
}

both!(
    every_endpoint_is_documented,
    every_documented_route_is_served,
    tokens_are_checked,
    unknown_routes_and_methods_are_problems,
    malformed_bodies_are_refused_naming_the_problem,
    problems_do_not_leak_internals,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bodies_over_the_limit_are_refused() {
    bodies_over_the_limit_are_refused().await;
}

/// SQLite only (the lease set-up needs the database before the server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_lagging_read_model_gives_202_with_the_position() {
    a_lagging_read_model_gives_202_with_the_position().await;
}
