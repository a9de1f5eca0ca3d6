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
    let mut order = match store::job_order(tx, job_id)? {
        Some(order) if order.is_held() => order,
        Some(order) if order.settled_at.is_some() => {
            tracing::warn!(
                job_id,
                order_id = order.id,
                "job completed again; its order is settled already"
            );
            return Ok(());
        }
        _ => {
            tracing::info!(job_id, "completed job has no held payment: nothing to settle");
            store::count(tx, store::UNFUNDED_COMPLETIONS)?;
            return refunds::expire_unpaid(tx, job_id);
        }
    };
    // An order is paid for `headcount` places; more accepted workers than that cannot be paid.
    let workers: Vec<&String> = completed
        .accepted_worker_ids
        .iter()
        .take(order.headcount as usize)
        .collect();
    let used_pay = order.pay_per_worker * workers.len() as i64;
    let used_fee = order.fee_bps.of(used_pay);
    let unused = order.amount - order.refunded_amount - used_pay - used_fee;
    if unused < 0 {
        tracing::error!(
            job_id,
            order_id = order.id,
            "escrow holds less than the accepted workers' pay (a refund at the provider took part of it): nothing settled"
        );
        store::count(tx, store::UNFUNDED_COMPLETIONS)?;
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use onetime_common::events::job::JobCompleted;
    use onetime_storage::{StorageError, Store};
    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;
    use crate::fixtures::{paid_order, store_with};

    fn completed(job_id: &str, workers: &[&str]) -> JobCompleted {
        serde_json::from_value(json!({
            "job": {
                "id": job_id, "employerId": "employer", "title": "물류센터 상하차", "description": "",
                "category": "logistics", "wage": { "type": "hourly", "amount": 12_000 },
                "location": { "address": "이천", "lat": 37.2, "lng": 127.4 },
                "startsAt": "2026-12-01T09:00:00+09:00", "endsAt": "2026-12-01T18:00:00+09:00",
                "headcount": 2, "acceptedCount": workers.len(), "payPerWorker": 96_000,
                "status": "completed", "funded": true,
                "createdAt": "2026-11-30T09:00:00+09:00", "updatedAt": "2026-12-01T18:00:00+09:00",
            },
            "acceptedWorkerIds": workers, "payPerWorker": 96_000, "completedBy": "owner",
        }))
        .unwrap()
    }

    fn rules() -> SettlementRules {
        SettlementRules {
            worker_fee: BasisPoints::parse(0).unwrap(),
            withholding: Withholding::DailyWorker,
        }
    }

    #[test]
    fn a_completion_settles_workers_queues_the_unused_part_and_settles_once() {
        let (_dir, store) = store_with(&paid_order("job-1", 2));
        let event = completed("job-1", &["worker-1"]);
        for _ in 0..2 {
            store
                .write_blocking(|tx| settle_job(tx, &event, rules(), OffsetDateTime::now_utc()))
                .unwrap();
        }
        let (wallet, settled, refunds) = store
            .read_blocking(|tx| {
                Ok::<_, StorageError>((
                    ledger::balance(tx, &Account::Wallet("worker-1".into()))?,
                    store::order(tx, "order-job-1")?.unwrap(),
                    store::queued_refunds(tx, 10)?,
                ))
            })
            .unwrap();
        assert_eq!(wallet, 95_140, "96,000 less 860 withheld, credited once");
        assert!(settled.settled_at.is_some());
        assert_eq!(refunds.len(), 1);
        assert_eq!((refunds[0].amount, refunds[0].full), (100_800, false));
        assert_eq!(settled.refund_pending.as_deref(), Some(refunds[0].id.as_str()));

        let report = ledger::check(&store).unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.balances["fee_revenue"], 4_800);
        assert_eq!(report.balances["tax/employment_insurance"], 860);
        assert_eq!(report.balances["escrow/job-1"], 100_800, "the refund waits in escrow");
    }

    #[test]
    fn completing_an_unfunded_job_settles_nothing_and_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &store::SPEC).unwrap();
        let event = completed("job-2", &["worker-1"]);
        store
            .write_blocking(|tx| settle_job(tx, &event, rules(), OffsetDateTime::now_utc()))
            .unwrap();
        let unfunded = store
            .read_blocking(|tx| store::counter(tx, store::UNFUNDED_COMPLETIONS))
            .unwrap();
        assert_eq!(unfunded, 1);
        assert_eq!(ledger::check(&store).unwrap().entries, 0);
    }
}
