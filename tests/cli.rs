//! The `pawpost` binary, run for real: `migrate`, `serve`, `token`.
//!
//! Every child gets a fresh temporary working and data directory and no `PAWPOST_*` variables
//! from the developer's environment. Waits have deadlines; nothing sleeps.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pawpost_server::auth::{JwtKeys, Role};
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(60);

/// Variables that would change what the children do.
const PAWPOST_VARS: [&str; 8] = [
    "PAWPOST_BIND",
    "PAWPOST_DATABASE_URL",
    "PAWPOST_DATA_DIR",
    "PAWPOST_JWT_SECRET",
    "PAWPOST_JWT_PUBLIC_KEY_PEM",
    "PAWPOST_MASTER_KEY",
    "PAWPOST_LOG_FORMAT",
    "PAWPOST_DEV",
];

fn pawpost(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pawpost"));
    command.current_dir(cwd);
    for var in PAWPOST_VARS {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn migrate_creates_and_migrates_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("x.db");
    let url = format!("sqlite:{}", db.display());
    let out = run(pawpost(tmp.path())
        .args(["migrate", "--database", &url, "--data-dir"])
        .arg(tmp.path()));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "migrations applied");
    assert!(db.is_file());

    // Migrating again is a no-op, not an error.
    let again = run(pawpost(tmp.path())
        .args(["migrate", "--database", &url, "--data-dir"])
        .arg(tmp.path()));
    assert!(again.status.success(), "stderr: {}", text(&again.stderr));
}

/// PostgreSQL is tested only where `PAWPOST_TEST_PG_URL` names a database to use.
#[test]
fn migrate_applies_to_postgres_when_configured() {
    let Ok(url) = std::env::var("PAWPOST_TEST_PG_URL") else {
        eprintln!("skipped: PAWPOST_TEST_PG_URL is not set");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = run(pawpost(tmp.path())
            .args(["migrate", "--database", &url, "--data-dir"])
            .arg(tmp.path()));
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "migrations applied");
    }
}

#[test]
fn migrate_with_an_unsupported_url_fails_without_leaking_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(pawpost(tmp.path())
        .args([
            "migrate",
            "--database",
            "mysql://root:hunter2@localhost/db",
            "--data-dir",
        ])
        .arg(tmp.path()));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mysql://root:***@localhost/db"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn serve_prints_its_address_answers_health_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut command = pawpost(tmp.path());
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let first = timeout(DEADLINE, stdout.next_line())
        .await
        .expect("no listening line before the deadline")
        .unwrap()
        .expect("stdout closed without a listening line");
    let url = first
        .strip_prefix("pawpost listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "{url}");

    let client = reqwest::Client::new();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
    let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // Development secrets were generated into the data dir.
    assert!(tmp.path().join("jwt.secret").is_file());
    assert!(tmp.path().join("master.key").is_file());

    // SIGTERM: graceful shutdown and a successful exit.
    let pid = child.id().unwrap().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status = timeout(DEADLINE, child.wait())
        .await
        .expect("did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    // Exactly one line on stdout.
    let rest = timeout(DEADLINE, stdout.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest, None, "more output on stdout");
}

#[test]
fn token_is_signed_with_the_secret_kept_in_the_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let token_args = [
        "token",
        "--sub",
        "alice",
        "--name",
        "Alice",
        "--role",
        "owner",
        "--data-dir",
    ];
    let out = run(pawpost(tmp.path()).args(token_args).arg(tmp.path()));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");

    let secret = std::fs::read_to_string(tmp.path().join("jwt.secret")).unwrap();
    let keys = JwtKeys::new(&SecretString::from(secret.trim().to_owned()), None).unwrap();
    let claims = keys.verify(&token).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.name, "Alice");
    assert_eq!(claims.role, Role::Owner);
    assert_eq!(claims.exp - claims.iat, 24 * 3600);

    // The secret is reused, not regenerated: a second token verifies with the same keys.
    let out = run(pawpost(tmp.path())
        .args([
            "token", "--sub", "bob", "--name", "Bob", "--role", "provider", "--ttl", "90m",
        ])
        .arg("--data-dir")
        .arg(tmp.path()));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let claims = keys.verify(text(&out.stdout).trim()).unwrap();
    assert_eq!((claims.sub.as_str(), claims.role), ("bob", Role::Provider));
    assert_eq!(claims.exp - claims.iat, 90 * 60);
}

#[test]
fn token_with_bad_input_fails_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--role", "superuser"], "superuser"),
        (&["--role", "owner", "--ttl", "soon"], "soon"),
        (&["--role", "owner", "--ttl", "0s"], "0s"),
    ];
    for (extra, mentioned) in cases {
        let out = run(pawpost(tmp.path())
            .args(["token", "--sub", "alice", "--name", "Alice", "--data-dir"])
            .arg(tmp.path())
            .args(extra));
        assert!(!out.status.success(), "{extra:?} succeeded");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(mentioned), "{extra:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{extra:?} printed a token");
    }
}
