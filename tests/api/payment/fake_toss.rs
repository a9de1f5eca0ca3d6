//! A fake Toss Payments v1 on loopback, for the real `toss` client inside the platform: it keeps
//! payments the way Toss does (a checkout hands the customer a `paymentKey`; confirm, cancel in
//! full or in part, lookups by key and by order), checks the Basic credentials, wants an
//! `Idempotency-Key` on every POST and answers a key it has seen with its first answer. A test
//! can make a payment declined, make a confirm answer too late, refuse every cancel, and cancel a
//! payment as an operator in the Toss console would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// The secret key the platform is configured with; base64("test_sk_fake:").
pub const SECRET: &str = "test_sk_fake";
const AUTHORIZATION: &str = "Basic dGVzdF9za19mYWtlOg==";
/// How long a slow confirm keeps the client waiting: past the client timeout of the tests.
const SLOW: Duration = Duration::from_secs(3);

struct Payment {
    key: String,
    order_id: String,
    amount: i64,
    balance: i64,
    status: &'static str,
    decline: Option<String>,
    slow: bool,
}

#[derive(Default)]
struct Fake {
    payments: Mutex<HashMap<String, Payment>>,
    /// Order id → its latest payment key.
    by_order: Mutex<HashMap<String, String>>,
    /// Idempotency key → the first answer.
    answered: Mutex<HashMap<String, (StatusCode, Value)>>,
    /// `(path, idempotency key)` of every POST.
    posts: Mutex<Vec<(String, String)>>,
    refuse_cancels: Mutex<Option<String>>,
}

pub struct FakeToss {
    pub base_url: String,
    fake: Arc<Fake>,
}

type Shared = State<Arc<Fake>>;

impl Payment {
    fn json(&self) -> Value {
        json!({
            "paymentKey": self.key, "orderId": self.order_id, "orderName": "onetime", "status": self.status,
            "totalAmount": self.amount, "balanceAmount": self.balance, "method": "카드",
            "requestedAt": "2026-12-01T08:59:00+09:00",
            "approvedAt": (self.status != "IN_PROGRESS").then_some("2026-12-01T09:00:00+09:00"),
        })
    }
}

fn error(status: StatusCode, code: &str) -> (StatusCode, Value) {
    (status, json!({ "code": code, "message": format!("fake Toss: {code}") }))
}

fn respond((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

impl FakeToss {
    pub async fn start() -> Self {
        let fake = Arc::new(Fake::default());
        let router = Router::new()
            .route("/v1/payments/confirm", post(confirm))
            .route("/v1/payments/{key}/cancel", post(cancel))
            .route("/v1/payments/{key}", get(lookup))
            .route("/v1/payments/orders/{order_id}", get(by_order))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base_url, fake }
    }

    /// The customer pays `amount` for the order at the checkout page: the key the client gets.
    pub fn checkout(&self, order_id: &str, amount: i64) -> String {
        self.add(order_id, amount, None, false)
    }

    /// A checkout whose confirm the card company declines with `code`.
    pub fn checkout_declined(&self, order_id: &str, amount: i64, code: &str) -> String {
        self.add(order_id, amount, Some(code.to_owned()), false)
    }

    /// A checkout whose confirm is approved but answered only after the client gave up.
    pub fn checkout_slow(&self, order_id: &str, amount: i64) -> String {
        self.add(order_id, amount, None, true)
    }

    fn add(&self, order_id: &str, amount: i64, decline: Option<String>, slow: bool) -> String {
        let key = format!("tgen_{}", uuid::Uuid::now_v7().simple());
        let payment = Payment {
            key: key.clone(),
            order_id: order_id.to_owned(),
            amount,
            balance: amount,
            status: "IN_PROGRESS",
            decline,
            slow,
        };
        self.fake.payments.lock().unwrap().insert(key.clone(), payment);
        self.fake
            .by_order
            .lock()
            .unwrap()
            .insert(order_id.to_owned(), key.clone());
        key
    }

    /// An operator cancels in the Toss console, all that is left or `amount`.
    pub fn console_cancel(&self, key: &str, amount: Option<i64>) {
        let mut payments = self.fake.payments.lock().unwrap();
        let payment = payments.get_mut(key).expect("a payment of the fake");
        payment.balance -= amount.unwrap_or(payment.balance);
        payment.status = if payment.balance == 0 {
            "CANCELED"
        } else {
            "PARTIAL_CANCELED"
        };
    }

    /// From now on every cancel is refused with `code` (`None`: cancels work again).
    pub fn refuse_cancels(&self, code: Option<&str>) {
        *self.fake.refuse_cancels.lock().unwrap() = code.map(str::to_owned);
    }

    /// The idempotency keys of the POSTs to `path`, in order.
    pub fn idempotency_keys(&self, path: &str) -> Vec<String> {
        let posts = self.fake.posts.lock().unwrap();
        posts
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, key)| key.clone())
            .collect()
    }
}

/// The answer to a POST: checks the credentials and the idempotency key, replays an answer
/// given before under the key, else `apply`s it and keeps the answer.
fn answer_post(
    fake: &Fake,
    headers: &HeaderMap,
    path: String,
    apply: impl FnOnce() -> (StatusCode, Value),
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTHORIZATION) {
        return respond(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED_KEY"));
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return respond(error(StatusCode::BAD_REQUEST, "INVALID_REQUEST"));
    };
    fake.posts.lock().unwrap().push((path, key.to_owned()));
    if let Some((status, body)) = fake.answered.lock().unwrap().get(key).cloned() {
        return respond((status, body));
    }
    let (status, body) = apply();
    fake.answered
        .lock()
        .unwrap()
        .insert(key.to_owned(), (status, body.clone()));
    respond((status, body))
}

async fn confirm(State(fake): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
    let mut slow = false;
    let answer = answer_post(&fake, &headers, "/v1/payments/confirm".to_owned(), || {
        let mut payments = fake.payments.lock().unwrap();
        let Some(payment) = payments.get_mut(&key).filter(|p| body["orderId"] == p.order_id) else {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT");
        };
        if body["amount"] != payment.amount {
            return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
        }
        if let Some(code) = &payment.decline {
            return error(StatusCode::FORBIDDEN, code);
        }
        if payment.status != "IN_PROGRESS" {
            return error(StatusCode::BAD_REQUEST, "ALREADY_PROCESSED_PAYMENT");
        }
        payment.status = "DONE";
        slow = payment.slow;
        (StatusCode::OK, payment.json())
    });
    if slow {
        tokio::time::sleep(SLOW).await;
    }
    answer
}

async fn cancel(State(fake): Shared, headers: HeaderMap, Path(key): Path<String>, Json(body): Json<Value>) -> Response {
    answer_post(&fake, &headers, format!("/v1/payments/{key}/cancel"), || {
        if let Some(code) = fake.refuse_cancels.lock().unwrap().clone() {
            return error(StatusCode::FORBIDDEN, &code);
        }
        let mut payments = fake.payments.lock().unwrap();
        let Some(payment) = payments.get_mut(&key) else {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT");
        };
        match payment.status {
            "DONE" | "PARTIAL_CANCELED" => {}
            "CANCELED" => return error(StatusCode::BAD_REQUEST, "ALREADY_CANCELED_PAYMENT"),
            _ => return error(StatusCode::FORBIDDEN, "NOT_CANCELABLE_PAYMENT"),
        }
        let amount = body["cancelAmount"].as_i64().unwrap_or(payment.balance);
        if amount > payment.balance {
            return error(StatusCode::FORBIDDEN, "NOT_CANCELABLE_AMOUNT");
        }
        payment.balance -= amount;
        payment.status = if payment.balance == 0 {
            "CANCELED"
        } else {
            "PARTIAL_CANCELED"
        };
        (StatusCode::OK, payment.json())
    })
}

fn found(fake: &Fake, headers: &HeaderMap, key: Option<String>) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTHORIZATION) {
        return respond(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED_KEY"));
    }
    let payments = fake.payments.lock().unwrap();
    match key.and_then(|key| payments.get(&key)) {
        Some(payment) => Json(payment.json()).into_response(),
        None => respond(error(StatusCode::NOT_FOUND, "NOT_FOUND_PAYMENT")),
    }
}

async fn lookup(State(fake): Shared, headers: HeaderMap, Path(key): Path<String>) -> Response {
    found(&fake, &headers, Some(key))
}

async fn by_order(State(fake): Shared, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
    let key = fake.by_order.lock().unwrap().get(&order_id).cloned();
    found(&fake, &headers, key)
}
