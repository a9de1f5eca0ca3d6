//! Settlement: when a job is completed, each accepted worker's pay leaves escrow for their
//! wallet, less the worker fee and the withheld taxes; the employer fee on the pay actually used
//! goes to revenue; the rest (places never filled, and their fee) is refunded to the employer.
//! Runs inside the bus handler's transaction, so each completion settles exactly once.

use onetime_common::events::job::JobCompleted;
use onetime_common::events::new_id;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;

use crate::domain::{BasisPoints, Order, Settlement, WalletEntry, WalletEntryKind, Withholding};
use crate::error::PaymentError;
use crate::ledger::{self, Account};
use crate::store::{self, SettlementsOf};
use crate::{events, refunds};

/// How workers' pay is settled (`[payments] worker_fee_bps` and `withholding`).
#[derive(Debug, Clone, Copy)]
pub struct SettlementRules {
    pub worker_fee: BasisPoints,
    pub withholding: Withholding,
}

/// Settles the job of `completed`, when its payment is held; otherwise there is nothing to
/// settle, which is counted and logged.
pub fn settle_job(
    tx: &WriteTx,
    completed: &JobCompleted,
    rules: SettlementRules,
    now: OffsetDateTime,
) -> Result<(), PaymentError> {
    let job_id = &completed.job.id;
    let order = store::job_order(tx, job_id)?;
    let Some(mut order) = order.filter(Order::is_held) else {
        tracing::info!(job_id, "completed job has no held payment: nothing to settle");
        store::count(tx, store::UNFUNDED_COMPLETIONS)?;
        return refunds::expire_unpaid(tx, job_id);
    };
    // An order is paid for `headcount` places; more accepted workers than that cannot be paid.
    let workers: Vec<&String> = completed
        .accepted_worker_ids
        .iter()
        .take(order.headcount as usize)
        .collect();
    let used_pay = order.pay_per_worker * workers.len() as i64;
    let used_fee = order.fee_bps.of(used_pay);
    let escrow = Account::Escrow(order.job_id.clone());
    ledger::post(
        tx,
        "employer_fee",
        &order.id,
        [(escrow, -used_fee), (Account::FeeRevenue, used_fee)],
        now,
    )?;
    for worker_id in workers {
        settle_worker(tx, &order, worker_id, rules, now)?;
    }
    order.settled_at = Some(now);
    let unused = order.amount - used_pay - used_fee;
    if unused > 0 {
        let reason = "places of the job that were never filled";
        refunds::queue(tx, &mut order, unused, reason)?;
    }
    store::save_order(tx, &order)?;
    Ok(())
}

fn settle_worker(
    tx: &WriteTx,
    order: &Order,
    worker_id: &str,
    rules: SettlementRules,
    now: OffsetDateTime,
) -> Result<(), PaymentError> {
    let gross = order.pay_per_worker;
    let fee = rules.worker_fee.of(gross);
    let tax_breakdown = rules.withholding.withhold(gross);
    let tax = tax_breakdown.total();
    let settlement = Settlement {
        id: new_id().to_string(),
        order_id: order.id.clone(),
        job_id: order.job_id.clone(),
        job_title: order.job_title.clone(),
        worker_id: worker_id.to_owned(),
        employer_id: order.employer_id.clone(),
        gross,
        fee,
        tax,
        tax_breakdown,
        net: gross - fee - tax,
        created_at: now,
    };
    let wallet = Account::Wallet(worker_id.to_owned());
    let mut postings = vec![
        (Account::Escrow(order.job_id.clone()), -gross),
        (wallet.clone(), settlement.net),
        (Account::FeeRevenue, fee),
    ];
    postings.extend(Account::taxes(&tax_breakdown));
    ledger::post(tx, "settlement", &settlement.id, postings, now)?;
    let entry = WalletEntry {
        id: new_id().to_string(),
        kind: WalletEntryKind::Settlement,
        amount: settlement.net,
        balance_after: ledger::balance(tx, &wallet)?,
        reference: settlement.id.clone(),
        created_at: now,
    };
    store::add_wallet_entry(tx, worker_id, &entry)?;
    store::insert_settlement(tx, &settlement)?;
    events::settlement_created(tx, &settlement)?;
    metrics::counter!("onetime_payment_settlements_total").increment(1);
    Ok(())
}

/// A page of settlements: a worker's own, or those of an employer's jobs.
pub async fn list(store: &Store, of: SettlementsOf, page: PageRequest) -> Result<Page<Settlement>, PaymentError> {
    store
        .read(move |tx| {
            let rows = store::settlements(tx, &of, &page)?;
            Ok(page.page(rows, |s| &s.id))
        })
        .await
}
