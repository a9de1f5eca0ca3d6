//! The employer's side: make an order for a job (computed from the job, never from the client),
//! check it out in the sandbox, confirm the payment, cancel it, read it, and follow the provider's
//! webhook.
//!
//! Provider calls happen outside write transactions; what they decided is then recorded in one
//! transaction that checks the order again, so two confirms racing credit the escrow once.

use std::sync::Arc;

use onetime_common::auth::{Principal, Role};
use onetime_common::directory::Clients;
use onetime_common::events::job::JobStatus;
use onetime_common::events::new_id;
use onetime_storage::{Store, WriteTx};
use time::OffsetDateTime;

use crate::domain::{BasisPoints, Order, OrderStatus, Payment, Refund};
use crate::error::PaymentError;
use crate::events;
use crate::ledger::{self, Account};
use crate::provider::sandbox::Sandbox;
use crate::provider::{Confirm, PaymentProvider, PaymentState, ProviderPayment};
use crate::refunds::{self, Refunder};
use crate::store;

/// Runs a blocking read of another service (its directory reads its store) off the reactor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PaymentError> + Send + 'static,
) -> Result<T, PaymentError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PaymentError::Storage(onetime_storage::StorageError::Join(e.to_string())))?
}

/// Paying and withdrawing need a verified email address (read from the account as it is now).
pub(crate) async fn require_verified(clients: &Arc<Clients>, user_id: &str) -> Result<(), PaymentError> {
    let (clients, user_id) = (clients.clone(), user_id.to_owned());
    let allowed = blocking(move || Ok(clients.users()?.may_transact(&user_id)?)).await?;
    if allowed {
        Ok(())
    } else {
        Err(PaymentError::EmailNotVerified)
    }
}

pub struct Orders {
    store: Store,
    provider: Arc<dyn PaymentProvider>,
    /// Present with `provider = "sandbox"`: the checkout the browser would do at Toss.
    sandbox: Option<Arc<Sandbox>>,
    refunder: Arc<Refunder>,
    clients: Arc<Clients>,
    employer_fee: BasisPoints,
    pub(crate) client_key: String,
}

/// What a cancel comes to once the order is checked.
enum CancelStep {
    Refund(Refund),
    /// Cancelled before: answered as it is.
    Cancelled(Box<Order>),
}

/// A confirm as the client sent it, parsed.
pub struct ConfirmRequest {
    pub payment_key: String,
    pub order_id: String,
    pub amount: i64,
}

impl Orders {
    pub fn new(
        store: Store,
        provider: Arc<dyn PaymentProvider>,
        sandbox: Option<Arc<Sandbox>>,
        refunder: Arc<Refunder>,
        clients: Arc<Clients>,
        employer_fee: BasisPoints,
        client_key: String,
    ) -> Self {
        Self {
            store,
            provider,
            sandbox,
            refunder,
            clients,
            employer_fee,
            client_key,
        }
    }

    /// The job's open order: the same `READY` one while the job's pay is unchanged (`false`:
    /// nothing new), else a new one replacing it (`true`).
    pub async fn create(&self, caller: &Principal, job_id: String) -> Result<(Order, bool), PaymentError> {
        require_verified(&self.clients, &caller.user_id).await?;
        let clients = self.clients.clone();
        let lookup = job_id.clone();
        let job = blocking(move || Ok(clients.jobs()?.job(&lookup)?)).await?;
        let job = job.ok_or(PaymentError::JobNotFound)?;
        if job.employer_id != caller.user_id {
            return Err(PaymentError::NotJobOwner);
        }
        if matches!(job.status, JobStatus::Completed | JobStatus::Cancelled) {
            return Err(PaymentError::JobNotOpen);
        }
        let pay_total = job.pay_per_worker * i64::from(job.headcount);
        let fee = self.employer_fee.of(pay_total);
        let fresh = Order {
            id: new_id().to_string(),
            order_name: order_name(&job.title, job.headcount),
            job_id: job.id,
            employer_id: job.employer_id,
            job_title: job.title,
            pay_per_worker: job.pay_per_worker,
            headcount: job.headcount,
            pay_total,
            fee_bps: self.employer_fee,
            fee,
            amount: pay_total + fee,
            refunded_amount: 0,
            status: OrderStatus::Ready,
            payment: None,
            refund_pending: None,
            created_at: OffsetDateTime::now_utc(),
            settled_at: None,
        };
        let created = self
            .store
            .write(move |tx| {
                match store::job_order(tx, &fresh.job_id)? {
                    Some(current) if matches!(current.status, OrderStatus::Done | OrderStatus::PartialCanceled) => {
                        return Err(PaymentError::AlreadyPaid);
                    }
                    Some(current) if current.status == OrderStatus::Ready && current.amount == fresh.amount => {
                        return Ok((current, false));
                    }
                    Some(mut replaced) if replaced.status == OrderStatus::Ready => {
                        replaced.status = OrderStatus::Expired;
                        store::save_order(tx, &replaced)?;
                    }
                    _ => {}
                }
                store::insert_order(tx, &fresh)?;
                Ok((fresh, true))
            })
            .await?;
        if created.1 {
            metrics::counter!("onetime_payment_orders_total").increment(1);
        }
        Ok(created)
    }

    /// The caller's order `id`: employers see their own, administrators any.
    pub async fn order(&self, caller: &Principal, id: String) -> Result<Order, PaymentError> {
        let order = self.store.read(move |tx| store::order(tx, &id)).await?;
        order
            .filter(|o| o.employer_id == caller.user_id || caller.role == Role::Admin)
            .ok_or(PaymentError::OrderNotFound)
    }

    /// The sandbox checkout: a payment key for the caller's `READY` order.
    pub async fn checkout(
        &self,
        caller: &Principal,
        order_id: String,
        simulate: Option<String>,
    ) -> Result<String, PaymentError> {
        let sandbox = self.sandbox.as_ref().ok_or(PaymentError::SandboxOnly)?;
        let order = self.order(caller, order_id).await?;
        if order.status != OrderStatus::Ready {
            return Err(PaymentError::NotPayable(status_name(order.status)));
        }
        Ok(sandbox.checkout(&order.id, order.amount, simulate).await?)
    }

    /// Confirms the payment of the caller's order: the escrow is credited once, however often
    /// it is confirmed.
    pub async fn confirm(&self, caller: &Principal, request: ConfirmRequest) -> Result<Order, PaymentError> {
        require_verified(&self.clients, &caller.user_id).await?;
        let order = self.order(caller, request.order_id.clone()).await?;
        if let Some(done) = already_confirmed(&order, &request.payment_key)? {
            return Ok(done);
        }
        if request.amount != order.amount {
            return Err(PaymentError::AmountMismatch { expected: order.amount });
        }
        let confirm = Confirm {
            payment_key: request.payment_key,
            order_id: order.id,
            amount: order.amount,
        };
        let paid = self.provider.confirm(confirm).await?;
        let order = self.store.write(move |tx| record_payment(tx, &paid)).await?;
        if order.refund_pending.is_some() {
            self.refunder.wake().notify_one();
        }
        Ok(order)
    }

    /// Cancels the caller's paid order before settlement and refunds it in full.
    pub async fn cancel(&self, caller: &Principal, order_id: String, reason: String) -> Result<Order, PaymentError> {
        let order = self.order(caller, order_id).await?;
        let queued = self
            .store
            .write(move |tx| {
                let mut order = store::order(tx, &order.id)?.ok_or(PaymentError::OrderNotFound)?;
                if order.settled_at.is_some() {
                    return Err(PaymentError::AlreadySettled);
                }
                match (order.status, &order.refund_pending) {
                    (OrderStatus::Canceled, _) => Ok(CancelStep::Cancelled(Box::new(order))),
                    (OrderStatus::Ready | OrderStatus::Expired, _) => Err(PaymentError::NotPaid),
                    // A refund of the whole payment is on its way already (the job was cancelled).
                    (_, Some(pending)) => match store::queued_refund(tx, pending)? {
                        Some(refund) => Ok(CancelStep::Refund(refund)),
                        // The provider refused it; an operator has it now.
                        None => {
                            let refused = store::refused_refund(tx, pending)?.ok_or(PaymentError::OrderNotFound)?;
                            Err(PaymentError::Refused {
                                code: refused.code,
                                message: refused.message,
                            })
                        }
                    },
                    _ => {
                        let amount = order.amount - order.refunded_amount;
                        let refund = refunds::queue(tx, &mut order, amount, &reason)?;
                        store::save_order(tx, &order)?;
                        Ok(CancelStep::Refund(refund))
                    }
                }
            })
            .await?;
        match queued {
            CancelStep::Refund(refund) => self.refunder.refund(refund).await,
            CancelStep::Cancelled(order) => Ok(*order),
        }
    }

    /// The Toss webhook: its body only says which order to look at; what the provider answers
    /// for that order is what counts. A payment the provider reports done (say, a confirm whose
    /// answer was lost on the way) is recorded as a confirm would; refunds it reports beyond the
    /// order's are recorded as made (a cancel in the Toss console, say). Both once, however often
    /// the webhook comes.
    pub async fn follow_provider(&self, order_id: String) -> Result<(), PaymentError> {
        let Some(order) = self.store.read(move |tx| store::order(tx, &order_id)).await? else {
            return Ok(());
        };
        let paid = self.provider.payment_of_order(&order.id).await?;
        let approved = matches!(
            paid.status,
            PaymentState::Done | PaymentState::PartialCanceled | PaymentState::Canceled
        );
        if !approved || paid.total_amount != order.amount {
            return Ok(());
        }
        self.store
            .write(move |tx| {
                let order = store::order(tx, &paid.order_id)?.ok_or(PaymentError::OrderNotFound)?;
                if order.status == OrderStatus::Ready {
                    record_payment(tx, &paid)?;
                }
                refunds::follow_provider(tx, &paid, OffsetDateTime::now_utc())
            })
            .await
    }
}

/// The order, when it was confirmed with this payment key already; an error when it is beyond
/// paying; `None` when it waits for payment.
fn already_confirmed(order: &Order, payment_key: &str) -> Result<Option<Order>, PaymentError> {
    match (&order.payment, order.status) {
        (Some(payment), _) if payment.payment_key == payment_key => Ok(Some(order.clone())),
        (Some(_), _) => Err(PaymentError::AlreadyPaid),
        (None, OrderStatus::Ready) => Ok(None),
        (None, status) => Err(PaymentError::NotPayable(status_name(status))),
    }
}

/// Records a payment the provider approved: the order is `DONE`, its amount in escrow, and
/// `payment.completed` published, once. An order that expired while the provider approved it
/// (its job ended, or a newer order replaced it) is recorded too, since the money did arrive,
/// and refunded in full.
fn record_payment(tx: &WriteTx, paid: &ProviderPayment) -> Result<Order, PaymentError> {
    let mut order = store::order(tx, &paid.order_id)?.ok_or(PaymentError::OrderNotFound)?;
    let expired = order.status == OrderStatus::Expired && order.payment.is_none();
    if !expired && let Some(done) = already_confirmed(&order, &paid.payment_key)? {
        return Ok(done);
    }
    let now = OffsetDateTime::now_utc();
    let approved_at = paid.approved_at.unwrap_or(now);
    order.status = OrderStatus::Done;
    order.payment = Some(Payment {
        payment_key: paid.payment_key.clone(),
        method: paid.method.clone(),
        approved_at,
    });
    let escrow = Account::Escrow(order.job_id.clone());
    ledger::post(
        tx,
        "payment",
        &order.id,
        [(Account::PaymentsReceived, -order.amount), (escrow, order.amount)],
        now,
    )?;
    events::payment_completed(tx, &order, approved_at)?;
    if expired {
        let amount = order.amount;
        refunds::queue(
            tx,
            &mut order,
            amount,
            "the order expired before its payment was confirmed",
        )?;
    }
    store::save_order(tx, &order)?;
    metrics::counter!("onetime_payment_confirms_total").increment(1);
    Ok(order)
}

/// What the customer sees at checkout, within Toss's 100 characters.
fn order_name(title: &str, headcount: u32) -> String {
    let title: String = title.chars().take(80).collect();
    format!("{title} 인건비 ({headcount}명)")
}

pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Ready => "READY",
        OrderStatus::Done => "DONE",
        OrderStatus::Canceled => "CANCELED",
        OrderStatus::PartialCanceled => "PARTIAL_CANCELED",
        OrderStatus::Expired => "EXPIRED",
    }
}
