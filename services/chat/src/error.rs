//! The chat service's failures, each with its status and stable `code` over REST
//! ([`ApiError`]) and its `code` in a socket `error` frame ([`ChatError::frame_code`]).

use std::time::Duration;

use axum::http::StatusCode;
use onetime_common::ApiError;
use onetime_common::directory::DirectoryError;
use onetime_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Also a room the caller is not in: whether it exists is none of the caller's business.
    #[error("no such room")]
    RoomNotFound,
    #[error("no such job")]
    JobNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("a room joins a job's owner and a worker who applied to that job")]
    NotRelated,
    #[error("more than {per_second} messages per second; retry in {} ms", .retry_after.as_millis().max(1))]
    RateLimited { per_second: u32, retry_after: Duration },
    /// Every input of the service is checked field by field, one field at a time.
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ChatError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The `code` of the socket's `error` frame. A room the caller is not in is
    /// `not_participant` whether or not it exists, as over REST it is 404 either way.
    pub fn frame_code(&self) -> &'static str {
        match self {
            Self::RoomNotFound => "not_participant",
            Self::RateLimited { .. } => "rate_limited",
            Self::Invalid { field: "text", .. } => "invalid_text",
            Self::Invalid { .. } | Self::JobNotFound | Self::UserNotFound | Self::NotRelated => "bad_frame",
            Self::Directory(_) | Self::Storage(_) => "internal",
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        let detail = error.to_string();
        match error {
            ChatError::RoomNotFound | ChatError::JobNotFound | ChatError::UserNotFound => ApiError::not_found(detail),
            ChatError::NotRelated => ApiError::new(StatusCode::FORBIDDEN, "not_related", detail),
            ChatError::RateLimited { retry_after, .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail).with_retry_after(retry_after)
            }
            ChatError::Invalid { field, message } => ApiError::invalid_field(field, message),
            ChatError::Directory(_) | ChatError::Storage(_) => ApiError::internal(detail),
        }
    }
}
