//! The run's access tokens, signed here with the server's HS256 secret, as the marketplace's
//! identity service would (the generator is a client: it shares no code with the server, only
//! the token format of README "Authentication": `sub`, `name`, `role`, `exp`, `iat`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// The file `pawpost serve` keeps its generated secret in, in its data directory.
const SECRET_FILE: &str = "jwt.secret";

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    name: &'a str,
    role: &'a str,
    exp: u64,
    iat: u64,
}

/// The secret: the one given, else the one a server generated in `data_dir`.
pub fn secret(given: Option<&str>, data_dir: &Path) -> anyhow::Result<SecretString> {
    if let Some(s) = given {
        anyhow::ensure!(!s.trim().is_empty(), "the token secret is empty");
        return Ok(SecretString::from(s.to_string()));
    }
    let file = data_dir.join(SECRET_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "no token secret: pass --jwt-secret (or PAWPOST_JWT_SECRET), or --data-dir of a \
             server that generated one ({} could not be read)",
            file.display()
        )
    })?;
    let text = text.trim();
    anyhow::ensure!(!text.is_empty(), "{} is empty", file.display());
    Ok(SecretString::from(text.to_string()))
}

/// A token for `sub` named `name` with marketplace role `role`, valid for `ttl`.
pub fn sign(
    secret: &SecretString,
    sub: &str,
    name: &str,
    role: &str,
    ttl: Duration,
) -> anyhow::Result<String> {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    let claims = Claims {
        sub,
        name,
        role,
        exp: iat + ttl.as_secs(),
        iat,
    };
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &key,
    )?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn a_signed_token_carries_the_claims_and_verifies_with_the_secret() {
        let secret = SecretString::from("s3cret".to_string());
        let token = sign(
            &secret,
            "lg-1",
            "Load user 1",
            "owner",
            Duration::from_secs(60),
        )
        .unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &DecodingKey::from_secret(b"s3cret"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(data.claims["sub"], "lg-1");
        assert_eq!(data.claims["name"], "Load user 1");
        assert_eq!(data.claims["role"], "owner");
        let (exp, iat) = (
            data.claims["exp"].as_u64().unwrap(),
            data.claims["iat"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 60);
    }

    #[test]
    fn the_secret_comes_from_the_argument_else_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(secret(None, dir.path()).is_err(), "no secret anywhere");
        std::fs::write(dir.path().join(SECRET_FILE), "from-file\n").unwrap();
        assert_eq!(
            secret(None, dir.path()).unwrap().expose_secret(),
            "from-file"
        );
        assert_eq!(
            secret(Some("given"), dir.path()).unwrap().expose_secret(),
            "given"
        );
        assert!(secret(Some("  "), dir.path()).is_err());
    }
}
