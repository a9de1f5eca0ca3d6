//! Storage for onetime: one redb file per service.
//!
//! Every table is a raw `&[u8] → &[u8]` table underneath; [`Table`] and [`Index`] put typed,
//! versioned encodings on top. Keeping the physical shape uniform is what lets
//! [`Store::backup_to`] copy any store without knowing its tables.
//!
//! A [`Store`] checks its schema version when it opens (migrating forward, or refusing a file
//! written by a newer binary), runs blocking redb work off the async reactor, and announces every
//! commit so that the event relay can tail the [`outbox`].

mod batch;
mod codec;
mod data_dir;
mod error;
mod index;
pub mod outbox;
mod queue;
mod space;
mod store;
mod table;

pub use batch::WriteTx;
pub use codec::{Key, Record};
pub use data_dir::{DataDir, create_private_dir};
pub use error::StorageError;
pub use index::Index;
pub use space::{CompactionPolicy, Space};
pub use store::{Migration, ReadTx, Store, StoreOptions, StoreSpec};
pub use table::{Direction, Readable, Table};

/// The consumer cursors of the event bus: for each source service, the last sequence number this
/// store's service has applied. Written in the same transaction as the effect it records.
pub const CURSORS: Table<String, u64> = Table::new("bus.cursors");

/// A store of its own in a fresh temp directory, for this crate's unit tests.
#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec {
        name: "t",
        schema_version: 1,
        migrations: &[],
    };
    let store = Store::open(dir.path(), &spec).unwrap();
    (dir, store)
}
