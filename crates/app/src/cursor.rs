//! Opaque cursors: a position in the event log as clients see it (the sync feed, pushes,
//! 202 answers). Clients must not parse them; the encoding may change.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pawpost_store::Position;

/// The cursor of `position`.
pub fn encode(position: Position) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&position.commit.to_be_bytes());
    bytes[8..].copy_from_slice(&position.seq.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The position of a cursor; `None` if it is not one this server made.
pub fn decode(cursor: &str) -> Option<Position> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    let (commit, seq) = bytes.split_at(8);
    Some(Position {
        commit: u64::from_be_bytes(commit.try_into().ok()?),
        seq: u64::from_be_bytes(seq.try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(commit in any::<u64>(), seq in any::<u64>()) {
            let p = Position { commit, seq };
            prop_assert_eq!(decode(&encode(p)), Some(p));
        }

        #[test]
        fn garbage_is_refused_without_panicking(s in ".{0,40}") {
            if let Some(p) = decode(&s) {
                prop_assert_eq!(encode(p), s.trim());
            }
        }
    }
}
