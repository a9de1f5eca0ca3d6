//! The sandbox payout provider: a transfer completes `delay` after it was requested (so a
//! restart does not make it wait again), except to an account number ending in `0000`, which
//! the "bank" refuses, so that a reversal can be seen end to end.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use time::OffsetDateTime;

use super::{PayoutProvider, Transfer, TransferOutcome};

pub struct SandboxPayouts {
    delay: Duration,
}

impl SandboxPayouts {
    pub fn new(delay: Duration) -> Self {
        Self { delay }
    }
}

impl PayoutProvider for SandboxPayouts {
    fn transfer(&self, transfer: Transfer) -> BoxFuture<'_, TransferOutcome> {
        async move {
            let due = transfer.requested_at + self.delay;
            let wait = due - OffsetDateTime::now_utc();
            if wait.is_positive() {
                tokio::time::sleep(wait.unsigned_abs()).await;
            }
            tracing::info!(transfer = transfer.id, amount = transfer.amount, "sandbox payout");
            if transfer.bank.account_number.ends_with("0000") {
                TransferOutcome::Failed("the bank refused the account (sandbox: it ends in 0000)".to_owned())
            } else {
                TransferOutcome::Completed
            }
        }
        .boxed()
    }
}
