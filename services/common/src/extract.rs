//! Request extractors whose rejections are problem+json, with the offending field named; and
//! the client's address as the gateway established it.
//!
//! axum's own `Json` and `Query` answer bad input with plain text; clients of this API expect
//! every error in one shape, so services use these instead.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body. Malformed JSON is 400 `malformed_json`; well-formed JSON of the wrong shape
/// (missing field, wrong type) is 422 `validation_failed` naming the field. As an answer it is
/// axum's, so handlers use this one type both ways.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    "payload_too_large",
                    "the request body is larger than this server accepts",
                )
            } else {
                ApiError::bad_request("unreadable_body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON document, mapping failures as [`Json`] describes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, shape second: in a single pass serde_json reports some wrong shapes (a
    // number where an enum's name belongs) as syntax errors, which would make them 400s.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = strip_position(error.inner());
        ApiError::invalid_field(&field_of(&path, &message), message)
    })
}

/// The field a data error is about. A missing field is reported at the path of the object
/// that lacks it (`.` for the body itself); the client wants the field's own name.
fn field_of(path: &str, message: &str) -> String {
    match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        Some(missing) if path == "." => missing.to_owned(),
        Some(missing) => format!("{path}.{missing}"),
        None => path.to_owned(),
    }
}

/// serde_json appends "at line 1 column 17" to data errors; the field name says more.
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// A query string; a bad one is 400 `invalid_query`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|error| {
                let field = error.path().to_string();
                ApiError::bad_request(
                    "invalid_query",
                    format!("query parameter `{field}`: {}", error.into_inner()),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Signup {
        email: String,
        age: u8,
    }

    #[test]
    fn malformed_json_is_400_and_wrong_shapes_name_the_field() {
        let error = parse_json::<Signup>(b"{\"email\": ").unwrap_err();
        assert_eq!((error.status, error.code.as_str()), (400, "malformed_json"));

        let error = parse_json::<Signup>(br#"{"email": "a@b.kr", "age": "old"}"#).unwrap_err();
        assert_eq!((error.status, error.code.as_str()), (422, "validation_failed"));
        assert!(error.errors.as_ref().unwrap().contains_key("age"));

        let error = parse_json::<Signup>(br#"{"age": 3}"#).unwrap_err();
        assert_eq!(error.status, 422);
        assert!(
            error.errors.as_ref().unwrap().contains_key("email"),
            "a missing field is named"
        );

        let error = parse_json::<Signup>(br#"{"email": "a@b.kr", "age": 3} []"#).unwrap_err();
        assert_eq!(error.status, 400);

        #[derive(Debug, serde::Deserialize)]
        enum Role {
            Worker,
        }
        let error = parse_json::<Role>(b"7").unwrap_err();
        assert_eq!(error.status, 422, "well-formed JSON of the wrong shape, enums included");
        assert!(matches!(parse_json::<Role>(br#""Worker""#), Ok(Role::Worker)));
    }
}

/// The client's address: the peer's, or behind a trusted proxy the first `X-Forwarded-For` hop
/// (`gateway.trust_forwarded_for`). The gateway puts it in every request it can tell it for;
/// services use it for per-client decisions such as login throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> OptionalFromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<ClientAddress>().copied())
    }
}
