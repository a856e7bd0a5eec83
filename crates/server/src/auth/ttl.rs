//! Token lifetimes written the way people say them: `24h`, `90m`, `3600s`, `7d`, `1h 30m`.

use std::time::Duration;

/// A lifetime that is not a positive duration with units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ttl `{input}`: {reason} (examples: 24h, 90m, 3600s, 7d)")]
pub struct InvalidTtl {
    input: String,
    reason: String,
}

/// Parses a token lifetime. Units are required; zero is refused (the token would be born
/// expired); more than ten years is refused as a probable typo.
pub fn parse_ttl(input: &str) -> Result<Duration, InvalidTtl> {
    let invalid = |reason: String| InvalidTtl {
        input: input.to_owned(),
        reason,
    };
    let ttl = humantime::parse_duration(input.trim()).map_err(|e| invalid(e.to_string()))?;
    if ttl.is_zero() {
        return Err(invalid("must be longer than zero".into()));
    }
    if ttl > Duration::from_secs(10 * 366 * 24 * 3600) {
        return Err(invalid("must be at most ten years".into()));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_forms() {
        assert_eq!(parse_ttl("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_ttl("3600s"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_ttl("1h 30m"), Ok(Duration::from_secs(5_400)));
    }

    #[test]
    fn refuses_missing_units_zero_and_garbage() {
        for bad in ["3600", "0s", "", "soon", "-5m", "100y"] {
            assert!(parse_ttl(bad).is_err(), "{bad} was accepted");
        }
    }
}
