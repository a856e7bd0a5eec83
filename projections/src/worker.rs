//! A projector as a log worker: the runtime of `pawpost-workers` feeds it, and its batch and
//! checkpoint commit in one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use pawpost_codec::{CodecError, EventCodec};
use pawpost_store::{CryptoError, RecordedEvent};
use pawpost_workers::{Effects, LogWorker, WorkerError};

use crate::envelope::{decode_batch, Envelope};
use crate::projectors::Projector;

/// One projector, run by the worker runtime.
pub struct ProjectorWorker {
    projector: Arc<dyn Projector>,
    codec: EventCodec,
}

impl ProjectorWorker {
    /// `projector`, opening content with `codec`.
    pub fn new(projector: Arc<dyn Projector>, codec: EventCodec) -> Self {
        ProjectorWorker { projector, codec }
    }

    /// The projector.
    pub fn projector(&self) -> &Arc<dyn Projector> {
        &self.projector
    }
}

/// A decoding failure: transient when the key table could not be read, about the event
/// otherwise (malformed payload, altered ciphertext).
pub fn codec_error(e: CodecError) -> WorkerError {
    match &e {
        CodecError::Crypto(CryptoError::Store(s)) if s.is_unavailable() => {
            WorkerError::transient(e)
        }
        _ => WorkerError::permanent(e),
    }
}

#[async_trait]
impl LogWorker for ProjectorWorker {
    type Batch = Vec<Envelope>;

    fn name(&self) -> &'static str {
        self.projector.name()
    }

    fn wants(&self, stream: &str, event_type: &str) -> bool {
        self.projector.wants(stream, event_type)
    }

    async fn prepare(&self, events: &[&RecordedEvent]) -> Result<Vec<Envelope>, WorkerError> {
        decode_batch(&self.codec, events, self.projector.reveal())
            .await
            .map_err(codec_error)
    }

    async fn apply(&self, effects: &mut Effects, batch: Vec<Envelope>) -> Result<(), WorkerError> {
        // Events at or before the checkpoint were applied already (a batch seen twice).
        let applied = effects.applied().await?;
        let at_head = effects.at_head();
        let fresh: Vec<&Envelope> = batch.iter().filter(|e| e.position > applied).collect();
        let tx = effects.tx().await?;
        self.projector.apply_batch(tx, &fresh).await?;
        if at_head {
            self.projector.on_caught_up(tx).await?;
        }
        Ok(())
    }
}
