//! The storage layer's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the store file {path} is already open in another onetime process")]
    AlreadyOpen { path: PathBuf },

    #[error(
        "the store file {path} has schema version {found}, but this onetime binary only \
         understands versions up to {supported}; run a newer onetime or restore a backup"
    )]
    NewerSchema { path: PathBuf, found: u64, supported: u64 },

    #[error("no migration leads from schema version {from} of {path}; the file cannot be upgraded")]
    NoMigration { path: PathBuf, from: u64 },

    #[error("the store file {path} belongs to service `{found}`, not `{expected}`")]
    WrongService {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// A record that does not decode is never skipped or defaulted: that would silently misread
    /// data written by another version.
    #[error("a record in table `{table}` does not decode: {reason}")]
    Decode { table: String, reason: String },

    #[error("{0}")]
    Redb(#[from] redb::Error),

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },

    /// The write itself succeeded, but the transaction it shared with other writes did not
    /// commit, so it is not kept.
    #[error("the batch of writes this one was part of failed: {0}")]
    Batch(String),

    #[error("a blocking storage task stopped unexpectedly: {0}")]
    Join(String),
}

impl StorageError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

macro_rules! from_redb {
    ($($ty:ty),*) => {
        $(impl From<$ty> for StorageError {
            fn from(error: $ty) -> Self {
                Self::Redb(error.into())
            }
        })*
    };
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
