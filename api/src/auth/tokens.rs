//! Short-lived JWT access tokens (HS256 only) and opaque refresh tokens.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const ISSUER: &str = "cin-catalogue";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Sign-in session; logging out revokes it and every token of it.
    pub sid: String,
    pub role: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// What a confirmation link in a reminder carries. Its audience keeps it
/// from being taken for an access token, and the reverse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmationClaims {
    /// Registry id.
    pub sub: String,
    /// The holder the reminder went to.
    pub uid: String,
    /// The start of the cycle the link confirms (seconds): once the registry
    /// is confirmed, a new cycle starts and the link no longer matches, which
    /// makes it single-use without storing it.
    pub cyc: i64,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

const CONFIRMATION_AUDIENCE: &str = "registry-confirmation";

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        role: &str,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        self.issue_for(user_id, session_id, role, now, self.access_ttl)
    }

    /// A token that lives `ttl`: the pages' session cookie outlives an API
    /// access token, since a browser has no refresh flow.
    pub fn issue_for(
        &self,
        user_id: &str,
        session_id: &str,
        role: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> (String, DateTime<Utc>) {
        let expires = now + ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            role: role.to_string(),
            iss: ISSUER.to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an HMAC key cannot fail");
        (token, expires)
    }

    /// Checks signature, algorithm and issuer; expiry is checked against our
    /// clock rather than the system's, so it is testable.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

impl TokenKeys {
    pub fn issue_confirmation(
        &self,
        registry_id: &str,
        holder_id: &str,
        cycle_start: DateTime<Utc>,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> String {
        let claims = ConfirmationClaims {
            sub: registry_id.to_string(),
            uid: holder_id.to_string(),
            cyc: cycle_start.timestamp(),
            aud: CONFIRMATION_AUDIENCE.to_string(),
            iss: ISSUER.to_string(),
            iat: now.timestamp(),
            exp: (now + valid_for).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an HMAC key cannot fail")
    }

    /// Checks a confirmation link's signature, audience and expiry (against our clock).
    pub fn verify_confirmation(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ConfirmationClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[CONFIRMATION_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let data = jsonwebtoken::decode::<ConfirmationClaims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

/// A new refresh token and the hash under which it is stored; the token
/// itself is never stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random secret for signing, as hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test secret", Duration::minutes(15), Duration::days(30))
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let now = Utc::now();
        let (token, _) = keys().issue("u1", "s1", "holder", now);
        let claims = keys().verify(&token, now).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
        assert_eq!(
            keys()
                .verify(&token, now + Duration::minutes(15))
                .unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn other_secrets_and_algorithms_are_rejected() {
        let now = Utc::now();
        let other = TokenKeys::new(b"other", Duration::minutes(15), Duration::days(1));
        let (token, _) = other.issue("u1", "s1", "admin", now);
        assert_eq!(keys().verify(&token, now).unwrap_err(), TokenError::Invalid);
        let claims = keys()
            .verify(&keys().issue("u1", "s1", "admin", now).0, now)
            .unwrap();
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"test secret"),
        )
        .unwrap();
        assert_eq!(keys().verify(&hs512, now).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn confirmation_links_and_access_tokens_are_not_interchangeable() {
        let now = Utc::now();
        let link = keys().issue_confirmation("r1", "u1", now, now, Duration::days(30));
        let claims = keys().verify_confirmation(&link, now).unwrap();
        assert_eq!((claims.sub.as_str(), claims.cyc), ("r1", now.timestamp()));
        assert_eq!(keys().verify(&link, now).unwrap_err(), TokenError::Invalid);
        let (access, _) = keys().issue("u1", "s1", "holder", now);
        assert_eq!(
            keys().verify_confirmation(&access, now).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            keys()
                .verify_confirmation(&link, now + Duration::days(30))
                .unwrap_err(),
            TokenError::Expired
        );
    }
}
