//! A store's writer thread: where asynchronous writes run.
//!
//! An async caller cannot run its write on the reactor (a commit waits for the disk), and giving
//! each write a blocking-pool thread of its own made 32 concurrent requests 32 threads taking
//! turns at one transaction: a profile of `POST /jobs` spent a fifth of its time switching
//! between them. Instead each store has one thread that takes every write queued meanwhile, runs
//! them one after the other in the open transaction (each still isolated by its undo log, see
//! [`crate::batch`]), commits once and answers each caller. Blocking callers
//! ([`crate::Store::write_blocking`]) still write on their own thread and join the same batches.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use crate::StorageError;
use crate::batch::{Answer, Deliver, Queued, Refused, WriteTx};

/// Most writes taken from the queue at once (the batch writer bounds a batch again).
const TAKE: usize = 1024;

/// What a caller hears: its operation's result, or the panic it raised.
pub(crate) type Reply<R, E> = Result<Result<R, E>, Box<dyn Any + Send>>;

/// One queued write and where its answer goes.
pub(crate) struct Operation<F, R, E> {
    pub f: F,
    pub reply: oneshot::Sender<Reply<R, E>>,
}

impl<F, R, E> Queued for Operation<F, R, E>
where
    F: FnOnce(&WriteTx) -> Result<R, E> + Send,
    R: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &WriteTx) -> Result<Deliver, Refused> {
        let Operation { f, reply } = *self;
        match catch_unwind(AssertUnwindSafe(|| f(tx))) {
            Ok(Ok(value)) => Ok(Box::new(move |committed: Result<(), StorageError>| {
                let _ = reply.send(Ok(committed.map(|()| value).map_err(E::from)));
            })),
            Ok(Err(error)) => Err(Box::new(move || {
                let _ = reply.send(Ok(Err(error)));
            })),
            Err(panic) => Err(Box::new(move || {
                let _ = reply.send(Err(panic));
            })),
        }
    }

    fn refuse(self: Box<Self>, error: StorageError) {
        let _ = self.reply.send(Ok(Err(E::from(error))));
    }
}

/// The writer thread's loop: until the store is dropped (which closes the queue), takes what is
/// queued and writes it as one batch. It holds the store only while writing and answers the
/// callers after letting go, so that a caller who drops the last handle once answered closes the
/// file then, not whenever this thread gets round to it.
pub(crate) fn run<S>(
    store: Weak<S>,
    queue: Receiver<Box<dyn Queued>>,
    write: impl Fn(Arc<S>, Vec<Box<dyn Queued>>) -> Vec<Answer>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        batch.extend(queue.try_iter().take(TAKE - 1));
        let answers = match store.upgrade() {
            Some(store) => write(store, batch),
            // Dropping the operations drops their reply channels: their callers hear an error.
            None => return,
        };
        for answer in answers {
            answer();
        }
    }
}
