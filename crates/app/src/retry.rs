//! Retrying work the database could not take for a moment (a pool saturated by a burst of hub
//! connections, a restart): only reads and idempotent commands go through here.

use std::future::Future;
use std::time::Duration;

use crate::{AppResult, ErrorKind};

/// Tries while the database is unavailable.
const ATTEMPTS: u32 = 8;
/// The first pause between tries; doubled each time (≈ 13 s in all).
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// Runs `attempt` until it succeeds, fails for another reason, or [`ATTEMPTS`] tries found the
/// database unavailable.
pub(crate) async fn while_unavailable<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let mut pause = FIRST_PAUSE;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if e.kind == ErrorKind::Unavailable && tries < ATTEMPTS => {
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}
