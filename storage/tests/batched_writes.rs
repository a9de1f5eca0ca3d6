//! Batched writes across a crash: 32 clients write at once, each write in its own operation of a
//! shared transaction, and the process is killed mid-burst. Half of the clients write from their
//! own thread (`write_blocking`), half through the store's writer thread (`write`, as services do). Every acknowledged write must be on
//! disk, none twice, and none of the writes that failed on purpose.

mod support;

use std::collections::BTreeSet;

use onetime_storage::{Direction, StorageError, Store, StoreSpec, Table, WriteTx, outbox};

const SPEC: StoreSpec = StoreSpec {
    name: "burst",
    schema_version: 1,
    migrations: &[],
};
/// One row per write, keyed `"{client}-{n}"`.
const ROWS: Table<String, u64> = Table::new("rows");
/// How many writes were applied: a write applied twice, or half, would leave it off the count.
const COUNT: Table<String, u64> = Table::new("count");
const CLIENTS: u64 = 32;

/// Every seventh write of a client fails after writing: its writes must vanish from the batch.
fn fails(n: u64) -> bool {
    n % 7 == 6
}

/// One write: the row, the count and an outbox event naming the row, or nothing at all.
fn write(key: String, n: u64) -> impl FnOnce(&WriteTx) -> Result<(), StorageError> + Send + 'static {
    move |tx| {
        ROWS.insert(tx, &key, &n)?;
        let count = COUNT.get(tx, &"all".to_owned())?.unwrap_or(0);
        COUNT.insert(tx, &"all".to_owned(), &(count + 1))?;
        outbox::append(tx, |_| key.clone())?;
        if fails(n) {
            return Err(StorageError::Batch("refused on purpose".into()));
        }
        Ok(())
    }
}

/// Runs only as the child of `a_kill_mid_burst_loses_no_acknowledged_write_and_doubles_none`:
/// 32 clients write until killed, printing the key of every write that returned `Ok`.
#[test]
fn burst_child() {
    let Some(dir) = support::child_dir() else { return };
    let store = Store::open(&dir, &SPEC).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let stdout = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (store, stdout, runtime) = (&store, &stdout, runtime.handle());
            scope.spawn(move || {
                for n in 0u64.. {
                    let key = format!("{client}-{n}");
                    let written = if client % 2 == 0 {
                        store.write_blocking(write(key.clone(), n))
                    } else {
                        runtime.block_on(store.write(write(key.clone(), n)))
                    };
                    if written.is_ok() {
                        support::acknowledge(stdout, &key);
                    }
                }
            });
        }
    });
}

#[test]
fn a_kill_mid_burst_loses_no_acknowledged_write_and_doubles_none() {
    let dir = tempfile::tempdir().unwrap();
    let acked = support::acknowledged_until_killed("burst_child", dir.path(), 5_000);

    let store = Store::open(dir.path(), &SPEC).unwrap();
    let (rows, count, events) = store
        .read_blocking(|tx| {
            let rows = ROWS.range(tx, .., Direction::Forward, usize::MAX)?;
            let count = COUNT.get(tx, &"all".to_owned())?.unwrap_or(0);
            let events: Vec<String> = outbox::read_range(tx, 0, u64::MAX, usize::MAX)?;
            Ok::<_, StorageError>((rows, count, events))
        })
        .unwrap();
    let stored: BTreeSet<String> = rows.iter().map(|(key, _)| key.clone()).collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(rows.iter().all(|(_, n)| !fails(*n)), "a failed write was stored");
    assert_eq!(count, rows.len() as u64, "the count disagrees with the rows");
    let published: BTreeSet<&String> = events.iter().collect();
    assert_eq!(published.len(), events.len(), "an event was stored twice");
    assert!(
        published.into_iter().eq(stored.iter()),
        "the outbox and the rows disagree"
    );
}
