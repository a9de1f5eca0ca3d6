//! A service's redb file: opening with a schema check, transactions, commit notices, backup.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::batch::{Answer, Queued, WriteTx, Writer};
use crate::queue::{self, Operation};
use crate::{Space, StorageError, Table};

/// What a service declares about its store: its name (the file is `<name>.redb`), the schema
/// version this binary writes, and how to get there from older versions.
pub struct StoreSpec {
    pub name: &'static str,
    pub schema_version: u64,
    /// Ordered by `to_version`; each step runs in the opening transaction.
    pub migrations: &'static [Migration],
}

/// One forward schema step, from `to_version - 1` to `to_version`.
pub struct Migration {
    pub to_version: u64,
    pub description: &'static str,
    pub apply: fn(&WriteTx) -> Result<(), StorageError>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoreMeta {
    service: String,
    schema_version: u64,
}

const META: Table<String, StoreMeta> = Table::new("store.meta");
const META_KEY: &str = "meta";

/// A read-only snapshot of a store.
pub struct ReadTx(pub(crate) redb::ReadTransaction);

/// A cheap, cloneable handle to one service's store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    path: PathBuf,
    /// Shared by transactions; taken whole only by [`Store::compact`].
    db: RwLock<redb::Database>,
    writer: Writer,
    /// Asynchronous writes, for the store's writer thread (see [`crate::queue`]).
    queue: std::sync::mpsc::Sender<Box<dyn Queued>>,
    /// The outbox's last sequence number as of the last durable commit. The relay reads no
    /// further, so no subscriber ever applies an event that a crash could still take back.
    outbox_head: watch::Sender<u64>,
    /// The file's size as of the last durable commit (read then rather than per `/health`).
    size_bytes: AtomicU64,
    /// The last measurement of how much of the file is live (see [`Store::measure_space`]).
    space: Mutex<Option<Space>>,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most memory redb keeps for cached pages of this file. redb's own default is 1 GiB per
    /// file, which a store grows into under a steady write load and never gives back.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Store {
    /// Opens (or creates) `<dir>/<name>.redb` with the default options, migrating it to
    /// `spec.schema_version`.
    pub fn open(dir: &Path, spec: &StoreSpec) -> Result<Self, StorageError> {
        Self::open_with(dir, spec, StoreOptions::default())
    }

    /// Opens (or creates) `<dir>/<name>.redb`, migrating it to `spec.schema_version`.
    pub fn open_with(dir: &Path, spec: &StoreSpec, options: StoreOptions) -> Result<Self, StorageError> {
        let path = dir.join(format!("{}.redb", spec.name));
        let db = redb::Builder::new().set_cache_size(options.cache_bytes).create(&path);
        let db = db.map_err(|error| match error {
            redb::DatabaseError::DatabaseAlreadyOpen => StorageError::AlreadyOpen { path: path.clone() },
            other => other.into(),
        })?;
        let (queue, queued) = std::sync::mpsc::channel();
        let store = Store {
            inner: Arc::new(Inner {
                name: spec.name,
                path,
                db: RwLock::new(db),
                writer: Writer::default(),
                queue,
                outbox_head: watch::channel(0).0,
                size_bytes: AtomicU64::new(0),
                space: Mutex::default(),
            }),
        };
        let inner = Arc::downgrade(&store.inner);
        std::thread::Builder::new()
            .name(format!("store-{}", spec.name))
            .spawn(move || queue::run(inner, queued, |inner, batch| Store { inner }.write_queued(batch)))
            .map_err(|error| StorageError::io("starting the store's writer thread", error))?;
        store.write_blocking(|tx| store.check_schema(tx, spec))?;
        Ok(store)
    }
    fn check_schema(&self, tx: &WriteTx, spec: &StoreSpec) -> Result<(), StorageError> {
        let path = self.inner.path.clone();
        let Some(meta) = META.get(tx, &META_KEY.to_owned())? else {
            let meta = StoreMeta {
                service: spec.name.to_owned(),
                schema_version: spec.schema_version,
            };
            return META.insert(tx, &META_KEY.to_owned(), &meta).map(drop);
        };
        if meta.service != spec.name {
            return Err(StorageError::WrongService {
                path,
                found: meta.service,
                expected: spec.name.to_owned(),
            });
        }
        if meta.schema_version > spec.schema_version {
            return Err(StorageError::NewerSchema {
                path,
                found: meta.schema_version,
                supported: spec.schema_version,
            });
        }
        let mut version = meta.schema_version;
        while version < spec.schema_version {
            let step = spec
                .migrations
                .iter()
                .find(|m| m.to_version == version + 1)
                .ok_or_else(|| StorageError::NoMigration {
                    path: path.clone(),
                    from: version,
                })?;
            tracing::info!(
                store = spec.name,
                to = step.to_version,
                "migrating: {}",
                step.description
            );
            (step.apply)(tx)?;
            version = step.to_version;
        }
        let meta = StoreMeta {
            schema_version: version,
            ..meta
        };
        META.insert(tx, &META_KEY.to_owned(), &meta).map(drop)
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Size of the store file on disk, in bytes, as of the last durable commit.
    pub fn size_bytes(&self) -> u64 {
        self.inner.size_bytes.load(Ordering::Relaxed)
    }

    /// Measures how much of the file is live. Writers wait meanwhile: the walk visits every page
    /// of every tree (tens of milliseconds for a file of a few hundred MB in the page cache).
    pub fn measure_space(&self) -> Result<Space, StorageError> {
        let allocated_bytes = self.inner.writer.exclusive(|| {
            let tx = self.db().begin_write()?;
            let stats = tx.stats()?;
            tx.abort()?;
            Ok::<_, StorageError>(stats.allocated_pages() * stats.page_size() as u64)
        })?;
        let space = Space {
            file_bytes: std::fs::metadata(&self.inner.path).map_or(0, |m| m.len()),
            allocated_bytes,
        };
        *self.inner.space.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(space);
        Ok(space)
    }

    /// The last [`Store::measure_space`], if there was one.
    pub fn space(&self) -> Option<Space> {
        *self.inner.space.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The outbox's last durable sequence number, changing as commits become durable.
    pub fn outbox_head(&self) -> watch::Receiver<u64> {
        self.inner.outbox_head.subscribe()
    }

    /// Runs `f` on a snapshot, on the calling thread. Use from blocking contexts only.
    pub fn read_blocking<R, E>(&self, f: impl FnOnce(&ReadTx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StorageError>,
    {
        let tx = self.db().begin_read().map_err(StorageError::from)?;
        f(&ReadTx(tx))
    }

    /// Runs `f` in a write transaction on the calling thread and returns once it is durable.
    /// When `f` returns `Err` (or panics), nothing it did is kept.
    ///
    /// Writers running at the same time share one transaction and one commit (see
    /// [`crate::batch`]); to `f` that is invisible: it sees everything committed or written
    /// before it, and nobody else's half-done work.
    pub fn write_blocking<R, E>(&self, f: impl FnOnce(&WriteTx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StorageError>,
    {
        match self.inner.writer.write(|| self.begin(), |tx| self.commit(tx), f) {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// The writer thread's part: the writes queued by [`Store::write`], as one batch. Takes the
    /// handle by value: it is let go of before the answers are sent.
    fn write_queued(self, batch: Vec<Box<dyn Queued>>) -> Vec<Answer> {
        self.inner
            .writer
            .write_all(|| self.begin(), |tx| self.commit(tx), batch)
    }

    /// The database is borrowed only to begin a transaction, never while waiting for one.
    fn begin(&self) -> Result<redb::WriteTransaction, StorageError> {
        Ok(self.db().begin_write()?)
    }

    fn commit(&self, tx: WriteTx) -> Result<(), StorageError> {
        let head = crate::outbox::last_seq(&tx)?;
        tx.tx.commit()?;
        self.committed_durably(head);
        Ok(())
    }

    /// After a durable commit: the relays may read up to `outbox_head`; the file may have grown.
    fn committed_durably(&self, outbox_head: u64) {
        self.inner
            .outbox_head
            .send_if_modified(|known| advance(known, outbox_head));
        let size = std::fs::metadata(&self.inner.path).map_or(0, |m| m.len());
        self.inner.size_bytes.store(size, Ordering::Relaxed);
    }

    /// [`Store::read_blocking`] on the blocking pool, so the reactor never waits on disk.
    pub async fn read<R, E>(&self, f: impl FnOnce(&ReadTx) -> Result<R, E> + Send + 'static) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let store = self.clone();
        spawn_blocking(move || store.read_blocking(f)).await
    }

    /// [`Store::write_blocking`] for async callers: the write runs on the store's writer thread
    /// (see [`crate::queue`]). A write that panics is reported as an error.
    pub async fn write<R, E>(&self, f: impl FnOnce(&WriteTx) -> Result<R, E> + Send + 'static) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StorageError::Join("the store's writer thread has stopped".to_owned()).into();
        if self.inner.queue.send(Box::new(Operation { f, reply })).is_err() {
            return Err(stopped());
        }
        match answer.await {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(StorageError::Join("the write panicked".to_owned()).into()),
            Err(_) => Err(stopped()),
        }
    }

    fn db(&self) -> RwLockReadGuard<'_, redb::Database> {
        self.inner.db.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives the file's free space back to the file system: redb moves the live pages towards
    /// the start of the file and truncates it. Writers wait meanwhile (for a large file, seconds)
    /// and reads that began before are waited for. Returns the file's size before and after.
    pub fn compact(&self) -> Result<(u64, u64), StorageError> {
        let size = || std::fs::metadata(&self.inner.path).map_or(0, |m| m.len());
        let before = size();
        self.inner.writer.exclusive(|| {
            let mut db = self.inner.db.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            // A read transaction that is still open refuses compaction; reads are short.
            let mut attempts = 0;
            loop {
                match db.compact() {
                    Ok(_) => return Ok(()),
                    Err(redb::CompactionError::TransactionInProgress) if attempts < 500 => {
                        attempts += 1;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(error) => return Err(StorageError::from(redb::Error::from(error))),
                }
            }
        })?;
        let after = size();
        self.inner.size_bytes.store(after, Ordering::Relaxed);
        self.measure_space()?;
        Ok((before, after))
    }

    /// Writes a consistent copy of this store to `<dir>/<name>.redb` while it keeps serving.
    ///
    /// The copy is taken from one read snapshot, so it never sees half of a transaction, and it
    /// does not block writers. It works for every store because every table has the same
    /// physical `&[u8] → &[u8]` shape.
    pub fn backup_to(&self, dir: &Path) -> Result<PathBuf, StorageError> {
        let target = dir.join(format!("{}.redb", self.inner.name));
        if target.exists() {
            return Err(StorageError::io(
                format!("backup target {}", target.display()),
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "file already exists"),
            ));
        }
        let snapshot = self.db().begin_read()?;
        let copy = redb::Database::create(&target)?;
        let out = copy.begin_write()?;
        for handle in snapshot.list_tables()? {
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(handle.name());
            let source = snapshot.open_table(def)?;
            let mut sink = out.open_table(def)?;
            for row in source.iter()? {
                let (key, value) = row?;
                sink.insert(key.value(), value.value())?;
            }
        }
        out.commit()?;
        Ok(target)
    }
}

fn advance(known: &mut u64, head: u64) -> bool {
    let moved = head > *known;
    *known = (*known).max(head);
    moved
}

async fn spawn_blocking<R, E>(f: impl FnOnce() -> Result<R, E> + Send + 'static) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| Err(StorageError::Join(join.to_string()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTER: Table<String, u64> = Table::new("counter");

    fn spec(version: u64, migrations: &'static [Migration]) -> StoreSpec {
        StoreSpec {
            name: "test",
            schema_version: version,
            migrations,
        }
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let result: Result<(), StorageError> = store.write_blocking(|tx| {
            COUNTER.insert(tx, &"a".to_owned(), &1)?;
            Err(StorageError::Join("handler failed".into()))
        });
        assert!(result.is_err());
        let value = store.read_blocking(|tx| COUNTER.get(tx, &"a".to_owned())).unwrap();
        assert_eq!(value, None);
    }

    #[test]
    fn schema_migrates_forward_and_refuses_newer_files() {
        static STEPS: [Migration; 1] = [Migration {
            to_version: 2,
            description: "seed the counter",
            apply: |tx| COUNTER.insert(tx, &"seeded".to_owned(), &7).map(drop),
        }];
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), &spec(1, &[])).unwrap());

        let store = Store::open(dir.path(), &spec(2, &STEPS)).unwrap();
        let seeded = store.read_blocking(|tx| COUNTER.get(tx, &"seeded".to_owned())).unwrap();
        assert_eq!(seeded, Some(7));
        drop(store);

        let error = Store::open(dir.path(), &spec(1, &[])).err().unwrap();
        assert!(
            matches!(
                error,
                StorageError::NewerSchema {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{error}"
        );
        let error = Store::open(dir.path(), &spec(4, &STEPS)).err().unwrap();
        assert!(matches!(error, StorageError::NoMigration { from: 2, .. }), "{error}");
    }

    #[test]
    fn the_reported_size_follows_durable_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let on_disk = || std::fs::metadata(store.path()).unwrap().len();
        assert_eq!(store.size_bytes(), on_disk());
        let big = "x".repeat(64 * 1024);
        for i in 0..64 {
            store
                .write_blocking(|tx| COUNTER.insert(tx, &format!("{i}{big}"), &i))
                .unwrap();
        }
        assert!(store.size_bytes() > 4 * 1024 * 1024, "{}", store.size_bytes());
        assert_eq!(store.size_bytes(), on_disk());
    }

    #[test]
    fn compaction_gives_freed_space_back_and_keeps_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let big = "x".repeat(16 * 1024);
        for i in 0..400 {
            store
                .write_blocking(|tx| COUNTER.insert(tx, &format!("{i:04}{big}"), &i))
                .unwrap();
        }
        store
            .write_blocking(|tx| COUNTER.remove_range(tx, ..format!("0390")))
            .unwrap();
        let space = store.measure_space().unwrap();
        assert!(space.free_share() > 0.75, "{space:?}");
        let (before, after) = store.compact().unwrap();
        assert!(before > 6 * 1024 * 1024, "{before}");
        assert!(after < before / 4, "{before} → {after}");
        assert_eq!(store.size_bytes(), after);
        assert_eq!(store.read_blocking(|tx| COUNTER.len(tx)).unwrap(), 10);
        let space = store.space().expect("measured by the compaction");
        assert_eq!(space.file_bytes, after);
        assert!(space.free_share() < 0.25, "{space:?}");
        store
            .write_blocking(|tx| COUNTER.insert(tx, &"after".to_owned(), &1))
            .unwrap();
    }

    /// redb's closing commit saves its allocator state; on a densely packed file it once grew
    /// the file to twice its size (fixed in redb 4.6). The file's apparent size must stay
    /// within a quarter of what is live, and of what the file system holds for it.
    #[test]
    fn a_compacted_store_stays_compact_after_closing() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let row = "y".repeat(1000);
        let key = |i: u64| format!("{i:06}{row}");
        for chunk in 0..20 {
            store
                .write_blocking(|tx| {
                    (chunk * 1000..(chunk + 1) * 1000).try_for_each(|i| COUNTER.insert(tx, &key(i), &i).map(drop))
                })
                .unwrap();
        }
        store
            .write_blocking(|tx| {
                (0..20_000)
                    .step_by(3)
                    .try_for_each(|i| COUNTER.remove(tx, &key(i)).map(drop))
            })
            .unwrap();
        store.compact().unwrap();
        let live = store.space().expect("measured by the compaction").allocated_bytes;
        let path = store.path().to_owned();
        drop(store);
        let file = std::fs::metadata(&path).unwrap();
        assert!(file.len() <= live + live / 4, "{} bytes for {live} live", file.len());
        let held = file.blocks() * 512;
        assert!(
            file.len() <= held + held / 4,
            "{} bytes apparent, {held} held",
            file.len()
        );
    }

    #[tokio::test]
    async fn the_file_closes_when_the_last_handle_goes_after_a_queued_write() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..50u64 {
            let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
            store
                .write(move |tx| COUNTER.insert(tx, &"n".to_owned(), &n))
                .await
                .unwrap();
        }
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let n = store.read_blocking(|tx| COUNTER.get(tx, &"n".to_owned())).unwrap();
        assert_eq!(n, Some(49));
    }

    #[test]
    fn a_store_open_elsewhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), &spec(1, &[])).unwrap();
        let error = Store::open(dir.path(), &spec(1, &[])).err().unwrap();
        assert!(matches!(error, StorageError::AlreadyOpen { .. }), "{error}");
    }

    #[test]
    fn backup_is_a_readable_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &spec(1, &[])).unwrap();
        store
            .write_blocking(|tx| COUNTER.insert(tx, &"a".to_owned(), &42))
            .unwrap();
        let backup = tempfile::tempdir().unwrap();
        store.backup_to(backup.path()).unwrap();
        assert!(
            store.backup_to(backup.path()).is_err(),
            "an existing backup is never overwritten"
        );

        let copy = Store::open(backup.path(), &spec(1, &[])).unwrap();
        let value = copy.read_blocking(|tx| COUNTER.get(tx, &"a".to_owned())).unwrap();
        assert_eq!(value, Some(42));
    }
}
