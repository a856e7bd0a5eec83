//! Access tokens: HS256 signed with the configured secret; RS256 accepted for verification when
//! a public key is configured (tokens minted by an external identity provider).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::Role;

/// Seconds of clock skew tolerated when checking `exp`.
const LEEWAY_SECS: u64 = 30;

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The display name.
    pub name: String,
    /// The marketplace role.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
}

impl Claims {
    /// Claims issued now that expire after `ttl`.
    pub fn new(sub: impl Into<String>, name: impl Into<String>, role: Role, ttl: Duration) -> Self {
        let iat = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            sub: sub.into(),
            name: name.into(),
            role,
            exp: iat.saturating_add(ttl),
            iat,
        }
    }
}

/// Why a token was refused or could not be made. The messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token is past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// The signature does not match any configured key.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// The token is signed with an algorithm this server does not accept.
    #[error("tokens signed with {0} are not accepted")]
    UnsupportedAlgorithm(String),
    /// The token is not a well-formed JWT or its claims are missing or of the wrong type.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// Claims to be issued are unusable (empty `sub` or `name`).
    #[error("invalid claims: {0}")]
    InvalidClaims(&'static str),
    /// A configured key cannot be used (bad PEM, empty secret).
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::InvalidSignature,
            ErrorKind::InvalidAlgorithm => AuthError::UnsupportedAlgorithm("this algorithm".into()),
            _ => AuthError::Malformed(e.to_string()),
        }
    }
}

/// The keys tokens are signed and verified with, built once at start-up and shared.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    hs256: DecodingKey,
    rs256: Option<DecodingKey>,
}

impl JwtKeys {
    /// Keys from the HS256 `secret` and, optionally, an RS256 public key in PEM.
    pub fn new(secret: &SecretString, rs256_public_pem: Option<&str>) -> Result<Self, AuthError> {
        let secret = secret.expose_secret().as_bytes();
        if secret.is_empty() {
            return Err(AuthError::InvalidKey("the HS256 secret is empty".into()));
        }
        let rs256 = rs256_public_pem
            .map(|pem| {
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| AuthError::InvalidKey(format!("RS256 public key: {e}")))
            })
            .transpose()?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            hs256: DecodingKey::from_secret(secret),
            rs256,
        })
    }

    /// Keys from the configured settings.
    pub fn from_settings(settings: &crate::Settings) -> Result<Self, AuthError> {
        let secret = settings
            .jwt_secret()
            .map_err(|e| AuthError::InvalidKey(e.to_string()))?;
        Self::new(secret, settings.jwt_public_key_pem.as_deref())
    }

    /// Signs `claims` with HS256 as they are (tests use this for expired tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        if claims.sub.trim().is_empty() {
            return Err(AuthError::InvalidClaims("sub must not be empty"));
        }
        if claims.name.trim().is_empty() {
            return Err(AuthError::InvalidClaims("name must not be empty"));
        }
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// A token for `sub` valid for `ttl` from now.
    pub fn issue(
        &self,
        sub: &str,
        name: &str,
        role: Role,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        self.sign(&Claims::new(sub, name, role, ttl))
    }

    /// Checks the signature (HS256 with the secret, or RS256 with the public key if one is
    /// configured) and the expiry, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token)?;
        let key = match (header.alg, &self.rs256) {
            (Algorithm::HS256, _) => &self.hs256,
            (Algorithm::RS256, Some(key)) => key,
            (alg, _) => return Err(AuthError::UnsupportedAlgorithm(format!("{alg:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)?;
        Ok(data.claims)
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("hs256", &"***")
            .field("rs256", &self.rs256.is_some())
            .finish()
    }
}

/// Signs a token with the HS256 `secret`: what `pawpost token` prints.
pub fn issue_token(
    secret: &SecretString,
    sub: &str,
    name: &str,
    role: Role,
    ttl: Duration,
) -> Result<String, AuthError> {
    JwtKeys::new(secret, None)?.issue(sub, name, role, ttl)
}

#[cfg(test)]
mod tests;
