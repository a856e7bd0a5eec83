//! Forgettable payloads: sealing, erasure by key destruction, tamper refusal, no key in logs.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use pawpost_store::{CryptoError, EventStore, KeyRing, MasterKey};

async fn ring(store: Arc<dyn EventStore>) -> (KeyRing, String) {
    let master = MasterKey::generate();
    let b64 = master.to_base64();
    (KeyRing::new(&master, store), b64)
}

async fn content_round_trips_and_key_is_per_subject(store: Arc<dyn EventStore>) {
    let (ring, _) = ring(store.clone()).await;
    let a = ring
        .seal("msg-1", "Is Rex ready for pick-up? 🐶")
        .await
        .unwrap();
    let b = ring
        .seal("msg-1", "Is Rex ready for pick-up? 🐶")
        .await
        .unwrap();
    assert_ne!(a, b, "a fresh nonce per seal");
    assert!(!a.contains("Rex"));
    assert_eq!(
        ring.open("msg-1", &a).await.unwrap().as_deref(),
        Some("Is Rex ready for pick-up? 🐶")
    );
    // The data key is stored wrapped, never in clear.
    let wrapped = store.get_key("msg-1").await.unwrap().unwrap();
    assert_eq!(wrapped.len(), 12 + 32 + 16);
    // A second key ring with the same master key (another node, a restart) reads it too.
    let other = MasterKey::from_base64(&MasterKey::generate().to_base64()).unwrap();
    let wrong_master = KeyRing::new(&other, store.clone());
    assert!(matches!(
        wrong_master.open("msg-1", &a).await,
        Err(CryptoError::Tampered)
    ));
}

async fn destroyed_key_reads_as_erased(store: Arc<dyn EventStore>) {
    let (ring, _) = ring(store.clone()).await;
    let sealed = ring
        .seal("msg-2", "my address is 12 Bark St")
        .await
        .unwrap();
    let kept = ring.seal("msg-3", "see you at 5").await.unwrap();
    assert!(ring.destroy("msg-2").await.unwrap());
    assert_eq!(ring.open("msg-2", &sealed).await.unwrap(), None);
    assert_eq!(
        ring.open("msg-3", &kept).await.unwrap().as_deref(),
        Some("see you at 5")
    );
    assert_eq!(store.get_key("msg-2").await.unwrap(), None);
}

async fn tampered_ciphertext_is_refused(store: Arc<dyn EventStore>) {
    let (ring, _) = ring(store).await;
    let sealed = ring.seal("msg-4", "hello").await.unwrap();
    // Flip one character of the base64 body.
    let mut chars: Vec<char> = sealed.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert!(matches!(
        ring.open("msg-4", &tampered).await,
        Err(CryptoError::Tampered)
    ));
    // Moved to another subject: refused (the key id is bound as associated data).
    ring.seal("msg-5", "x").await.unwrap();
    assert!(matches!(
        ring.open("msg-5", &sealed).await,
        Err(CryptoError::Tampered)
    ));
    for garbage in ["", "v1:", "v1:!!!", "v2:AAAA", "v1:AAAA"] {
        assert!(matches!(
            ring.open("msg-4", garbage).await,
            Err(CryptoError::Malformed)
        ));
    }
    assert!(matches!(
        MasterKey::from_base64("c2hvcnQ="),
        Err(CryptoError::BadMasterKey)
    ));
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn master_key_never_reaches_logs(store: Arc<dyn EventStore>) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (ring, b64) = ring(store).await;
    let sealed = ring.seal("msg-6", "secret plans").await.unwrap();
    ring.open("msg-6", &sealed).await.unwrap();
    let _ = ring
        .open("msg-6", "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    ring.destroy("msg-6").await.unwrap();
    let master = MasterKey::from_base64(&b64).unwrap();
    tracing::info!(?master, ?ring, "key ring in use");
    let debug = format!("{master:?} {ring:?}");
    assert_eq!(debug, "MasterKey(***) KeyRing(***)");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("key ring in use"), "logging was captured");
    assert!(!logs.contains(&b64));
    assert!(!logs.contains("secret plans"));
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test]
            async fn $name() {
                let (_dir, store) = pawpost_store::testing::sqlite().await;
                super::$name(store).await;
            }
        )* }
        mod postgres { $(
            #[tokio::test]
            async fn $name() {
                let store = pawpost_store::testing::postgres().await;
                super::$name(store).await;
            }
        )* }
    };
}

both!(
    content_round_trips_and_key_is_per_subject,
    destroyed_key_reads_as_erased,
    tampered_ciphertext_is_refused,
    master_key_never_reaches_logs,
);
