//! Access tokens and the authenticated principal.
//!
//! The user service issues access tokens with [`JwtKeys::issue`]; the gateway verifies them once
//! per request with [`JwtKeys::verify`] and hands the [`Principal`] to handlers through the
//! request's extensions. Authorization (who may do what) stays with the service that owns the
//! resource.

use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Worker,
    Employer,
    Admin,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
}

/// Who is calling: set by the gateway from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
}

impl Principal {
    /// 403 unless the caller has `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role == role {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                format!("only a {role:?} account may do this").to_lowercase(),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("unauthorized", "this endpoint needs a bearer access token"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

/// The HMAC key and the rules every access token follows.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed access token for `user_id`, with its claims.
    pub fn issue(&self, user_id: &str, role: Role) -> (String, Claims) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: crate::events::new_id().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        // HS256 signing of a serde struct has no failure path.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        (token, claims)
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        Ok(Principal {
            user_id: data.claims.sub,
            role: data.claims.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_the_same_key_issuer_and_audience() {
        let keys = JwtKeys::new(
            b"a-secret-of-enough-length-for-hs256",
            "onetime",
            "onetime",
            Duration::from_secs(60),
        );
        let (token, claims) = keys.issue("user-1", Role::Employer);
        assert_eq!(claims.sub, "user-1");
        assert_eq!(
            keys.verify(&token).unwrap(),
            Principal {
                user_id: "user-1".into(),
                role: Role::Employer
            }
        );

        let other_key = JwtKeys::new(
            b"another-secret-of-enough-length!!",
            "onetime",
            "onetime",
            Duration::from_secs(60),
        );
        assert!(matches!(other_key.verify(&token), Err(TokenError::Invalid)));
        let other_audience = JwtKeys::new(
            b"a-secret-of-enough-length-for-hs256",
            "onetime",
            "elsewhere",
            Duration::from_secs(60),
        );
        assert!(other_audience.verify(&token).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn expired_tokens_say_so() {
        let keys = JwtKeys::new(
            b"a-secret-of-enough-length-for-hs256",
            "onetime",
            "onetime",
            Duration::ZERO,
        );
        let mut claims = keys.issue("u", Role::Worker).1;
        claims.exp -= 60;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert!(matches!(keys.verify(&token), Err(TokenError::Expired)));
    }
}
