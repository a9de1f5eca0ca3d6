//! The user service's failures, each with its status and stable `code` in the API.

use std::time::Duration;

use axum::http::StatusCode;
use onetime_common::ApiError;
use onetime_common::error::FieldErrors;
use onetime_common::mail::MailError;
use onetime_storage::StorageError;

use crate::throttle::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("an account with this email address exists already")]
    EmailTaken,
    #[error("the email address or the password is wrong")]
    InvalidCredentials,
    #[error("too many failed attempts for this account; try again in {} s", (.0.as_secs_f64().ceil() as u64).max(1))]
    TooManyAttempts(Duration),
    #[error("other login attempts for this account are still being checked; try again in a moment")]
    AttemptsInFlight,
    #[error("the refresh token is not valid; log in again")]
    InvalidRefreshToken,
    #[error("this refresh token was used before; the session is ended, log in again")]
    RefreshTokenReused,
    #[error("the email address is verified already")]
    AlreadyVerified,
    #[error("a verification mail went out less than a minute ago; try again in {} s", (.0.as_secs_f64().ceil() as u64).max(1))]
    VerificationMailTooSoon(Duration),
    #[error("the verification link is not valid, used or expired")]
    InvalidVerificationToken,
    #[error("the password reset link is not valid, used or expired")]
    InvalidResetToken,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("no such user")]
    NotFound,
    /// The fields and their messages are in the API answer ([`ApiError::errors`]).
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl UserError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }
}

impl From<Refusal> for UserError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::TooManyFailures(wait) => Self::TooManyAttempts(wait),
            Refusal::Busy => Self::AttemptsInFlight,
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        let detail = error.to_string();
        match error {
            UserError::EmailTaken => ApiError::conflict("email_taken", detail),
            UserError::InvalidCredentials => ApiError::unauthorized("invalid_credentials", detail),
            UserError::TooManyAttempts(wait) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", detail).with_retry_after(wait)
            }
            UserError::AttemptsInFlight => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "attempts_in_flight", detail)
                .with_retry_after(Duration::from_secs(1)),
            UserError::InvalidRefreshToken => ApiError::unauthorized("invalid_refresh_token", detail),
            UserError::RefreshTokenReused => ApiError::unauthorized("refresh_token_reused", detail),
            UserError::AlreadyVerified => ApiError::conflict("already_verified", detail),
            UserError::VerificationMailTooSoon(wait) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail).with_retry_after(wait)
            }
            UserError::InvalidVerificationToken => ApiError::bad_request("invalid_verification_token", detail),
            UserError::InvalidResetToken => ApiError::bad_request("invalid_reset_token", detail),
            UserError::WrongPassword => ApiError::new(StatusCode::FORBIDDEN, "wrong_password", detail),
            UserError::NotFound => ApiError::not_found(detail),
            UserError::Invalid(errors) => errors.into(),
            UserError::Hashing(_) | UserError::Mail(_) | UserError::Storage(_) => ApiError::internal(detail),
        }
    }
}
