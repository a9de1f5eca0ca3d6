//! `onetime ledger check`: recomputes every balance of the payment ledger from its postings and
//! checks that each entry sums to zero and no account that may not is below zero. The running
//! instance does it (over the control socket) from one snapshot while it serves; otherwise the
//! command opens the stopped data directory itself.

use anyhow::Context;
use onetime_payment::LedgerReport;
use onetime_storage::Store;

use crate::config::Config;
use crate::control::protocol::Request;
use crate::control::reach::{Reached, reach};
use crate::services::Stores;

/// Checks the ledger of the instance of `config`.
pub async fn check(config: &Config) -> anyhow::Result<LedgerReport> {
    match reach(config, &Request::LedgerCheck).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => check_in(&stores).await,
    }
}

/// Checks the ledger in the payment store of `stores`.
pub async fn check_in(stores: &Stores) -> anyhow::Result<LedgerReport> {
    let store = payment_store(stores)?;
    Ok(tokio::task::spawn_blocking(move || onetime_payment::ledger_check(&store)).await??)
}

/// The payment service's store among `stores`.
pub(crate) fn payment_store(stores: &Stores) -> anyhow::Result<Store> {
    Ok(stores
        .of(onetime_payment::NAME)
        .context("this platform has no payment store")?
        .clone())
}
