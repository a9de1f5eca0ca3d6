//! Group commit under concurrency and across a crash: a write that returned `Ok` is on disk.

mod support;

use std::collections::BTreeSet;

use onetime_storage::{Direction, StorageError, Store, StoreSpec, Table};

const SPEC: StoreSpec = StoreSpec {
    name: "acked",
    schema_version: 1,
    migrations: &[],
};
const ROWS: Table<String, u64> = Table::new("rows");
const WRITERS: u64 = 8;

#[test]
fn concurrent_writers_all_commit_and_failures_stay_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &SPEC).unwrap();
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let store = &store;
            scope.spawn(move || {
                for n in 0..50u64 {
                    let key = format!("{writer}-{n}");
                    if n % 10 == 9 {
                        // A failing writer in the middle of a group takes nobody else down.
                        let failed: Result<(), StorageError> = store.write_blocking(|tx| {
                            ROWS.insert(tx, &key, &n)?;
                            Err(StorageError::Join("refused".into()))
                        });
                        assert!(failed.is_err());
                    } else {
                        store.write_blocking(|tx| ROWS.insert(tx, &key, &n)).unwrap();
                    }
                }
            });
        }
    });
    let rows = store
        .read_blocking(|tx| ROWS.range(tx, .., Direction::Forward, usize::MAX))
        .unwrap();
    assert_eq!(rows.len() as u64, WRITERS * 45);
    assert!(rows.iter().all(|(_, n)| n % 10 != 9));
}

/// Runs only as the child of `acknowledged_writes_survive_a_kill`: writes from several threads
/// and prints the key of every write that returned `Ok`, until killed.
#[test]
fn crash_child() {
    let Some(dir) = support::child_dir() else { return };
    let store = Store::open(&dir, &SPEC).unwrap();
    let stdout = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (store, stdout) = (&store, &stdout);
            scope.spawn(move || {
                for n in 0u64.. {
                    let key = format!("{writer}-{n}");
                    store.write_blocking(|tx| ROWS.insert(tx, &key, &n)).unwrap();
                    support::acknowledge(stdout, &key);
                }
            });
        }
    });
}

#[test]
fn acknowledged_writes_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let acked = support::acknowledged_until_killed("crash_child", dir.path(), 2_000);

    let store = Store::open(dir.path(), &SPEC).unwrap();
    let stored: BTreeSet<String> = store
        .read_blocking(|tx| ROWS.range(tx, .., Direction::Forward, usize::MAX))
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}
