//! What the unit tests of settlement and refunds start from: a store holding one paid order of
//! 96,000 won a place, its amount in escrow.

use onetime_storage::Store;
use time::OffsetDateTime;

use crate::domain::{BasisPoints, Order, OrderStatus, Payment};
use crate::error::PaymentError;
use crate::ledger::{self, Account};
use crate::store;

/// A confirmed order for `headcount` places of job `job_id`, with the 5 % employer fee.
pub fn paid_order(job_id: &str, headcount: u32) -> Order {
    let pay_total = 96_000 * i64::from(headcount);
    let fee_bps = BasisPoints::parse(500).unwrap();
    let now = OffsetDateTime::now_utc();
    Order {
        id: format!("order-{job_id}"),
        job_id: job_id.to_owned(),
        employer_id: "employer".to_owned(),
        job_title: "물류센터 상하차".to_owned(),
        order_name: "물류센터 상하차 인건비".to_owned(),
        pay_per_worker: 96_000,
        headcount,
        pay_total,
        fee_bps,
        fee: fee_bps.of(pay_total),
        amount: pay_total + fee_bps.of(pay_total),
        refunded_amount: 0,
        status: OrderStatus::Done,
        payment: Some(Payment {
            payment_key: "sandbox_key".to_owned(),
            method: "카드".to_owned(),
            approved_at: now,
        }),
        refund_pending: None,
        created_at: now,
        settled_at: None,
    }
}

/// A fresh store (kept while the directory lives) with `order` stored and its amount in escrow.
pub fn store_with(order: &Order) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &store::SPEC).unwrap();
    store
        .write_blocking(|tx| {
            store::insert_order(tx, order)?;
            let escrow = Account::Escrow(order.job_id.clone());
            ledger::post(
                tx,
                "payment",
                &order.id,
                [(Account::PaymentsReceived, -order.amount), (escrow, order.amount)],
                OffsetDateTime::now_utc(),
            )?;
            Ok::<_, PaymentError>(())
        })
        .unwrap();
    (dir, store)
}
