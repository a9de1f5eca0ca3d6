//! Batched write transactions: concurrent writers to one store share one redb write transaction
//! and one durable commit.
//!
//! Group commit (the design before this one) shared the fsync, but every writer still committed
//! its own transaction, and a redb commit writes out every page the transaction dirtied plus the
//! path to the root of every tree it touched. For a created job that was the job's leaf, eight
//! index leaves and the outbox's, each with their branches, per request. Writers that arrive
//! together now write into the same transaction, so those pages are written once per batch:
//!
//! * **The open transaction.** A store has at most one write transaction open, in a slot behind a
//!   mutex. A writer takes the slot (beginning a transaction when none is open), runs its
//!   operation on its own thread, and leaves. redb runs one write transaction at a time anyway,
//!   so operations are serialised exactly as before: each sees what the ones before it wrote.
//! * **Isolation.** A failed operation must leave nothing behind while its neighbours' writes
//!   stay. redb's savepoints cannot do that (they are refused once a transaction has touched a
//!   table), so every write through a [`WriteTx`] logs what it overwrote, and the log of an
//!   operation that fails (or panics) is replayed backwards before the next one runs.
//! * **The commit.** The first writer of a batch to finish its operation leads: it lets the
//!   writers already queued for the slot run (they join its batch), then takes the transaction
//!   out of the slot and commits it durably while holding the slot, so that writers arriving
//!   meanwhile queue up for the next batch. The others of the batch wait for the outcome. Nobody
//!   hears `Ok` before the commit holding its write is durable, and a failed commit fails every
//!   operation of its batch.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::StorageError;
use crate::table::raw;

/// A write transaction: everything an operation does through it is committed together with the
/// rest of its batch, or not at all.
pub struct WriteTx {
    pub(crate) tx: redb::WriteTransaction,
    /// What the running operation overwrote, oldest first.
    undo: RefCell<Vec<Overwritten>>,
}

/// A key as it was before the running operation changed it (`None`: it did not exist).
struct Overwritten {
    table: &'static str,
    key: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl WriteTx {
    fn new(tx: redb::WriteTransaction) -> Self {
        Self {
            tx,
            undo: RefCell::default(),
        }
    }

    /// Notes that `key` of `table` held `previous` before the running operation changed it.
    pub(crate) fn record(&self, table: &'static str, key: &[u8], previous: Option<Vec<u8>>) {
        self.undo.borrow_mut().push(Overwritten {
            table,
            key: key.to_vec(),
            previous,
        });
    }

    /// Puts back everything the running operation changed, newest change first.
    fn roll_back(&self) -> Result<(), StorageError> {
        let undo = std::mem::take(&mut *self.undo.borrow_mut());
        for Overwritten { table, key, previous } in undo.into_iter().rev() {
            let mut table = self.tx.open_table(raw(table))?;
            match previous {
                Some(value) => drop(table.insert(key.as_slice(), value.as_slice())?),
                None => drop(table.remove(key.as_slice())?),
            }
        }
        Ok(())
    }
}

/// Most operations in one batch, so that a steady stream of writers cannot hold a commit back.
const MAX_BATCH: usize = 1024;

/// The writing side of one store.
#[derive(Default)]
pub(crate) struct Writer {
    slot: Mutex<Slot>,
    /// Signalled whenever a writer leaves the slot: a leader waits on it for the queue to drain.
    left: Condvar,
    /// Writers waiting for the slot or holding it.
    queued: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    open: Option<Open>,
}

/// The open transaction, the batch whose operations it holds, and how many they are.
struct Open {
    tx: WriteTx,
    batch: Arc<Batch>,
    operations: usize,
}

/// What the operations of one transaction wait for: its commit.
#[derive(Default)]
struct Batch {
    state: Mutex<BatchState>,
    settled: Condvar,
}

#[derive(Default)]
struct BatchState {
    led: bool,
    /// The commit's outcome once known (a failure as its message: every member reports it).
    outcome: Option<Result<(), String>>,
}

impl Batch {
    fn lock(&self) -> MutexGuard<'_, BatchState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn settle(&self, outcome: Result<(), String>) {
        self.lock().outcome = Some(outcome);
        self.settled.notify_all();
    }
}

/// An operation's result, or the panic it raised.
pub(crate) type Applied<R, E> = Result<Result<R, E>, Box<dyn Any + Send>>;

impl Writer {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in the store's open transaction and returns once that transaction is durable.
    /// `begin` begins a transaction when none is open; `commit` commits one taken out of the
    /// slot. A panic in `f` is handed back after
    /// its writes are undone.
    pub(crate) fn write<R, E>(
        &self,
        begin: impl FnOnce() -> Result<redb::WriteTransaction, StorageError>,
        commit: impl Fn(WriteTx) -> Result<(), StorageError>,
        f: impl FnOnce(&WriteTx) -> Result<R, E>,
    ) -> Applied<R, E>
    where
        E: From<StorageError>,
    {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut slot = self.lock();
        let applied = match open(&mut slot, begin) {
            Ok(()) => apply(&mut slot, f),
            Err(error) => Ok(Err(error.into())),
        };
        self.queued.fetch_sub(1, Ordering::SeqCst);
        drop(slot);
        self.left.notify_all();
        let (value, batch) = match applied {
            Ok(Ok(done)) => done,
            Ok(Err(error)) => return Ok(Err(error)),
            Err(panic) => return Err(panic),
        };
        Ok(self.durable(&batch, &commit).map(|()| value).map_err(E::from))
    }

    /// Runs every operation of `queue` in the store's open transaction, one after the other,
    /// until that transaction is durable. Returns each operation's answer (its result and the
    /// commit's outcome, or its failure) for the caller to send once it has let go of the store.
    /// The store's writer thread calls this with what queued up meanwhile.
    pub(crate) fn write_all(
        &self,
        begin: impl Fn() -> Result<redb::WriteTransaction, StorageError>,
        commit: impl Fn(WriteTx) -> Result<(), StorageError>,
        queue: Vec<Box<dyn Queued>>,
    ) -> Vec<Answer> {
        let mut answers: Vec<Answer> = Vec::with_capacity(queue.len());
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut slot = self.lock();
        let mut kept = Vec::with_capacity(queue.len());
        for operation in queue {
            if let Err(error) = open(&mut slot, &begin) {
                answers.push(Box::new(move || operation.refuse(error)));
                continue;
            }
            match apply(&mut slot, |tx| operation.run(tx)) {
                Ok(Ok((deliver, batch))) => kept.push((deliver, batch)),
                Ok(Err(refused)) => answers.push(refused),
                // `run` catches the operation's panics itself; this one was ours, and its
                // operation's caller hears that the writer dropped it.
                Err(_) => {}
            }
        }
        self.queued.fetch_sub(1, Ordering::SeqCst);
        drop(slot);
        self.left.notify_all();
        // Normally one batch; more only when a failed undo abandoned a transaction midway.
        let mut outcomes: Vec<(Arc<Batch>, Result<(), String>)> = Vec::new();
        for (deliver, batch) in kept {
            let known = outcomes.iter().find(|(b, _)| Arc::ptr_eq(b, &batch));
            let outcome = match known {
                Some((_, outcome)) => outcome.clone(),
                None => {
                    let outcome = self.durable(&batch, &commit).map_err(|e| e.to_string());
                    outcomes.push((batch, outcome.clone()));
                    outcome
                }
            };
            answers.push(Box::new(move || deliver(outcome.map_err(StorageError::Batch))));
        }
        answers
    }

    /// Runs `f` while no transaction is open and no writer can begin one: the batch open now
    /// commits first, and writers arriving meanwhile wait until `f` returns.
    pub(crate) fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let slot = self.lock();
        let slot = self
            .left
            .wait_while(slot, |slot| slot.open.is_some())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = f();
        drop(slot);
        result
    }

    /// Waits for `batch` to be committed, leading the commit when nobody else does.
    fn durable(
        &self,
        batch: &Arc<Batch>,
        commit: &impl Fn(WriteTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut state = batch.lock();
        loop {
            if let Some(outcome) = &state.outcome {
                return outcome.clone().map_err(StorageError::Batch);
            }
            if !state.led {
                state.led = true;
                break;
            }
            state = batch
                .settled
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        drop(state);
        self.lead(batch, commit)
    }

    /// Commits `batch` once the writers queued for the slot have joined it, and tells its
    /// members the outcome.
    fn lead(
        &self,
        batch: &Arc<Batch>,
        commit: &impl Fn(WriteTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let ours = |open: &Open| Arc::ptr_eq(&open.batch, batch);
        let slot = self.lock();
        let mut slot = self
            .left
            .wait_while(slot, |slot| {
                self.queued.load(Ordering::SeqCst) > 0
                    && slot
                        .open
                        .as_ref()
                        .is_some_and(|open| ours(open) && open.operations < MAX_BATCH)
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(open) = slot.open.take_if(|open| ours(open)) else {
            // Abandoned while we waited (a failed write could not be undone): already settled.
            drop(slot);
            let outcome = batch.lock().outcome.clone();
            return outcome
                .expect("an abandoned batch is settled")
                .map_err(StorageError::Batch);
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| commit(open.tx)));
        drop(slot);
        // The slot is empty now: tell whoever waits for that (see `exclusive`).
        self.left.notify_all();
        match outcome {
            Ok(outcome) => {
                batch.settle(outcome.as_ref().map(drop).map_err(ToString::to_string));
                outcome
            }
            Err(panic) => {
                batch.settle(Err("the commit panicked".to_owned()));
                resume_unwind(panic)
            }
        }
    }
}

/// Begins a transaction in `slot` unless one is open.
fn open(
    slot: &mut Slot,
    begin: impl FnOnce() -> Result<redb::WriteTransaction, StorageError>,
) -> Result<(), StorageError> {
    if slot.open.is_none() {
        slot.open = Some(Open {
            tx: WriteTx::new(begin()?),
            batch: Arc::default(),
            operations: 0,
        });
    }
    Ok(())
}

/// Runs `f` in the open transaction, keeping its writes when it succeeds (with the batch they
/// now belong to) and undoing them when it fails.
fn apply<R, E>(slot: &mut Slot, f: impl FnOnce(&WriteTx) -> Result<R, E>) -> Applied<(R, Arc<Batch>), E> {
    let open = slot.open.as_mut().expect("a transaction is open");
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&open.tx)));
    if let Ok(Ok(value)) = outcome {
        open.tx.undo.borrow_mut().clear();
        open.operations += 1;
        return Ok(Ok((value, open.batch.clone())));
    }
    match open.tx.roll_back() {
        // A transaction nobody else wrote to is dropped, which aborts it: none stays open idle.
        Ok(()) if open.operations == 0 => drop(slot.open.take()),
        Ok(()) => {}
        // The transaction now holds part of a failed operation: nothing in it may be committed.
        Err(error) => {
            let open = slot.open.take().expect("a transaction is open");
            open.batch.settle(Err(format!(
                "a failed write could not be undone, so its batch was abandoned: {error}"
            )));
        }
    }
    outcome.map(|result| result.map(|_| unreachable!("success returned above")))
}

/// An operation queued for a store's writer thread (see [`crate::queue`]), its types erased.
pub(crate) trait Queued: Send {
    /// Runs the operation. `Ok` holds what tells its caller the commit's outcome; `Err` what
    /// tells it the failure (or panic), called once the operation's writes are undone.
    fn run(self: Box<Self>, tx: &WriteTx) -> Result<Deliver, Refused>;
    /// Tells the caller its operation could not even start.
    fn refuse(self: Box<Self>, error: StorageError);
}

pub(crate) type Deliver = Box<dyn FnOnce(Result<(), StorageError>) + Send>;
pub(crate) type Refused = Answer;
/// Tells one caller how its queued operation ended.
pub(crate) type Answer = Box<dyn FnOnce() + Send>;

#[cfg(test)]
mod tests {
    use crate::{Direction, StorageError, Store, Table};

    const ROWS: Table<u64, String> = Table::new("rows");

    fn rows(store: &Store) -> Vec<(u64, String)> {
        store
            .read_blocking(|tx| ROWS.range(tx, .., Direction::Forward, usize::MAX))
            .unwrap()
    }

    #[test]
    fn a_failed_write_puts_back_what_it_overwrote_and_removed() {
        let (_dir, store) = crate::test_store();
        store
            .write_blocking(|tx| {
                for n in 1..=4 {
                    ROWS.insert(tx, &n, &format!("v{n}"))?;
                }
                Ok::<_, StorageError>(())
            })
            .unwrap();
        let before = rows(&store);
        let failed: Result<(), StorageError> = store.write_blocking(|tx| {
            ROWS.insert(tx, &1, &"changed".to_owned())?;
            ROWS.insert(tx, &1, &"changed twice".to_owned())?;
            ROWS.remove(tx, &2)?;
            ROWS.insert(tx, &9, &"new".to_owned())?;
            ROWS.remove_range(tx, 3..)?;
            Err(StorageError::Batch("refused".into()))
        });
        assert!(failed.is_err());
        assert_eq!(rows(&store), before);
    }

    #[test]
    fn a_panicking_write_leaves_nothing_and_the_store_goes_on() {
        let (_dir, store) = crate::test_store();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write_blocking(|tx| {
                ROWS.insert(tx, &1, &"half".to_owned())?;
                if ROWS.len(tx)? == 1 {
                    panic!("a handler bug");
                }
                Ok::<_, StorageError>(())
            })
        }));
        assert!(panicked.is_err());
        store
            .write_blocking(|tx| ROWS.insert(tx, &2, &"after".to_owned()))
            .unwrap();
        assert_eq!(rows(&store), [(2, "after".to_owned())]);
    }

    #[test]
    fn concurrent_writers_see_each_other_in_order() {
        let (_dir, store) = crate::test_store();
        // Each writer reads the count and writes the next number: lost or interleaved updates
        // would leave gaps or duplicates.
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        store
                            .write_blocking(|tx| {
                                let next = ROWS.len(tx)? + 1;
                                ROWS.insert(tx, &next, &String::new())
                            })
                            .unwrap();
                    }
                });
            }
        });
        let keys: Vec<u64> = rows(&store).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, (1..=320).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_commits_and_fail_alone() {
        let (_dir, store) = crate::test_store();
        let mut writes = tokio::task::JoinSet::new();
        for n in 0..200u64 {
            let store = store.clone();
            writes.spawn(async move {
                let written = store
                    .write(move |tx| {
                        ROWS.insert(tx, &n, &format!("v{n}"))?;
                        match n % 10 {
                            3 => Err(StorageError::Batch("refused".into())),
                            7 => panic!("a handler bug"),
                            _ => Ok(n),
                        }
                    })
                    .await;
                (n, written)
            });
        }
        while let Some(joined) = writes.join_next().await {
            let (n, written) = joined.unwrap();
            match n % 10 {
                3 => assert!(matches!(written, Err(StorageError::Batch(_))), "{n}: {written:?}"),
                7 => assert!(matches!(written, Err(StorageError::Join(_))), "{n}: {written:?}"),
                _ => assert_eq!(written.unwrap(), n),
            }
        }
        let kept: Vec<u64> = rows(&store).into_iter().map(|(n, _)| n).collect();
        let expected: Vec<u64> = (0..200).filter(|n| n % 10 != 3 && n % 10 != 7).collect();
        assert_eq!(kept, expected);
    }
}
