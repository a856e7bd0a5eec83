//! Bringing a cached aggregate up to date: from its snapshot on first use, then from the log.

use std::time::Instant;

use pawpost_codec::Reveal;
use pawpost_domain::Aggregate;
use pawpost_store::StoreError;

use super::cache::Entry;
use super::handler::{CommandError, CommandHandler};
use super::snapshots;

/// Events read per page when catching an aggregate up.
const PAGE: usize = 1000;

impl<A: Aggregate> CommandHandler<A> {
    /// Makes sure `entry` was read from the log once: from the stream's snapshot when there is
    /// a usable one, then the events after it.
    pub(crate) async fn ensure_loaded(
        &self,
        stream: &str,
        entry: &mut Entry<A>,
    ) -> Result<(), CommandError> {
        if entry.loaded {
            return Ok(());
        }
        if let Some(restored) = self.restore(stream).await? {
            entry.snapshot_version = restored.version();
            entry.state = restored;
        }
        self.catch_up(stream, entry).await?;
        entry.loaded = true;
        Ok(())
    }

    /// The state in the stream's snapshot, if one is stored in the current schema, decodes,
    /// and names a version the log holds.
    async fn restore(&self, stream: &str) -> Result<Option<A>, CommandError> {
        let Some(codec) = &self.snapshots else {
            return Ok(None);
        };
        let stored = match snapshots::load(&self.store.db(), stream, codec.schema).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Ok(None),
            Err(e) if e.is_unavailable() => {
                return Err(StoreError::Unavailable(e.to_string()).into())
            }
            Err(e) => {
                tracing::warn!(%stream, error = %e, "snapshot unreadable; folding the whole stream");
                return Ok(None);
            }
        };
        let Some(state) = (codec.decode)(&stored.data).filter(|s| s.version() == stored.version)
        else {
            tracing::warn!(%stream, "snapshot does not decode; folding the whole stream");
            return Ok(None);
        };
        // A database restored from an older backup may hold a snapshot ahead of its log.
        let at = self
            .store
            .read_stream(stream, stored.version.saturating_sub(1), 1)
            .await?;
        if at.first().map(|e| e.version) != Some(stored.version) {
            tracing::warn!(%stream, version = stored.version, "snapshot ahead of the log; ignored");
            return Ok(None);
        }
        Ok(Some(state))
    }

    /// Applies whatever the log holds beyond the cached version, then stores a snapshot if
    /// enough events were folded since the last one.
    pub(crate) async fn catch_up(
        &self,
        stream: &str,
        entry: &mut Entry<A>,
    ) -> Result<(), CommandError> {
        loop {
            let page = self
                .store
                .read_stream(stream, entry.state.version(), PAGE)
                .await?;
            for ev in &page {
                let event: A::Event = self.codec.decode(ev, Reveal::Nothing).await?;
                entry.state.evolve(ev.version, &event);
            }
            if page.len() < PAGE {
                break;
            }
        }
        entry.checked = Some(Instant::now());
        self.maybe_snapshot(stream, entry);
        Ok(())
    }

    /// Schedules a snapshot of `entry` when it is `every` events past the last one. In the
    /// background: a command never waits for it, and a failure only costs a longer cold load.
    pub(crate) fn maybe_snapshot(&self, stream: &str, entry: &mut Entry<A>) {
        let Some(codec) = &self.snapshots else {
            return;
        };
        let version = entry.state.version();
        if version < entry.snapshot_version + codec.every {
            return;
        }
        let Some(data) = (codec.encode)(&entry.state) else {
            return;
        };
        entry.snapshot_version = version;
        let (db, stream, schema) = (self.store.db(), stream.to_string(), codec.schema);
        tokio::spawn(async move {
            if let Err(e) = snapshots::save(&db, &stream, schema, version, data).await {
                tracing::debug!(%stream, error = %e, "snapshot not stored");
            }
        });
    }
}
