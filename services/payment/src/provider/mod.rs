//! The payment provider: where employers' money is captured and refunded. Two implementations
//! follow the same contract (Toss Payments v1): [`sandbox`], in-process and offline, and
//! [`toss`], the real HTTP API.
//!
//! Every call that changes money carries an idempotency key chosen by the caller from what it
//! is about (the order, the refund), so repeating a call, after a timeout or a crash, never
//! charges or refunds twice.

pub mod sandbox;
pub mod toss;

use futures::future::BoxFuture;
use onetime_storage::StorageError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A payment's state at the provider, with Toss's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    Ready,
    InProgress,
    WaitingForDeposit,
    Done,
    Canceled,
    PartialCanceled,
    Aborted,
    Expired,
}

/// A payment as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    pub payment_key: String,
    pub order_id: String,
    pub status: PaymentState,
    pub total_amount: i64,
    /// What is left after cancels.
    pub balance_amount: i64,
    pub method: String,
    pub approved_at: Option<OffsetDateTime>,
}

/// The three facts a confirm is about; the provider checks them against its own record.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub payment_key: String,
    pub order_id: String,
    pub amount: i64,
}

/// A cancel of all (`amount: None`) or part of a payment.
#[derive(Debug, Clone)]
pub struct Cancel {
    pub payment_key: String,
    pub amount: Option<i64>,
    pub reason: String,
    /// The same for every attempt of this cancel.
    pub idempotency_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider has no such payment (`NOT_FOUND_PAYMENT`).
    #[error("the provider has no such payment")]
    NotFound,
    /// A definite no, with the provider's code (`REJECT_CARD_COMPANY`, ...).
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// The outcome is unknown and stayed so after the lookup: nothing may be assumed.
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What the payment service needs of a payment provider.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Approves the payment the client's checkout started. Confirming a payment that is
    /// confirmed already answers that payment, so a retry is safe.
    fn confirm(&self, confirm: Confirm) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>>;

    /// Refunds all or part of a payment.
    fn cancel(&self, cancel: Cancel) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>>;

    /// The payment of an order, by the order's id.
    fn payment_of_order(&self, order_id: &str) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>>;
}
