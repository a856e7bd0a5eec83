#![allow(clippy::unwrap_used)]

use super::*;

#[tokio::test]
async fn serves_probes_on_port_zero_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let server = spawn(Settings::for_tests(dir.path(), database))
        .await
        .unwrap();
    assert_ne!(server.addr.port(), 0);
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let ready = client
        .get(format!("{}/readyz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ready", "backend": "sqlite" })
    );

    let missing = client
        .get(format!("{}/nope", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let addr = server.addr;
    server.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn serve_returns_when_the_shutdown_future_completes() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(serve(Settings::for_tests(dir.path(), database), async {
        let _ = rx.await;
    }));
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .expect("serve did not stop")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn unusable_database_url_is_an_error_naming_it_without_password() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_tests(dir.path(), "mysql://root:hunter2@localhost/db");
    let err = spawn(settings).await.unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("mysql://root:***@localhost/db"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn unusable_master_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("pawpost.db").display());
    let mut settings = Settings::for_tests(dir.path(), database);
    settings.master_key = secrecy::SecretString::from("short".to_owned());
    assert!(spawn(settings).await.is_err());
}

/// PostgreSQL is tested only where `PAWPOST_TEST_PG_URL` names a database to use.
#[tokio::test]
async fn readyz_names_postgres_when_serving_on_it() {
    let Ok(url) = std::env::var("PAWPOST_TEST_PG_URL") else {
        eprintln!("skipped: PAWPOST_TEST_PG_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(Settings::for_tests(dir.path(), url)).await.unwrap();
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ready", "backend": "postgres" })
    );
    server.shutdown().await.unwrap();
}
