//! The payment service's domain: the records it keeps (orders, settlements, withdrawals, wallet
//! entries) and the types its inputs must parse into before anything is stored (`Amount`,
//! `BasisPoints`, `BankAccount`). Money is integer won throughout.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use crate::withholding::{TaxBreakdown, Withholding};

/// The largest amount of won one order, settlement or withdrawal may move: far above any day's
/// pay, far below where sums of them could overflow an `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// A positive number of won, at most [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(won: i64) -> Result<Self, String> {
        if won <= 0 {
            return Err("must be a positive number of won".to_owned());
        }
        if won > MAX_AMOUNT {
            return Err(format!("must be at most {MAX_AMOUNT} won"));
        }
        Ok(Self(won))
    }

    pub fn won(self) -> i64 {
        self.0
    }
}

/// A rate in basis points (1/100 of a percent): 0 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u32);

impl BasisPoints {
    pub fn parse(bps: u32) -> Result<Self, String> {
        if bps > 10_000 {
            return Err("must be 0 to 10000 basis points".to_owned());
        }
        Ok(Self(bps))
    }

    /// `floor(won × bps ÷ 10,000)`: fees are rounded down, in the payer's favour.
    pub fn of(self, won: i64) -> i64 {
        // i128: MAX_AMOUNT × 10,000 does not fit an i64.
        (i128::from(won) * i128::from(self.0) / 10_000) as i64
    }
}

impl TryFrom<u32> for BasisPoints {
    type Error = String;

    fn try_from(bps: u32) -> Result<Self, String> {
        Self::parse(bps)
    }
}

impl From<BasisPoints> for u32 {
    fn from(bps: BasisPoints) -> u32 {
        bps.0
    }
}

/// The codes of the Korean interbank list that may receive a payout.
const BANK_CODES: [&str; 25] = [
    "002", "003", "004", "007", "011", "012", "020", "023", "027", "031", "032", "034", "035", "037", "039", "045",
    "048", "050", "064", "071", "081", "088", "089", "090", "092",
];

/// A Korean bank account to pay out to. Stored whole: the payout provider needs the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankAccount {
    /// Three digits of the interbank list, e.g. `088`.
    pub code: String,
    /// 10 to 14 digits, hyphens removed.
    pub account_number: String,
    pub holder_name: String,
}

/// Why a bank account was refused, by field.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BankErrors {
    pub code: Option<String>,
    pub account_number: Option<String>,
    pub holder_name: Option<String>,
}

impl BankAccount {
    pub fn parse(code: &str, account_number: &str, holder_name: &str) -> Result<Self, BankErrors> {
        let mut errors = BankErrors::default();
        let code = code.trim();
        if !BANK_CODES.contains(&code) {
            errors.code = Some("must be a bank code of the Korean interbank list, e.g. \"088\"".to_owned());
        }
        let number: String = account_number.trim().chars().filter(|&c| c != '-').collect();
        if !(10..=14).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
            errors.account_number = Some("must be 10 to 14 digits (hyphens are ignored)".to_owned());
        }
        let holder = holder_name.trim();
        if holder.is_empty() || holder.chars().count() > 50 {
            errors.holder_name = Some("must be 1 to 50 characters".to_owned());
        }
        if errors != BankErrors::default() {
            return Err(errors);
        }
        Ok(Self {
            code: code.to_owned(),
            account_number: number,
            holder_name: holder.to_owned(),
        })
    }

    /// The number as shown back to people: all but the last four digits hidden.
    pub fn masked_number(&self) -> String {
        let visible = self.account_number.len().saturating_sub(4);
        format!("{}{}", "*".repeat(visible), &self.account_number[visible..])
    }
}

/// Where an order stands, with Toss's names for the states it shares with a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Waiting for the employer to pay.
    Ready,
    /// Paid; the money is in escrow (or, once `settledAt` is set, fully settled).
    Done,
    /// Refunded in full before settlement.
    Canceled,
    /// Settled, with the pay of the places never filled refunded.
    PartialCanceled,
    /// Never paid, and no longer payable: replaced by a newer order, or its job ended.
    Expired,
}

/// The provider's record of a confirmed payment, as the order keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_key: String,
    /// The payment method as the provider names it, e.g. `카드`.
    pub method: String,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
}

/// An employer's order for a job: what the server computed from the job when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub job_id: String,
    pub employer_id: String,
    pub job_title: String,
    pub order_name: String,
    pub pay_per_worker: i64,
    pub headcount: u32,
    /// `pay_per_worker × headcount`.
    pub pay_total: i64,
    /// The employer fee rate the order was made with; settlement charges the same one.
    pub fee_bps: BasisPoints,
    pub fee: i64,
    /// `pay_total + fee`: what the employer pays.
    pub amount: i64,
    pub refunded_amount: i64,
    pub status: OrderStatus,
    pub payment: Option<Payment>,
    /// A refund on its way through the provider, by refund id.
    pub refund_pending: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
}

impl Order {
    /// Paid and still holding (some of) the money in escrow: neither settled, refunded in full
    /// nor being refunded. A part may have been refunded at the provider (`PARTIAL_CANCELED`).
    pub fn is_held(&self) -> bool {
        matches!(self.status, OrderStatus::Done | OrderStatus::PartialCanceled)
            && self.settled_at.is_none()
            && self.refund_pending.is_none()
    }
}

/// A refund to make through the provider: written with the change that calls for it, done (and
/// removed) once the provider has refunded, so a crash in between only delays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// Also the provider's idempotency key.
    pub id: String,
    pub order_id: String,
    pub amount: i64,
    /// The whole payment (`payment.cancelled` follows), or the unused part at completion.
    pub full: bool,
    pub reason: String,
}

/// A refund the provider refused for good (not a passing failure): it waits, out of the
/// refunder's queue and with its order still marked, for an operator to retry it or to record it
/// as made outside the platform (`onetime refunds`). Its money stays in escrow meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusedRefund {
    pub refund: Refund,
    /// The provider's code, e.g. `NOT_CANCELABLE_PAYMENT`.
    pub code: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub refused_at: OffsetDateTime,
}

/// A worker's pay for one completed job, as credited to their wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub id: String,
    pub order_id: String,
    pub job_id: String,
    pub job_title: String,
    pub worker_id: String,
    pub employer_id: String,
    pub gross: i64,
    pub fee: i64,
    pub tax: i64,
    pub tax_breakdown: TaxBreakdown,
    pub net: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WithdrawalStatus {
    Requested,
    Completed,
    Failed,
}

/// A worker's request to pay part of their wallet out to a bank account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    pub id: String,
    pub worker_id: String,
    pub amount: i64,
    pub bank: BankAccount,
    pub status: WithdrawalStatus,
    /// Why the payout failed.
    pub failure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalletEntryKind {
    Settlement,
    Withdrawal,
    WithdrawalReversal,
}

/// One change of a wallet's withdrawable balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletEntry {
    pub id: String,
    pub kind: WalletEntryKind,
    /// Won; negative when money left the balance.
    pub amount: i64,
    pub balance_after: i64,
    /// The settlement or withdrawal it belongs to.
    pub reference: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert_eq!(Amount::parse(10_000).unwrap().won(), 10_000);
        for bad in [0, -1, MAX_AMOUNT + 1] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fees_round_down() {
        let bps = BasisPoints::parse(500).unwrap();
        assert_eq!(bps.of(96_000), 4_800);
        assert_eq!(bps.of(72_331), 3_616);
        assert_eq!(BasisPoints::parse(0).unwrap().of(72_331), 0);
        assert_eq!(bps.of(MAX_AMOUNT), MAX_AMOUNT / 20);
        assert!(BasisPoints::parse(10_001).is_err());
    }

    #[test]
    fn bank_accounts_parse_and_name_every_bad_field() {
        let account = BankAccount::parse("088", "110-123-456789", " 김원데 ").unwrap();
        assert_eq!(account.account_number, "110123456789");
        assert_eq!(account.holder_name, "김원데");
        assert_eq!(account.masked_number(), "********6789");

        let errors = BankAccount::parse("999", "12-34", "").unwrap_err();
        assert!(errors.code.is_some() && errors.account_number.is_some() && errors.holder_name.is_some());
        assert!(
            BankAccount::parse("088", "1234567890a", "김")
                .unwrap_err()
                .account_number
                .is_some()
        );
        assert!(BankAccount::parse("88", "1234567890", "김").unwrap_err().code.is_some());
    }
}
