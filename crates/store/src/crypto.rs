//! Forgettable payloads (DESIGN.md §3): personal content is sealed under a per-subject data key
//! (AES-256-GCM); data keys are stored wrapped by the master key in the store's key table.
//! Destroying a data key makes every event sealed under it read as erased, while the log itself
//! stays immutable.

use std::fmt;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hashlink::LruCache;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::{EventStore, StoreError};

const NONCE_LEN: usize = 12;
const SEALED_PREFIX: &str = "v1:";
/// Unwrapped data keys kept in memory (about a kilobyte each), least recently used dropped
/// first: more than a catch-up batch's keys (so a rebuild's preload stays cached while its
/// batch is opened), and a bounded memory whatever the number of messages.
const CACHE_LIMIT: usize = 16_384;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The ciphertext (or a wrapped key) does not authenticate: it was altered or belongs to
    /// another key.
    #[error("ciphertext failed authentication")]
    Tampered,
    /// The sealed text is not in the expected format.
    #[error("malformed sealed text")]
    Malformed,
    /// The master key setting is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn nonce_of(bytes: &[u8]) -> Result<Nonce<aes_gcm::aead::consts::U12>, CryptoError> {
    let arr: [u8; NONCE_LEN] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
    Ok(Nonce::from(arr))
}

/// The key that wraps every data key. Never printed: `Debug` shows `MasterKey(***)`.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(SecretBox::new(Box::new(bytes)))
    }

    /// Parses the base64 form used in settings and in the dev key file.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let raw = B64
            .decode(s.trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A fresh random key (dev mode generates one once into the data dir).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// The base64 form, for writing the dev key file. Handle the result as a secret.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.expose_secret())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.0.expose_secret()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

/// Seals and opens personal content under per-subject data keys kept in the store.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

struct Inner {
    master: Aes256Gcm,
    store: Arc<dyn EventStore>,
    cache: Mutex<LruCache<String, Arc<Aes256Gcm>>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRing(***)")
    }
}

impl KeyRing {
    /// A key ring over `store`'s key table, wrapping data keys with `master`.
    pub fn new(master: &MasterKey, store: Arc<dyn EventStore>) -> Self {
        KeyRing {
            inner: Arc::new(Inner {
                master: master.cipher(),
                store,
                cache: Mutex::new(LruCache::new(CACHE_LIMIT)),
            }),
        }
    }

    /// Encrypts `plaintext` under the data key `key_id`, creating the key on first use.
    /// The key id is bound as associated data, so a ciphertext moved to another subject fails.
    pub async fn seal(&self, key_id: &str, plaintext: &str) -> Result<String, CryptoError> {
        // Not cached: create it, or take the stored one if it exists (an edit of an older
        // message) — `create_key` stores only if absent and returns what is stored, so one
        // round trip serves both (a look-up first would cost every new message two).
        let cached = self.lock_cache().get(key_id).cloned();
        let cipher = match cached {
            Some(c) => c,
            None => self.create_key(key_id).await?,
        };
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
    }

    /// Decrypts a sealed text. `Ok(None)` means the data key was destroyed: the content is erased.
    pub async fn open(&self, key_id: &str, sealed: &str) -> Result<Option<String>, CryptoError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .ok_or(CryptoError::Malformed)?;
        if raw.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let Some(cipher) = self.data_key(key_id).await? else {
            return Ok(None);
        };
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let pt = cipher
            .decrypt(
                &nonce_of(nonce)?,
                Payload {
                    msg: ct,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(pt)
            .map(Some)
            .map_err(|_| CryptoError::Malformed)
    }

    /// Loads the data keys of `key_ids` that are not cached yet, in one store round trip: a
    /// batch of events opens without one look-up per message.
    pub async fn preload(&self, key_ids: &[String]) -> Result<(), CryptoError> {
        let missing = self.uncached(key_ids);
        if missing.is_empty() {
            return Ok(());
        }
        for (id, wrapped) in self.inner.store.get_keys(&missing).await? {
            self.remember(&id, &wrapped)?;
        }
        Ok(())
    }

    /// Makes sure the data keys `key_ids` exist and are cached, creating the missing ones in
    /// one store round trip (the keys of a group of new messages: one write, not one each).
    /// A key stored already (another writer created it first) is taken as stored.
    pub async fn create(&self, key_ids: &[String]) -> Result<(), CryptoError> {
        let missing = self.uncached(key_ids);
        if missing.is_empty() {
            return Ok(());
        }
        let mut fresh = Vec::with_capacity(missing.len());
        for id in missing {
            let wrapped = self.wrap_new(&id)?;
            fresh.push((id, wrapped));
        }
        for (id, wrapped) in self.inner.store.put_keys_if_absent(&fresh).await? {
            self.remember(&id, &wrapped)?;
        }
        Ok(())
    }

    /// Destroys the data key `key_id`: its content becomes unreadable everywhere.
    pub async fn destroy(&self, key_id: &str) -> Result<bool, CryptoError> {
        self.lock_cache().remove(key_id);
        Ok(self.inner.store.destroy_key(key_id).await?)
    }

    /// The ids of `key_ids` whose keys are not cached, each once.
    fn uncached(&self, key_ids: &[String]) -> Vec<String> {
        let cache = self.lock_cache();
        let mut seen = std::collections::HashSet::new();
        key_ids
            .iter()
            .filter(|id| !cache.contains_key(*id) && seen.insert(id.as_str()))
            .cloned()
            .collect()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<Aes256Gcm>>> {
        // A poisoned cache only means a panic elsewhere while inserting: the map is still valid.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn data_key(&self, key_id: &str) -> Result<Option<Arc<Aes256Gcm>>, CryptoError> {
        if let Some(c) = self.lock_cache().get(key_id) {
            return Ok(Some(c.clone()));
        }
        match self.inner.store.get_key(key_id).await? {
            Some(wrapped) => Ok(Some(self.remember(key_id, &wrapped)?)),
            None => Ok(None),
        }
    }

    async fn create_key(&self, key_id: &str) -> Result<Arc<Aes256Gcm>, CryptoError> {
        let wrapped = self.wrap_new(key_id)?;
        // Another writer may have created it first: use whichever is stored.
        let stored = self.inner.store.put_key_if_absent(key_id, &wrapped).await?;
        self.remember(key_id, &stored)
    }

    /// A new random data key for `key_id`, wrapped with the master key.
    fn wrap_new(&self, key_id: &str) -> Result<Vec<u8>, CryptoError> {
        let mut dek = [0u8; 32];
        OsRng.fill_bytes(&mut dek);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let wrapped_ct = self
            .inner
            .master
            .encrypt(
                &nonce,
                Payload {
                    msg: &dek,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&wrapped_ct);
        Ok(wrapped)
    }

    fn remember(&self, key_id: &str, wrapped: &[u8]) -> Result<Arc<Aes256Gcm>, CryptoError> {
        if wrapped.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let dek = self
            .inner
            .master
            .decrypt(
                &nonce_of(nonce)?,
                Payload {
                    msg: ct,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let cipher = Arc::new(Aes256Gcm::new_from_slice(&dek).map_err(|_| CryptoError::Malformed)?);
        self.lock_cache().insert(key_id.to_string(), cipher.clone());
        Ok(cipher)
    }
}
