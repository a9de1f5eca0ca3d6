//! The payment service's request and response bodies, with their OpenAPI schemas, and their
//! translation to and from the domain. Requests parse field by field and report every invalid
//! field at once.

use onetime_common::error::FieldErrors;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::domain::{
    Amount, BankAccount, Order, OrderStatus, Settlement, TaxBreakdown, WalletEntry, WalletEntryKind, Withdrawal,
    WithdrawalStatus,
};
use crate::error::PaymentError;
use crate::orders::{ConfirmRequest, status_name};
use crate::wallet::Wallet;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderRequest {
    /// The job to pay for. Any amount sent along is ignored: the server computes it.
    pub job_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    pub order_id: String,
    /// A provider error code (`REJECT_CARD_COMPANY`, `EXCEED_MAX_AMOUNT`, ...) the confirm of this
    /// payment will fail with.
    pub simulate: Option<String>,
}

impl CheckoutRequest {
    /// The simulated code: upper-case letters, digits and `_`, at most 64.
    pub fn simulate(&self) -> Result<Option<String>, PaymentError> {
        match &self.simulate {
            None => Ok(None),
            Some(code) if is_token(code, 64) && !code.bytes().any(|b| b.is_ascii_lowercase()) => Ok(Some(code.clone())),
            Some(_) => Err(PaymentError::invalid(
                "simulate",
                "must be a provider error code such as REJECT_CARD_COMPANY",
            )),
        }
    }
}

/// Letters, digits, `_` and `-`, 1 to `max` long: safe in a URL path.
fn is_token(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutResponse {
    pub payment_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPaymentRequest {
    pub payment_key: String,
    pub order_id: String,
    /// Won: must be the order's amount.
    pub amount: i64,
}

impl ConfirmPaymentRequest {
    pub fn parse(self) -> Result<ConfirmRequest, PaymentError> {
        if !is_token(&self.payment_key, 200) {
            return Err(PaymentError::invalid("paymentKey", "is not a payment key"));
        }
        Ok(ConfirmRequest {
            payment_key: self.payment_key,
            order_id: self.order_id,
            amount: self.amount,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentRequest {
    pub order_id: String,
    /// 1 to 200 characters.
    pub cancel_reason: String,
}

impl CancelPaymentRequest {
    pub fn reason(&self) -> Result<String, PaymentError> {
        let reason = self.cancel_reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(PaymentError::invalid("cancelReason", "must be 1 to 200 characters"));
        }
        Ok(reason.to_owned())
    }
}

/// The parts of a Toss webhook this service reads: only which order it is about.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossWebhook {
    /// e.g. `PAYMENT_STATUS_CHANGED`.
    pub event_type: Option<String>,
    pub data: TossWebhookData,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossWebhookData {
    pub order_id: String,
}

/// A confirmed payment, as `/payments/confirm` answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    pub order_id: String,
    pub payment_key: String,
    pub amount: i64,
    /// `DONE`, or the order's status once refunded.
    pub status: OrderStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
}

impl PaymentResponse {
    /// `None` for an order without a payment.
    pub fn of(order: &Order) -> Option<Self> {
        let payment = order.payment.as_ref()?;
        Some(Self {
            order_id: order.id.clone(),
            payment_key: payment.payment_key.clone(),
            amount: order.amount,
            status: order.status,
            approved_at: payment.approved_at,
        })
    }
}

/// An order's payment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPayment {
    pub payment_key: String,
    /// As the provider names it, e.g. `카드`.
    pub method: String,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    /// The payment's status at the provider: `DONE`, `CANCELED` or `PARTIAL_CANCELED`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderResponse {
    pub order_id: String,
    pub job_id: String,
    pub order_name: String,
    /// Won: the job's pay per worker × its headcount.
    pub pay_total: i64,
    /// Won: the employer fee on `payTotal`.
    pub fee: i64,
    /// Won: `payTotal + fee`, what the employer pays.
    pub amount: i64,
    pub refunded_amount: i64,
    pub status: OrderStatus,
    /// The client key the checkout page uses.
    pub client_key: String,
    pub payment: Option<OrderPayment>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
}

impl OrderResponse {
    pub fn new(order: Order, client_key: &str) -> Self {
        let payment = order.payment.map(|p| OrderPayment {
            payment_key: p.payment_key,
            method: p.method,
            approved_at: p.approved_at,
            status: status_name(order.status).to_owned(),
        });
        Self {
            order_id: order.id,
            job_id: order.job_id,
            order_name: order.order_name,
            pay_total: order.pay_total,
            fee: order.fee,
            amount: order.amount,
            refunded_amount: order.refunded_amount,
            status: order.status,
            client_key: client_key.to_owned(),
            payment,
            created_at: order.created_at,
            settled_at: order.settled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletTransaction {
    pub id: String,
    pub kind: WalletEntryKind,
    /// Won; negative when it left the balance.
    pub amount: i64,
    pub balance_after: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The settlement or withdrawal.
    #[serde(rename = "ref")]
    pub reference: String,
}

impl From<WalletEntry> for WalletTransaction {
    fn from(entry: WalletEntry) -> Self {
        Self {
            id: entry.id,
            kind: entry.kind,
            amount: entry.amount,
            balance_after: entry.balance_after,
            created_at: entry.created_at,
            reference: entry.reference,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletResponse {
    /// Won that can be withdrawn now.
    pub balance: i64,
    /// Won on their way to bank accounts.
    pub pending_withdrawals: i64,
    /// The last 50, newest first; older ones at `/payments/wallet/transactions`.
    pub transactions: Vec<WalletTransaction>,
}

impl From<Wallet> for WalletResponse {
    fn from(wallet: Wallet) -> Self {
        Self {
            balance: wallet.balance,
            pending_withdrawals: wallet.pending_withdrawals,
            transactions: wallet.entries.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BankRequest {
    /// Three digits of the Korean interbank list, e.g. `088`.
    #[schema(example = "088")]
    pub code: String,
    /// 10 to 14 digits; hyphens are ignored.
    #[schema(example = "110-123-456789")]
    pub account_number: String,
    pub holder_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawRequest {
    /// Won, at least `payments.min_withdrawal`.
    pub amount: i64,
    pub bank: BankRequest,
}

impl WithdrawRequest {
    pub fn parse(&self) -> Result<(Amount, BankAccount), PaymentError> {
        let mut errors = FieldErrors::default();
        let amount = errors.check("amount", Amount::parse(self.amount));
        let bank = &self.bank;
        let account = match BankAccount::parse(&bank.code, &bank.account_number, &bank.holder_name) {
            Ok(account) => Some(account),
            Err(bad) => {
                for (field, message) in [
                    ("bank.code", bad.code),
                    ("bank.accountNumber", bad.account_number),
                    ("bank.holderName", bad.holder_name),
                ] {
                    if let Some(message) = message {
                        errors.add(field, message);
                    }
                }
                None
            }
        };
        match (amount, account) {
            (Some(amount), Some(account)) => Ok((amount, account)),
            _ => Err(PaymentError::Invalid(errors)),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalAccepted {
    pub withdrawal_id: String,
    pub status: WithdrawalStatus,
}

/// A bank account as shown back: the number masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BankView {
    pub code: String,
    pub account_number: String,
    pub holder_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalView {
    pub id: String,
    pub amount: i64,
    pub status: WithdrawalStatus,
    pub bank: BankView,
    pub failure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl From<Withdrawal> for WithdrawalView {
    fn from(withdrawal: Withdrawal) -> Self {
        Self {
            bank: BankView {
                account_number: withdrawal.bank.masked_number(),
                code: withdrawal.bank.code,
                holder_name: withdrawal.bank.holder_name,
            },
            id: withdrawal.id,
            amount: withdrawal.amount,
            status: withdrawal.status,
            failure_reason: withdrawal.failure_reason,
            requested_at: withdrawal.requested_at,
            finished_at: withdrawal.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementView {
    pub id: String,
    pub job_id: String,
    pub job_title: String,
    pub worker_id: String,
    /// Won: the worker's pay for the job.
    pub gross: i64,
    /// Won: the worker fee.
    pub fee: i64,
    /// Won: the taxes withheld, itemised in `taxBreakdown`.
    pub tax: i64,
    pub tax_breakdown: TaxBreakdown,
    /// Won credited to the wallet: `gross − fee − tax`.
    pub net: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Settlement> for SettlementView {
    fn from(settlement: Settlement) -> Self {
        Self {
            id: settlement.id,
            job_id: settlement.job_id,
            job_title: settlement.job_title,
            worker_id: settlement.worker_id,
            gross: settlement.gross,
            fee: settlement.fee,
            tax: settlement.tax,
            tax_breakdown: settlement.tax_breakdown,
            net: settlement.net,
            created_at: settlement.created_at,
        }
    }
}
