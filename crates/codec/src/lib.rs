//! The bridge between typed domain events and the store's opaque envelopes.
//!
//! * [`EventCodec::encode`] seals every personal field of an event (DESIGN.md §3) under its
//!   subject's data key and serializes it into a [`NewEvent`]; the command side calls it before
//!   appending.
//! * [`EventCodec::decode`] reads a stored event back; with [`Reveal::Content`] personal fields
//!   are opened (a destroyed key reads as [`PersonalText::Erased`]; a tampered ciphertext is an
//!   error), with [`Reveal::Nothing`] they stay sealed, which is all an aggregate needs.
//!
//! Projections, the live dispatcher and the command handler all go through this one codec, so
//! upcasters for older schema versions will live here too.

use pawpost_domain::{EventType, PersonalData, PersonalText};
use pawpost_store::{CryptoError, KeyRing, Metadata, NewEvent, RecordedEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// Why an event could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("event payload: {0}")]
    Json(#[from] serde_json::Error),
    #[error("personal content: {0}")]
    Crypto(#[from] CryptoError),
    /// A personal field was not in the state the operation needs (e.g. sealing sealed text).
    #[error("personal field is {0}")]
    Field(&'static str),
}

/// Whether decoding opens personal content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Decrypt personal fields (rendering, projections, pushes).
    Content,
    /// Leave them sealed (aggregate state, audits that need no content).
    Nothing,
}

/// Encodes and decodes events of one domain type, sealing personal content with a key ring.
#[derive(Clone, Debug)]
pub struct EventCodec {
    keys: KeyRing,
}

impl EventCodec {
    /// A codec using `keys` for personal content.
    pub fn new(keys: KeyRing) -> Self {
        EventCodec { keys }
    }

    /// The key ring (erasure destroys keys through it).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Seals the event's personal fields and serializes it into an append-ready envelope.
    pub async fn encode<E>(
        &self,
        event_id: Uuid,
        mut event: E,
        metadata: Metadata,
    ) -> Result<NewEvent, CodecError>
    where
        E: Serialize + PersonalData + EventType,
    {
        if let Some((key_id, fields)) = event.personal_fields() {
            for field in fields {
                let sealed = match &*field {
                    PersonalText::Clear(text) => self.keys.seal(&key_id, text).await?,
                    PersonalText::Sealed(_) => return Err(CodecError::Field("already sealed")),
                    PersonalText::Erased => return Err(CodecError::Field("erased")),
                };
                *field = PersonalText::Sealed(sealed);
            }
        }
        let event_type = event.event_type();
        let schema_version = event.schema_version();
        Ok(NewEvent::json(
            event_id,
            event_type,
            schema_version,
            &event,
            metadata,
        )?)
    }

    /// Creates the data keys that sealing `events` will need, in one store round trip (a
    /// group of new messages: one write for their keys, not one each).
    pub async fn create_keys<E: PersonalData>(&self, events: &mut [E]) -> Result<(), CodecError> {
        let mut ids = Vec::new();
        for e in events.iter_mut() {
            if let Some((key_id, fields)) = e.personal_fields() {
                if fields
                    .iter()
                    .any(|f| matches!(&**f, PersonalText::Clear(_)))
                {
                    ids.push(key_id);
                }
            }
        }
        self.keys.create(&ids).await?;
        Ok(())
    }

    /// Deserializes a stored event, opening its personal fields if `reveal` says so.
    pub async fn decode<E>(&self, stored: &RecordedEvent, reveal: Reveal) -> Result<E, CodecError>
    where
        E: DeserializeOwned + PersonalData,
    {
        let mut event: E = stored.decode()?;
        if reveal == Reveal::Content {
            self.open(&mut event).await?;
        }
        Ok(event)
    }

    /// Decodes a batch of stored events; with [`Reveal::Content`] the data keys of the whole
    /// batch are loaded in one round trip first.
    pub async fn decode_batch<E>(
        &self,
        stored: &[&RecordedEvent],
        reveal: Reveal,
    ) -> Result<Vec<E>, CodecError>
    where
        E: DeserializeOwned + PersonalData,
    {
        let mut events: Vec<E> = stored
            .iter()
            .map(|s| s.decode())
            .collect::<Result<_, _>>()?;
        if reveal == Reveal::Content {
            let mut ids = Vec::new();
            for e in events.iter_mut() {
                if let Some((key_id, fields)) = e.personal_fields() {
                    if fields.iter().any(|f| matches!(f, PersonalText::Sealed(_))) {
                        ids.push(key_id);
                    }
                }
            }
            self.keys.preload(&ids).await?;
            for e in events.iter_mut() {
                self.open(e).await?;
            }
        }
        Ok(events)
    }

    /// Opens the sealed personal fields of an event in place.
    pub async fn open<E: PersonalData>(&self, event: &mut E) -> Result<(), CodecError> {
        if let Some((key_id, fields)) = event.personal_fields() {
            for field in fields {
                if let PersonalText::Sealed(sealed) = &*field {
                    *field = match self.keys.open(&key_id, sealed).await? {
                        Some(text) => PersonalText::Clear(text),
                        None => PersonalText::Erased,
                    };
                }
            }
        }
        Ok(())
    }
}
