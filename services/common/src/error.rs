//! The one error type of the HTTP surface: every failure becomes an RFC 9457 problem+json
//! response with a stable machine `code`.
//!
//! Services convert their domain errors into [`ApiError`]; nothing else reaches the client.
//! Internal failures are logged in full and answered with a generic body, so storage paths or
//! library messages never leak.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer. Boxed: it travels in every `Result` of every handler, and the happy path
/// should not pay for its size.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Problem>);

/// The problem+json body (RFC 9457) with onetime's extensions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub status: u16,
    pub title: String,
    pub detail: String,
    /// Stable, machine-readable reason, e.g. `email_taken`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Validation errors by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip)]
    retry_after: Option<Duration>,
}

impl std::ops::Deref for ApiError {
    type Target = Problem;

    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            detail: detail.into(),
            code: code.to_owned(),
            request_id: None,
            errors: None,
            retry_after: None,
        }))
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 with the messages for each offending field.
    pub fn validation(errors: BTreeMap<String, Vec<String>>) -> Self {
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        let detail = format!("invalid value for: {}", fields.join(", "));
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail);
        error.0.errors = Some(errors);
        error
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    /// Files `message` under `field` in `errors`: for an answer with a code of its own that is
    /// still about one field (`break_too_short` names `breakMinutes`).
    pub fn with_field_error(mut self, field: &str, message: impl Into<String>) -> Self {
        let errors = self.0.errors.get_or_insert_with(BTreeMap::new);
        errors.entry(field.to_owned()).or_default().push(message.into());
        self
    }

    pub fn too_many_requests(retry_after: Duration) -> Self {
        let seconds = whole_seconds(retry_after);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry in {seconds} s"),
        )
        .with_retry_after(retry_after)
    }

    /// Adds a `Retry-After` header, in whole seconds rounded up (at least 1).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.0.retry_after = Some(Duration::from_secs(whole_seconds(after)));
        self
    }

    /// A failure that is ours, not the client's: logged with its cause, answered generically.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs_f64().ceil().max(1.0) as u64
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl From<onetime_storage::StorageError> for ApiError {
    fn from(error: onetime_storage::StorageError) -> Self {
        Self::internal(error)
    }
}

/// Validation messages gathered field by field, so that one 422 names every bad field at once.
///
/// ```ignore
/// let mut errors = FieldErrors::default();
/// let title = errors.check("title", JobTitle::parse(&input.title));
/// let headcount = errors.check("headcount", Headcount::parse(input.headcount));
/// let (Some(title), Some(headcount)) = (title, headcount) else { return Err(errors.into()) };
/// ```
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// The parsed value, or `None` with the failure filed under `field`.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|message| self.add(field, message)).ok()
    }

    pub fn add(&mut self, field: &str, message: impl std::fmt::Display) {
        self.0.entry(field.to_owned()).or_default().push(message.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::validation(errors.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.0.request_id.is_none() {
            self.0.request_id = request_id::current();
        }
        let status = self.status_code();
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(after) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
    }
}
