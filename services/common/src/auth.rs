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
    /// The login session the token was issued for, so that "this session" can be told from the
    /// user's others (e.g. a password change keeps it and ends the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Who is calling: set by the gateway from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
    /// The `sid` claim: the login session behind the token, when it came from one.
    pub session_id: Option<String>,
}

impl Principal {
    /// 403 unless the caller has `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role == role {
            Ok(())
        } else {
            let account = match role {
                Role::Worker => "a worker",
                Role::Employer => "an employer",
                Role::Admin => "an admin",
            };
            Err(ApiError::forbidden(format!("only {account} account may do this")))
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

/// A role as a type, for [`Authorized`].
pub trait RequiredRole: Send + Sync + 'static {
    const ROLE: Role;
}

/// The role types of [`Authorized`]: `Authorized<roles::Employer>`.
pub mod roles {
    use super::{RequiredRole, Role};

    pub struct Worker;
    pub struct Employer;
    pub struct Admin;

    impl RequiredRole for Worker {
        const ROLE: Role = Role::Worker;
    }
    impl RequiredRole for Employer {
        const ROLE: Role = Role::Employer;
    }
    impl RequiredRole for Admin {
        const ROLE: Role = Role::Admin;
    }
}

/// The caller, known to have role `R`: for endpoints only one role may call.
///
/// As an extractor it answers 401 without a token and 403 with another role before the body is
/// read, so a caller without the right is told so, not how its input would have fared.
pub struct Authorized<R>(pub Principal, std::marker::PhantomData<R>);

impl<R> std::ops::Deref for Authorized<R> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync, R: RequiredRole> FromRequestParts<S> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let principal = <Principal as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        principal.require(R::ROLE)?;
        Ok(Self(principal, std::marker::PhantomData))
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
        self.sign(user_id, role, None)
    }

    /// A signed access token for `user_id` in login session `session_id`.
    pub fn issue_for_session(&self, user_id: &str, role: Role, session_id: &str) -> (String, Claims) {
        self.sign(user_id, role, Some(session_id.to_owned()))
    }

    fn sign(&self, user_id: &str, role: Role, sid: Option<String>) -> (String, Claims) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: crate::events::new_id().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid,
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
            session_id: data.claims.sid,
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
                role: Role::Employer,
                session_id: None,
            }
        );
        let (token, _) = keys.issue_for_session("user-1", Role::Worker, "session-9");
        assert_eq!(keys.verify(&token).unwrap().session_id.as_deref(), Some("session-9"));

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
