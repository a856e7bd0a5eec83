#![allow(clippy::unwrap_used)]

use super::*;

const NAMES: [&str; 2] = ["conversations", "messages"];

async fn sqlite() -> (tempfile::TempDir, Db) {
    let (dir, store) = pawpost_store::testing::sqlite().await;
    (dir, store.db())
}

/// A holder that runs on `host` as `pid` (this host and a live pid, a dead pid, or elsewhere).
fn holder_process(host: &str, pid: u32, started: u64) -> ProcessId {
    ProcessId {
        host: host.into(),
        pid,
        started,
    }
}

async fn plant(db: &Db, name: &str, owner: &str, age: Duration, process: &ProcessId) {
    let at = now_micros() - i64::try_from(age.as_micros()).unwrap();
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "INSERT INTO worker_leases (name, owner, heartbeat_at, host, pid, started)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            name.into(),
            owner.into(),
            at.into(),
            process.host.as_str().into(),
            i64::from(process.pid).into(),
            process.started.into(),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn owners(hs: &[Holder]) -> Vec<(&str, &str)> {
    hs.iter()
        .map(|h| (h.name.as_str(), h.owner.as_str()))
        .collect()
}

/// A live process on this host (this test process itself), as another owner would record it.
fn alive_here() -> ProcessId {
    ProcessId::current()
}

/// A process on another host: its liveness cannot be told from here.
fn elsewhere() -> ProcessId {
    holder_process("some-other-host", 4242, 1)
}

#[tokio::test]
async fn acquire_renew_and_release_leave_no_row_behind() {
    let (_dir, db) = sqlite().await;
    let a = Owner::new("a");
    acquire(&db, &NAMES, &a).await.unwrap();
    let first = holders(&db).await.unwrap();
    assert_eq!(
        owners(&first),
        [
            ("conversations", a.id.as_str()),
            ("messages", a.id.as_str())
        ]
    );
    assert!(first.iter().all(Holder::is_live));
    assert_eq!(
        first[0].process, a.process,
        "the lease records where its holder runs"
    );
    acquire(&db, &NAMES, &a).await.unwrap(); // its own lease: a renewal
    assert!(holders(&db).await.unwrap()[0].heartbeat_at >= first[0].heartbeat_at);
    release(&db, &NAMES, &a).await.unwrap();
    assert!(holders(&db).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_live_lease_of_another_owner_is_refused_naming_it_and_nothing_is_taken() {
    let (_dir, db) = sqlite().await;
    plant(
        &db,
        "messages",
        "serve@h:1/x",
        Duration::from_secs(3),
        &elsewhere(),
    )
    .await;
    let err = acquire(&db, &NAMES, &Owner::new("replay"))
        .await
        .unwrap_err();
    let LeaseError::Held(holder) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(holder.owner, "serve@h:1/x");
    assert!(err.to_string().contains("messages"), "{err}");
    assert!(err.to_string().contains("serve@h:1/x"), "{err}");
    // All or none: the free lease was not taken either.
    assert_eq!(
        owners(&holders(&db).await.unwrap()),
        [("messages", "serve@h:1/x")]
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (_dir, db) = sqlite().await;
    plant(
        &db,
        "messages",
        "gone",
        FRESH_FOR + Duration::from_secs(1),
        &elsewhere(),
    )
    .await;
    let b = Owner::new("b");
    acquire(&db, &NAMES, &b).await.unwrap();
    assert_eq!(
        owners(&holders(&db).await.unwrap()),
        [
            ("conversations", b.id.as_str()),
            ("messages", b.id.as_str())
        ]
    );
}

/// A holder on this host whose process is gone (crashed, killed) is taken over at once, however
/// fresh its heartbeat; one whose pid now belongs to a later process too.
#[tokio::test]
async fn a_fresh_lease_of_a_dead_process_on_this_host_is_taken_over_at_once() {
    let (_dir, db) = sqlite().await;
    let me = ProcessId::current();
    let dead = holder_process(&me.host, u32::MAX - 3, 1);
    let reused = ProcessId {
        started: me.started + 1,
        ..me.clone()
    };
    plant(&db, "conversations", "serve@crashed", Duration::ZERO, &dead).await;
    plant(&db, "messages", "serve@reused", Duration::ZERO, &reused).await;
    let b = Owner::new("b");
    acquire(&db, &NAMES, &b).await.unwrap();
    assert!(holders(&db).await.unwrap().iter().all(|h| h.owner == b.id));
}

#[tokio::test]
async fn a_fresh_lease_of_a_live_process_on_this_host_is_kept() {
    let (_dir, db) = sqlite().await;
    plant(&db, "messages", "serve@here", Duration::ZERO, &alive_here()).await;
    assert!(matches!(
        acquire(&db, &NAMES, &Owner::new("b")).await,
        Err(LeaseError::Held(h)) if h.owner == "serve@here"
    ));
}

#[tokio::test]
async fn claim_each_takes_the_free_leases_and_reports_the_held_ones() {
    let (_dir, db) = sqlite().await;
    plant(&db, "messages", "other", Duration::ZERO, &elsewhere()).await;
    let me = Owner::new("serve");
    let claims = claim_each(&db, &NAMES, &me).await.unwrap();
    assert!(claims[0].held_by.is_none());
    assert_eq!(claims[1].held_by.as_ref().unwrap().owner, "other");
    assert_eq!(
        owners(&holders(&db).await.unwrap()),
        [("conversations", me.id.as_str()), ("messages", "other")]
    );
}

#[tokio::test]
async fn release_leaves_other_owners_leases_alone() {
    let (_dir, db) = sqlite().await;
    plant(&db, "messages", "other", Duration::ZERO, &elsewhere()).await;
    release(&db, &NAMES, &Owner::new("me")).await.unwrap();
    assert_eq!(
        owners(&holders(&db).await.unwrap()),
        [("messages", "other")]
    );
}

#[tokio::test]
async fn take_over_displaces_live_leases_and_reports_them() {
    let (_dir, db) = sqlite().await;
    plant(&db, "messages", "serve", Duration::ZERO, &elsewhere()).await;
    plant(&db, "users", "gone", FRESH_FOR * 2, &elsewhere()).await;
    let replay = Owner::new("replay");
    let displaced = take_over(&db, &["messages", "users"], &replay)
        .await
        .unwrap();
    assert_eq!(owners(&displaced), [("messages", "serve")]);
    assert_eq!(
        owners(&holders(&db).await.unwrap()),
        [
            ("messages", replay.id.as_str()),
            ("users", replay.id.as_str())
        ]
    );
}

#[test]
fn owner_ids_name_the_process_and_differ() {
    let a = Owner::new("serve");
    assert!(a.id.starts_with("serve@"), "{}", a.id);
    assert!(
        a.id.contains(&format!(":{}/", std::process::id())),
        "{}",
        a.id
    );
    assert_ne!(a.id, Owner::new("serve").id);
}

#[test]
fn age_counts_from_the_heartbeat_and_never_goes_negative() {
    assert_eq!(age_at(1_000_000, 3_500_000), Duration::from_millis(2500));
    assert_eq!(age_at(5_000_000, 3_000_000), Duration::ZERO);
}

#[tokio::test]
async fn leases_work_on_postgres() {
    let db = pawpost_store::testing::postgres().await.db();
    let (a, b) = (Owner::new("a"), Owner::new("b"));
    acquire(&db, &NAMES, &a).await.unwrap();
    assert!(matches!(
        acquire(&db, &NAMES, &b).await,
        Err(LeaseError::Held(h)) if h.owner == a.id
    ));
    assert_eq!(take_over(&db, &NAMES, &b).await.unwrap().len(), 2);
    release(&db, &NAMES, &b).await.unwrap();
    assert!(holders(&db).await.unwrap().is_empty());
}
