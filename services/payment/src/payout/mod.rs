//! The payout provider: how a withdrawal reaches the worker's bank account. [`sandbox`] is the
//! only implementation today; a firm-banking API would be another, behind the same trait.

pub mod sandbox;

use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::domain::BankAccount;

/// One transfer to make. `id` (the withdrawal's) is the idempotency key: asking again for the
/// same id never pays twice.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    pub amount: i64,
    pub bank: BankAccount,
    pub requested_at: OffsetDateTime,
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Completed,
    /// The bank refused it: the money goes back to the wallet.
    Failed(String),
}

pub trait PayoutProvider: Send + Sync + 'static {
    /// Makes the transfer; resolves once its outcome is known (a provider that cannot reach the
    /// bank keeps trying rather than guess).
    fn transfer(&self, transfer: Transfer) -> BoxFuture<'_, TransferOutcome>;
}
