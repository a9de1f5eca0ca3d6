//! The notification service's failures, each with its status and stable `code` in the API.

use onetime_common::ApiError;
use onetime_common::directory::DirectoryError;
use onetime_common::error::FieldErrors;
use onetime_common::mail::MailError;
use onetime_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("no such notification")]
    NotFound,
    #[error("no such device")]
    DeviceNotFound,
    /// The fields and their messages are in the API answer ([`ApiError::errors`]).
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl NotificationError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }
}

impl From<NotificationError> for ApiError {
    fn from(error: NotificationError) -> Self {
        let detail = error.to_string();
        match error {
            NotificationError::NotFound | NotificationError::DeviceNotFound => ApiError::not_found(detail),
            NotificationError::Invalid(errors) => errors.into(),
            NotificationError::Directory(_) | NotificationError::Mail(_) | NotificationError::Storage(_) => {
                ApiError::internal(detail)
            }
        }
    }
}
