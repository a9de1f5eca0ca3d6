//! The sandbox provider: the Toss contract simulated in the payment store, so the whole flow
//! runs offline and survives restarts. A checkout hands out a `paymentKey` for an order and
//! amount; confirm checks both; cancels refund all or part; lookups answer by key or order.
//! A checkout may be told to fail (`simulate`): its confirm is then refused with that code, so
//! the error paths are testable without the real service.

use futures::FutureExt;
use futures::future::BoxFuture;
use onetime_storage::{Store, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Cancel, Confirm, PaymentProvider, PaymentState, ProviderError, ProviderPayment};

/// A payment of the simulated provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SandboxPayment {
    payment_key: String,
    order_id: String,
    amount: i64,
    balance: i64,
    status: PaymentState,
    simulate: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    approved_at: Option<OffsetDateTime>,
    /// Idempotency keys of the cancels applied, so a repeated cancel refunds once.
    cancels: Vec<String>,
}

const PAYMENTS: Table<String, SandboxPayment> = Table::new("sandbox.payments");
/// Order id → the payment key of its latest checkout.
const BY_ORDER: Table<String, String> = Table::new("sandbox.by_order");

pub struct Sandbox {
    store: Store,
}

impl Sandbox {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// What the checkout page does at Toss: the customer pays, the client gets a `paymentKey`.
    /// A new checkout of the same order supersedes the last one.
    pub async fn checkout(
        &self,
        order_id: &str,
        amount: i64,
        simulate: Option<String>,
    ) -> Result<String, ProviderError> {
        let payment = SandboxPayment {
            payment_key: format!("sandbox_{}", onetime_common::events::new_id().simple()),
            order_id: order_id.to_owned(),
            amount,
            balance: amount,
            status: PaymentState::InProgress,
            simulate,
            approved_at: None,
            cancels: Vec::new(),
        };
        let key = payment.payment_key.clone();
        self.store
            .write(move |tx| {
                BY_ORDER.insert(tx, &payment.order_id, &payment.payment_key)?;
                PAYMENTS.insert(tx, &payment.payment_key, &payment).map(drop)
            })
            .await?;
        Ok(key)
    }

    fn change(
        &self,
        payment_key: String,
        apply: impl FnOnce(&WriteTx, &mut SandboxPayment) -> Result<(), ProviderError> + Send + 'static,
    ) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        let store = self.store.clone();
        async move {
            store
                .write(move |tx: &WriteTx| {
                    let mut payment = PAYMENTS.get(tx, &payment_key)?.ok_or(ProviderError::NotFound)?;
                    apply(tx, &mut payment)?;
                    PAYMENTS.insert(tx, &payment_key, &payment)?;
                    Ok(payment.reported())
                })
                .await
        }
        .boxed()
    }
}

fn refused(code: &str, message: &str) -> ProviderError {
    ProviderError::Refused {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

impl SandboxPayment {
    fn reported(&self) -> ProviderPayment {
        ProviderPayment {
            payment_key: self.payment_key.clone(),
            order_id: self.order_id.clone(),
            status: self.status,
            total_amount: self.amount,
            balance_amount: self.balance,
            method: "카드".to_owned(),
            approved_at: self.approved_at,
        }
    }
}

impl PaymentProvider for Sandbox {
    fn confirm(&self, confirm: Confirm) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        self.change(confirm.payment_key.clone(), move |tx, payment| {
            // Only the order's latest checkout can be confirmed: one payment per order, as Toss
            // keeps order ids unique.
            let latest = BY_ORDER.get(tx, &confirm.order_id)?;
            if payment.order_id != confirm.order_id || latest.as_ref() != Some(&payment.payment_key) {
                return Err(ProviderError::NotFound);
            }
            if payment.amount != confirm.amount {
                return Err(refused(
                    "INVALID_REQUEST",
                    "the amount is not the amount of the checkout",
                ));
            }
            if let Some(code) = &payment.simulate {
                return Err(refused(code, "the sandbox was told to refuse this payment"));
            }
            if payment.status == PaymentState::InProgress {
                payment.status = PaymentState::Done;
                payment.approved_at = Some(OffsetDateTime::now_utc());
            }
            Ok(())
        })
    }

    fn cancel(&self, cancel: Cancel) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        self.change(cancel.payment_key.clone(), move |_, payment| {
            if payment.cancels.contains(&cancel.idempotency_key) {
                return Ok(());
            }
            if !matches!(payment.status, PaymentState::Done | PaymentState::PartialCanceled) {
                return Err(refused("NOT_CANCELABLE_PAYMENT", "the payment is not done"));
            }
            let amount = cancel.amount.unwrap_or(payment.balance);
            if amount <= 0 || amount > payment.balance {
                return Err(refused("NOT_CANCELABLE_AMOUNT", "the amount is more than is left"));
            }
            payment.balance -= amount;
            payment.status = if payment.balance == 0 {
                PaymentState::Canceled
            } else {
                PaymentState::PartialCanceled
            };
            payment.cancels.push(cancel.idempotency_key);
            Ok(())
        })
    }

    fn payment_of_order(&self, order_id: &str) -> BoxFuture<'_, Result<ProviderPayment, ProviderError>> {
        let (store, order_id) = (self.store.clone(), order_id.to_owned());
        async move {
            store
                .read(move |tx| {
                    let key = BY_ORDER.get(tx, &order_id)?.ok_or(ProviderError::NotFound)?;
                    PAYMENTS
                        .get(tx, &key)?
                        .map(|p| p.reported())
                        .ok_or(ProviderError::NotFound)
                })
                .await
        }
        .boxed()
    }
}
