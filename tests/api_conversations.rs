//! `/api/v1/messaging/conversations` over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::Api;

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

both!(
    an_empty_list_for_a_new_user,
    list_paging_out_of_range_is_refused,
    the_list_needs_a_valid_token,
);
