#![allow(clippy::unwrap_used)]

use super::*;

fn keys(secret: &str) -> JwtKeys {
    JwtKeys::new(&SecretString::from(secret.to_owned()), None).unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn issued_token_round_trips() {
    let secret = SecretString::from("s3cret-for-tests".to_owned());
    let token = issue_token(&secret, "alice", "Alice", Role::Owner, HOUR).unwrap();
    let claims = keys("s3cret-for-tests").verify(&token).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.name, "Alice");
    assert_eq!(claims.role, Role::Owner);
    assert_eq!(claims.exp - claims.iat, 3600);
    let now = chrono::Utc::now().timestamp();
    assert!(
        (claims.iat - now).abs() <= 5,
        "iat {} is not now {now}",
        claims.iat
    );
}

#[test]
fn expired_token_is_refused() {
    let keys = keys("s3cret-for-tests");
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: "bob".into(),
        name: "Bob".into(),
        role: Role::Provider,
        exp: now - 3600,
        iat: now - 7200,
    };
    let token = keys.sign(&claims).unwrap();
    assert_eq!(keys.verify(&token), Err(AuthError::Expired));
}

#[test]
fn token_signed_with_another_secret_is_refused() {
    let token = keys("one-secret")
        .issue("alice", "Alice", Role::Admin, HOUR)
        .unwrap();
    assert_eq!(
        keys("another-secret").verify(&token),
        Err(AuthError::InvalidSignature)
    );
}

#[test]
fn tampered_claims_are_refused() {
    let keys = keys("s3cret-for-tests");
    let token = keys.issue("alice", "Alice", Role::Owner, HOUR).unwrap();
    let forged = keys.issue("alice", "Alice", Role::Admin, HOUR).unwrap();
    // Header and signature of the first token with the payload of the second.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = forged.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(keys.verify(&spliced), Err(AuthError::InvalidSignature));
}

#[test]
fn garbage_and_unsigned_tokens_are_refused() {
    let keys = keys("s3cret-for-tests");
    assert!(matches!(
        keys.verify("not-a-jwt"),
        Err(AuthError::Malformed(_))
    ));
    // alg "none": header {"alg":"none","typ":"JWT"}.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0.";
    assert!(keys.verify(none).is_err());
}

#[test]
fn rs256_is_refused_without_a_public_key() {
    // Header {"alg":"RS256","typ":"JWT"}; the rest does not matter.
    let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln";
    assert!(matches!(
        keys("s3cret-for-tests").verify(token),
        Err(AuthError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn empty_subject_or_secret_is_refused() {
    let keys = keys("s3cret-for-tests");
    assert!(matches!(
        keys.issue(" ", "Alice", Role::Owner, HOUR),
        Err(AuthError::InvalidClaims(_))
    ));
    assert!(JwtKeys::new(&SecretString::from(String::new()), None).is_err());
    assert!(JwtKeys::new(&SecretString::from("x".to_owned()), Some("not a pem")).is_err());
}

#[test]
fn debug_hides_the_secret() {
    let debug = format!("{:?}", keys("very-secret-value"));
    assert!(!debug.contains("very-secret-value"), "{debug}");
}

/// A throwaway RSA key pair made for this test only (`openssl genrsa 2048`).
const TEST_RSA_PRIVATE: &str = include_str!("testdata/rs256-test-only.key");
const TEST_RSA_PUBLIC: &str = include_str!("testdata/rs256-test-only.pub");

#[test]
fn rs256_tokens_verify_with_the_configured_public_key() {
    let keys = JwtKeys::new(
        &SecretString::from("s3cret-for-tests".to_owned()),
        Some(TEST_RSA_PUBLIC),
    )
    .unwrap();
    let claims = Claims::new("carol", "Carol", Role::Provider, HOUR);
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(keys.verify(&token).unwrap(), claims);
    // HS256 tokens still verify alongside.
    let secret = SecretString::from("s3cret-for-tests".to_owned());
    let hs = issue_token(&secret, "alice", "Alice", Role::Owner, HOUR).unwrap();
    assert_eq!(keys.verify(&hs).unwrap().sub, "alice");
    // A changed payload under the RS256 signature is refused.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &Claims::new("mallory", "Mallory", Role::Admin, HOUR),
        &EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let spliced = format!(
        "{}.{}.{}",
        parts[0],
        forged.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(keys.verify(&spliced), Err(AuthError::InvalidSignature));
}
