//! `onetime refunds`: the refunds the payment provider refused for good, which wait for an
//! operator with their money in escrow. `list` shows them; `retry` has one made again;
//! `record-outside` records one as made outside the platform (escrow to `refunds` in the ledger,
//! the order `CANCELED` or `PARTIAL_CANCELED` as the provider would have left it). Through the
//! running instance's control socket, else on the stopped data directory.

use onetime_payment::{Order, Refund, RefusedRefund};

use crate::config::Config;
use crate::control::protocol::Request;
use crate::control::reach::{Reached, reach};
use crate::ledger::payment_store;
use crate::services::Stores;

pub async fn list(config: &Config) -> anyhow::Result<Vec<RefusedRefund>> {
    match reach(config, &Request::RefundsList).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => list_in(&stores).await,
    }
}

pub async fn retry(config: &Config, id: String) -> anyhow::Result<Refund> {
    match reach(config, &Request::RefundRetry { id: id.clone() }).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => retry_in(&stores, id).await,
    }
}

pub async fn record_outside(config: &Config, id: String, note: String) -> anyhow::Result<Order> {
    let request = Request::RefundRecordOutside {
        id: id.clone(),
        note: note.clone(),
    };
    match reach(config, &request).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => record_outside_in(&stores, id, note).await,
    }
}

pub async fn list_in(stores: &Stores) -> anyhow::Result<Vec<RefusedRefund>> {
    Ok(onetime_payment::refused_refunds(&payment_store(stores)?).await?)
}

pub async fn retry_in(stores: &Stores, id: String) -> anyhow::Result<Refund> {
    Ok(onetime_payment::retry_refund(&payment_store(stores)?, id).await?)
}

pub async fn record_outside_in(stores: &Stores, id: String, note: String) -> anyhow::Result<Order> {
    Ok(onetime_payment::record_refund_outside(&payment_store(stores)?, id, note).await?)
}
