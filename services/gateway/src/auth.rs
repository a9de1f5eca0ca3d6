//! JWT verification: the one place access tokens are checked.
//!
//! A request without a token passes through anonymous (routes that need a principal refuse it
//! themselves); a request with a bad or expired token is refused with 401.

use axum::extract::Request;
use http::header;
use onetime_common::ApiError;
use onetime_common::auth::{JwtKeys, Principal, TokenError};

use crate::connections;

/// The principal a request's token names: `None` without a token, an error for a bad one.
pub fn principal_of(keys: &JwtKeys, request: &Request) -> Result<Option<Principal>, ApiError> {
    let Some(token) = token_of(request)? else {
        return Ok(None);
    };
    match keys.verify(&token) {
        Ok(principal) => Ok(Some(principal)),
        Err(TokenError::Expired) => Err(ApiError::unauthorized(
            "token_expired",
            "the access token has expired; refresh it",
        )),
        Err(TokenError::Invalid) => Err(ApiError::unauthorized("invalid_token", "the access token is not valid")),
    }
}

/// The bearer token of `Authorization`, or for WebSocket upgrades (browsers cannot set headers
/// there) the `token` query parameter.
fn token_of(request: &Request) -> Result<Option<String>, ApiError> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        return match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Ok(Some(token.trim().to_owned()))
            }
            _ => Err(ApiError::unauthorized(
                "invalid_token",
                "expected `Authorization: Bearer <access token>`",
            )),
        };
    }
    if !connections::is_websocket_upgrade(request) {
        return Ok(None);
    }
    let token = form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned());
    Ok(token)
}
