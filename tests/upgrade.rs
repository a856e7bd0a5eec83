//! Databases written by wave 1 (rusqlite / tokio-postgres, migrations recorded by a hand-written
//! runner in `_pawpost_migrations`) keep working: `tests/fixtures/wave1` holds one of each, made
//! through the REST API of that version. Opened by today's server, the migration history is
//! adopted, the newer migrations apply, and everything written then reads back: conversations
//! with their unread counts, sealed message content (edited), reactions, drafts. The unread
//! counters migration 0008 fills in equal a rebuild's.

#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use serde_json::json;
use sqlx::Connection;

const FIXTURES: &str = "tests/fixtures/wave1";

/// The fixture's master key (the content is sealed under it).
fn master_key(backend: &str) -> secrecy::SecretString {
    let key = std::fs::read_to_string(format!("{FIXTURES}/{backend}/master.key")).unwrap();
    secrecy::SecretString::from(key.trim().to_owned())
}

async fn serve(dir: tempfile::TempDir, url: String, backend: &str) -> Api {
    let key = master_key(backend);
    Api::start(dir, url, move |s| s.master_key = Some(key)).await
}

/// The migration files of `backend`, by version.
fn migration_files(backend: &str) -> Vec<i64> {
    let mut v: Vec<i64> = std::fs::read_dir(format!("migrations/{backend}"))
        .unwrap()
        .filter_map(|f| {
            let name = f.unwrap().file_name().into_string().unwrap();
            name.split_once('_')?.0.parse().ok()
        })
        .collect();
    v.sort();
    v
}

/// What wave 1 wrote reads back, and the server takes new writes.
async fn written_by_wave_1_reads_back(api: &Api, backend: &str) {
    let (alice, bob) = (api.user("alice"), api.user("bob"));
    let list = alice
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    let titles: Vec<(&str, u64)> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap(),
                c["unreadCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(titles, [("Rex care team", 1), ("Bob", 0)], "{list}");
    let direct = list["conversations"][1]["id"].as_str().unwrap().to_string();

    let page = bob
        .get(&format!(
            "/api/v1/messaging/conversations/{direct}/messages"
        ))
        .await
        .expect(200);
    let contents: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "Hi Bob! Can you walk Rex on Friday?",
            "Sure, 9:30 at the park?"
        ],
        "sealed content opens with the fixture's key: {page}"
    );
    let reply = &page["messages"][1];
    assert_eq!(reply["reactions"][0]["reaction"], "🐾", "{reply}");
    let reply_id = reply["id"].as_str().unwrap();
    let history = bob
        .get(&format!(
            "/api/v1/messaging/conversations/{direct}/messages/{reply_id}/history"
        ))
        .await
        .expect(200);
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        2,
        "{history}"
    );
    let drafts = alice.get("/api/v1/messaging/drafts").await.expect(200);
    assert_eq!(drafts["drafts"][0]["content"], "See you", "{drafts}");

    bob.post(
        &format!("/api/v1/messaging/conversations/{direct}/messages"),
        json!({"content": "Upgraded and still here", "tempId": "after-upgrade"}),
    )
    .await
    .expect(201);
    let list = alice
        .get("/api/v1/messaging/conversations")
        .await
        .expect(200);
    assert_eq!(list["conversations"][0]["unreadCount"], 1, "{list}");
    assert_eq!(
        list["conversations"][0]["lastMessagePreview"],
        "Upgraded and still here"
    );

    // The history is sqlx's now, complete, and the old table is gone.
    let db = api.server.state.store.db();
    let mut tx = db.read().await.unwrap();
    let applied: Vec<i64> = tx
        .query(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.int(0).unwrap())
        .collect();
    assert_eq!(applied, migration_files(backend));
    let legacy = match backend {
        "sqlite" => "SELECT 1 FROM sqlite_master WHERE name = '_pawpost_migrations'",
        _ => "SELECT 1 FROM pg_class WHERE relname = '_pawpost_migrations'",
    };
    assert!(tx.query_opt(legacy, &[]).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_wave_1_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pawpost.db");
    std::fs::copy(format!("{FIXTURES}/sqlite/pawpost.db"), &db).unwrap();
    let url = format!("sqlite:{}", db.display());
    let api = serve(dir, url, "sqlite").await;
    written_by_wave_1_reads_back(&api, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_wave_1_upgrades_in_place() {
    let url = restored_postgres_fixture().await;
    let api = serve(tempfile::tempdir().unwrap(), url, "postgres").await;
    written_by_wave_1_reads_back(&api, "postgres").await;
}

/// The counters migration 0008 fills in from the tables wave 1's projectors wrote (no rebuild)
/// are the ones a rebuild from the log computes, and the projectors resuming from where the
/// migration left them change none of them.
async fn migrated_counters_equal_a_rebuild(url: String, backend: &str) {
    use pawpost_codec::EventCodec;
    use pawpost_projections::Projections;
    use pawpost_store::{KeyRing, MasterKey};
    use secrecy::ExposeSecret;

    let store = pawpost_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let key = MasterKey::from_base64(master_key(backend).expose_secret()).unwrap();
    let projections = Projections::new(
        store.clone(),
        EventCodec::new(KeyRing::new(&key, store.clone())),
    )
    .unwrap();
    let dump = || async {
        let mut out = Vec::new();
        let mut tx = store.db().read().await.unwrap();
        for table in [
            "rm_unread",
            "rm_message_counts",
            "rm_membership_ranges",
            "rm_hidden_messages",
            "rm_participants",
        ] {
            let mut rows: Vec<String> = tx
                .query(&format!("SELECT * FROM {table}"), &[])
                .await
                .unwrap()
                .iter()
                .map(|r| format!("{table}: {:?}", r.values()))
                .collect();
            rows.sort();
            out.extend(rows);
        }
        out
    };
    let migrated = dump().await;
    let mut tx = store.db().read().await.unwrap();
    let alice: Vec<i64> = tx
        .query(
            "SELECT unread_count FROM rm_unread WHERE user_id = 'alice' ORDER BY unread_count DESC",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.int(0).unwrap())
        .collect();
    drop(tx);
    assert_eq!(
        alice,
        [1, 0],
        "Alice's unread message counted by the migration"
    );
    for name in projections.names() {
        projections.catch_up(name, |_| {}).await.unwrap();
    }
    assert_eq!(
        dump().await,
        migrated,
        "resuming changed the migrated tables"
    );
    for name in projections.names() {
        projections.reset(name).await.unwrap();
        projections.catch_up(name, |_| {}).await.unwrap();
    }
    assert_eq!(dump().await, migrated, "migrated (left) vs rebuilt (right)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_a_sqlite_upgrade_fills_in_equal_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pawpost.db");
    std::fs::copy(format!("{FIXTURES}/sqlite/pawpost.db"), &db).unwrap();
    migrated_counters_equal_a_rebuild(format!("sqlite:{}", db.display()), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_a_postgres_upgrade_fills_in_equal_a_rebuild() {
    let url = restored_postgres_fixture().await;
    migrated_counters_equal_a_rebuild(url, "postgres").await;
}

/// The transaction ids the fixture's events were appended in are all below this.
const FIXTURE_XIDS_BELOW: i64 = 1_000;

/// A fresh database holding the wave-1 PostgreSQL dump. The cluster's transaction ids are first
/// taken past the dump's (a fresh cluster, as in CI, may not have reached them): a database
/// restored from another cluster is only sound there (see the test below).
async fn restored_postgres_fixture() -> String {
    let url = pawpost_store::testing::pg_database_url().await;
    let dump = std::fs::read_to_string(format!("{FIXTURES}/postgres/dump.sql")).unwrap();
    // The dump sets the session's search path: restore on a connection of its own.
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    loop {
        let (xid,): (i64,) = sqlx::query_as("SELECT pg_current_xact_id()::text::bigint")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if xid > FIXTURE_XIDS_BELOW {
            break;
        }
    }
    sqlx::raw_sql(&dump).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    url
}

/// A log whose transaction ids are ahead of the cluster's (restored into another cluster that
/// has not got as far) would take appends that sort before its events, never read by anyone:
/// opening it is refused with what to do, nothing is appended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_from_a_cluster_further_ahead_is_refused() {
    let url = restored_postgres_fixture().await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "UPDATE events SET transaction_id =
             (pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000000)::text::xid8
         WHERE global_position = (SELECT max(global_position) FROM events)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let store = pawpost_store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let err = pawpost_store::EventStore::migrate(&store)
        .await
        .unwrap_err();
    assert!(
        matches!(err, pawpost_store::StoreError::ForeignLog { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("pg_resetwal"), "{err}");
    let (events,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(events, 13);
}
