//! The real Toss Payments v1 client: `POST /v1/payments/confirm`, `POST
//! /v1/payments/{paymentKey}/cancel`, `GET /v1/payments/{paymentKey}` and `GET
//! /v1/payments/orders/{orderId}`, with Basic auth (the secret key and an empty password).
//!
//! Every POST carries an `Idempotency-Key`, the same on each attempt, so Toss applies it once.
//! When an attempt's outcome is unknown (a timeout, a dropped connection, a 5xx), the payment is
//! looked up before anything else happens: if the lookup shows the call took effect, that is the
//! answer; otherwise the call is repeated, up to `retries` times, and then reported unavailable.
//! Errors come as `{ code, message }`: `NOT_FOUND_PAYMENT` is "no such payment",
//! `ALREADY_PROCESSED_PAYMENT` on a confirm is settled by a lookup too, other 4xx are refusals.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{Cancel, Confirm, PaymentProvider, PaymentState, ProviderError, ProviderPayment};

/// The connection settings of the client.
#[derive(Debug, Clone)]
pub struct TossSettings {
    pub base_url: String,
    pub secret_key: String,
    /// Per attempt, connection included.
    pub timeout: Duration,
    /// Further attempts after an unknown outcome.
    pub retries: u32,
}

pub struct Toss {
    http: reqwest::Client,
    base_url: String,
    authorization: String,
    retries: u32,
}

/// The fields of Toss's Payment object this service reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossPayment {
    payment_key: String,
    order_id: String,
    status: PaymentState,
    total_amount: i64,
    balance_amount: i64,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    approved_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
struct TossError {
    code: String,
    #[serde(default)]
    message: String,
}

/// How one attempt ended.
enum Attempt {
    Answered(ProviderPayment),
    /// A definite answer that is not a payment.
    Failed(ProviderError),
    /// `ALREADY_PROCESSED_PAYMENT`: done before, by this call or another.
    AlreadyProcessed,
    /// Nobody knows whether it took effect.
    Unknown(String),
}

impl Toss {
    pub fn new(settings: &TossSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()?;
        let credentials = STANDARD.encode(format!("{}:", settings.secret_key));
        Ok(Self {
            http,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {credentials}"),
            retries: settings.retries,
        })
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Attempt {
        let response = match request
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return Attempt::Unknown(error.to_string()),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => return Attempt::Unknown(error.to_string()),
        };
        if status.is_server_error() {
            return Attempt::Unknown(format!("Toss answered {status}"));
        }
        if status.is_success() {
            return match serde_json::from_slice::<TossPayment>(&body) {
                Ok(payment) => Attempt::Answered(payment.into()),
                Err(error) => Attempt::Unknown(format!("Toss answered a payment this client cannot read: {error}")),
            };
        }
        let error = serde_json::from_slice::<TossError>(&body).unwrap_or_else(|_| TossError {
            code: "UNKNOWN_ERROR".to_owned(),
            message: format!("Toss answered {status} without an error body"),
        });
        match (status, error.code.as_str()) {
            (_, "ALREADY_PROCESSED_PAYMENT") => Attempt::AlreadyProcessed,
            (StatusCode::NOT_FOUND, _) | (_, "NOT_FOUND_PAYMENT") => Attempt::Failed(ProviderError::NotFound),
            // Our credentials, not the customer's payment: an operator has to act.
            (StatusCode::UNAUTHORIZED, code) | (_, code @ "UNAUTHORIZED_KEY") => Attempt::Failed(
                ProviderError::Unavailable(format!("Toss refused the secret key ({code}: {})", error.message)),
            ),
            _ => Attempt::Failed(ProviderError::Refused {
                code: error.code,
                message: error.message,
            }),
        }
    }

    /// A POST that changes money: attempted until answered, each unknown outcome settled by
    /// looking the payment up (`took_effect` tells whether the looked-up payment shows it).
    async fn change(
        &self,
        path: &str,
        body: serde_json::Value,
        idempotency_key: &str,
        payment_key: &str,
        took_effect: impl Fn(&ProviderPayment) -> bool,
    ) -> Result<ProviderPayment, ProviderError> {
        let url = format!("{}{path}", self.base_url);
        let mut last_unknown = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            let request = self
                .http
                .post(&url)
                .header("Idempotency-Key", idempotency_key)
                .json(&body);
            match self.attempt(request).await {
                Attempt::Answered(payment) => return Ok(payment),
                Attempt::Failed(error) => return Err(error),
                Attempt::AlreadyProcessed => {
                    let payment = self.fetch(&format!("/v1/payments/{payment_key}")).await?;
                    return if took_effect(&payment) {
                        Ok(payment)
                    } else {
                        Err(ProviderError::Refused {
                            code: "ALREADY_PROCESSED_PAYMENT".to_owned(),
                            message: "the payment was processed otherwise".to_owned(),
                        })
                    };
                }
                Attempt::Unknown(reason) => {
                    tracing::warn!(%reason, path, "Toss call has an unknown outcome; looking the payment up");
                    match self.fetch(&format!("/v1/payments/{payment_key}")).await {
                        Ok(payment) if took_effect(&payment) => return Ok(payment),
                        Ok(_) | Err(ProviderError::NotFound) => {}
                        Err(error) => tracing::warn!(%error, "the lookup after an unknown outcome failed too"),
                    }
                    last_unknown = reason;
                }
            }
        }
        Err(ProviderError::Unavailable(last_unknown))
    }

    /// A lookup: safe to repeat, so an unknown outcome is simply tried again.
    async fn fetch(&self, path: &str) -> Result<ProviderPayment, ProviderError> {
        let url = format!("{}{path}", self.base_url);
        let mut last_unknown = String::new();
        for _ in 0..=self.retries {
            match self.attempt(self.http.get(&url)).await {
                Attempt::Answered(payment) => return Ok(payment),
                Attempt::Failed(error) => return Err(error),
                Attempt::AlreadyProcessed => break,
                Attempt::Unknown(reason) => last_unknown = reason,
            }
        }
        Err(ProviderError::Unavailable(last_unknown))
    }
}

impl From<TossPayment> for ProviderPayment {
    fn from(payment: TossPayment) -> Self {
        Self {
            payment_key: payment.payment_key,
            order_id: payment.order_id,
            status: payment.status,
            total_amount: payment.total_amount,
            balance_amount: payment.balance_amount,
            method: payment.method.unwrap_or_default(),
            approved_at: payment.approved_at,
        }
    }
}

impl PaymentProvider for Toss {
    fn confirm(&self, confirm: Confirm) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        async move {
            let body = json!({
                "paymentKey": confirm.payment_key,
                "orderId": confirm.order_id,
                "amount": confirm.amount,
            });
            // One confirm per order and key: a retry, or a second request racing this one, is
            // the same call to Toss.
            let idempotency_key = format!("confirm-{}-{}", confirm.order_id, confirm.payment_key);
            let took_effect = |payment: &ProviderPayment| {
                payment.order_id == confirm.order_id
                    && payment.total_amount == confirm.amount
                    && matches!(
                        payment.status,
                        PaymentState::Done | PaymentState::PartialCanceled | PaymentState::Canceled
                    )
            };
            self.change(
                "/v1/payments/confirm",
                body,
                &idempotency_key,
                &confirm.payment_key,
                took_effect,
            )
            .await
        }
        .boxed()
    }

    fn cancel(&self, cancel: Cancel) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        async move {
            let mut body = json!({ "cancelReason": cancel.reason });
            if let Some(amount) = cancel.amount {
                body["cancelAmount"] = json!(amount);
            }
            let path = format!("/v1/payments/{}/cancel", cancel.payment_key);
            // A full cancel shows in a lookup; a partial one cannot be told from an earlier
            // partial cancel, so it is settled by repeating it under the same key instead.
            let full = cancel.amount.is_none();
            let took_effect = |payment: &ProviderPayment| full && payment.status == PaymentState::Canceled;
            self.change(&path, body, &cancel.idempotency_key, &cancel.payment_key, took_effect)
                .await
        }
        .boxed()
    }

    fn payment_of_order(&self, order_id: &str) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        let path = format!("/v1/payments/orders/{order_id}");
        async move { self.fetch(&path).await }.boxed()
    }
}

#[cfg(test)]
mod tests;
