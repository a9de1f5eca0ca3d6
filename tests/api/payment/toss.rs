//! The platform with `provider = "toss"`: the real Toss client against the fake Toss of
//! `fake_toss.rs`. Confirms through the gateway, a decline, a timeout settled by a lookup;
//! refunds made in the Toss console reaching the order through the webhook; refunds Toss
//! refuses, waiting for an operator (`onetime refunds`) while the platform runs and while not.

use serde_json::{Value, json};

use super::fake_toss::{FakeToss, SECRET};
use super::{code_of, complete, create_order, eventually, hire, json_of, ledger_check, output, post_job, text};
use crate::helpers::{Account, TestApp, spawn_app_with, start};
use crate::process::{onetime, run};

/// The platform paying through `toss`, with a one-second client timeout and fast payouts.
async fn spawn_toss_app(toss: &FakeToss) -> TestApp {
    spawn_app_with(|config| {
        config.gateway.rate_limit.enabled = false;
        config.set("payments.provider", "toss");
        config.set("payments.secret_key", SECRET);
        config.set("payments.toss_base_url", toss.base_url.as_str());
        config.set("payments.timeout_seconds", 1);
        config.set("payments.retries", 1);
    })
    .await
}

fn confirm_body(payment_key: &str, order: &Value) -> Value {
    json!({ "paymentKey": payment_key, "orderId": order["orderId"], "amount": order["amount"] })
}

/// A job of `employer` with `headcount` places, paid at Toss: the job id, the order, the key.
async fn paid_job(app: &TestApp, toss: &FakeToss, employer: &Account, headcount: u32) -> (String, Value, String) {
    let job_id = post_job(app, employer, headcount).await;
    let order = create_order(app, employer, &job_id).await;
    let key = toss.checkout(&text(&order, "orderId"), order["amount"].as_i64().unwrap());
    let paid = app
        .post_json_as("/payments/confirm", &employer.token, &confirm_body(&key, &order))
        .await;
    assert_eq!(json_of(paid, 200).await["status"], "DONE");
    (job_id, order, key)
}

/// What Toss sends on a status change; the platform reads only the order id.
async fn webhook(app: &TestApp, order: &Value, status: &str) {
    let hook =
        json!({ "eventType": "PAYMENT_STATUS_CHANGED", "data": { "orderId": order["orderId"], "status": status } });
    let deliveries = (0..3).map(|_| app.post_json("/payments/webhooks/toss", &hook));
    for delivery in futures::future::join_all(deliveries).await {
        assert_eq!(delivery.status(), 200);
    }
    // Redelivered later, after the first ones are recorded.
    assert_eq!(app.post_json("/payments/webhooks/toss", &hook).await.status(), 200);
}

async fn order_of(app: &TestApp, employer: &Account, order: &Value) -> Value {
    let path = format!("/payments/orders/{}", text(order, "orderId"));
    json_of(app.get_as(&path, &employer.token).await, 200).await
}

async fn payment_health(app: &TestApp) -> Value {
    json_of(app.get("/health").await, 200).await["services"]["payment"].clone()
}

/// `onetime refunds ARGS…` on `data_dir`, off the test's runtime.
async fn refunds(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut command = onetime(data_dir);
    command.arg("refunds").args(args);
    let done = tokio::task::spawn_blocking(move || run(&mut command)).await.unwrap();
    let said = format!("{}{}", output(&done.stdout), output(&done.stderr));
    (done.status.success(), said)
}

/// The refund id of the refused refund of `order` in `onetime refunds list`.
fn refused_refund_of(list: &str, order: &Value) -> String {
    let order_id = text(order, "orderId");
    let line = list
        .lines()
        .find(|line| line.contains(&order_id))
        .unwrap_or_else(|| panic!("{order_id} in:\n{list}"));
    line.split(' ').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_real_toss_client_confirms_declines_and_settles_a_timeout_by_lookup() {
    let toss = FakeToss::start().await;
    let app = spawn_toss_app(&toss).await;
    let employer = app.signup("employer").await;

    let (_, order, key) = paid_job(&app, &toss, &employer, 1).await;
    let stored = order_of(&app, &employer, &order).await;
    assert_eq!(
        (stored["status"].as_str(), stored["payment"]["paymentKey"].as_str()),
        (Some("DONE"), Some(key.as_str()))
    );
    let keys = toss.idempotency_keys("/v1/payments/confirm");
    assert_eq!(keys.len(), 1, "one confirm, with an idempotency key");

    // A declined card: 402 with Toss's code, the order still payable.
    let job_id = post_job(&app, &employer, 1).await;
    let order = create_order(&app, &employer, &job_id).await;
    let (order_id, amount) = (text(&order, "orderId"), order["amount"].as_i64().unwrap());
    let declined = toss.checkout_declined(&order_id, amount, "REJECT_CARD_COMPANY");
    let refused = app
        .post_json_as("/payments/confirm", &employer.token, &confirm_body(&declined, &order))
        .await;
    assert_eq!(code_of(refused, 402).await, "REJECT_CARD_COMPANY");
    assert_eq!(order_of(&app, &employer, &order).await["status"], "READY");

    // The approval's answer comes after the client's timeout: the lookup tells it happened, and
    // the confirm is not sent again.
    let slow = toss.checkout_slow(&order_id, amount);
    let paid = app
        .post_json_as("/payments/confirm", &employer.token, &confirm_body(&slow, &order))
        .await;
    assert_eq!(json_of(paid, 200).await["paymentKey"], slow.as_str());
    assert_eq!(toss.idempotency_keys("/v1/payments/confirm").len(), 3);
    assert_eq!(order_of(&app, &employer, &order).await["status"], "DONE");

    let checked = ledger_check(app.data_dir.path()).await;
    let said = output(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(
        said.contains(&format!("{} won received", 2 * 100_800)),
        "both payments in escrow: {said}"
    );
}

#[tokio::test]
async fn a_refund_in_the_toss_console_reaches_the_order_and_the_ledger_once() {
    let toss = FakeToss::start().await;
    let app = spawn_toss_app(&toss).await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);

    // All of it, refunded in the console.
    let (job_id, order, key) = paid_job(&app, &toss, &employer, 1).await;
    toss.console_cancel(&key, None);
    webhook(&app, &order, "CANCELED").await;
    let cancelled = order_of(&app, &employer, &order).await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["refundedAmount"].as_i64()),
        (Some("CANCELED"), Some(100_800))
    );
    eventually(&app, &format!("/jobs/{job_id}"), &employer.token, |job| {
        job["funded"] == false
    })
    .await;

    // 10,000 of two places, refunded in the console; then one place is used and the rest refunded.
    let (job_id, order, key) = paid_job(&app, &toss, &employer, 2).await;
    toss.console_cancel(&key, Some(10_000));
    webhook(&app, &order, "PARTIAL_CANCELED").await;
    let partly = order_of(&app, &employer, &order).await;
    assert_eq!(
        (partly["status"].as_str(), partly["refundedAmount"].as_i64()),
        (Some("PARTIAL_CANCELED"), Some(10_000))
    );
    assert!(partly["settledAt"].is_null());
    hire(&app, &employer, &worker, &job_id).await;
    complete(&app, &employer, &job_id).await;
    let path = format!("/payments/orders/{}", text(&order, "orderId"));
    let settled = eventually(&app, &path, &employer.token, |o| o["refundedAmount"] == 100_800).await;
    assert_eq!(settled["status"], "PARTIAL_CANCELED");
    assert!(settled["settledAt"].is_string());
    eventually(&app, "/payments/wallet", &worker.token, |w| w["balance"] == 95_140).await;

    let checked = ledger_check(app.data_dir.path()).await;
    assert!(checked.status.success(), "{}", output(&checked.stdout));
    assert_eq!(payment_health(&app).await["uncoveredProviderRefunds"], 0);
}

#[tokio::test]
async fn a_refund_toss_refuses_waits_for_an_operator_to_retry_it_or_record_it() {
    let toss = FakeToss::start().await;
    let app = spawn_toss_app(&toss).await;
    let employer = app.signup("employer").await;
    let (_, first, _) = paid_job(&app, &toss, &employer, 1).await;
    let (second_job, second, _) = paid_job(&app, &toss, &employer, 1).await;
    let (_, third, _) = paid_job(&app, &toss, &employer, 1).await;

    toss.refuse_cancels(Some("NOT_CANCELABLE_PAYMENT"));
    for _ in 0..2 {
        let cancel = json!({ "orderId": first["orderId"], "cancelReason": "일정 변경" });
        let refused = app.post_json_as("/payments/cancel", &employer.token, &cancel).await;
        assert_eq!(code_of(refused, 402).await, "NOT_CANCELABLE_PAYMENT");
    }
    json_of(
        app.delete_as(&format!("/jobs/{second_job}"), &employer.token).await,
        204,
    )
    .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while payment_health(&app).await["refusedRefunds"] != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job's refund was never refused"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for order in [&first, &second] {
        let held = order_of(&app, &employer, order).await;
        assert_eq!(
            (held["status"].as_str(), held["refundedAmount"].as_i64()),
            (Some("DONE"), Some(0))
        );
    }

    // Through the running instance: one retried once Toss takes cancels again, one recorded as
    // refunded by bank transfer.
    let (listed, list) = refunds(app.data_dir.path(), &["list"]).await;
    assert!(listed, "{list}");
    assert!(list.contains("NOT_CANCELABLE_PAYMENT"), "{list}");
    toss.refuse_cancels(None);
    let (retried, said) = refunds(app.data_dir.path(), &["retry", &refused_refund_of(&list, &first)]).await;
    assert!(retried, "{said}");
    let path = format!("/payments/orders/{}", text(&first, "orderId"));
    let refunded = eventually(&app, &path, &employer.token, |o| o["status"] == "CANCELED").await;
    assert_eq!(refunded["refundedAmount"], 100_800);
    let outside = [
        "record-outside",
        &refused_refund_of(&list, &second),
        "--note",
        "계좌이체 환불",
    ];
    let (recorded, said) = refunds(app.data_dir.path(), &outside).await;
    assert!(recorded, "{said}");
    let cancelled = order_of(&app, &employer, &second).await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["refundedAmount"].as_i64()),
        (Some("CANCELED"), Some(100_800))
    );
    let (_, again) = refunds(app.data_dir.path(), &["retry", &refused_refund_of(&list, &second)]).await;
    assert!(again.contains("no refused refund"), "{again}");
    assert_eq!(payment_health(&app).await["refusedRefunds"], 0);

    // On the stopped data directory.
    toss.refuse_cancels(Some("NOT_CANCELABLE_PAYMENT"));
    let cancel = json!({ "orderId": third["orderId"], "cancelReason": "일정 변경" });
    let refused = app.post_json_as("/payments/cancel", &employer.token, &cancel).await;
    assert_eq!(code_of(refused, 402).await, "NOT_CANCELABLE_PAYMENT");
    let (config, data_dir) = app.stop().await;
    let (_, list) = refunds(data_dir.path(), &["list"]).await;
    let outside = [
        "record-outside",
        &refused_refund_of(&list, &third),
        "--note",
        "계좌이체 환불",
    ];
    let (recorded, said) = refunds(data_dir.path(), &outside).await;
    assert!(recorded, "{said}");
    let checked = ledger_check(data_dir.path()).await;
    assert!(checked.status.success(), "{}", output(&checked.stdout));
    let app = start(config, data_dir).await;
    assert_eq!(order_of(&app, &employer, &third).await["status"], "CANCELED");
    assert_eq!(payment_health(&app).await["refusedRefunds"], 0);
}
