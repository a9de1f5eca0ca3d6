//! Secondary indexes: `(indexed value, primary key)` pairs kept in their own table, maintained
//! by the caller in the same write transaction as the record they point at.

use std::marker::PhantomData;
use std::ops::Bound;

use crate::StorageError;
use crate::WriteTx;
use crate::codec::Key;
use crate::table::{Direction, Readable};

/// An index from `I` (say, a category) to primary keys `P` (say, job ids). Entries under one
/// indexed value are ordered by primary key, so UUIDv7 ids list in creation order.
pub struct Index<I, P> {
    name: &'static str,
    _types: PhantomData<fn() -> (I, P)>,
}

/// The indexed value is escaped (`00` → `00 FF`) and terminated by `00 01`, so that no value is a
/// prefix of another's entries and byte order still follows value order.
fn prefix(indexed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(indexed.len() + 2);
    for &b in indexed {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 1]);
    out
}

impl<I: Key, P: Key> Index<I, P> {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _types: PhantomData,
        }
    }

    fn entry(&self, indexed: &I, primary: &P) -> Vec<u8> {
        let mut key = prefix(&indexed.encode());
        key.extend_from_slice(&primary.encode());
        key
    }

    pub fn insert(&self, tx: &WriteTx, indexed: &I, primary: &P) -> Result<(), StorageError> {
        tx.raw_insert(self.name, &self.entry(indexed, primary), &[]).map(drop)
    }

    pub fn remove(&self, tx: &WriteTx, indexed: &I, primary: &P) -> Result<(), StorageError> {
        tx.raw_remove(self.name, &self.entry(indexed, primary)).map(drop)
    }

    /// Removes every entry (a migration that changes how entries are keyed starts over).
    pub fn clear(&self, tx: &WriteTx) -> Result<u64, StorageError> {
        tx.raw_remove_range(self.name, (Bound::Unbounded, Bound::Unbounded))
    }

    /// Moves `primary` from `old` to `new` (either may be absent).
    pub fn update(&self, tx: &WriteTx, old: Option<&I>, new: Option<&I>, primary: &P) -> Result<(), StorageError> {
        if let Some(old) = old {
            self.remove(tx, old, primary)?;
        }
        if let Some(new) = new {
            self.insert(tx, new, primary)?;
        }
        Ok(())
    }

    /// Up to `limit` primary keys filed under `indexed`, strictly after `after` in `direction`
    /// (the paging cursor), in primary-key order or reversed.
    pub fn lookup(
        &self,
        tx: &impl Readable,
        indexed: &I,
        after: Option<&P>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<P>, StorageError> {
        let start = prefix(&indexed.encode());
        let mut end = start.clone();
        // The terminator `00 01` becomes `00 02`: just past every entry of this value.
        *end.last_mut().expect("prefix is never empty") = 2;
        let cursor = after.map(|p| self.entry(indexed, p));
        let range = match (direction, &cursor) {
            (_, None) => (Bound::Included(start.as_slice()), Bound::Excluded(end.as_slice())),
            (Direction::Forward, Some(c)) => (Bound::Excluded(c.as_slice()), Bound::Excluded(end.as_slice())),
            (Direction::Reverse, Some(c)) => (Bound::Included(start.as_slice()), Bound::Excluded(c.as_slice())),
        };
        let mut keys = Vec::new();
        if limit == 0 {
            return Ok(keys);
        }
        tx.raw_range(self.name, range, direction, &mut |key, _| {
            let primary = P::decode(&key[start.len()..]).map_err(|reason| StorageError::Decode {
                table: self.name.to_owned(),
                reason,
            })?;
            keys.push(primary);
            Ok(keys.len() < limit)
        })?;
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BY_TAG: Index<String, u64> = Index::new("by_tag");

    #[test]
    fn lookups_are_exact_ordered_and_paged() {
        let (_dir, store) = crate::test_store();
        store
            .write_blocking(|tx| {
                for id in 1..=5u64 {
                    BY_TAG.insert(tx, &"a".to_owned(), &id)?;
                }
                // Values that share a prefix, or embed the separator byte, stay apart.
                BY_TAG.insert(tx, &"ab".to_owned(), &9)?;
                BY_TAG.insert(tx, &"a\0".to_owned(), &8)?;
                BY_TAG.update(tx, Some(&"a".to_owned()), Some(&"b".to_owned()), &3)
            })
            .unwrap();
        store
            .read_blocking(|tx| {
                let a = "a".to_owned();
                assert_eq!(BY_TAG.lookup(tx, &a, None, Direction::Forward, 10)?, [1, 2, 4, 5]);
                assert_eq!(BY_TAG.lookup(tx, &a, None, Direction::Reverse, 2)?, [5, 4]);
                assert_eq!(BY_TAG.lookup(tx, &a, Some(&4), Direction::Reverse, 10)?, [2, 1]);
                assert_eq!(BY_TAG.lookup(tx, &a, Some(&2), Direction::Forward, 10)?, [4, 5]);
                assert_eq!(BY_TAG.lookup(tx, &"b".to_owned(), None, Direction::Forward, 10)?, [3]);
                assert_eq!(BY_TAG.lookup(tx, &"a\0".to_owned(), None, Direction::Forward, 10)?, [8]);
                Ok::<_, StorageError>(())
            })
            .unwrap();
    }
}
