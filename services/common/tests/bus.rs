//! The event bus against real redb stores: atomic publishing, order, isolation of a failing
//! subscriber, and recovery of a process killed between commit and delivery.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use onetime_common::bus::{self, Bus, BusConfig, HandlerError, RunningBus, StoreHandler, StoreSubscriber};
use onetime_common::events::Envelope;
use onetime_storage::{Direction, StorageError, Store, StoreSpec, Table, WriteTx};

const SOURCE: StoreSpec = StoreSpec {
    name: "source",
    schema_version: 1,
    migrations: &[],
};
const SINK: StoreSpec = StoreSpec {
    name: "sink",
    schema_version: 1,
    migrations: &[],
};
const OTHER_SINK: StoreSpec = StoreSpec {
    name: "other",
    schema_version: 1,
    migrations: &[],
};

/// What the test subscriber writes for every event: its position in arrival order, and a count
/// of applications per event id (more than one would be a double application).
const ARRIVALS: Table<u64, u64> = Table::new("arrivals");
const APPLICATIONS: Table<String, u64> = Table::new("applications");

fn config() -> BusConfig {
    BusConfig {
        batch_size: 64,
        max_backoff: Duration::from_millis(200),
        prune_interval: Duration::from_millis(50),
    }
}

/// Records every `test.*` event; fails on the seqs in `poison`; sleeps per event when slow.
struct Recorder {
    name: &'static str,
    poison: Vec<u64>,
    slow: bool,
}

impl StoreHandler for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type.starts_with("test.")
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        if self.poison.contains(&event.seq) {
            return Err(format!("event {} is poison", event.seq).into());
        }
        if self.slow {
            std::thread::sleep(Duration::from_millis(2));
        }
        let position = ARRIVALS.len(tx)?;
        ARRIVALS.insert(tx, &position, &event.seq)?;
        let id = event.id.to_string();
        let count = APPLICATIONS.get(tx, &id)?.unwrap_or(0);
        APPLICATIONS.insert(tx, &id, &(count + 1))?;
        Ok(())
    }
}

fn recorder(name: &'static str) -> Recorder {
    Recorder {
        name,
        poison: Vec::new(),
        slow: false,
    }
}

fn publish_numbered(source: &Store, count: u64) {
    for n in 0..count {
        source
            .write_blocking(|tx| bus::publish(tx, "source", "test.numbered", &n))
            .expect("publish");
    }
}

fn start(source: &Store, subscribers: Vec<(Store, Recorder)>) -> RunningBus {
    let mut bus = Bus::new(config());
    bus.add_source("source", source);
    for (store, handler) in subscribers {
        bus.subscribe("source", Arc::new(StoreSubscriber::new(store, handler)))
            .unwrap();
    }
    bus.start()
}

/// The seqs the sink saw, in arrival order, and the highest application count of any event.
fn arrivals(sink: &Store) -> (Vec<u64>, u64) {
    sink.read_blocking(|tx| {
        let seqs = ARRIVALS
            .range(tx, .., Direction::Forward, usize::MAX)?
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let most = APPLICATIONS
            .range(tx, .., Direction::Forward, usize::MAX)?
            .into_iter()
            .map(|(_, c)| c)
            .max();
        Ok::<_, StorageError>((seqs, most.unwrap_or(0)))
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_transaction_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let sink = Store::open(dir.path(), &SINK).unwrap();
    let bus = start(&source, vec![(sink.clone(), recorder("sink"))]);

    let aborted: Result<(), StorageError> = source.write_blocking(|tx| {
        bus::publish(tx, "source", "test.aborted", &1)?;
        Err(StorageError::Join("the state change failed".into()))
    });
    assert!(aborted.is_err());
    publish_numbered(&source, 1);

    assert!(bus.flush(Duration::from_secs(5)).await);
    let (seqs, _) = arrivals(&sink);
    assert_eq!(seqs, [1], "only the committed event, under the first sequence number");
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_once_each_in_source_order() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let sink = Store::open(dir.path(), &SINK).unwrap();
    let bus = start(&source, vec![(sink.clone(), recorder("sink"))]);

    let publisher = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || publish_numbered(&source, 300))
    };
    publisher.await.unwrap();
    assert!(bus.flush(Duration::from_secs(10)).await);

    let (seqs, most) = arrivals(&sink);
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    assert_eq!(most, 1);
    let status = bus.status();
    assert_eq!((status[0].applied, status[0].lag), (300, 0));
    assert!(bus.is_ready());
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_subscriber_does_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let healthy = Store::open(dir.path(), &SINK).unwrap();
    let poisoned = Store::open(dir.path(), &OTHER_SINK).unwrap();
    let poison = Recorder {
        name: "poisoned",
        poison: vec![5],
        slow: false,
    };
    let bus = start(
        &source,
        vec![(healthy.clone(), recorder("healthy")), (poisoned.clone(), poison)],
    );

    publish_numbered(&source, 20);
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(arrivals(&healthy).0, (1..=20).collect::<Vec<_>>());
    // The poisoned lane keeps retrying its batch; nothing of it, nor after it, is applied.
    assert!(arrivals(&poisoned).0.iter().all(|&seq| seq < 5));
    let status = bus.status();
    let stuck = status.iter().find(|s| s.subscriber == "poisoned").unwrap();
    assert!(stuck.failures >= 2, "retried with backoff: {stuck:?}");
    assert!(stuck.lag > 0 && stuck.last_error.as_deref().unwrap().contains("poison"));
    assert!(!bus.flush(Duration::from_millis(100)).await);

    // Rows the poisoned lane has not passed are kept for it.
    let kept: u64 = source.read_blocking(onetime_storage::outbox::len).unwrap();
    assert!(kept >= 16, "outbox pruned past a lagging subscriber: {kept} rows left");
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passed_outbox_rows_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let sink = Store::open(dir.path(), &SINK).unwrap();
    let bus = start(&source, vec![(sink.clone(), recorder("sink"))]);
    publish_numbered(&source, 10);
    assert!(bus.flush(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(source.read_blocking(onetime_storage::outbox::len).unwrap(), 0);
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_before_its_declared_subscriber_started_reaches_it_once_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let early = Store::open(dir.path(), &SINK).unwrap();
    let late = Store::open(dir.path(), &OTHER_SINK).unwrap();

    // The first run has only `early`; `late` is declared but not running.
    let mut bus = Bus::new(config());
    bus.add_source("source", &source);
    bus.declare("source", "late");
    bus.subscribe(
        "source",
        Arc::new(StoreSubscriber::new(early.clone(), recorder("early"))),
    )
    .unwrap();
    let bus = bus.start();
    publish_numbered(&source, 5);
    assert!(bus.flush(Duration::from_secs(5)).await);
    // Several pruning rounds pass: `early` has seen everything, yet the rows stay for `late`.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(source.read_blocking(onetime_storage::outbox::len).unwrap(), 5);
    bus.stop().await;

    // Next start, `late` runs too: it receives all five, once each; then the rows go.
    let mut bus = Bus::new(config());
    bus.add_source("source", &source);
    bus.declare("source", "late");
    bus.subscribe(
        "source",
        Arc::new(StoreSubscriber::new(early.clone(), recorder("early"))),
    )
    .unwrap();
    bus.subscribe("source", Arc::new(StoreSubscriber::new(late.clone(), recorder("late"))))
        .unwrap();
    let bus = bus.start();
    assert!(bus.flush(Duration::from_secs(5)).await);
    assert_eq!(arrivals(&late), (vec![1, 2, 3, 4, 5], 1));
    assert_eq!(
        arrivals(&early),
        (vec![1, 2, 3, 4, 5], 1),
        "nothing twice for the early one"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(source.read_blocking(onetime_storage::outbox::len).unwrap(), 0);
    bus.stop().await;
}

const CHILD_DIR: &str = "BUS_TEST_CHILD_DIR";
const EVENTS: u64 = 400;

/// Runs only as the child of `a_process_killed_after_commit_delivers_after_restart`: publishes
/// with a slow subscriber running, says so once everything is committed, and waits to be killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let source = Store::open(Path::new(&dir), &SOURCE).unwrap();
        let sink = Store::open(Path::new(&dir), &SINK).unwrap();
        let _bus = start(
            &source,
            vec![(
                sink,
                Recorder {
                    name: "sink",
                    poison: vec![],
                    slow: true,
                },
            )],
        );
        let publisher = source.clone();
        tokio::task::spawn_blocking(move || publish_numbered(&publisher, EVENTS))
            .await
            .unwrap();
        println!("committed");
        std::future::pending::<()>().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_after_commit_delivers_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let committed = stdout.lines().any(|line| line.unwrap().contains("committed"));
    // SIGKILL: no destructor, no flush, no goodbye.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed, "the child never finished publishing");

    let source = Store::open(dir.path(), &SOURCE).unwrap();
    let sink = Store::open(dir.path(), &SINK).unwrap();
    let (before, _) = arrivals(&sink);
    assert!(
        (before.len() as u64) < EVENTS,
        "the kill came too late to test anything"
    );

    let bus = start(&source, vec![(sink.clone(), recorder("sink"))]);
    assert!(bus.flush(Duration::from_secs(20)).await);
    let (seqs, most) = arrivals(&sink);
    assert_eq!(
        seqs,
        (1..=EVENTS).collect::<Vec<_>>(),
        "every committed event, in order"
    );
    assert_eq!(most, 1, "no event applied twice");
    bus.stop().await;
}
