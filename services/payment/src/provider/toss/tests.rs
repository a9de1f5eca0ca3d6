//! The real client against a fake Toss on loopback. The fake checks the Basic credentials and
//! that every POST has an `Idempotency-Key`, records what it was sent, and answers by payment
//! key: approvals, Toss's error codes, a 500 once, a hang past the client's timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Toss, TossSettings};
use crate::provider::{Cancel, Confirm, PaymentProvider, PaymentState, ProviderError};

const SECRET: &str = "test_sk_onetime";
const TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Default)]
struct Fake {
    /// `(method and path, idempotency key)` of every request with the right credentials.
    calls: Mutex<Vec<(String, Option<String>)>>,
    /// Payments as a lookup reports them, by key.
    payments: Mutex<HashMap<String, Value>>,
}

type Shared = State<Arc<Fake>>;

fn payment(key: &str, status: &str, total: i64, balance: i64) -> Value {
    json!({
        "paymentKey": key, "orderId": "order-1", "orderName": "카페 주말 알바 인건비 (1명)",
        "status": status, "totalAmount": total, "balanceAmount": balance, "method": "카드",
        "approvedAt": "2026-12-01T09:00:00+09:00", "requestedAt": "2026-12-01T08:59:00+09:00",
    })
}

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": format!("fake Toss: {code}") })),
    )
        .into_response()
}

impl Fake {
    /// Checks credentials and idempotency and records the call; `Some` is the refusal to answer.
    fn refuse(&self, headers: &HeaderMap, call: String, post: bool) -> Option<Response> {
        // base64("test_sk_onetime:")
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic dGVzdF9za19vbmV0aW1lOg==") {
            return Some(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED_KEY"));
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if post && key.is_none() {
            return Some(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST"));
        }
        self.calls.lock().unwrap().push((call, key));
        None
    }

    fn attempts(&self, call: &str) -> Vec<Option<String>> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(c, _)| c == call)
            .map(|(_, key)| key.clone())
            .collect()
    }
}

async fn confirm(State(fake): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
    if let Some(answer) = fake.refuse(&headers, format!("POST confirm {key}"), true) {
        return answer;
    }
    let amount = body["amount"].as_i64().unwrap_or_default();
    let done = payment(&key, "DONE", amount, amount);
    match key.as_str() {
        "pk_ok" => Json(done).into_response(),
        "pk_already" => error(StatusCode::BAD_REQUEST, "ALREADY_PROCESSED_PAYMENT"),
        "pk_reject" => error(StatusCode::FORBIDDEN, "REJECT_CARD_COMPANY"),
        "pk_exceed" => error(StatusCode::BAD_REQUEST, "EXCEED_MAX_AMOUNT"),
        "pk_invalid" => error(StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        "pk_flaky" if fake.attempts(&format!("POST confirm {key}")).len() == 1 => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "FAILED_INTERNAL_SYSTEM_PROCESSING")
        }
        "pk_flaky" => Json(done).into_response(),
        "pk_hang" => {
            // The approval happens, but the answer comes too late for the client.
            fake.payments.lock().unwrap().insert(key, done);
            tokio::time::sleep(TIMEOUT * 4).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        "pk_down" => error(StatusCode::INTERNAL_SERVER_ERROR, "FAILED_INTERNAL_SYSTEM_PROCESSING"),
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT"),
    }
}

async fn cancel(State(fake): Shared, headers: HeaderMap, Path(key): Path<String>, Json(body): Json<Value>) -> Response {
    let amount = body["cancelAmount"].as_i64();
    if let Some(answer) = fake.refuse(&headers, format!("POST cancel {key} {amount:?}"), true) {
        return answer;
    }
    match amount {
        Some(amount) => Json(payment(&key, "PARTIAL_CANCELED", 105_000, 105_000 - amount)).into_response(),
        None => Json(payment(&key, "CANCELED", 105_000, 0)).into_response(),
    }
}

async fn lookup(State(fake): Shared, headers: HeaderMap, Path(key): Path<String>) -> Response {
    if let Some(answer) = fake.refuse(&headers, format!("GET {key}"), false) {
        return answer;
    }
    let known = fake.payments.lock().unwrap().get(&key).cloned();
    match (key.as_str(), known) {
        ("pk_down", _) => error(StatusCode::INTERNAL_SERVER_ERROR, "FAILED_INTERNAL_SYSTEM_PROCESSING"),
        (_, Some(payment)) => Json(payment).into_response(),
        ("pk_already", None) => Json(payment(&key, "DONE", 105_000, 105_000)).into_response(),
        ("pk_flaky", None) => Json(payment(&key, "IN_PROGRESS", 105_000, 105_000)).into_response(),
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT"),
    }
}

async fn by_order(State(fake): Shared, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
    if let Some(answer) = fake.refuse(&headers, format!("GET order {order_id}"), false) {
        return answer;
    }
    Json(payment("pk_ok", "DONE", 105_000, 105_000)).into_response()
}

async fn fake_toss() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = Router::new()
        .route("/v1/payments/confirm", post(confirm))
        .route("/v1/payments/{key}/cancel", post(cancel))
        .route("/v1/payments/{key}", get(lookup))
        .route("/v1/payments/orders/{order_id}", get(by_order))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, base)
}

fn client(base_url: &str, secret_key: &str) -> Toss {
    Toss::new(&TossSettings {
        base_url: base_url.to_owned(),
        secret_key: secret_key.to_owned(),
        timeout: TIMEOUT,
        retries: 2,
    })
    .unwrap()
}

fn confirm_of(key: &str) -> Confirm {
    Confirm {
        payment_key: key.to_owned(),
        order_id: "order-1".to_owned(),
        amount: 105_000,
    }
}

#[tokio::test]
async fn a_confirm_is_approved_with_basic_auth_and_an_idempotency_key() {
    let (fake, base) = fake_toss().await;
    let paid = client(&base, SECRET).confirm(confirm_of("pk_ok")).await.unwrap();
    assert_eq!(
        (paid.status, paid.total_amount, paid.method.as_str()),
        (PaymentState::Done, 105_000, "카드")
    );
    assert!(paid.approved_at.is_some());
    let keys = fake.attempts("POST confirm pk_ok");
    assert_eq!(keys, [Some("confirm-order-1-pk_ok".to_owned())]);

    let wrong = client(&base, "test_sk_wrong")
        .confirm(confirm_of("pk_ok"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, ProviderError::Unavailable(ref m) if m.contains("UNAUTHORIZED_KEY")),
        "{wrong}"
    );
}

#[tokio::test]
async fn toss_error_codes_become_refusals_or_not_found() {
    let (_fake, base) = fake_toss().await;
    let toss = client(&base, SECRET);
    for (key, code) in [
        ("pk_reject", "REJECT_CARD_COMPANY"),
        ("pk_exceed", "EXCEED_MAX_AMOUNT"),
        ("pk_invalid", "INVALID_REQUEST"),
    ] {
        match toss.confirm(confirm_of(key)).await {
            Err(ProviderError::Refused { code: got, .. }) => assert_eq!(got, code),
            other => panic!("{key}: {other:?}"),
        }
    }
    assert!(matches!(
        toss.confirm(confirm_of("pk_unknown")).await,
        Err(ProviderError::NotFound)
    ));
}

#[tokio::test]
async fn already_processed_is_settled_by_a_lookup() {
    let (fake, base) = fake_toss().await;
    let paid = client(&base, SECRET).confirm(confirm_of("pk_already")).await.unwrap();
    assert_eq!(paid.status, PaymentState::Done);
    assert_eq!(fake.attempts("GET pk_already").len(), 1);
}

#[tokio::test]
async fn a_500_is_looked_up_then_retried_with_the_same_key() {
    let (fake, base) = fake_toss().await;
    let paid = client(&base, SECRET).confirm(confirm_of("pk_flaky")).await.unwrap();
    assert_eq!(paid.status, PaymentState::Done);
    let keys = fake.attempts("POST confirm pk_flaky");
    assert_eq!(keys.len(), 2, "one retry");
    assert_eq!(keys[0], keys[1], "the retry reuses the idempotency key");
    assert_eq!(
        fake.attempts("GET pk_flaky").len(),
        1,
        "the unknown outcome was looked up first"
    );
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_settled_by_a_lookup_without_a_second_charge() {
    let (fake, base) = fake_toss().await;
    let paid = client(&base, SECRET).confirm(confirm_of("pk_hang")).await.unwrap();
    assert_eq!(paid.status, PaymentState::Done);
    assert_eq!(fake.attempts("POST confirm pk_hang").len(), 1, "not confirmed again");
}

#[tokio::test]
async fn an_outcome_that_stays_unknown_is_unavailable_after_the_retries() {
    let (fake, base) = fake_toss().await;
    let error = client(&base, SECRET).confirm(confirm_of("pk_down")).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error}");
    let keys = fake.attempts("POST confirm pk_down");
    assert_eq!(keys.len(), 3, "the first attempt and two retries");
    assert!(keys.iter().all(|key| *key == keys[0]));
}

#[tokio::test]
async fn cancels_send_the_amount_and_the_refund_key_and_orders_are_looked_up() {
    let (fake, base) = fake_toss().await;
    let toss = client(&base, SECRET);
    let partial = Cancel {
        payment_key: "pk_ok".to_owned(),
        amount: Some(5_250),
        reason: "places never filled".to_owned(),
        idempotency_key: "refund-1".to_owned(),
    };
    let refunded = toss.cancel(partial).await.unwrap();
    assert_eq!(
        (refunded.status, refunded.balance_amount),
        (PaymentState::PartialCanceled, 99_750)
    );
    assert_eq!(
        fake.attempts("POST cancel pk_ok Some(5250)"),
        [Some("refund-1".to_owned())]
    );

    let full = Cancel {
        payment_key: "pk_ok".to_owned(),
        amount: None,
        reason: "job cancelled".to_owned(),
        idempotency_key: "refund-2".to_owned(),
    };
    assert_eq!(toss.cancel(full).await.unwrap().status, PaymentState::Canceled);

    let found = toss.payment_of_order("order-1").await.unwrap();
    assert_eq!(
        (found.payment_key.as_str(), found.status),
        ("pk_ok", PaymentState::Done)
    );
}
