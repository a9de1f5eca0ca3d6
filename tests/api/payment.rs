//! The payment service through the whole platform: orders computed from real jobs of real
//! (verified) accounts, the sandbox checkout and confirm, refusals, cancels, settlement with
//! withholding when the job service completes a job, refunds, wallets, withdrawals racing for one
//! balance, failing payouts, restarts. With the real Toss client against a fake Toss: `toss`.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{Account, TestApp, problem, spawn_app_with, start};
use crate::process::{onetime, run, text as output};

mod fake_toss;
mod toss;

/// Payouts take 1 s instead of 2, and rate limits stay out of the way of the races.
async fn spawn_payments_app() -> TestApp {
    spawn_app_with(|config| {
        config.gateway.rate_limit.enabled = false;
        config.set("payments.sandbox_payout_delay_seconds", 1);
    })
    .await
}

fn at(offset: time::Duration) -> String {
    (OffsetDateTime::now_utc() + offset).format(&Rfc3339).unwrap()
}

/// A job that started an hour ago and runs 9 hours for a daily wage of 96,000 won per worker;
/// `headcount` places.
fn running_job(headcount: u32) -> Value {
    json!({
        "title": "물류센터 상하차",
        "description": "주간 근무, 안전화 지급",
        "category": "logistics",
        "wage": { "type": "daily", "amount": 96_000 },
        "location": { "address": "경기 이천시 마장면 프리미엄아울렛로 1", "lat": 37.2, "lng": 127.4 },
        "startsAt": at(time::Duration::hours(-1)),
        "endsAt": at(time::Duration::hours(8)),
        "headcount": headcount,
    })
}

pub(crate) async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

async fn code_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status);
    problem(response).await["code"].as_str().unwrap().to_owned()
}

pub(crate) fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {value}"))
        .to_owned()
}

/// Polls `GET path` as `token` until `done` holds, for up to 10 s.
pub(crate) async fn eventually(app: &TestApp, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = json_of(app.get_as(path, token).await, 200).await;
        if done(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An employer's job, posted.
async fn post_job(app: &TestApp, employer: &Account, headcount: u32) -> String {
    text(
        &json_of(
            app.post_json_as("/jobs", &employer.token, &running_job(headcount))
                .await,
            201,
        )
        .await,
        "id",
    )
}

async fn create_order(app: &TestApp, employer: &Account, job_id: &str) -> Value {
    json_of(
        app.post_json_as("/payments/create", &employer.token, &json!({ "jobId": job_id }))
            .await,
        201,
    )
    .await
}

async fn checkout(app: &TestApp, employer: &Account, order_id: &str, simulate: Option<&str>) -> String {
    let body = json!({ "orderId": order_id, "simulate": simulate });
    text(
        &json_of(
            app.post_json_as("/payments/sandbox/checkout", &employer.token, &body)
                .await,
            200,
        )
        .await,
        "paymentKey",
    )
}

fn confirm_body(payment_key: &str, order: &Value) -> Value {
    json!({ "paymentKey": payment_key, "orderId": order["orderId"], "amount": order["amount"] })
}

/// A job of `employer` with `headcount` places, paid for; answers the job id and the order.
pub(crate) async fn paid_job(app: &TestApp, employer: &Account, headcount: u32) -> (String, Value) {
    let job_id = post_job(app, employer, headcount).await;
    let order = create_order(app, employer, &job_id).await;
    let key = checkout(app, employer, &text(&order, "orderId"), None).await;
    json_of(
        app.post_json_as("/payments/confirm", &employer.token, &confirm_body(&key, &order))
            .await,
        200,
    )
    .await;
    (job_id, order)
}

/// `worker` applies to the job and `employer` accepts.
pub(crate) async fn hire(app: &TestApp, employer: &Account, worker: &Account, job_id: &str) {
    let application = json_of(
        app.post_json_as(&format!("/jobs/{job_id}/apply"), &worker.token, &json!({}))
            .await,
        201,
    )
    .await;
    let path = format!("/jobs/{job_id}/applications/{}", text(&application, "id"));
    json_of(
        app.put_json_as(&path, &employer.token, &json!({ "status": "accepted" }))
            .await,
        200,
    )
    .await;
}

/// The employer completes the job.
async fn complete(app: &TestApp, employer: &Account, job_id: &str) {
    json_of(
        app.post_json_as(&format!("/jobs/{job_id}/complete"), &employer.token, &json!({}))
            .await,
        200,
    )
    .await;
}

/// Completes a job whose places are all taken and waits until its order is settled (nothing to
/// refund); answers the order.
pub(crate) async fn complete_and_settle(app: &TestApp, employer: &Account, job_id: &str, order_id: &str) -> Value {
    complete(app, employer, job_id).await;
    let path = format!("/payments/orders/{order_id}");
    eventually(app, &path, &employer.token, |o| !o["settledAt"].is_null()).await
}

/// A worker with 95,140 won in the wallet: paid 96,000 for one job, 860 withheld.
async fn settled_worker(app: &TestApp) -> Account {
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let (job_id, order) = paid_job(app, &employer, 1).await;
    hire(app, &employer, &worker, &job_id).await;
    complete_and_settle(app, &employer, &job_id, &text(&order, "orderId")).await;
    eventually(app, "/payments/wallet", &worker.token, |w| w["balance"] == 95_140).await;
    worker
}

/// `onetime ledger check` on `data_dir`, off the test's runtime: the platform under test runs on
/// it and answers the command over its control socket.
async fn ledger_check(data_dir: &std::path::Path) -> std::process::Output {
    let mut command = onetime(data_dir);
    command.args(["ledger", "check"]);
    tokio::task::spawn_blocking(move || run(&mut command)).await.unwrap()
}

pub(crate) fn withdraw_body(amount: i64, account_number: &str) -> Value {
    json!({ "amount": amount, "bank": { "code": "088", "accountNumber": account_number, "holderName": "김원데" } })
}

#[tokio::test]
async fn an_order_is_computed_from_the_job_and_paid_once() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let job_id = post_job(&app, &employer, 2).await;

    // The client's amount is ignored: 2 × 96,000 + 5 % fee.
    let body = json!({ "jobId": job_id, "amount": 1 });
    let order = json_of(app.post_json_as("/payments/create", &employer.token, &body).await, 201).await;
    assert_eq!(
        (order["payTotal"].clone(), order["fee"].clone(), order["amount"].clone()),
        (json!(192_000), json!(9_600), json!(201_600))
    );
    assert_eq!(
        (order["status"].as_str(), order["refundedAmount"].as_i64()),
        (Some("READY"), Some(0))
    );
    assert!(order["payment"].is_null() && order["settledAt"].is_null() && order["clientKey"].is_string());
    let again = json_of(app.post_json_as("/payments/create", &employer.token, &body).await, 200).await;
    assert_eq!(again["orderId"], order["orderId"], "one open order per job");

    let order_id = text(&order, "orderId");
    let key = checkout(&app, &employer, &order_id, None).await;
    let mut wrong = confirm_body(&key, &order);
    wrong["amount"] = json!(201_599);
    assert_eq!(
        code_of(
            app.post_json_as("/payments/confirm", &employer.token, &wrong).await,
            422
        )
        .await,
        "amount_mismatch"
    );
    let unknown = confirm_body("sandbox_never_issued", &order);
    assert_eq!(
        code_of(
            app.post_json_as("/payments/confirm", &employer.token, &unknown).await,
            404
        )
        .await,
        "payment_not_found"
    );
    let worker = app.signup("worker").await;
    let as_worker = app
        .post_json_as("/payments/confirm", &worker.token, &confirm_body(&key, &order))
        .await;
    assert_eq!(as_worker.status(), 403);
    let stranger = app.signup("employer").await;
    let as_stranger = app
        .post_json_as("/payments/confirm", &stranger.token, &confirm_body(&key, &order))
        .await;
    assert_eq!(as_stranger.status(), 404, "someone else's order is not revealed");

    let paid = json_of(
        app.post_json_as("/payments/confirm", &employer.token, &confirm_body(&key, &order))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (paid["status"].as_str(), paid["amount"].as_i64()),
        (Some("DONE"), Some(201_600))
    );
    let twice = json_of(
        app.post_json_as("/payments/confirm", &employer.token, &confirm_body(&key, &order))
            .await,
        200,
    )
    .await;
    assert_eq!(twice, paid, "confirming again answers the same payment");

    let path = format!("/payments/orders/{order_id}");
    let stored = json_of(app.get_as(&path, &employer.token).await, 200).await;
    assert_eq!(
        (stored["status"].as_str(), stored["payment"]["paymentKey"].as_str()),
        (Some("DONE"), Some(key.as_str()))
    );
    assert_eq!(app.get_as(&path, &stranger.token).await.status(), 404);
    assert_eq!(app.get_as(&path, &worker.token).await.status(), 403);
    let body = json!({ "jobId": job_id });
    assert_eq!(
        code_of(app.post_json_as("/payments/create", &employer.token, &body).await, 409).await,
        "already_paid"
    );
    eventually(&app, &format!("/jobs/{job_id}"), &employer.token, |job| {
        job["funded"] == true
    })
    .await;
    let health = json_of(app.get("/health").await, 200).await;
    assert_eq!(health["services"]["payment"]["payoutQueue"], 0, "{health}");
}

#[tokio::test]
async fn provider_refusals_are_402_with_the_provider_code() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let job_id = post_job(&app, &employer, 1).await;
    let order = create_order(&app, &employer, &job_id).await;
    for code in ["REJECT_CARD_COMPANY", "EXCEED_MAX_AMOUNT"] {
        let key = checkout(&app, &employer, &text(&order, "orderId"), Some(code)).await;
        let refused = app
            .post_json_as("/payments/confirm", &employer.token, &confirm_body(&key, &order))
            .await;
        assert_eq!(code_of(refused, 402).await, code);
    }
    let bad = json!({ "orderId": order["orderId"], "simulate": "not a code" });
    assert_eq!(
        app.post_json_as("/payments/sandbox/checkout", &employer.token, &bad)
            .await
            .status(),
        422
    );
    let stored = json_of(
        app.get_as(
            &format!("/payments/orders/{}", text(&order, "orderId")),
            &employer.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(stored["status"], "READY", "a refused payment leaves the order payable");
}

#[tokio::test]
async fn paying_needs_a_verified_email_and_an_open_job_of_ones_own() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let job_id = post_job(&app, &employer, 1).await;
    let other = app.signup("employer").await;
    let body = json!({ "jobId": job_id });
    assert_eq!(
        app.post_json_as("/payments/create", &other.token, &body).await.status(),
        403
    );
    let missing = json!({ "jobId": "0190a4c0-0000-7000-8000-000000000000" });
    assert_eq!(
        app.post_json_as("/payments/create", &employer.token, &missing)
            .await
            .status(),
        404
    );

    let register = json!({ "email": "unverified@example.com", "password": "correct horse 7", "name": "김미인증", "role": "employer" });
    let unverified = json_of(app.post_json("/auth/register", &register).await, 201).await;
    let token = text(&unverified, "accessToken");
    assert_eq!(
        code_of(app.post_json_as("/payments/create", &token, &body).await, 403).await,
        "email_not_verified"
    );

    json_of(app.delete_as(&format!("/jobs/{job_id}"), &employer.token).await, 204).await;
    assert_eq!(
        code_of(app.post_json_as("/payments/create", &employer.token, &body).await, 409).await,
        "job_not_open"
    );
}

#[tokio::test]
async fn a_cancel_before_settlement_refunds_in_full_and_none_after() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let (job_id, order) = paid_job(&app, &employer, 1).await;
    let cancel = json!({ "orderId": order["orderId"], "cancelReason": "일정 변경" });
    let cancelled = json_of(
        app.post_json_as("/payments/cancel", &employer.token, &cancel).await,
        200,
    )
    .await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["refundedAmount"].as_i64()),
        (Some("CANCELED"), Some(100_800))
    );
    eventually(&app, &format!("/jobs/{job_id}"), &employer.token, |job| {
        job["funded"] == false
    })
    .await;

    let worker = app.signup("worker").await;
    let (job_id, order) = paid_job(&app, &employer, 1).await;
    hire(&app, &employer, &worker, &job_id).await;
    complete_and_settle(&app, &employer, &job_id, &text(&order, "orderId")).await;
    let cancel = json!({ "orderId": order["orderId"], "cancelReason": "너무 늦은 취소" });
    assert_eq!(
        code_of(
            app.post_json_as("/payments/cancel", &employer.token, &cancel).await,
            409
        )
        .await,
        "already_settled"
    );
}

#[tokio::test]
async fn completion_settles_each_worker_with_withholding_and_refunds_the_empty_places() {
    let app = spawn_payments_app().await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let (job_id, order) = paid_job(&app, &employer, 2).await;
    hire(&app, &employer, &worker, &job_id).await;
    let order_id = text(&order, "orderId");
    json_of(
        app.post_json_as(&format!("/jobs/{job_id}/complete"), &employer.token, &json!({}))
            .await,
        200,
    )
    .await;

    // One of two places used: 96,000 + 4,800 fee stay; 100,800 go back.
    let path = format!("/payments/orders/{order_id}");
    let settled = eventually(&app, &path, &employer.token, |o| o["status"] == "PARTIAL_CANCELED").await;
    assert_eq!(settled["refundedAmount"], 100_800);
    assert!(settled["settledAt"].is_string());

    let page = json_of(app.get_as("/payments/settlements", &worker.token).await, 200).await;
    let settlement = &page["items"][0];
    assert_eq!(
        (
            settlement["gross"].as_i64(),
            settlement["fee"].as_i64(),
            settlement["tax"].as_i64(),
            settlement["net"].as_i64()
        ),
        (Some(96_000), Some(0), Some(860), Some(95_140))
    );
    assert_eq!(
        settlement["taxBreakdown"],
        json!({ "incomeTax": 0, "localIncomeTax": 0, "employmentInsurance": 860 })
    );
    assert_eq!(settlement["jobId"], job_id.as_str());
    let of_employer = json_of(app.get_as("/payments/settlements", &employer.token).await, 200).await;
    assert_eq!(of_employer["items"][0]["id"], settlement["id"]);

    let wallet = json_of(app.get_as("/payments/wallet", &worker.token).await, 200).await;
    assert_eq!(
        (wallet["balance"].as_i64(), wallet["pendingWithdrawals"].as_i64()),
        (Some(95_140), Some(0))
    );
    let entry = &wallet["transactions"][0];
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["amount"].as_i64(),
            entry["balanceAfter"].as_i64()
        ),
        (Some("settlement"), Some(95_140), Some(95_140))
    );
    assert_eq!(entry["ref"], settlement["id"]);
}

#[tokio::test]
async fn a_cancelled_job_refunds_its_payment() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let (job_id, order) = paid_job(&app, &employer, 3).await;
    json_of(app.delete_as(&format!("/jobs/{job_id}"), &employer.token).await, 204).await;
    let path = format!("/payments/orders/{}", text(&order, "orderId"));
    let refunded = eventually(&app, &path, &employer.token, |o| o["status"] == "CANCELED").await;
    assert_eq!(refunded["refundedAmount"], refunded["amount"]);
    assert!(refunded["settledAt"].is_null());
}

#[tokio::test]
async fn concurrent_withdrawals_never_overdraw_the_balance() {
    let app = spawn_payments_app().await;
    let worker = settled_worker(&app).await;
    let body = withdraw_body(10_000, "110-123-456789");
    let requests = (0..100).map(|_| app.post_json_as("/payments/withdraw", &worker.token, &body));
    let answers = futures::future::join_all(requests).await;
    let accepted = answers.iter().filter(|r| r.status() == 202).count();
    let refused = answers.iter().filter(|r| r.status() == 409).count();
    assert_eq!(
        (accepted, refused),
        (9, 91),
        "95,140 won make nine withdrawals of 10,000"
    );
    let wallet = json_of(app.get_as("/payments/wallet", &worker.token).await, 200).await;
    assert_eq!(wallet["balance"], 5_140, "the nine left the balance at once");
    let done = eventually(&app, "/payments/wallet", &worker.token, |w| {
        w["pendingWithdrawals"] == 0
    })
    .await;
    assert_eq!(done["balance"], 5_140);
    let checked = ledger_check(app.data_dir.path()).await;
    assert!(
        checked.status.success(),
        "no overdraft, every entry balanced: {}",
        output(&checked.stdout)
    );
    let page = json_of(app.get_as("/payments/withdrawals?limit=100", &worker.token).await, 200).await;
    let statuses: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["COMPLETED"; 9]);
    assert_eq!(page["items"][0]["bank"]["accountNumber"], "********6789");
}

#[tokio::test]
async fn a_failing_payout_is_reversed_and_bad_withdrawals_are_refused() {
    let app = spawn_payments_app().await;
    let worker = settled_worker(&app).await;
    let low = app
        .post_json_as(
            "/payments/withdraw",
            &worker.token,
            &withdraw_body(9_999, "110-123-456789"),
        )
        .await;
    assert_eq!(low.status(), 422);
    let bad_bank = json!({ "amount": 10_000, "bank": { "code": "999", "accountNumber": "12", "holderName": "" } });
    let refused = problem(app.post_json_as("/payments/withdraw", &worker.token, &bad_bank).await).await;
    for field in ["bank.code", "bank.accountNumber", "bank.holderName"] {
        assert!(refused["errors"][field].is_array(), "{field} in {refused}");
    }
    let too_much = app
        .post_json_as(
            "/payments/withdraw",
            &worker.token,
            &withdraw_body(95_141, "110-123-456789"),
        )
        .await;
    assert_eq!(code_of(too_much, 409).await, "insufficient_balance");

    let accepted = json_of(
        app.post_json_as(
            "/payments/withdraw",
            &worker.token,
            &withdraw_body(50_000, "110-123-450000"),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(accepted["status"], "REQUESTED");
    let wallet = json_of(app.get_as("/payments/wallet", &worker.token).await, 200).await;
    assert_eq!(
        (wallet["balance"].as_i64(), wallet["pendingWithdrawals"].as_i64()),
        (Some(45_140), Some(50_000))
    );
    let page = eventually(&app, "/payments/withdrawals", &worker.token, |p| {
        p["items"][0]["status"] == "FAILED"
    })
    .await;
    assert!(page["items"][0]["failureReason"].is_string());
    let wallet = json_of(app.get_as("/payments/wallet", &worker.token).await, 200).await;
    assert_eq!(
        (wallet["balance"].as_i64(), wallet["pendingWithdrawals"].as_i64()),
        (Some(95_140), Some(0))
    );
    let kinds: Vec<&str> = wallet["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["withdrawal_reversal", "withdrawal", "settlement"]);
    let older = json_of(
        app.get_as("/payments/wallet/transactions?limit=2", &worker.token).await,
        200,
    )
    .await;
    assert_eq!(older["items"].as_array().unwrap().len(), 2);
    assert!(older["nextCursor"].is_string());
    let employer = app.signup("employer").await;
    assert_eq!(
        app.post_json_as(
            "/payments/withdraw",
            &employer.token,
            &withdraw_body(10_000, "110-123-456789")
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn the_webhook_body_is_not_trusted_and_the_checkout_is_sandbox_only() {
    let app = spawn_payments_app().await;
    let employer = app.signup("employer").await;
    let job_id = post_job(&app, &employer, 1).await;
    let order = create_order(&app, &employer, &job_id).await;
    checkout(&app, &employer, &text(&order, "orderId"), None).await;
    let lie =
        json!({ "eventType": "PAYMENT_STATUS_CHANGED", "data": { "orderId": order["orderId"], "status": "DONE" } });
    json_of(app.post_json("/payments/webhooks/toss", &lie).await, 200).await;
    let path = format!("/payments/orders/{}", text(&order, "orderId"));
    assert_eq!(
        json_of(app.get_as(&path, &employer.token).await, 200).await["status"],
        "READY"
    );

    let toss = spawn_app_with(|config| {
        config.set("payments.provider", "toss");
        config.set("payments.secret_key", "test_sk_unused");
    })
    .await;
    let employer = toss.signup("employer").await;
    let body = json!({ "orderId": "any" });
    assert_eq!(
        toss.post_json_as("/payments/sandbox/checkout", &employer.token, &body)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_restart_keeps_orders_wallets_and_settlements() {
    let app = spawn_payments_app().await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let (job_id, order) = paid_job(&app, &employer, 1).await;
    hire(&app, &employer, &worker, &job_id).await;
    let order_id = text(&order, "orderId");
    let settled = complete_and_settle(&app, &employer, &job_id, &order_id).await;
    let wallet = eventually(&app, "/payments/wallet", &worker.token, |w| w["balance"] == 95_140).await;

    // The running instance checks its ledger over the control socket; a stopped one by itself.
    let live = ledger_check(app.data_dir.path()).await;
    assert!(live.status.success(), "{}", output(&live.stderr));
    assert!(
        output(&live.stdout).starts_with("ledger clean"),
        "{}",
        output(&live.stdout)
    );
    let (config, data_dir) = app.stop().await;
    let offline = ledger_check(data_dir.path()).await;
    assert!(offline.status.success(), "{}", output(&offline.stderr));
    assert!(output(&offline.stdout).contains("won received"));
    let app = start(config, data_dir).await;
    app.wait_until_ready().await;
    let path = format!("/payments/orders/{order_id}");
    assert_eq!(json_of(app.get_as(&path, &employer.token).await, 200).await, settled);
    assert_eq!(
        json_of(app.get_as("/payments/wallet", &worker.token).await, 200).await,
        wallet
    );
    let settlements = json_of(app.get_as("/payments/settlements", &worker.token).await, 200).await;
    assert_eq!(settlements["items"].as_array().unwrap().len(), 1);
}
