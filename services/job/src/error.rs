//! The job service's failures, each with its status and stable `code` in the API. The store,
//! the scheduler and the use cases return these; only the routes turn them into answers.

use axum::http::StatusCode;
use onetime_common::ApiError;
use onetime_common::directory::DirectoryError;
use onetime_common::error::FieldErrors;
use onetime_storage::StorageError;

use crate::domain::{Conflict, TermsError};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no such job")]
    JobNotFound,
    #[error("{0}")]
    ApplicationNotFound(&'static str),
    #[error("only the job's owner may do this")]
    NotOwner,
    #[error("verify your email address first: posting a job and applying need a verified address")]
    EmailNotVerified,
    #[error("you have applied to this job already")]
    AlreadyApplied,
    #[error("{0}")]
    BadQuery(&'static str),
    #[error("the category `{0}` exists already")]
    CategoryExists(String),
    /// The job's or application's state forbids the change (409 with the conflict's code).
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Break or wage against the law (422 with the rule's code).
    #[error(transparent)]
    Terms(#[from] TermsError),
    /// The fields and their messages are in the API answer ([`ApiError::errors`]).
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The store holds something it should not (an application of a missing job).
    #[error("inconsistent job store: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Another service's read failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

impl JobError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }
}

impl From<FieldErrors> for JobError {
    fn from(errors: FieldErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> Self {
        let detail = error.to_string();
        match error {
            JobError::JobNotFound | JobError::ApplicationNotFound(_) => ApiError::not_found(detail),
            JobError::NotOwner => ApiError::forbidden(detail),
            JobError::EmailNotVerified => ApiError::new(StatusCode::FORBIDDEN, "email_not_verified", detail),
            JobError::AlreadyApplied => ApiError::conflict("already_applied", detail),
            JobError::BadQuery(_) => ApiError::bad_request("invalid_query", detail),
            JobError::CategoryExists(_) => ApiError::conflict("category_exists", detail),
            JobError::Conflict(conflict) => ApiError::conflict(conflict.code(), detail),
            JobError::Terms(terms) => {
                let unprocessable = |code| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail.clone());
                match terms {
                    TermsError::BreakTooShort { .. } => {
                        unprocessable("break_too_short").with_field_error("breakMinutes", detail.clone())
                    }
                    TermsError::BreakTooLong { .. } => {
                        unprocessable("break_too_long").with_field_error("breakMinutes", detail.clone())
                    }
                    TermsError::BelowMinimumWage { .. } => unprocessable("below_minimum_wage"),
                }
            }
            JobError::Invalid(errors) => errors.into(),
            // Logged once, here, where the answer is built.
            JobError::Inconsistent(_) | JobError::Storage(_) | JobError::Directory(_) => ApiError::internal(detail),
        }
    }
}
