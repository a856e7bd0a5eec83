//! `pawpost replay`: empties read models and rebuilds them from the event log (DESIGN.md §5).
//!
//! The rebuild holds the leases of the projections it rebuilds (`pawpost_projections::lease`),
//! renewing them as it goes, so it never interleaves with a server's projectors: while a server
//! (or another replay) holds a fresh lease it refuses, naming the holder, unless forced.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use pawpost_codec::EventCodec;
use pawpost_projections::db::Db;
use pawpost_projections::{projectors, Projections};
use pawpost_store::KeyRing;
use pawpost_workers::lease::{self, LeaseError, Owner, HEARTBEAT};
use tokio::time::MissedTickBehavior;

use crate::{connect_and_migrate, Settings};

/// What to rebuild.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Projection names; empty means all of them.
    pub projections: Vec<String>,
    /// Take the leases even from a process whose lease is fresh (one that died moments ago). A
    /// live holder notices at its next heartbeat and pauses; the rebuild starts after waiting
    /// for that.
    pub force: bool,
}

/// How the rebuild reports its progress (the binary draws a progress bar).
pub trait Progress {
    /// `name` is about to be rebuilt from a log of about `total` events.
    fn started(&mut self, name: &str, total: u64);
    /// `done` events of the log have been applied so far.
    fn advanced(&mut self, done: u64);
    /// `name` is rebuilt.
    fn finished(&mut self, rebuilt: &Rebuilt);
}

/// Reports nothing.
impl Progress for () {
    fn started(&mut self, _: &str, _: u64) {}
    fn advanced(&mut self, _: u64) {}
    fn finished(&mut self, _: &Rebuilt) {}
}

/// One rebuilt projection. Displays as the summary line
/// `NAME: N events in S s (R events/s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebuilt {
    /// The projection.
    pub name: String,
    /// Events of the log read.
    pub events: u64,
    /// Time taken, emptying the tables included.
    pub elapsed: Duration,
}

impl Rebuilt {
    /// Throughput of the rebuild.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Rebuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} events in {:.2} s ({:.0} events/s)",
            self.name,
            self.events,
            self.elapsed.as_secs_f64(),
            self.events_per_second()
        )
    }
}

/// The projection names `requested` selects (all when empty), in the projectors' order, or an
/// error listing the valid names.
pub fn select(requested: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let all: Vec<&'static str> = projectors::all().iter().map(|p| p.name()).collect();
    for name in requested {
        if !all.contains(&name.as_str()) {
            anyhow::bail!(
                "unknown projection {name:?}; valid names: {}",
                all.join(", ")
            );
        }
    }
    Ok(all
        .into_iter()
        .filter(|n| requested.is_empty() || requested.iter().any(|r| r == n))
        .collect())
}

/// Connects, migrates, takes the leases and rebuilds the selected projections one after the
/// other (each emptied, then caught up to the head of the log); releases the leases at the end,
/// also on failure. Ctrl-c or SIGTERM stops it (the read models are then partial: replay again).
pub async fn replay(
    settings: &Settings,
    options: &ReplayOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<Rebuilt>> {
    replay_until(settings, options, progress, crate::shutdown_signal()).await
}

/// [`replay`], stopped early when `interrupt` completes.
pub async fn replay_until(
    settings: &Settings,
    options: &ReplayOptions,
    progress: &mut dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> anyhow::Result<Vec<Rebuilt>> {
    let names = select(&options.projections)?;
    let store = connect_and_migrate(settings).await?;
    let keyring = KeyRing::new(&settings.master_key()?, store.clone());
    let projections =
        Projections::new(store, EventCodec::new(keyring)).context("opening the read models")?;
    let db = projections.db().clone();
    let owner = Owner::new("replay");
    take_leases(&db, &names, &owner, options.force).await?;

    let result = tokio::select! {
        rebuilt = rebuild(&projections, &names, progress) => rebuilt,
        lost = keep_leases(&db, &names, &owner) => Err(anyhow::Error::new(lost)
            .context("lost a projection lease during the rebuild; the read models are partial: replay again")),
        () = interrupt => Err(anyhow::anyhow!(
            "interrupted; the read models are partial: replay again")),
    };
    if let Err(e) = lease::release(&db, &names, &owner).await {
        tracing::warn!(error = %e, "releasing the projection leases failed; they go stale by themselves");
    }
    result
}

async fn take_leases(db: &Db, names: &[&str], owner: &Owner, force: bool) -> anyhow::Result<()> {
    if !force {
        return match lease::acquire(db, names, owner).await {
            Err(e @ LeaseError::Held(_)) => Err(anyhow::Error::new(e).context(
                "another process runs the projections: stop `pawpost serve` (or the other replay) \
                 first, or pass --force if it is on another host and gone",
            )),
            other => other.context("taking the projection leases"),
        };
    }
    let displaced = lease::take_over(db, names, owner)
        .await
        .context("taking the projection leases")?;
    for holder in &displaced {
        tracing::warn!(projection = %holder.name, holder = %holder.owner, "took over a fresh projection lease (--force)");
    }
    if !displaced.is_empty() {
        // A live holder notices at its next renewal and stops its projectors; give it that
        // long (and its last batch) before emptying the tables under it.
        tokio::time::sleep(HEARTBEAT * 2).await;
    }
    Ok(())
}

/// Renews the leases every heartbeat; returns only if another process took one over.
async fn keep_leases(db: &Db, names: &[&str], owner: &Owner) -> LeaseError {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        match lease::acquire(db, names, owner).await {
            Ok(()) => {}
            Err(e @ LeaseError::Held(_)) => return e,
            Err(e) => tracing::warn!(error = %e, "renewing the projection leases failed"),
        }
    }
}

async fn rebuild(
    projections: &Projections,
    names: &[&'static str],
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<Rebuilt>> {
    let total = count_events(projections.db()).await?;
    let mut out = Vec::with_capacity(names.len());
    for &name in names {
        progress.started(name, total);
        let start = Instant::now();
        projections
            .reset(name)
            .await
            .with_context(|| format!("emptying projection {name}"))?;
        let events = projections
            .catch_up(name, |done| progress.advanced(done))
            .await
            .with_context(|| format!("rebuilding projection {name}"))?;
        let rebuilt = Rebuilt {
            name: name.to_string(),
            events,
            elapsed: start.elapsed(),
        };
        tracing::info!(projection = name, events, elapsed = ?rebuilt.elapsed, "rebuilt");
        progress.finished(&rebuilt);
        out.push(rebuilt);
    }
    Ok(out)
}

/// The number of events in the log now (the progress bar's length).
async fn count_events(db: &Db) -> anyhow::Result<u64> {
    let mut tx = db.read().await.context("counting the events of the log")?;
    let n = match tx
        .query_opt("SELECT COUNT(*) FROM events", &[])
        .await
        .context("counting the events of the log")?
    {
        Some(row) => row.int(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn select_keeps_the_projectors_order_and_refuses_unknown_names() {
        assert_eq!(select(&[]).unwrap(), ["conversations", "messages", "users"]);
        let picked = select(&["users".into(), "conversations".into()]).unwrap();
        assert_eq!(picked, ["conversations", "users"]);
        let err = select(&["mesages".into()]).unwrap_err().to_string();
        assert!(err.contains("\"mesages\""), "{err}");
        assert!(err.contains("conversations, messages, users"), "{err}");
    }

    #[test]
    fn the_summary_line_names_count_time_and_rate() {
        let r = Rebuilt {
            name: "messages".into(),
            events: 1500,
            elapsed: Duration::from_millis(750),
        };
        assert_eq!(
            r.to_string(),
            "messages: 1500 events in 0.75 s (2000 events/s)"
        );
    }
}
