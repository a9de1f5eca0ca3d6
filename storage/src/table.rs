//! Typed tables over raw byte tables.

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::StorageError;
use crate::WriteTx;
use crate::codec::{Key, Record, decode_record, encode_record};
use crate::store::ReadTx;

/// Which way a range scan walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Reverse,
}

/// A table of `K → V`, declared once as a `const` by the service that owns it.
pub struct Table<K, V> {
    name: &'static str,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Table<K, V> {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _types: PhantomData,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

type Raw = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// Called with each row of a scan; returns whether to go on.
pub type Visit<'v> = dyn FnMut(&[u8], &[u8]) -> Result<bool, StorageError> + 'v;

type RawRow<'t> = Result<
    (
        redb::AccessGuard<'t, &'static [u8]>,
        redb::AccessGuard<'t, &'static [u8]>,
    ),
    redb::StorageError,
>;

pub(crate) fn raw(name: &'static str) -> Raw {
    TableDefinition::new(name)
}

/// Either kind of transaction can read; a table that was never written reads as empty.
pub trait Readable {
    #[doc(hidden)]
    fn raw_get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    #[doc(hidden)]
    fn raw_range(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        direction: Direction,
        visit: &mut Visit,
    ) -> Result<(), StorageError>;
    #[doc(hidden)]
    fn raw_len(&self, table: &'static str) -> Result<u64, StorageError>;
}

fn walk<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    direction: Direction,
    visit: &mut Visit,
) -> Result<(), StorageError> {
    let rows = table.range::<&[u8]>(range)?;
    let mut step = |row: RawRow| {
        let (key, value) = row?;
        visit(key.value(), value.value())
    };
    match direction {
        Direction::Forward => {
            for row in rows {
                if !step(row)? {
                    break;
                }
            }
        }
        Direction::Reverse => {
            for row in rows.rev() {
                if !step(row)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

impl Readable for ReadTx {
    fn raw_get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.0.open_table(raw(table)) {
            Ok(t) => Ok(t.get(key)?.map(|v| v.value().to_vec())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn raw_range(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        direction: Direction,
        visit: &mut Visit,
    ) -> Result<(), StorageError> {
        match self.0.open_table(raw(table)) {
            Ok(t) => walk(&t, range, direction, visit),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn raw_len(&self, table: &'static str) -> Result<u64, StorageError> {
        match self.0.open_table(raw(table)) {
            Ok(t) => Ok(t.len()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

impl Readable for WriteTx {
    fn raw_get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let t = self.tx.open_table(raw(table))?;
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    fn raw_range(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        direction: Direction,
        visit: &mut Visit,
    ) -> Result<(), StorageError> {
        walk(&self.tx.open_table(raw(table))?, range, direction, visit)
    }

    fn raw_len(&self, table: &'static str) -> Result<u64, StorageError> {
        Ok(self.tx.open_table(raw(table))?.len()?)
    }
}

impl WriteTx {
    pub(crate) fn raw_insert(
        &self,
        table: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let mut t = self.tx.open_table(raw(table))?;
        let previous = t.insert(key, value)?.map(|v| v.value().to_vec());
        self.record(table, key, previous.clone());
        Ok(previous)
    }

    pub(crate) fn raw_remove(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let mut t = self.tx.open_table(raw(table))?;
        let previous = t.remove(key)?.map(|v| v.value().to_vec());
        if previous.is_some() {
            self.record(table, key, previous.clone());
        }
        Ok(previous)
    }

    /// Removes every row whose key is in `range`; returns how many.
    pub(crate) fn raw_remove_range(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
    ) -> Result<u64, StorageError> {
        let mut t = self.tx.open_table(raw(table))?;
        let mut removed = 0;
        t.retain_in::<&[u8], _>(range, |key, value| {
            self.record(table, key, Some(value.to_vec()));
            removed += 1;
            false
        })?;
        Ok(removed)
    }
}

fn bounds<K: Key>(range: &impl RangeBounds<K>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let map = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.encode()),
        Bound::Excluded(k) => Bound::Excluded(k.encode()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (map(range.start_bound()), map(range.end_bound()))
}

pub(crate) fn as_slices(b: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (b.0.as_ref().map(Vec::as_slice), b.1.as_ref().map(Vec::as_slice))
}

impl<K: Key, V: Record> Table<K, V> {
    fn decode_value(&self, bytes: &[u8]) -> Result<V, StorageError> {
        decode_record(bytes).map_err(|reason| StorageError::Decode {
            table: self.name.to_owned(),
            reason,
        })
    }

    fn decode_key(&self, bytes: &[u8]) -> Result<K, StorageError> {
        K::decode(bytes).map_err(|reason| StorageError::Decode {
            table: self.name.to_owned(),
            reason,
        })
    }

    pub fn get(&self, tx: &impl Readable, key: &K) -> Result<Option<V>, StorageError> {
        tx.raw_get(self.name, &key.encode())?
            .map(|b| self.decode_value(&b))
            .transpose()
    }

    /// The values of `keys` that exist, in the order of `keys` (say, the ids an index lookup gave).
    pub fn get_many(&self, tx: &impl Readable, keys: impl IntoIterator<Item = K>) -> Result<Vec<V>, StorageError> {
        let mut values = Vec::new();
        for key in keys {
            values.extend(self.get(tx, &key)?);
        }
        Ok(values)
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&self, tx: &WriteTx, key: &K, value: &V) -> Result<Option<V>, StorageError> {
        tx.raw_insert(self.name, &key.encode(), &encode_record(value))?
            .map(|b| self.decode_value(&b))
            .transpose()
    }

    /// Removes a key; returns the value it had.
    pub fn remove(&self, tx: &WriteTx, key: &K) -> Result<Option<V>, StorageError> {
        tx.raw_remove(self.name, &key.encode())?
            .map(|b| self.decode_value(&b))
            .transpose()
    }

    /// Removes every key in `range`; returns how many rows went.
    pub fn remove_range(&self, tx: &WriteTx, range: impl RangeBounds<K>) -> Result<u64, StorageError> {
        tx.raw_remove_range(self.name, as_slices(&bounds(&range)))
    }

    /// Up to `limit` rows of `range`, in key order or reversed.
    pub fn range(
        &self,
        tx: &impl Readable,
        range: impl RangeBounds<K>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(K, V)>, StorageError> {
        let mut rows = Vec::new();
        if limit == 0 {
            return Ok(rows);
        }
        tx.raw_range(self.name, as_slices(&bounds(&range)), direction, &mut |key, value| {
            rows.push((self.decode_key(key)?, self.decode_value(value)?));
            Ok(rows.len() < limit)
        })?;
        Ok(rows)
    }

    /// The row with the greatest key.
    pub fn last(&self, tx: &impl Readable) -> Result<Option<(K, V)>, StorageError> {
        Ok(self.range(tx, .., Direction::Reverse, 1)?.pop())
    }

    pub fn len(&self, tx: &impl Readable) -> Result<u64, StorageError> {
        tx.raw_len(self.name)
    }

    pub fn is_empty(&self, tx: &impl Readable) -> Result<bool, StorageError> {
        Ok(self.len(tx)? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBERS: Table<u64, String> = Table::new("numbers");

    #[test]
    fn ranges_walk_both_ways_and_stop_at_the_limit() {
        let (_dir, store) = crate::test_store();
        store
            .write_blocking(|tx| {
                for n in 1..=10u64 {
                    NUMBERS.insert(tx, &n, &n.to_string())?;
                }
                Ok::<_, StorageError>(())
            })
            .unwrap();
        store
            .read_blocking(|tx| {
                let keys = |rows: Vec<(u64, String)>| rows.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
                assert_eq!(keys(NUMBERS.range(tx, 3..6, Direction::Forward, 10)?), [3, 4, 5]);
                assert_eq!(keys(NUMBERS.range(tx, ..=8, Direction::Reverse, 2)?), [8, 7]);
                assert_eq!(NUMBERS.last(tx)?.unwrap().1, "10");
                assert_eq!(NUMBERS.len(tx)?, 10);
                Ok::<_, StorageError>(())
            })
            .unwrap();
        let removed = store.write_blocking(|tx| NUMBERS.remove_range(tx, ..=4)).unwrap();
        assert_eq!(removed, 4);
        assert_eq!(store.read_blocking(|tx| NUMBERS.len(tx)).unwrap(), 6);
    }
}
