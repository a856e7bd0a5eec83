//! A server killed with `kill -9` leaves its worker leases behind, looking fresh. The next
//! process on the same host sees that their holder's process is gone and takes them at once:
//! a restarted server projects from its first second (commands answer 201, not 202), and
//! `pawpost replay` runs right after it stops — or right after the crash.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(60);

fn pawpost(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pawpost"));
    command.current_dir(dir);
    for (var, _) in std::env::vars() {
        if var.starts_with("PAWPOST_") {
            command.env_remove(var);
        }
    }
    command
}

/// `pawpost serve` on the data dir `dir`; returns the child and its base url.
async fn serve(dir: &Path) -> (Child, String) {
    let mut command = pawpost(dir);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
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
    (child, url)
}

fn token(dir: &Path, sub: &str, role: &str) -> String {
    let out = pawpost(dir)
        .args([
            "token",
            "--sub",
            sub,
            "--name",
            sub,
            "--role",
            role,
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `kill -9`, then reaps the process (it is gone, not a zombie).
async fn crash(mut child: Child) {
    child.start_kill().unwrap();
    timeout(DEADLINE, child.wait()).await.unwrap().unwrap();
}

async fn stop(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = timeout(DEADLINE, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
}

fn replay(dir: &Path) -> std::process::Output {
    pawpost(dir)
        .args(["replay", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

async fn post(url: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/messaging{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_the_next_process_takes_the_leases_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (first, url) = serve(dir).await;
    let (alice, bob) = (token(dir, "alice", "owner"), token(dir, "bob", "provider"));
    let client = reqwest::Client::new();
    client
        .get(format!("{url}/api/v1/messaging/conversations"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    let (status, created) = post(
        &url,
        &alice,
        "/conversations",
        json!({"type": "direct", "participants": ["bob"], "initialMessage": "Rex at 9?"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let conversation = created["conversationId"].as_str().unwrap().to_owned();

    crash(first).await;

    // The restarted server runs the projectors at once: a send is visible to queries before
    // it answers (201), where a server standing by for the dead lease would answer 202.
    let (second, url) = serve(dir).await;
    let (status, sent) = post(
        &url,
        &bob,
        &format!("/conversations/{conversation}/messages"),
        json!({"content": "Sure", "tempId": "after-crash"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let admin = token(dir, "root", "admin");
    let workers: Value = client
        .get(format!("{url}/api/v1/admin/workers"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for w in workers["workers"].as_array().unwrap() {
        assert_eq!(w["runningHere"], true, "{workers}");
    }

    // A clean stop releases the leases: a replay runs right away.
    stop(second).await;
    let out = replay(dir);
    assert!(
        out.status.success(),
        "replay after a clean stop: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);

    // And right after a crash too: the dead holder is recognised.
    let (third, _) = serve(dir).await;
    crash(third).await;
    let out = replay(dir);
    assert!(
        out.status.success(),
        "replay after a crash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
