//! What the payment service publishes about an employer's payment for a job.
//!
//! The payment service is not built yet; the job service already consumes these (a job shows
//! `funded` while a completed payment for it is held), so the contract is fixed here first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The envelope `source` of these events, and the name of the bus source (the payment store)
/// consumers subscribe to.
pub const SOURCE: &str = "payment";

/// [`PaymentCompleted`]: a payment was confirmed; its amount sits in escrow for the job.
pub const PAYMENT_COMPLETED: &str = "payment.completed";
/// [`PaymentCancelled`]: a payment was cancelled and refunded before settlement.
pub const PAYMENT_CANCELLED: &str = "payment.cancelled";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCompleted {
    pub order_id: String,
    pub job_id: String,
    pub employer_id: String,
    /// Won.
    pub amount: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancelled {
    pub order_id: String,
    pub job_id: String,
    pub employer_id: String,
    /// Won.
    pub amount: i64,
    pub cancel_reason: String,
}
