//! `payments.redb`: orders, settlements, withdrawals, wallet entries and the work queues of the
//! refunder and the payout worker, beside the ledger's own tables (`ledger.rs`) and the
//! sandbox provider's (`provider/sandbox.rs`). Every function here runs inside the caller's
//! transaction.

use onetime_common::paging::PageRequest;
use onetime_storage::{Direction, Index, Readable, StorageError, StoreSpec, Table, WriteTx};

use crate::domain::{Order, Refund, RefusedRefund, Settlement, WalletEntry, Withdrawal};

pub const SPEC: StoreSpec = StoreSpec {
    name: "payments",
    schema_version: 1,
    migrations: &[],
};

const ORDERS: Table<String, Order> = Table::new("orders");
/// Job id → its current order: the one a new order request answers or replaces.
const JOB_ORDER: Table<String, String> = Table::new("orders.by_job");
const SETTLEMENTS: Table<String, Settlement> = Table::new("settlements");
const SETTLEMENTS_BY_WORKER: Index<String, String> = Index::new("settlements.by_worker");
const SETTLEMENTS_BY_EMPLOYER: Index<String, String> = Index::new("settlements.by_employer");
const WITHDRAWALS: Table<String, Withdrawal> = Table::new("withdrawals");
const WITHDRAWALS_BY_WORKER: Index<String, String> = Index::new("withdrawals.by_worker");
const WALLET_ENTRIES: Table<String, WalletEntry> = Table::new("wallet.entries");
const WALLET_BY_USER: Index<String, String> = Index::new("wallet.by_user");
/// Withdrawals the payout worker has still to finish, by id.
const PAYOUT_QUEUE: Table<String, ()> = Table::new("queue.payouts");
/// Refunds the refunder has still to make, by id.
const REFUND_QUEUE: Table<String, Refund> = Table::new("queue.refunds");
/// Refunds the provider refused for good, by id: an operator's to settle.
const REFUSED_REFUNDS: Table<String, RefusedRefund> = Table::new("refunds.refused");
/// Durable counters for `/health`.
const COUNTERS: Table<String, u64> = Table::new("counters");

/// Completions of jobs that had no held payment: nothing to settle.
pub const UNFUNDED_COMPLETIONS: &str = "unfunded_completions";
/// Refunds the provider reported (its webhook) that escrow could not cover: the order's money
/// had gone to the workers already. An operator has to look.
pub const UNCOVERED_PROVIDER_REFUNDS: &str = "uncovered_provider_refunds";

pub fn order(tx: &impl Readable, id: &str) -> Result<Option<Order>, StorageError> {
    ORDERS.get(tx, &id.to_owned())
}

pub fn save_order(tx: &WriteTx, order: &Order) -> Result<(), StorageError> {
    ORDERS.insert(tx, &order.id, order).map(drop)
}

/// The job's current order, if it has one.
pub fn job_order(tx: &impl Readable, job_id: &str) -> Result<Option<Order>, StorageError> {
    match JOB_ORDER.get(tx, &job_id.to_owned())? {
        Some(id) => order(tx, &id),
        None => Ok(None),
    }
}

/// Stores a new order and makes it its job's current one.
pub fn insert_order(tx: &WriteTx, order: &Order) -> Result<(), StorageError> {
    JOB_ORDER.insert(tx, &order.job_id, &order.id)?;
    save_order(tx, order)
}

pub fn insert_settlement(tx: &WriteTx, settlement: &Settlement) -> Result<(), StorageError> {
    SETTLEMENTS.insert(tx, &settlement.id, settlement)?;
    SETTLEMENTS_BY_WORKER.insert(tx, &settlement.worker_id, &settlement.id)?;
    SETTLEMENTS_BY_EMPLOYER.insert(tx, &settlement.employer_id, &settlement.id)
}

/// Whose settlements a list shows.
pub enum SettlementsOf {
    Worker(String),
    Employer(String),
}

/// One page of settlements, newest first.
pub fn settlements(
    tx: &impl Readable,
    of: &SettlementsOf,
    page: &PageRequest,
) -> Result<Vec<Settlement>, StorageError> {
    let (index, user) = match of {
        SettlementsOf::Worker(user) => (&SETTLEMENTS_BY_WORKER, user),
        SettlementsOf::Employer(user) => (&SETTLEMENTS_BY_EMPLOYER, user),
    };
    let ids = index.lookup(
        tx,
        &user.to_owned(),
        page.after.as_ref(),
        Direction::Reverse,
        page.fetch(),
    )?;
    SETTLEMENTS.get_many(tx, ids)
}

pub fn withdrawal(tx: &impl Readable, id: &str) -> Result<Option<Withdrawal>, StorageError> {
    WITHDRAWALS.get(tx, &id.to_owned())
}

/// Stores a new withdrawal and queues it for the payout worker.
pub fn insert_withdrawal(tx: &WriteTx, withdrawal: &Withdrawal) -> Result<(), StorageError> {
    WITHDRAWALS_BY_WORKER.insert(tx, &withdrawal.worker_id, &withdrawal.id)?;
    PAYOUT_QUEUE.insert(tx, &withdrawal.id, &())?;
    WITHDRAWALS.insert(tx, &withdrawal.id, withdrawal).map(drop)
}

/// Saves a finished withdrawal and takes it off the payout queue.
pub fn finish_withdrawal(tx: &WriteTx, withdrawal: &Withdrawal) -> Result<(), StorageError> {
    PAYOUT_QUEUE.remove(tx, &withdrawal.id)?;
    WITHDRAWALS.insert(tx, &withdrawal.id, withdrawal).map(drop)
}

/// One page of a worker's withdrawals, newest first.
pub fn withdrawals(tx: &impl Readable, worker_id: &str, page: &PageRequest) -> Result<Vec<Withdrawal>, StorageError> {
    let ids = WITHDRAWALS_BY_WORKER.lookup(
        tx,
        &worker_id.to_owned(),
        page.after.as_ref(),
        Direction::Reverse,
        page.fetch(),
    )?;
    WITHDRAWALS.get_many(tx, ids)
}

/// Up to `limit` queued withdrawals, oldest first.
pub fn queued_payouts(tx: &impl Readable, limit: usize) -> Result<Vec<Withdrawal>, StorageError> {
    let ids = PAYOUT_QUEUE.range(tx, .., Direction::Forward, limit)?;
    WITHDRAWALS.get_many(tx, ids.into_iter().map(|(id, ())| id))
}

pub fn payout_queue_len(tx: &impl Readable) -> Result<u64, StorageError> {
    PAYOUT_QUEUE.len(tx)
}

pub fn queue_refund(tx: &WriteTx, refund: &Refund) -> Result<(), StorageError> {
    REFUND_QUEUE.insert(tx, &refund.id, refund).map(drop)
}

pub fn queued_refund(tx: &impl Readable, id: &str) -> Result<Option<Refund>, StorageError> {
    REFUND_QUEUE.get(tx, &id.to_owned())
}

pub fn remove_refund(tx: &WriteTx, id: &str) -> Result<(), StorageError> {
    REFUND_QUEUE.remove(tx, &id.to_owned()).map(drop)
}

/// Up to `limit` queued refunds, oldest first.
pub fn queued_refunds(tx: &impl Readable, limit: usize) -> Result<Vec<Refund>, StorageError> {
    Ok(REFUND_QUEUE
        .range(tx, .., Direction::Forward, limit)?
        .into_iter()
        .map(|(_, refund)| refund)
        .collect())
}

/// Moves a queued refund to the refused ones.
pub fn refuse_refund(tx: &WriteTx, refused: &RefusedRefund) -> Result<(), StorageError> {
    remove_refund(tx, &refused.refund.id)?;
    REFUSED_REFUNDS.insert(tx, &refused.refund.id, refused).map(drop)
}

pub fn refused_refund(tx: &impl Readable, id: &str) -> Result<Option<RefusedRefund>, StorageError> {
    REFUSED_REFUNDS.get(tx, &id.to_owned())
}

pub fn remove_refused_refund(tx: &WriteTx, id: &str) -> Result<(), StorageError> {
    REFUSED_REFUNDS.remove(tx, &id.to_owned()).map(drop)
}

/// Every refused refund, oldest first.
pub fn refused_refunds(tx: &impl Readable) -> Result<Vec<RefusedRefund>, StorageError> {
    Ok(REFUSED_REFUNDS
        .range(tx, .., Direction::Forward, usize::MAX)?
        .into_iter()
        .map(|(_, refused)| refused)
        .collect())
}

pub fn refused_refund_len(tx: &impl Readable) -> Result<u64, StorageError> {
    REFUSED_REFUNDS.len(tx)
}

/// A refund not made yet, queued or refused.
pub fn pending_refund(tx: &impl Readable, id: &str) -> Result<Option<Refund>, StorageError> {
    match queued_refund(tx, id)? {
        Some(refund) => Ok(Some(refund)),
        None => Ok(refused_refund(tx, id)?.map(|refused| refused.refund)),
    }
}

/// Saves a changed pending refund where it is.
pub fn save_pending_refund(tx: &WriteTx, refund: &Refund) -> Result<(), StorageError> {
    match refused_refund(tx, &refund.id)? {
        Some(mut refused) => {
            refused.refund = refund.clone();
            REFUSED_REFUNDS.insert(tx, &refund.id, &refused).map(drop)
        }
        None => queue_refund(tx, refund),
    }
}

/// Takes a refund that was made off the queue or the refused ones.
pub fn remove_pending_refund(tx: &WriteTx, id: &str) -> Result<(), StorageError> {
    remove_refund(tx, id)?;
    remove_refused_refund(tx, id)
}

pub fn refund_queue_len(tx: &impl Readable) -> Result<u64, StorageError> {
    REFUND_QUEUE.len(tx)
}

pub fn add_wallet_entry(tx: &WriteTx, user_id: &str, entry: &WalletEntry) -> Result<(), StorageError> {
    WALLET_BY_USER.insert(tx, &user_id.to_owned(), &entry.id)?;
    WALLET_ENTRIES.insert(tx, &entry.id, entry).map(drop)
}

/// Up to `limit` of a user's wallet entries after `after`, newest first.
pub fn wallet_entries(
    tx: &impl Readable,
    user_id: &str,
    after: Option<&String>,
    limit: usize,
) -> Result<Vec<WalletEntry>, StorageError> {
    let ids = WALLET_BY_USER.lookup(tx, &user_id.to_owned(), after, Direction::Reverse, limit)?;
    WALLET_ENTRIES.get_many(tx, ids)
}

pub fn count(tx: &WriteTx, counter: &str) -> Result<(), StorageError> {
    let now = COUNTERS.get(tx, &counter.to_owned())?.unwrap_or(0) + 1;
    COUNTERS.insert(tx, &counter.to_owned(), &now).map(drop)
}

pub fn counter(tx: &impl Readable, counter: &str) -> Result<u64, StorageError> {
    Ok(COUNTERS.get(tx, &counter.to_owned())?.unwrap_or(0))
}
