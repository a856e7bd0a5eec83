//! The `pawpost` binary, run for real: `migrate`, `serve`, `token`, `replay`.
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

/// The data directory `dir` as `pawpost serve` leaves it: a token secret generated there.
fn prepare(dir: &Path) {
    std::fs::write(dir.join("jwt.secret"), "a-secret-the-server-generated\n").unwrap();
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

/// A fresh PostgreSQL database of its own is migrated, then migrating again changes nothing.
#[tokio::test]
async fn migrate_applies_to_a_fresh_postgres_database() {
    let url = pawpost_store::testing::pg_database_url().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut applied = Vec::new();
    for _ in 0..2 {
        let out = run(pawpost(tmp.path())
            .args(["migrate", "--database", &url, "--data-dir"])
            .arg(tmp.path()));
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "migrations applied");
        let store = pawpost_store::connect(&url).await.unwrap();
        let mut tx = store.db().read().await.unwrap();
        let rows = tx
            .query(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                &[],
            )
            .await
            .unwrap();
        applied.push(rows.iter().map(|r| r.int(0).unwrap()).collect::<Vec<_>>());
        drop(tx);
        store.close().await;
    }
    let mut files: Vec<i64> = std::fs::read_dir("migrations/postgres")
        .unwrap()
        .filter_map(|f| {
            let name = f.unwrap().file_name().into_string().unwrap();
            name.split_once('_')?.0.parse().ok()
        })
        .collect();
    files.sort();
    assert_eq!(applied[0], files, "every migration file is applied");
    assert_eq!(applied[0], applied[1], "the second run applied something");
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
    // No secret yet: `token` refuses, saying what to do, and makes none up (the server would
    // reject what it signed).
    let out = run(pawpost(tmp.path()).args(token_args).arg(tmp.path()));
    assert!(!out.status.success(), "a token without a secret");
    assert!(
        text(&out.stderr).contains("PAWPOST_JWT_SECRET"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(
        !tmp.path().join("jwt.secret").exists(),
        "token generated a secret"
    );

    // Once a server generated one there (`serve` does, see the test above), it is used.
    prepare(tmp.path());
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
    prepare(tmp.path());
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

/// `pawpost replay` against a log written here through the command handlers, with the master
/// key handed to the child in `PAWPOST_MASTER_KEY`.
mod replay {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use chrono::Utc;
    use pawpost_codec::EventCodec;
    use pawpost_commands::{CommandHandler, CommandMeta};
    use pawpost_domain::values::{
        ConversationTitle, DisplayName, MessageBody, MessageKind, NotificationLevel, Reaction,
    };
    use pawpost_domain::{
        ConversationCommand as C, ConversationId, ConversationState, MessageId, UserCommand as U,
        UserId, UserState,
    };
    use pawpost_projections::db::Db;
    use pawpost_projections::{projectors, Projections};
    use pawpost_store::{EventStore, KeyRing, MasterKey};
    use pawpost_workers::lease;
    use uuid::Uuid;

    use super::*;

    /// A database with a log and its incrementally built read models.
    struct Log {
        tmp: tempfile::TempDir,
        url: String,
        master_key: String,
        projections: Projections,
    }

    impl Log {
        async fn sqlite() -> Log {
            let tmp = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", tmp.path().join("pawpost.db").display());
            Self::at(tmp, url).await
        }

        async fn postgres() -> Log {
            let url = pawpost_store::testing::pg_database_url().await;
            Self::at(tempfile::tempdir().unwrap(), url).await
        }

        async fn at(tmp: tempfile::TempDir, url: String) -> Log {
            let store = pawpost_store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let key = MasterKey::generate();
            let codec = EventCodec::new(KeyRing::new(&key, store.clone()));
            write_events(&store, &codec).await;
            let projections = Projections::new(store, codec).unwrap();
            for name in projections.names() {
                projections.catch_up(name, |_| {}).await.unwrap();
            }
            Log {
                tmp,
                url,
                master_key: key.to_base64(),
                projections,
            }
        }

        fn db(&self) -> &Db {
            self.projections.db()
        }

        /// Runs `statements` in one committed transaction on the read models.
        async fn sql(&self, statements: &[&str]) {
            let mut tx = self.db().begin().await.unwrap();
            tx.batch(statements).await.unwrap();
            tx.commit().await.unwrap();
        }

        /// Runs `pawpost replay --database URL --data-dir DIR` with `extra` arguments.
        async fn replay(&self, extra: &[&str]) -> Output {
            let mut command = pawpost(self.tmp.path());
            command
                .args(["replay", "--database", &self.url, "--data-dir"])
                .arg(self.tmp.path())
                .args(extra)
                .env("PAWPOST_MASTER_KEY", &self.master_key)
                .stdin(Stdio::null());
            timeout(DEADLINE, tokio::process::Command::from(command).output())
                .await
                .expect("replay did not finish before the deadline")
                .unwrap()
        }

        /// Every read-model table, rows in a stable order.
        async fn dump(&self) -> BTreeMap<&'static str, Vec<String>> {
            let mut out = BTreeMap::new();
            for projector in projectors::all() {
                for &table in projector.tables() {
                    let mut tx = self.db().read().await.unwrap();
                    let rows = tx
                        .query(&format!("SELECT * FROM {table}"), &[])
                        .await
                        .unwrap();
                    let mut rows: Vec<String> =
                        rows.iter().map(|r| format!("{:?}", r.values())).collect();
                    rows.sort();
                    out.insert(table, rows);
                }
            }
            out
        }

        async fn count(&self, table: &'static str) -> usize {
            self.dump().await[table].len()
        }

        async fn checkpoints(&self) -> Vec<pawpost_store::Position> {
            let mut out = Vec::new();
            for name in self.projections.names() {
                out.push(self.projections.checkpoint(name).await.unwrap());
            }
            out
        }
    }

    fn uid(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn body(s: &str) -> MessageBody {
        MessageBody::parse(s).unwrap()
    }

    /// A small but varied history: a group and a direct conversation, messages with mentions
    /// and replies, edits, a deletion, reactions, read and delivered markers, profiles, mutes,
    /// pins, drafts, hidden messages and a block.
    async fn write_events(store: &Arc<dyn EventStore>, codec: &EventCodec) {
        let convs = CommandHandler::<ConversationState>::new(store.clone(), codec.clone());
        let users = CommandHandler::<UserState>::new(store.clone(), codec.clone());
        let meta = CommandMeta::default();
        let conv = |id: ConversationId, cmd: C| {
            let convs = &convs;
            let meta = &meta;
            async move {
                convs
                    .execute(&id.stream(), Uuid::now_v7(), &cmd, meta)
                    .await
                    .unwrap();
            }
        };
        let user = |id: &str, cmd: U| {
            let (users, meta, id) = (&users, &meta, uid(id));
            async move {
                users
                    .execute(&id.stream(), Uuid::now_v7(), &cmd, meta)
                    .await
                    .unwrap();
            }
        };
        let look = |id: ConversationId, who: &str, m: MessageId| {
            let (convs, who) = (&convs, uid(who));
            async move { convs.look_up_in_log(&id.stream(), m, &who).await.unwrap() }
        };
        let now = Utc::now;
        for (id, name) in [("alice", "Alice A."), ("bob", "Bob B."), ("carol", "Carol")] {
            let cmd = U::UpdateProfile {
                actor: uid(id),
                display_name: DisplayName::parse(name).unwrap(),
                avatar_url: None,
                role: None,
                locale: None,
                at: now(),
            };
            user(id, cmd).await;
        }
        let group = ConversationId::from_uuid(Uuid::now_v7());
        let cmd = C::CreateGroup {
            id: group,
            actor: uid("alice"),
            title: ConversationTitle::parse("Walkers").unwrap(),
            description: None,
            image_url: None,
            members: vec![uid("bob"), uid("carol")],
            at: now(),
        };
        conv(group, cmd).await;
        let direct = ConversationId::direct(&uid("alice"), &uid("bob"));
        let cmd = C::CreateDirect {
            id: direct,
            actor: uid("alice"),
            other: uid("bob"),
            at: now(),
        };
        conv(direct, cmd).await;

        let mut sent = Vec::new();
        for i in 0..24 {
            let (to, from) = if i % 5 == 4 {
                (direct, "bob")
            } else {
                (group, ["alice", "bob", "carol"][i % 3])
            };
            let id = MessageId::from_uuid(Uuid::now_v7());
            let reply_to = match sent
                .iter()
                .rev()
                .find(|(c, _)| *c == to && i % 4 == 1)
                .map(|(_, m)| *m)
            {
                Some(m) => Some(look(to, from, m).await),
                None => None,
            };
            let cmd = C::SendMessage {
                message_id: id,
                actor: uid(from),
                kind: MessageKind::Text,
                body: Some(body(&format!("walk number {i} at the 公园, ok?"))),
                attachments: vec![],
                location: None,
                reply_to,
                forward: None,
                mentions: if i % 6 == 0 {
                    vec![uid("carol")]
                } else {
                    vec![]
                },
                temp_id: None,
                blocked_by_other: false,
                at: now(),
            };
            conv(to, cmd).await;
            sent.push((to, id));
        }
        let (_, first) = sent[0];
        let cmd = C::EditMessage {
            actor: uid("alice"),
            message: look(group, "alice", first).await,
            body: body("walk number 0, moved to ten"),
            at: now(),
        };
        conv(group, cmd).await;
        let (_, second) = sent[1];
        let cmd = C::DeleteForEveryone {
            actor: uid("bob"),
            message: look(group, "bob", second).await,
            at: now(),
        };
        conv(group, cmd).await;
        for (who, r) in [("bob", "👍"), ("carol", "🐕"), ("carol", "👍")] {
            let cmd = C::AddReaction {
                actor: uid(who),
                message: look(group, who, first).await,
                reaction: Reaction::parse(r).unwrap(),
                at: now(),
            };
            conv(group, cmd).await;
        }
        let cmd = C::RemoveReaction {
            actor: uid("carol"),
            message: look(group, "carol", first).await,
            reaction: Reaction::parse("🐕").unwrap(),
            at: now(),
        };
        conv(group, cmd).await;
        let (_, tenth) = sent[10];
        for who in ["bob", "carol"] {
            let cmd = C::MarkDelivered {
                actor: uid(who),
                message: look(group, who, tenth).await,
                at: now(),
            };
            conv(group, cmd).await;
            let cmd = C::MarkRead {
                actor: uid(who),
                message: look(group, who, tenth).await,
                at: now(),
            };
            conv(group, cmd).await;
        }
        let cmd = U::Mute {
            actor: uid("bob"),
            conversation_id: group,
            until: None,
            level: NotificationLevel::Mentions,
            is_participant: true,
            at: now(),
        };
        user("bob", cmd).await;
        let cmd = U::Pin {
            actor: uid("alice"),
            conversation_id: direct,
            is_participant: true,
            at: now(),
        };
        user("alice", cmd).await;
        let cmd = U::SaveDraft {
            actor: uid("carol"),
            conversation_id: group,
            content: body("see you th"),
            reply_to: None,
            is_participant: true,
            at: now(),
        };
        user("carol", cmd).await;
        let cmd = U::DeleteForMe {
            actor: uid("carol"),
            conversation_id: group,
            message_ids: vec![sent[3].1],
            visible_to_actor: true,
            at: now(),
        };
        user("carol", cmd).await;
        let cmd = U::Block {
            actor: uid("carol"),
            user: uid("bob"),
            reason: None,
            at: now(),
        };
        user("carol", cmd).await;
    }

    async fn rebuilds_identical_read_models(log: Log) {
        let before = log.dump().await;
        assert!(log.count("rm_messages").await >= 24, "{before:#?}");
        assert!(!before["rm_reactions"].is_empty());
        let head = log.checkpoints().await;
        // Damage every projector's tables: only a real rebuild repairs them.
        log.sql(&[
            "DELETE FROM rm_reactions",
            "DELETE FROM rm_blocks",
            "UPDATE rm_conversations SET title = 'damaged'",
        ])
        .await;

        let out = log.replay(&[]).await;
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        for (line, name) in lines.iter().zip(["conversations", "messages", "users"]) {
            let rest = line
                .strip_prefix(&format!("{name}: "))
                .unwrap_or_else(|| panic!("{line}"));
            let (events, rest) = rest.split_once(" events in ").unwrap();
            assert!(events.parse::<u64>().unwrap() >= 40, "{line}");
            assert!(
                rest.ends_with(" events/s)") && rest.contains(" s ("),
                "{line}"
            );
        }
        assert_eq!(log.dump().await, before, "the rebuilt read models differ");
        assert_eq!(log.checkpoints().await, head);
        assert!(lease::holders(log.db()).await.unwrap().is_empty());

        // One projection: only it is rebuilt (and reported).
        log.sql(&["DELETE FROM rm_blocks", "DELETE FROM rm_reactions"])
            .await;
        let out = log.replay(&["--projection", "users"]).await;
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.starts_with("users: "), "{stdout}");
        let after = log.dump().await;
        assert_eq!(after["rm_blocks"], before["rm_blocks"]);
        assert!(after["rm_reactions"].is_empty(), "messages was rebuilt too");
    }

    #[tokio::test]
    async fn replay_rebuilds_identical_read_models_and_prints_a_summary_per_projection() {
        rebuilds_identical_read_models(Log::sqlite().await).await;
    }

    /// PostgreSQL is tested only where it is reachable (see `pawpost_store::testing`).
    #[tokio::test]
    async fn replay_rebuilds_identical_read_models_on_postgres() {
        rebuilds_identical_read_models(Log::postgres().await).await;
    }

    #[tokio::test]
    async fn replay_refuses_while_another_process_holds_a_fresh_lease_unless_forced() {
        let log = Log::sqlite().await;
        let before = log.dump().await;
        // A live process (this test's own) holds the messages lease.
        let owner = lease::Owner::new("serve");
        let holder = owner.id.as_str();
        lease::acquire(log.db(), &["messages"], &owner)
            .await
            .unwrap();
        // Emptied behind the projector's back: a replay that ran would fill it again.
        log.sql(&["DELETE FROM rm_reactions"]).await;

        let out = log.replay(&[]).await;
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(stderr.contains(holder), "{stderr}");
        assert!(stderr.contains("stop `pawpost serve`"), "{stderr}");
        assert!(stderr.contains("--force"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        assert_eq!(log.count("rm_reactions").await, 0, "replayed anyway");
        let holders = lease::holders(log.db()).await.unwrap();
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert_eq!(holders[0].owner, holder);

        let out = log.replay(&["--force"]).await;
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 3);
        assert_eq!(log.dump().await, before);
        assert!(lease::holders(log.db()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn replay_takes_over_a_stale_lease() {
        let log = Log::sqlite().await;
        let stale = lease::FRESH_FOR.as_micros() as i64 + 1_000_000;
        let mut tx = log.db().begin().await.unwrap();
        tx.execute(
            "INSERT INTO worker_leases (name, owner, heartbeat_at, host, pid, started)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                "messages".into(),
                "serve@crashed:1/dead".into(),
                (Utc::now().timestamp_micros() - stale).into(),
                "another-host".into(),
                1i64.into(),
                0i64.into(),
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let out = log.replay(&["--projection", "messages"]).await;
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("messages: "));
        assert!(lease::holders(log.db()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn replay_of_an_unknown_projection_lists_the_valid_names() {
        let log = Log::sqlite().await;
        let before = log.dump().await;
        let out = log.replay(&["--projection", "mesages"]).await;
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("unknown projection \"mesages\""),
            "{stderr}"
        );
        assert!(
            stderr.contains("conversations, messages, users"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
        assert_eq!(log.dump().await, before);
    }
}
