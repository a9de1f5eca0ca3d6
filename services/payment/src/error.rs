//! The payment service's failures, each with its status and stable `code` in the API.

use axum::http::StatusCode;
use onetime_common::ApiError;
use onetime_common::directory::DirectoryError;
use onetime_common::error::FieldErrors;
use onetime_storage::StorageError;

use crate::ledger::LedgerError;
use crate::provider::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("paying and withdrawing need a verified email address")]
    EmailNotVerified,
    #[error("no such job")]
    JobNotFound,
    #[error("only the job's owner may pay for it")]
    NotJobOwner,
    #[error("the job is completed or cancelled")]
    JobNotOpen,
    #[error("the job is paid for already")]
    AlreadyPaid,
    #[error("no such order")]
    OrderNotFound,
    #[error("no refused refund has this id")]
    RefundNotFound,
    #[error("the order cannot be paid: it is {0}")]
    NotPayable(&'static str),
    #[error("the order is not paid")]
    NotPaid,
    #[error("the order is settled: its money went to the workers")]
    AlreadySettled,
    #[error("the amount is not the order's amount ({expected} won)")]
    AmountMismatch { expected: i64 },
    #[error("the payment provider never issued this payment key for this order")]
    PaymentNotFound,
    #[error("the payment provider refused: {message}")]
    Refused { code: String, message: String },
    #[error("the payment provider cannot be reached; try again")]
    ProviderUnavailable(String),
    #[error("the sandbox checkout exists only with `provider = \"sandbox\"`")]
    SandboxOnly,
    #[error("the balance is smaller than the amount")]
    InsufficientBalance,
    /// The fields and their messages are in the API answer ([`ApiError::errors`]).
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PaymentError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Invalid(errors)
    }
}

impl From<LedgerError> for PaymentError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Storage(error) => Self::Storage(error),
            other => Self::Ledger(other),
        }
    }
}

impl From<ProviderError> for PaymentError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::NotFound => Self::PaymentNotFound,
            ProviderError::Refused { code, message } => Self::Refused { code, message },
            ProviderError::Unavailable(reason) => Self::ProviderUnavailable(reason),
            ProviderError::Storage(error) => Self::Storage(error),
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        let detail = error.to_string();
        match error {
            PaymentError::EmailNotVerified => ApiError::new(StatusCode::FORBIDDEN, "email_not_verified", detail),
            PaymentError::NotJobOwner => ApiError::forbidden(detail),
            PaymentError::JobNotFound
            | PaymentError::OrderNotFound
            | PaymentError::RefundNotFound
            | PaymentError::SandboxOnly => ApiError::not_found(detail),
            PaymentError::JobNotOpen => ApiError::conflict("job_not_open", detail),
            PaymentError::AlreadyPaid => ApiError::conflict("already_paid", detail),
            PaymentError::NotPayable(_) => ApiError::conflict("order_not_payable", detail),
            PaymentError::NotPaid => ApiError::conflict("order_not_paid", detail),
            PaymentError::AlreadySettled => ApiError::conflict("already_settled", detail),
            PaymentError::InsufficientBalance => ApiError::conflict("insufficient_balance", detail),
            PaymentError::AmountMismatch { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "amount_mismatch", detail)
            }
            PaymentError::PaymentNotFound => ApiError::new(StatusCode::NOT_FOUND, "payment_not_found", detail),
            PaymentError::Refused { code, message } => ApiError::new(StatusCode::PAYMENT_REQUIRED, &code, message),
            PaymentError::ProviderUnavailable(reason) => {
                tracing::warn!(%reason, "payment provider unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", detail)
            }
            PaymentError::Invalid(errors) => errors.into(),
            PaymentError::Directory(_) | PaymentError::Ledger(_) | PaymentError::Storage(_) => {
                ApiError::internal(detail)
            }
        }
    }
}
