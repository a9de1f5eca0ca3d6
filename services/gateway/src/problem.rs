//! problem+json for the errors that do not come from a handler: unknown paths, wrong methods,
//! time-outs, oversized bodies, panics.

use std::any::Any;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use onetime_common::ApiError;
use onetime_common::error::PROBLEM_JSON;

/// Replaces the body of any error answer that is not problem+json already.
pub fn bare_errors_as_problems<B>(response: http::Response<B>) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response.map(Body::new);
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this path does not accept that method"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took longer than this server allows"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than this server accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "unsupported content type"),
        s if s.is_server_error() => ("internal", "the server failed to handle this request"),
        _ => ("bad_request", "the request could not be handled"),
    };
    let (mut parts, _) = response.into_parts();
    let problem = ApiError::new(status, code, detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, PROBLEM_JSON.parse().expect("static header value"));
    Response::from_parts(parts, problem.into_body())
}

/// A panicking handler answers 500 problem+json; the panic is logged, the process lives on.
pub fn from_panic(payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
