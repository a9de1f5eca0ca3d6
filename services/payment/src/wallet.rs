//! The wallet as its owner sees it: the withdrawable balance and the withdrawals under way, both
//! read from the ledger, and the history of changes to the balance.

use onetime_common::paging::{Page, PageRequest};
use onetime_storage::Store;

use crate::domain::WalletEntry;
use crate::error::PaymentError;
use crate::ledger::{self, Account};
use crate::store;

/// Entries shown with the wallet; older ones are paged through separately.
pub const RECENT_ENTRIES: usize = 50;

pub struct Wallet {
    pub balance: i64,
    pub pending_withdrawals: i64,
    /// The newest [`RECENT_ENTRIES`], newest first.
    pub entries: Vec<WalletEntry>,
}

/// `user_id`'s wallet, from one snapshot.
pub async fn wallet(store: &Store, user_id: String) -> Result<Wallet, PaymentError> {
    store
        .read(move |tx| {
            Ok(Wallet {
                balance: ledger::balance(tx, &Account::Wallet(user_id.clone()))?,
                pending_withdrawals: ledger::balance(tx, &Account::Pending(user_id.clone()))?,
                entries: store::wallet_entries(tx, &user_id, None, RECENT_ENTRIES)?,
            })
        })
        .await
}

/// A page of `user_id`'s wallet entries, newest first.
pub async fn entries(store: &Store, user_id: String, page: PageRequest) -> Result<Page<WalletEntry>, PaymentError> {
    store
        .read(move |tx| {
            let rows = store::wallet_entries(tx, &user_id, page.after.as_ref(), page.fetch())?;
            Ok(page.page(rows, |e| &e.id))
        })
        .await
}
