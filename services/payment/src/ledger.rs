//! The double-entry ledger: every won the platform handles, as postings between accounts.
//!
//! A transaction is a list of postings that sum to zero, written in the caller's write
//! transaction together with the balances it changes, so a balance never drifts from its
//! postings. redb has one writer at a time, so "is there enough" and "take it" happen in the same
//! serialized step: no account that must not go negative ever does, however many requests race.
//!
//! Accounts, and the sign of their balances:
//! * `payments_received`: minus everything employers paid in (the one account that goes negative);
//! * `escrow/{job}`: a confirmed payment, waiting for the job to be completed;
//! * `wallet/{user}`: a worker's withdrawable money; `pending/{user}`: withdrawals under way;
//! * `paid_out`, `refunds`: money that left to bank accounts and back to employers;
//! * `fee_revenue`, `tax/income`, `tax/local_income`, `tax/employment_insurance`.
//!
//! So at any time `−payments_received` = escrow + wallets + pending + paid out + refunds + fees +
//! taxes, which [`check`] verifies from the postings alone.

use std::collections::BTreeMap;

use onetime_storage::{Direction, Readable, StorageError, Store, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::withholding::TaxBreakdown;

/// A ledger account, named as the module doc lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Account {
    PaymentsReceived,
    Escrow(String),
    Wallet(String),
    Pending(String),
    PaidOut,
    Refunds,
    FeeRevenue,
    IncomeTax,
    LocalIncomeTax,
    EmploymentInsurance,
}

impl Account {
    pub fn key(&self) -> String {
        match self {
            Self::PaymentsReceived => "payments_received".to_owned(),
            Self::Escrow(job) => format!("escrow/{job}"),
            Self::Wallet(user) => format!("wallet/{user}"),
            Self::Pending(user) => format!("pending/{user}"),
            Self::PaidOut => "paid_out".to_owned(),
            Self::Refunds => "refunds".to_owned(),
            Self::FeeRevenue => "fee_revenue".to_owned(),
            Self::IncomeTax => "tax/income".to_owned(),
            Self::LocalIncomeTax => "tax/local_income".to_owned(),
            Self::EmploymentInsurance => "tax/employment_insurance".to_owned(),
        }
    }

    /// Every account but the employers' side may never go below zero.
    fn may_go_negative(key: &str) -> bool {
        key == "payments_received"
    }

    /// The taxes of a breakdown, each to its account.
    pub fn taxes(breakdown: &TaxBreakdown) -> [(Account, i64); 3] {
        [
            (Self::IncomeTax, breakdown.income_tax),
            (Self::LocalIncomeTax, breakdown.local_income_tax),
            (Self::EmploymentInsurance, breakdown.employment_insurance),
        ]
    }
}

/// One line of a transaction: `amount` won into `account` (out of it when negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: String,
    pub amount: i64,
}

/// A ledger transaction as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// What happened: `payment`, `employer_fee`, `settlement`, `refund` (made through the
    /// provider), `provider_refund` (made at the provider by other means, learnt from its
    /// webhook), `outside_refund` (made outside the platform, recorded by an operator),
    /// `withdrawal`, `payout`, `reversal`.
    pub kind: String,
    /// The order, settlement or withdrawal it belongs to.
    pub reference: String,
    pub postings: Vec<Posting>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Entries by sequence number, in the order they were written.
const ENTRIES: Table<u64, Entry> = Table::new("ledger.entries");
const BALANCES: Table<String, i64> = Table::new("ledger.balances");

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the postings of a `{0}` transaction do not sum to zero")]
    Unbalanced(String),
    #[error("account {0} would go below zero")]
    Overdrawn(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub fn balance(tx: &impl Readable, account: &Account) -> Result<i64, StorageError> {
    Ok(BALANCES.get(tx, &account.key())?.unwrap_or(0))
}

/// Writes one transaction and the balances it changes. Zero postings are left out. Fails,
/// changing nothing the caller keeps (its transaction aborts on the error), when the postings do
/// not sum to zero or an account would go below zero.
pub fn post(
    tx: &WriteTx,
    kind: &str,
    reference: &str,
    postings: impl IntoIterator<Item = (Account, i64)>,
    at: OffsetDateTime,
) -> Result<(), LedgerError> {
    let postings: Vec<Posting> = postings
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(account, amount)| Posting {
            account: account.key(),
            amount,
        })
        .collect();
    if postings.iter().map(|p| i128::from(p.amount)).sum::<i128>() != 0 {
        return Err(LedgerError::Unbalanced(kind.to_owned()));
    }
    for posting in &postings {
        let now = BALANCES.get(tx, &posting.account)?.unwrap_or(0) + posting.amount;
        if now < 0 && !Account::may_go_negative(&posting.account) {
            return Err(LedgerError::Overdrawn(posting.account.clone()));
        }
        BALANCES.insert(tx, &posting.account, &now)?;
    }
    let seq = ENTRIES.last(tx)?.map_or(1, |(seq, _)| seq + 1);
    let entry = Entry {
        kind: kind.to_owned(),
        reference: reference.to_owned(),
        postings,
        at,
    };
    ENTRIES.insert(tx, &seq, &entry)?;
    Ok(())
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerReport {
    pub entries: u64,
    pub accounts: u64,
    /// Won paid in by employers, net of nothing: `−payments_received`.
    pub received: i64,
    /// Sequence numbers of entries whose postings do not sum to zero.
    pub unbalanced: Vec<u64>,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub drifted: Vec<String>,
    /// Accounts below zero that may not be.
    pub negative: Vec<String>,
    /// Balance by account, recomputed from the postings.
    pub balances: BTreeMap<String, i64>,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.unbalanced.is_empty() && self.drifted.is_empty() && self.negative.is_empty()
    }
}

impl std::fmt::Display for LedgerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.is_clean() { "clean" } else { "NOT clean" };
        writeln!(
            f,
            "ledger {verdict}: {} entries, {} accounts, {} won received",
            self.entries, self.accounts, self.received
        )?;
        for (label, list) in [("drifted", &self.drifted), ("negative", &self.negative)] {
            if !list.is_empty() {
                writeln!(f, "{label} accounts: {}", list.join(", "))?;
            }
        }
        if !self.unbalanced.is_empty() {
            let seqs: Vec<String> = self.unbalanced.iter().map(u64::to_string).collect();
            writeln!(f, "unbalanced entries: {}", seqs.join(", "))?;
        }
        Ok(())
    }
}

/// Entries decoded at a time while checking, so a large ledger is never held in memory at once.
const CHECK_BATCH: usize = 1_000;

/// Recomputes every balance from the postings and checks that each entry sums to zero, that the
/// stored balances match and that no account is below zero where it may not be. Reads one
/// snapshot, so it may run beside the live service.
pub fn check(store: &Store) -> Result<LedgerReport, StorageError> {
    store.read_blocking(|tx| {
        let mut report = LedgerReport::default();
        let mut after = 0;
        loop {
            let batch = ENTRIES.range(tx, after + 1.., Direction::Forward, CHECK_BATCH)?;
            let Some((last, _)) = batch.last() else { break };
            after = *last;
            for (seq, entry) in batch {
                report.entries += 1;
                if entry.postings.iter().map(|p| i128::from(p.amount)).sum::<i128>() != 0 {
                    report.unbalanced.push(seq);
                }
                for posting in entry.postings {
                    *report.balances.entry(posting.account).or_default() += posting.amount;
                }
            }
        }
        let stored: BTreeMap<String, i64> = BALANCES
            .range(tx, .., Direction::Forward, usize::MAX)?
            .into_iter()
            .filter(|(_, balance)| *balance != 0)
            .collect();
        let computed = report.balances.iter().filter(|(_, balance)| **balance != 0);
        let mut drifted: Vec<String> = computed
            .clone()
            .filter(|(key, balance)| stored.get(*key) != Some(balance))
            .map(|(key, _)| key.clone())
            .collect();
        drifted.extend(
            stored
                .keys()
                .filter(|key| report.balances.get(*key).is_none_or(|b| *b == 0))
                .cloned(),
        );
        drifted.sort();
        report.drifted = drifted;
        report.negative = computed
            .filter(|(key, balance)| **balance < 0 && !Account::may_go_negative(key))
            .map(|(key, _)| key.clone())
            .collect();
        report.accounts = report.balances.len() as u64;
        report.received = -report.balances.get("payments_received").copied().unwrap_or(0);
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onetime_storage::StoreSpec;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let spec = StoreSpec {
            name: "ledger-test",
            schema_version: 1,
            migrations: &[],
        };
        let store = Store::open(dir.path(), &spec).unwrap();
        (dir, store)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn balanced_postings_move_money_and_check_clean() {
        let (_dir, store) = store();
        store
            .write_blocking(|tx| {
                let escrow = Account::Escrow("job".into());
                post(
                    tx,
                    "payment",
                    "o1",
                    [(Account::PaymentsReceived, -105_000), (escrow.clone(), 105_000)],
                    now(),
                )?;
                post(
                    tx,
                    "settlement",
                    "s1",
                    [
                        (escrow, -100_000),
                        (Account::Wallet("w".into()), 95_000),
                        (Account::FeeRevenue, 5_000),
                    ],
                    now(),
                )
            })
            .unwrap();
        let wallet = store
            .read_blocking(|tx| balance(tx, &Account::Wallet("w".into())))
            .unwrap();
        assert_eq!(wallet, 95_000);
        let report = check(&store).unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!((report.entries, report.received), (2, 105_000));
        assert_eq!(report.balances["escrow/job"], 5_000);
    }

    #[test]
    fn unbalanced_or_overdrawing_transactions_are_refused() {
        let (_dir, store) = store();
        let unbalanced = store.write_blocking(|tx| {
            post(
                tx,
                "payment",
                "o1",
                [(Account::PaymentsReceived, -10), (Account::Escrow("j".into()), 9)],
                now(),
            )
        });
        assert!(matches!(unbalanced, Err(LedgerError::Unbalanced(_))));
        let overdrawn = store.write_blocking(|tx| {
            post(
                tx,
                "withdrawal",
                "w1",
                [(Account::Wallet("w".into()), -1), (Account::Pending("w".into()), 1)],
                now(),
            )
        });
        assert!(matches!(overdrawn, Err(LedgerError::Overdrawn(ref a)) if a == "wallet/w"));
        let report = check(&store).unwrap();
        assert!(report.is_clean());
        assert_eq!(report.entries, 0, "nothing of a refused transaction stays");
    }

    #[test]
    fn the_check_finds_drift() {
        let (_dir, store) = store();
        store
            .write_blocking(|tx| {
                post(
                    tx,
                    "payment",
                    "o1",
                    [(Account::PaymentsReceived, -10), (Account::Escrow("j".into()), 10)],
                    now(),
                )?;
                BALANCES.insert(tx, &"escrow/j".to_owned(), &11)?;
                Ok::<_, LedgerError>(())
            })
            .unwrap();
        let report = check(&store).unwrap();
        assert_eq!(report.drifted, ["escrow/j"]);
        assert!(!report.is_clean());
    }
}
