//! What the payment service publishes about an employer's payment for a job.
//!
//! The job service consumes `payment.*` (a job shows `funded` while a completed payment for it is
//! held); the notification service consumes all but `payment.cancelled`, which has no kind of
//! notification in API.md. Payloads carry what a message needs (job title, amounts, who), so
//! consumers never call the payment service back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The envelope `source` of these events, and the name of the bus source (the payment store)
/// consumers subscribe to.
pub const SOURCE: &str = "payment";

/// [`PaymentCompleted`]: a payment was confirmed; its amount sits in escrow for the job.
pub const PAYMENT_COMPLETED: &str = "payment.completed";
/// [`PaymentCancelled`]: a payment was cancelled and refunded before settlement.
pub const PAYMENT_CANCELLED: &str = "payment.cancelled";
/// [`SettlementCreated`]: a worker's pay for a completed job was credited to their wallet.
pub const SETTLEMENT_CREATED: &str = "settlement.created";
/// [`WithdrawalChanged`]: a withdrawal was paid out to the worker's bank account.
pub const WITHDRAWAL_COMPLETED: &str = "withdrawal.completed";
/// [`WithdrawalChanged`]: a withdrawal failed and its amount went back to the wallet.
pub const WITHDRAWAL_FAILED: &str = "withdrawal.failed";

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
    /// The job's title when the order was made (for messages).
    #[serde(default)]
    pub job_title: String,
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
    #[serde(default)]
    pub job_title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementCreated {
    pub settlement_id: String,
    pub job_id: String,
    pub job_title: String,
    pub worker_id: String,
    pub employer_id: String,
    /// Won: `gross − fee − tax = net`.
    pub gross: i64,
    pub fee: i64,
    pub tax: i64,
    pub net: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalChanged {
    pub withdrawal_id: String,
    pub worker_id: String,
    /// Won.
    pub amount: i64,
    /// Why it failed (`withdrawal.failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
