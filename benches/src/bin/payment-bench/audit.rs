//! The end of `chaos`: once the refund and payout queues and every bus lane are quiet, `onetime
//! ledger check --json` must exit 0 (every entry sums to zero, balances match their postings, no
//! account below zero), and every confirmed won must be accounted for: what the ledger received
//! is what the paid orders amount to, each order's escrow holds what is neither refunded nor
//! settled, settled money is in fees, taxes, wallets or paid out, refunds are the orders'
//! refunded amounts, and the withdrawals the server reports completed are what was paid out.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::chaos::World;

/// Checks everything; prints each check and answers whether all held.
pub async fn audit(world: &World, bin: &Path, data_dir: &Path) -> anyhow::Result<bool> {
    wait_until_quiet(world).await?;

    let output = tokio::process::Command::new(bin)
        .args(["ledger", "check", "--json"])
        .env("ONETIME_DATA_DIR", data_dir)
        .output()
        .await?;
    let report: Value = serde_json::from_slice(&output.stdout).context("ledger check --json output")?;
    let balance = |account: &str| report["balances"][account].as_i64().unwrap_or(0);
    let sum_of = |prefix: &str| -> i64 {
        let balances = report["balances"].as_object().into_iter().flatten();
        balances
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(_, v)| v.as_i64().unwrap_or(0))
            .sum()
    };

    let tracked = world.orders.lock().unwrap().clone();
    let (mut received, mut refunded, mut settled_in, mut escrow_wrong, mut lost) = (0, 0, 0, 0, 0);
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for order in &tracked {
        let path = format!("/payments/orders/{}", order.order_id);
        let token = &world.employers[order.employer].token;
        let body = world.api.get(&path, token).await?.expect(200)?;
        *statuses
            .entry(body["status"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        if body["payment"].is_null() {
            lost += u64::from(order.confirmed);
            continue;
        }
        let (amount, back) = (
            body["amount"].as_i64().unwrap_or(0),
            body["refundedAmount"].as_i64().unwrap_or(0),
        );
        received += amount;
        refunded += back;
        let settled = !body["settledAt"].is_null();
        let expected_escrow = if settled { 0 } else { amount - back };
        if settled {
            settled_in += amount - back;
        }
        if balance(&format!("escrow/{}", order.job_id)) != expected_escrow {
            escrow_wrong += 1;
        }
    }

    let (mut completed_out, mut wallets_wrong) = (0, 0);
    for worker in &world.workers {
        let wallet = world.api.get("/payments/wallet", &worker.token).await?.expect(200)?;
        if wallet["balance"].as_i64() != Some(balance(&format!("wallet/{}", worker.id))) {
            wallets_wrong += 1;
        }
        completed_out += completed_withdrawals(world, &worker.token).await?;
    }

    let taxes = sum_of("tax/");
    let (fees, wallets, pending, paid_out) = (
        balance("fee_revenue"),
        sum_of("wallet/"),
        sum_of("pending/"),
        balance("paid_out"),
    );
    println!(
        "orders: {} tracked, {} seen confirmed; by status {statuses:?}",
        tracked.len(),
        tracked.iter().filter(|o| o.confirmed).count()
    );
    println!(
        "won: {received} received; {refunded} refunded; {settled_in} settled = {fees} fees + {taxes} taxes + \
         {wallets} in wallets + {pending} pending + {paid_out} paid out; {} in escrow",
        sum_of("escrow/")
    );
    let checks = [
        ("onetime ledger check exits 0", output.status.success()),
        ("every order confirmed (200) is paid on the server", lost == 0),
        (
            "the ledger received what the paid orders amount to",
            report["received"].as_i64() == Some(received),
        ),
        (
            "refunds are the orders' refunded amounts",
            balance("refunds") == refunded,
        ),
        (
            "each order's escrow holds what is neither refunded nor settled",
            escrow_wrong == 0,
        ),
        (
            "settled money is in fees, taxes, wallets, pending or paid out",
            fees + taxes + wallets + pending + paid_out == settled_in,
        ),
        ("no withdrawal is left pending", pending == 0),
        (
            "paid out is what the completed withdrawals amount to",
            paid_out == completed_out,
        ),
        ("each worker's wallet is its ledger balance", wallets_wrong == 0),
    ];
    for (check, held) in &checks {
        println!("{} {check}", if *held { "ok  " } else { "FAIL" });
    }
    if !output.status.success() {
        println!("{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(checks.iter().all(|(_, held)| *held))
}

/// Waits (2 minutes at most) until the refund and payout queues are empty and no bus lane lags,
/// twice in a row.
async fn wait_until_quiet(world: &World) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut quiet_before = false;
    loop {
        let health = world.api.send(reqwest::Method::GET, "/health", None, None).await?.body;
        let payment = &health["services"]["payment"];
        let lanes_quiet = health["services"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(_, service)| service["bus"].as_array().cloned().unwrap_or_default())
            .all(|lane| lane["lag"] == 0);
        let quiet = lanes_quiet && payment["refundQueue"] == 0 && payment["payoutQueue"] == 0;
        if quiet && quiet_before {
            return Ok(());
        }
        quiet_before = quiet;
        if tokio::time::Instant::now() > deadline {
            bail!("the platform never got quiet: {health}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sum of the worker's `COMPLETED` withdrawals.
async fn completed_withdrawals(world: &World, token: &str) -> anyhow::Result<i64> {
    let (mut sum, mut cursor) = (0, None::<String>);
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/payments/withdrawals?limit=100&cursor={cursor}"),
            None => "/payments/withdrawals?limit=100".to_owned(),
        };
        let page = world.api.get(&path, token).await?.expect(200)?;
        for withdrawal in page["items"].as_array().into_iter().flatten() {
            if withdrawal["status"] == "COMPLETED" {
                sum += withdrawal["amount"].as_i64().unwrap_or(0);
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(sum),
        }
    }
}
