//! Who runs the projectors: one lease row per projection in `projection_leases`.
//!
//! The serving process that runs the projectors holds a lease on every projection and renews it
//! every [`HEARTBEAT`]; `pawpost replay` holds the leases of the projections it rebuilds. A lease
//! whose heartbeat is younger than [`FRESH_FOR`] belongs to its owner: [`acquire`] refuses it,
//! naming the owner, so a rebuild never races the live projectors (which would interleave
//! batches with the rebuild and leave wrong read models). A lease left by a process that died
//! goes stale after [`FRESH_FOR`] and can then be taken by anyone.
//!
//! Heartbeats are epoch microseconds of the writer's clock; the nodes sharing a database are
//! assumed to keep their clocks within a few seconds of each other.

use std::time::Duration;

use crate::db::{Db, DbError, Dialect, Tx};

/// How often a holder renews its leases.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a lease stays its owner's after the last heartbeat.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// A lease row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The projection.
    pub name: String,
    /// Who holds it (see [`owner_id`]).
    pub owner: String,
    /// The last heartbeat, epoch microseconds.
    pub heartbeat_at: i64,
}

impl Holder {
    /// Time since the last heartbeat (zero if the heartbeat lies in the future).
    pub fn age(&self) -> Duration {
        age_at(self.heartbeat_at, now_micros())
    }

    /// Whether the lease still belongs to its owner.
    pub fn is_fresh(&self) -> bool {
        self.age() < FRESH_FOR
    }
}

/// Why a lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds a fresh lease on the projection.
    #[error("projection {} is leased by {} (last heartbeat {:.1} s ago)", .0.name, .0.owner, .0.age().as_secs_f64())]
    Held(Holder),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// An owner id for this process: `{role}@{hostname}:{pid}/{random}`, so a refusal says which
/// process to stop and two processes on one host never share an id.
pub fn owner_id(role: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{role}@{}:{}/{}",
        hostname(),
        std::process::id(),
        &random[..8]
    )
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn age_at(heartbeat_at: i64, now: i64) -> Duration {
    Duration::from_micros(u64::try_from(now.saturating_sub(heartbeat_at)).unwrap_or(0))
}

fn fresh_micros() -> i64 {
    i64::try_from(FRESH_FOR.as_micros()).unwrap_or(i64::MAX)
}

/// Takes the leases on `names` for `owner`, all or none. Fails with [`LeaseError::Held`] when
/// another owner holds a fresh lease on one of them; a stale lease is taken over. Taking a
/// lease `owner` already holds renews it.
pub async fn acquire(db: &Db, names: &[&str], owner: &str) -> Result<(), LeaseError> {
    match take(db, names, owner, false).await? {
        Taken::Refused(holder) => Err(LeaseError::Held(holder)),
        Taken::Yes(_) => Ok(()),
    }
}

/// Renews `owner`'s leases on `names` (call every [`HEARTBEAT`]). Fails with
/// [`LeaseError::Held`] when another owner took one over meanwhile (after it went stale, or by
/// force): the caller must stop projecting. A lease that vanished is taken again.
pub async fn renew(db: &Db, names: &[&str], owner: &str) -> Result<(), LeaseError> {
    acquire(db, names, owner).await
}

/// Takes the leases on `names` whoever holds them (`pawpost replay --force`). Returns the fresh
/// leases of other owners it displaced: those owners notice at their next renewal.
pub async fn take_over(db: &Db, names: &[&str], owner: &str) -> Result<Vec<Holder>, LeaseError> {
    match take(db, names, owner, true).await? {
        Taken::Yes(displaced) => Ok(displaced),
        Taken::Refused(holder) => Err(LeaseError::Held(holder)),
    }
}

/// Gives up `owner`'s leases on `names` (leases of other owners are left alone).
pub async fn release(db: &Db, names: &[&str], owner: &str) -> Result<(), LeaseError> {
    let names = owned(names);
    let owner = owner.to_string();
    let mut tx = db.begin().await?;
    for name in &names {
        tx.execute(
            "DELETE FROM projection_leases WHERE name = $1 AND owner = $2",
            &[name.as_str().into(), owner.as_str().into()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every lease row, fresh or stale, by projection name.
pub async fn holders(db: &Db) -> Result<Vec<Holder>, LeaseError> {
    let mut tx = db.read().await?;
    let rows = tx
        .query(
            "SELECT name, owner, heartbeat_at FROM projection_leases ORDER BY name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Holder {
                name: r.text(0)?,
                owner: r.text(1)?,
                heartbeat_at: r.int(2)?,
            })
        })
        .collect()
}

enum Taken {
    /// Taken; with the fresh leases of other owners displaced by force.
    Yes(Vec<Holder>),
    Refused(Holder),
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn take(db: &Db, names: &[&str], owner: &str, force: bool) -> Result<Taken, DbError> {
    let names = owned(names);
    let owner = owner.to_string();
    let mut tx = db.begin().await?;
    let taken = {
        let tx = &mut tx;
        let now = now_micros();
        lock(tx).await?;
        let mut displaced = Vec::new();
        for name in &names {
            let row = tx
                .query_opt(
                    "SELECT owner, heartbeat_at FROM projection_leases WHERE name = $1",
                    &[name.as_str().into()],
                )
                .await?;
            let Some(row) = row else { continue };
            let holder = Holder {
                name: name.clone(),
                owner: row.text(0)?,
                heartbeat_at: row.int(1)?,
            };
            let fresh = now.saturating_sub(holder.heartbeat_at) < fresh_micros();
            if holder.owner != owner && fresh {
                if !force {
                    // Nothing written yet: the transaction rolls back harmlessly.
                    return Ok(Taken::Refused(holder));
                }
                displaced.push(holder);
            }
        }
        for name in &names {
            tx.execute(
                "INSERT INTO projection_leases (name, owner, heartbeat_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,
                    heartbeat_at = excluded.heartbeat_at",
                &[name.as_str().into(), owner.as_str().into(), now.into()],
            )
            .await?;
        }
        Taken::Yes(displaced)
    };
    tx.commit().await?;
    Ok(taken)
}

/// Serializes lease transactions, so checking and writing the rows is one atomic step. SQLite
/// transactions here already hold the write lock from their start (`BEGIN IMMEDIATE`).
async fn lock(tx: &mut Tx) -> Result<(), DbError> {
    if tx.dialect() == Dialect::Postgres {
        tx.batch(&["LOCK TABLE projection_leases IN SHARE ROW EXCLUSIVE MODE"])
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NAMES: [&str; 2] = ["conversations", "messages"];

    async fn sqlite() -> (tempfile::TempDir, Db) {
        let (dir, store) = pawpost_store::testing::sqlite().await;
        let db = store.db();
        (dir, db)
    }

    async fn plant(db: &Db, name: &str, owner: &str, age: Duration) {
        let (name, owner) = (name.to_string(), owner.to_string());
        let at = now_micros() - i64::try_from(age.as_micros()).unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO projection_leases (name, owner, heartbeat_at) VALUES ($1, $2, $3)",
            &[name.into(), owner.into(), at.into()],
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

    #[tokio::test]
    async fn acquire_renew_and_release_leave_no_row_behind() {
        let (_dir, db) = sqlite().await;
        acquire(&db, &NAMES, "a").await.unwrap();
        let first = holders(&db).await.unwrap();
        assert_eq!(owners(&first), [("conversations", "a"), ("messages", "a")]);
        assert!(first.iter().all(Holder::is_fresh));
        acquire(&db, &NAMES, "a").await.unwrap(); // its own lease: a renewal
        renew(&db, &NAMES, "a").await.unwrap();
        assert!(holders(&db).await.unwrap()[0].heartbeat_at >= first[0].heartbeat_at);
        release(&db, &NAMES, "a").await.unwrap();
        assert!(holders(&db).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_fresh_lease_of_another_owner_is_refused_naming_it_and_nothing_is_taken() {
        let (_dir, db) = sqlite().await;
        plant(&db, "messages", "serve@h:1/x", Duration::from_secs(3)).await;
        let err = acquire(&db, &NAMES, "replay").await.unwrap_err();
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
        // Renewing is refused the same way (the holder must stop projecting).
        assert!(matches!(
            renew(&db, &["messages"], "replay").await,
            Err(LeaseError::Held(_))
        ));
    }

    #[tokio::test]
    async fn a_stale_lease_is_taken_over() {
        let (_dir, db) = sqlite().await;
        plant(&db, "messages", "dead", FRESH_FOR + Duration::from_secs(1)).await;
        acquire(&db, &NAMES, "b").await.unwrap();
        assert_eq!(
            owners(&holders(&db).await.unwrap()),
            [("conversations", "b"), ("messages", "b")]
        );
        // The former owner learns it lost the lease when it renews.
        assert!(matches!(
            renew(&db, &["messages"], "dead").await,
            Err(LeaseError::Held(h)) if h.owner == "b"
        ));
    }

    #[tokio::test]
    async fn release_leaves_other_owners_leases_alone() {
        let (_dir, db) = sqlite().await;
        plant(&db, "messages", "other", Duration::ZERO).await;
        release(&db, &NAMES, "me").await.unwrap();
        assert_eq!(
            owners(&holders(&db).await.unwrap()),
            [("messages", "other")]
        );
    }

    #[tokio::test]
    async fn take_over_displaces_fresh_leases_and_reports_them() {
        let (_dir, db) = sqlite().await;
        plant(&db, "messages", "serve", Duration::ZERO).await;
        plant(&db, "users", "dead", FRESH_FOR * 2).await;
        let displaced = take_over(&db, &["messages", "users"], "replay")
            .await
            .unwrap();
        assert_eq!(owners(&displaced), [("messages", "serve")]);
        assert_eq!(
            owners(&holders(&db).await.unwrap()),
            [("messages", "replay"), ("users", "replay")]
        );
    }

    #[test]
    fn owner_ids_name_the_process_and_differ() {
        let a = owner_id("serve");
        assert!(a.starts_with("serve@"), "{a}");
        assert!(a.contains(&format!(":{}/", std::process::id())), "{a}");
        assert_ne!(a, owner_id("serve"));
    }

    #[test]
    fn age_counts_from_the_heartbeat_and_never_goes_negative() {
        assert_eq!(age_at(1_000_000, 3_500_000), Duration::from_millis(2500));
        assert_eq!(age_at(5_000_000, 3_000_000), Duration::ZERO);
    }

    /// PostgreSQL is tested only where it is reachable (see `pawpost_store::testing`).
    #[tokio::test]
    async fn leases_work_on_postgres() {
        let store = pawpost_store::testing::postgres().await;
        let db = store.db();
        acquire(&db, &NAMES, "a").await.unwrap();
        assert!(matches!(
            acquire(&db, &NAMES, "b").await,
            Err(LeaseError::Held(h)) if h.owner == "a"
        ));
        assert_eq!(owners(&take_over(&db, &NAMES, "b").await.unwrap()).len(), 2);
        release(&db, &NAMES, "b").await.unwrap();
        assert!(holders(&db).await.unwrap().is_empty());
    }
}
