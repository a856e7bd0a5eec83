//! Command ids derived from client-chosen keys (tempId, Idempotency-Key, token registration):
//! the same key gives the same id, so a retry is recognised and answered with the original.

use uuid::Uuid;

/// Namespace of derived command ids (never change it: stored events' ids derive from it).
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x5a1d_7e0c_3b8e_4f7a_9d2c_1e6b_8f40_a7c3);

/// A command id derived from `parts`.
pub fn derived(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&COMMAND_NAMESPACE, parts.join("\n").as_bytes())
}
