//! Withdrawals: a worker moves part of their wallet to a bank account.
//!
//! The request takes the amount from the wallet into `pending` in one transaction (the ledger
//! refuses to take more than is there, whatever races it) and queues the withdrawal. The
//! [`Payouts`] worker then has the payout provider make the transfer and records the outcome:
//! `paid_out`, or the amount back to the wallet as a `withdrawal_reversal`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onetime_common::auth::Principal;
use onetime_common::directory::Clients;
use onetime_common::events::new_id;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};

use crate::domain::{Amount, BankAccount, WalletEntry, WalletEntryKind, Withdrawal, WithdrawalStatus};
use crate::error::PaymentError;
use crate::events;
use crate::ledger::{self, Account, LedgerError};
use crate::orders::require_verified;
use crate::payout::{PayoutProvider, Transfer, TransferOutcome};
use crate::store;

/// Transfers under way at once.
const CONCURRENT_TRANSFERS: usize = 32;
/// How often the queue is looked at when nothing wakes the worker.
const POLL_EVERY: Duration = Duration::from_secs(5);

pub struct Withdrawals {
    store: Store,
    clients: Arc<Clients>,
    min_withdrawal: i64,
    payouts: Arc<Payouts>,
}

impl Withdrawals {
    pub fn new(store: Store, clients: Arc<Clients>, min_withdrawal: i64, payouts: Arc<Payouts>) -> Self {
        Self {
            store,
            clients,
            min_withdrawal,
            payouts,
        }
    }

    /// Takes `amount` from the caller's wallet and queues its payout to `bank`.
    pub async fn request(
        &self,
        caller: &Principal,
        amount: Amount,
        bank: BankAccount,
    ) -> Result<Withdrawal, PaymentError> {
        if amount.won() < self.min_withdrawal {
            let message = format!("must be at least {} won", self.min_withdrawal);
            return Err(PaymentError::invalid("amount", message));
        }
        require_verified(&self.clients, &caller.user_id).await?;
        let now = OffsetDateTime::now_utc();
        let withdrawal = Withdrawal {
            id: new_id().to_string(),
            worker_id: caller.user_id.clone(),
            amount: amount.won(),
            bank,
            status: WithdrawalStatus::Requested,
            failure_reason: None,
            requested_at: now,
            finished_at: None,
        };
        let withdrawal = self
            .store
            .write(move |tx| {
                let worker = &withdrawal.worker_id;
                let postings = [
                    (Account::Wallet(worker.clone()), -withdrawal.amount),
                    (Account::Pending(worker.clone()), withdrawal.amount),
                ];
                ledger::post(tx, "withdrawal", &withdrawal.id, postings, now).map_err(|error| match error {
                    LedgerError::Overdrawn(_) => PaymentError::InsufficientBalance,
                    other => other.into(),
                })?;
                wallet_entry(tx, &withdrawal, WalletEntryKind::Withdrawal, -withdrawal.amount, now)?;
                store::insert_withdrawal(tx, &withdrawal)?;
                Ok::<_, PaymentError>(withdrawal)
            })
            .await?;
        self.payouts.wake.notify_one();
        Ok(withdrawal)
    }

    /// A page of the caller's withdrawals, newest first.
    pub async fn list(&self, caller: &Principal, page: PageRequest) -> Result<Page<Withdrawal>, PaymentError> {
        let worker = caller.user_id.clone();
        self.store
            .read(move |tx| {
                let rows = store::withdrawals(tx, &worker, &page)?;
                Ok(page.page(rows, |w| &w.id))
            })
            .await
    }
}

fn wallet_entry(
    tx: &WriteTx,
    withdrawal: &Withdrawal,
    kind: WalletEntryKind,
    amount: i64,
    now: OffsetDateTime,
) -> Result<(), PaymentError> {
    let entry = WalletEntry {
        id: new_id().to_string(),
        kind,
        amount,
        balance_after: ledger::balance(tx, &Account::Wallet(withdrawal.worker_id.clone()))?,
        reference: withdrawal.id.clone(),
        created_at: now,
    };
    Ok(store::add_wallet_entry(tx, &withdrawal.worker_id, &entry)?)
}

/// The payout worker: makes the queued transfers, a bounded number at a time, and records how
/// each ended. What is queued survives restarts; a transfer is asked for again after one, under
/// the same id.
pub struct Payouts {
    store: Store,
    provider: Arc<dyn PayoutProvider>,
    wake: Notify,
    in_flight: Mutex<HashSet<String>>,
    slots: Arc<Semaphore>,
}

impl Payouts {
    pub fn new(store: Store, provider: Arc<dyn PayoutProvider>) -> Self {
        Self {
            store,
            provider,
            wake: Notify::new(),
            in_flight: Mutex::default(),
            slots: Arc::new(Semaphore::new(CONCURRENT_TRANSFERS)),
        }
    }

    /// Starts a transfer for every queued withdrawal not under way, whenever woken and every
    /// [`POLL_EVERY`], until `stopping`. Transfers under way finish on their own tasks.
    pub async fn run(self: Arc<Self>, background: onetime_common::service::Background) {
        let stopping = background.stopping();
        tokio::pin!(stopping);
        loop {
            match self.store.read(|tx| store::queued_payouts(tx, 1_000)).await {
                Ok(queued) => {
                    for withdrawal in queued {
                        let fresh = self.in_flight().insert(withdrawal.id.clone());
                        if fresh {
                            background.spawn(self.clone().transfer(withdrawal, background.stopping()));
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the payout queue"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL_EVERY) => {}
                () = &mut stopping => return,
            }
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes one transfer and records it. Shutdown abandons a transfer still waiting for its
    /// outcome: the withdrawal stays queued and is asked for again, under the same id, after
    /// the restart.
    async fn transfer(self: Arc<Self>, withdrawal: Withdrawal, stopping: impl Future<Output = ()>) {
        let id = withdrawal.id.clone();
        let transfer = Transfer {
            id: withdrawal.id.clone(),
            amount: withdrawal.amount,
            bank: withdrawal.bank.clone(),
            requested_at: withdrawal.requested_at,
        };
        let outcome = async {
            let _slot = self.slots.clone().acquire_owned().await.ok()?;
            Some(self.provider.transfer(transfer).await)
        };
        let outcome = tokio::select! {
            outcome = outcome => outcome,
            () = stopping => None,
        };
        if let Some(outcome) = outcome {
            let recorded = self.store.write(move |tx| finish(tx, &withdrawal.id, outcome)).await;
            if let Err(error) = recorded {
                tracing::error!(withdrawal_id = id, %error, "cannot record a payout; it will be asked for again");
            }
        }
        self.in_flight().remove(&id);
    }
}

/// Records how a transfer ended, once.
fn finish(tx: &WriteTx, id: &str, outcome: TransferOutcome) -> Result<(), PaymentError> {
    let Some(mut withdrawal) = store::withdrawal(tx, id)? else {
        return Ok(());
    };
    if withdrawal.status != WithdrawalStatus::Requested {
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    let pending = Account::Pending(withdrawal.worker_id.clone());
    match outcome {
        TransferOutcome::Completed => {
            withdrawal.status = WithdrawalStatus::Completed;
            ledger::post(
                tx,
                "payout",
                id,
                [(pending, -withdrawal.amount), (Account::PaidOut, withdrawal.amount)],
                now,
            )?;
            metrics::counter!("onetime_payment_payouts_total", "outcome" => "completed").increment(1);
        }
        TransferOutcome::Failed(reason) => {
            tracing::warn!(withdrawal_id = id, %reason, "payout failed; the amount goes back to the wallet");
            withdrawal.status = WithdrawalStatus::Failed;
            withdrawal.failure_reason = Some(reason);
            let wallet = Account::Wallet(withdrawal.worker_id.clone());
            ledger::post(
                tx,
                "reversal",
                id,
                [(pending, -withdrawal.amount), (wallet, withdrawal.amount)],
                now,
            )?;
            wallet_entry(
                tx,
                &withdrawal,
                WalletEntryKind::WithdrawalReversal,
                withdrawal.amount,
                now,
            )?;
            metrics::counter!("onetime_payment_payouts_total", "outcome" => "failed").increment(1);
        }
    }
    withdrawal.finished_at = Some(now);
    store::finish_withdrawal(tx, &withdrawal)?;
    events::withdrawal_finished(tx, &withdrawal)?;
    Ok(())
}
