//! The transactional outbox: events a service appends in the same write transaction as the state
//! change they describe. Rows are numbered by a per-store sequence that never goes back, also
//! after pruning. The bus (in the shared crate) decides what a row holds.

use crate::WriteTx;
use crate::table::{Direction, Readable};
use crate::{Record, StorageError, Table};

const ROWS: &str = "bus.outbox";
const LAST_SEQ: Table<String, u64> = Table::new("bus.outbox.last_seq");
const LAST_SEQ_KEY: &str = "last";

fn rows<V>() -> Table<u64, V> {
    Table::new(ROWS)
}

/// Appends the row `make(seq)` under the next sequence number and returns that number.
pub fn append<V: Record>(tx: &WriteTx, make: impl FnOnce(u64) -> V) -> Result<u64, StorageError> {
    let seq = last_seq(tx)? + 1;
    rows().insert(tx, &seq, &make(seq))?;
    LAST_SEQ.insert(tx, &LAST_SEQ_KEY.to_owned(), &seq)?;
    Ok(seq)
}

/// The highest sequence number ever appended (0 when none).
pub fn last_seq(tx: &impl Readable) -> Result<u64, StorageError> {
    Ok(LAST_SEQ.get(tx, &LAST_SEQ_KEY.to_owned())?.unwrap_or(0))
}

/// Up to `limit` rows with a sequence number in `after + 1 ..= up_to`, in order.
pub fn read_range<V: Record>(tx: &impl Readable, after: u64, up_to: u64, limit: usize) -> Result<Vec<V>, StorageError> {
    let rows = rows::<V>().range(tx, after + 1..=up_to, Direction::Forward, limit)?;
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// How many rows the outbox holds now.
pub fn len(tx: &impl Readable) -> Result<u64, StorageError> {
    rows::<serde_json::Value>().len(tx)
}

/// Deletes the oldest rows up to and including `up_to`, at most `limit` of them; returns how many
/// went. Bounded because a write holds the store's writer: removing thousands of rows at once
/// (and logging each for undo) held every request's write back behind it.
pub fn prune(tx: &WriteTx, up_to: u64, limit: u64) -> Result<u64, StorageError> {
    let oldest = rows::<serde_json::Value>().range(tx, .., Direction::Forward, 1)?;
    let Some((first, _)) = oldest.first() else {
        return Ok(0);
    };
    let last = up_to.min(first.saturating_add(limit.max(1) - 1));
    rows::<serde_json::Value>().remove_range(tx, ..=last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_survives_pruning() {
        let (_dir, store) = crate::test_store();
        for _ in 0..3 {
            store
                .write_blocking(|tx| append(tx, |seq| format!("event {seq}")))
                .unwrap();
        }
        assert_eq!(store.write_blocking(|tx| prune(tx, 3, 2)).unwrap(), 2);
        assert_eq!(store.write_blocking(|tx| prune(tx, 3, 2)).unwrap(), 1);
        assert_eq!(store.write_blocking(|tx| prune(tx, 3, 2)).unwrap(), 0);
        let seq = store
            .write_blocking(|tx| append(tx, |seq| format!("event {seq}")))
            .unwrap();
        assert_eq!(seq, 4);
        let rows: Vec<String> = store.read_blocking(|tx| read_range(tx, 0, u64::MAX, 10)).unwrap();
        assert_eq!(rows, ["event 4"]);
        assert_eq!(store.read_blocking(last_seq).unwrap(), 4);
    }
}
