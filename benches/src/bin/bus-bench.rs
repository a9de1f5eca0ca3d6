//! Event bus benchmark: from a source store's outbox to a subscriber that writes every event into
//! its own redb store, through the real `onetime_common::bus`.
//!
//! * **Phase A, throughput.** Publishes a backlog (100,000 events, 1,000 per transaction by
//!   default) while no bus runs, then starts the bus and times how long it takes until the
//!   subscriber has applied (committed) all of it. The bus hands the subscriber up to
//!   `--batch-size` events per call, and so per sink commit.
//! * **Phase B, latency.** With the bus running, publishes one event per millisecond, each in its
//!   own write transaction (so one commit per event), and records for every event the time from
//!   `Envelope::occurred_at` (set by `publish`) to the moment the subscriber's transaction holding
//!   it has committed, and also from the time the event was due by the schedule. The schedule is
//!   shared by `--publishers` threads, as concurrent request handlers would publish. A warm-up
//!   second is published first and not recorded.
//!
//! Lines starting with `result ` are `key=value` figures for scripts.
//!
//! ```text
//! bus-bench [--events 100000] [--events-per-tx 1000] [--batch-size 256] [--rate 1000] [--seconds 10]
//!           [--publishers 4]
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use hdrhistogram::Histogram;
use onetime_common::bus::{Bus, BusConfig, HandlerError, StoreHandler, StoreSubscriber, publish};
use onetime_common::events::Envelope;
use onetime_storage::{StorageError, Store, StoreSpec, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(about = "Throughput and latency of the onetime event bus, outbox to a redb subscriber")]
struct Args {
    /// Phase A: events in the backlog.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Phase A: events published per source transaction.
    #[arg(long, default_value_t = 1_000)]
    events_per_tx: u64,
    /// Most events handed to the subscriber per call (and so per sink commit), as
    /// `bus.batch_size` in onetime.toml.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Phase B: events published per second, each in its own transaction.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Phase B: seconds measured (after one warm-up second).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Phase B: concurrent publisher threads sharing the schedule (event n goes to thread
    /// n mod publishers), as concurrent request handlers would. 1 publishes strictly one after
    /// the other, so every commit waits for the previous one's fsync.
    #[arg(long, default_value_t = 4)]
    publishers: u64,
    /// Directory for the temporary stores (default: the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Skip phase A.
    #[arg(long)]
    no_throughput: bool,
    /// Skip phase B.
    #[arg(long)]
    no_latency: bool,
}

const SOURCE: StoreSpec = StoreSpec {
    name: "bench_source",
    schema_version: 1,
    migrations: &[],
};
const SINK: StoreSpec = StoreSpec {
    name: "bench_sink",
    schema_version: 1,
    migrations: &[],
};
const EVENT_TYPE: &str = "bench.job_posted";

/// What the subscriber writes for every event: its effect, in its own store.
const APPLIED: Table<u64, AppliedRow> = Table::new("bench.applied");

#[derive(Serialize, Deserialize)]
struct AppliedRow {
    event_id: String,
    payload: serde_json::Value,
}

/// A payload of a realistic size (about 200 bytes of JSON).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobPosted {
    n: u64,
    job_id: String,
    employer_id: String,
    title: &'static str,
    wage_per_hour: u32,
    region: &'static str,
}

fn payload(n: u64) -> JobPosted {
    JobPosted {
        n,
        job_id: format!("job-{n:012}"),
        employer_id: format!("user-{:08}", n % 997),
        title: "Cafe floor staff, Saturday 10:00-18:00",
        wage_per_hour: 12_000,
        region: "Seoul Mapo-gu",
    }
}

/// Latency histograms in microseconds, shared by the subscriber and the report.
struct Recorder {
    /// Batches the sink has committed (one store commit each).
    sink_commits: AtomicU64,
    /// Events with a sequence number up to this are warm-up and not recorded.
    skip_up_to: AtomicU64,
    /// `occurred_at` → inside the sink's transaction (before it commits).
    handled: Mutex<Histogram<u64>>,
    /// `occurred_at` → the sink's transaction has committed: the event is applied.
    committed: Mutex<Histogram<u64>>,
    /// The time event `n` was due to be published → applied. Unlike `occurred_at`, this also
    /// counts a publisher that fell behind or waited for the source's write lock.
    scheduled: Mutex<Histogram<u64>>,
    /// When event 0 was due, and the interval between two events in nanoseconds.
    schedule: Mutex<Option<(OffsetDateTime, f64)>>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn lock(h: &Mutex<Histogram<u64>>) -> MutexGuard<'_, Histogram<u64>> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

fn micros_since(then: OffsetDateTime, now: OffsetDateTime) -> u64 {
    (now - then).whole_microseconds().clamp(1, u64::MAX as i128) as u64
}

impl Recorder {
    fn new() -> Self {
        Self {
            sink_commits: AtomicU64::new(0),
            skip_up_to: AtomicU64::new(u64::MAX),
            handled: Mutex::new(histogram()),
            committed: Mutex::new(histogram()),
            scheduled: Mutex::new(histogram()),
            schedule: Mutex::new(None),
        }
    }

    fn counts(&self, event: &Envelope) -> bool {
        event.seq > self.skip_up_to.load(Ordering::Relaxed)
    }
}

/// The subscriber's handler: writes each event into its own store's table.
struct SinkHandler {
    recorder: Arc<Recorder>,
}

impl StoreHandler for SinkHandler {
    fn name(&self) -> &'static str {
        "bench_sink"
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type == EVENT_TYPE
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        let row = AppliedRow {
            event_id: event.id.to_string(),
            payload: event.payload.clone(),
        };
        APPLIED.insert(tx, &event.seq, &row)?;
        if self.recorder.counts(event) {
            let latency = micros_since(event.occurred_at, OffsetDateTime::now_utc());
            lock(&self.recorder.handled).saturating_record(latency);
        }
        Ok(())
    }

    /// The real [`StoreSubscriber`] calls this once the batch's transaction has committed: the
    /// events are applied now.
    fn committed(&self, _sink: &Store, events: &[Envelope]) {
        let now = OffsetDateTime::now_utc();
        self.recorder.sink_commits.fetch_add(1, Ordering::Relaxed);
        let schedule = *self.recorder.schedule.lock().unwrap_or_else(|p| p.into_inner());
        let mut committed = lock(&self.recorder.committed);
        let mut scheduled = lock(&self.recorder.scheduled);
        for event in events.iter().filter(|e| self.recorder.counts(e)) {
            committed.saturating_record(micros_since(event.occurred_at, now));
            let n = event.payload.get("n").and_then(serde_json::Value::as_u64);
            if let (Some((start, interval_ns)), Some(n)) = (schedule, n) {
                let due = start + time::Duration::nanoseconds((n as f64 * interval_ns) as i64);
                scheduled.saturating_record(micros_since(due, now));
            }
        }
    }
}

struct Setup {
    source: Store,
    sink: Store,
    bus: Bus,
    recorder: Arc<Recorder>,
}

/// Opens a fresh source and sink store in `dir` and wires the sink to the source's outbox.
fn setup(dir: &Path, batch_size: usize) -> anyhow::Result<Setup> {
    let source = Store::open(dir, &SOURCE).context("opening the source store")?;
    let sink = Store::open(dir, &SINK).context("opening the sink store")?;
    let recorder = Arc::new(Recorder::new());
    let mut bus = Bus::new(BusConfig {
        batch_size,
        max_backoff: Duration::from_secs(30),
        prune_interval: Duration::from_secs(30),
    });
    bus.add_source(SOURCE.name, &source);
    let subscriber = StoreSubscriber::new(
        sink.clone(),
        SinkHandler {
            recorder: recorder.clone(),
        },
    );
    bus.subscribe(SOURCE.name, Arc::new(subscriber))?;
    Ok(Setup {
        source,
        sink,
        bus,
        recorder,
    })
}

impl Recorder {
    fn sink_commits(&self) -> u64 {
        self.sink_commits.load(Ordering::Relaxed)
    }
}

fn applied_rows(sink: &Store) -> anyhow::Result<u64> {
    Ok(sink.read_blocking(|tx| APPLIED.len(tx))?)
}

fn ms(micros: u64) -> String {
    format!("{:.3} ms", micros as f64 / 1000.0)
}

fn describe(h: &Histogram<u64>) -> String {
    format!(
        "n={} p50={} p90={} p99={} p99.9={} max={}",
        h.len(),
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.90)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max()),
    )
}

async fn throughput(args: &Args, dir: &Path) -> anyhow::Result<()> {
    println!(
        "== bus phase A: throughput: backlog of {} events ({} per source transaction), bus batch_size {} ==",
        args.events, args.events_per_tx, args.batch_size
    );
    let Setup {
        source,
        sink,
        bus,
        recorder,
    } = setup(dir, args.batch_size)?;

    let started = Instant::now();
    let mut published = 0;
    let mut transactions = 0;
    while published < args.events {
        let count = args.events_per_tx.min(args.events - published);
        let first = published;
        source.write_blocking(|tx| {
            for n in first..first + count {
                publish(tx, SOURCE.name, EVENT_TYPE, &payload(n))?;
            }
            Ok::<_, StorageError>(())
        })?;
        published += count;
        transactions += 1;
    }
    let publish_time = started.elapsed();
    println!(
        "published {published} events in {transactions} transactions in {:.3} s ({:.0} events/s; bus not running)",
        publish_time.as_secs_f64(),
        published as f64 / publish_time.as_secs_f64()
    );

    let started = Instant::now();
    let running = bus.start();
    let delivered = running.flush(Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    running.stop().await;
    ensure!(delivered, "the backlog was not applied within 600 s");
    let applied = applied_rows(&sink)?;
    ensure!(
        applied == args.events,
        "the sink holds {applied} rows, expected {}",
        args.events
    );
    let sink_commits = recorder.sink_commits();
    let rate = applied as f64 / elapsed.as_secs_f64();
    println!(
        "applied {applied} events in {:.3} s: {rate:.0} events/s ({sink_commits} sink commits, {:.0} events per commit)",
        elapsed.as_secs_f64(),
        applied as f64 / sink_commits.max(1) as f64
    );
    println!("result bus_throughput_events_per_s={rate:.0}");
    println!("result bus_throughput_seconds={:.3}", elapsed.as_secs_f64());
    Ok(())
}

/// What the publisher threads saw.
struct Published {
    /// How long each publisher's write transaction took, commit (and fsync) included.
    commit_times: Histogram<u64>,
    /// The furthest any publisher fell behind the schedule.
    behind: Duration,
}

/// Publishes `total` events, one per transaction, the `n`th due at `start + n * interval`, from
/// `publishers` threads (event `n` on thread `n mod publishers`). A late thread publishes at once.
fn publish_on_schedule(
    source: &Store,
    total: u64,
    interval: Duration,
    publishers: u64,
    start: Instant,
) -> anyhow::Result<Published> {
    let results = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..publishers)
            .map(|first| {
                scope.spawn(move || -> anyhow::Result<Published> {
                    let mut commit_times = histogram();
                    let mut behind = Duration::ZERO;
                    for n in (first..total).step_by(publishers as usize) {
                        let due = start + Duration::from_nanos((n as f64 * interval.as_nanos() as f64) as u64);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        } else {
                            behind = behind.max(now - due);
                        }
                        let t0 = Instant::now();
                        source.write_blocking(|tx| publish(tx, SOURCE.name, EVENT_TYPE, &payload(n)).map(drop))?;
                        commit_times.saturating_record(t0.elapsed().as_micros().max(1) as u64);
                    }
                    Ok(Published { commit_times, behind })
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a publisher thread panicked")))
            })
            .collect::<Vec<_>>()
    });
    let mut all = Published {
        commit_times: histogram(),
        behind: Duration::ZERO,
    };
    for result in results {
        let one = result?;
        all.commit_times.add(&one.commit_times)?;
        all.behind = all.behind.max(one.behind);
    }
    Ok(all)
}

async fn latency(args: &Args, dir: &Path) -> anyhow::Result<()> {
    println!(
        "== bus phase B: latency at {} events/s, one source transaction per event, {} s measured after 1 s warm-up ==",
        args.rate, args.seconds
    );
    let Setup {
        source,
        sink,
        bus,
        recorder,
    } = setup(dir, args.batch_size)?;
    let running = bus.start();
    // Nothing to replay; wait for the lane to have loaded its cursor.
    for _ in 0..1_000 {
        if running.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    ensure!(running.is_ready(), "the bus lane did not start within 1 s");

    let warmup = args.rate;
    let total = warmup + args.rate * args.seconds;
    ensure!(args.publishers >= 1, "--publishers must be at least 1");
    let interval = Duration::from_secs(1).div_f64(args.rate as f64);
    recorder.skip_up_to.store(warmup, Ordering::Relaxed);
    let start = Instant::now();
    *recorder.schedule.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((OffsetDateTime::now_utc(), interval.as_nanos() as f64));
    let (publishers, publisher) = (args.publishers, source.clone());
    let published =
        tokio::task::spawn_blocking(move || publish_on_schedule(&publisher, total, interval, publishers, start))
            .await??;
    let elapsed = start.elapsed();
    let delivered = running.flush(Duration::from_secs(60)).await;
    running.stop().await;
    ensure!(delivered, "not every event was applied within 60 s of the last publish");
    let applied = applied_rows(&sink)?;
    ensure!(applied == total, "the sink holds {applied} rows, expected {total}");
    let sink_commits = recorder.sink_commits();

    println!(
        "published {total} events from {} thread(s) in {:.3} s ({:.1} events/s achieved; at most {:.3} ms behind schedule)",
        args.publishers,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        published.behind.as_secs_f64() * 1000.0
    );
    let committed = lock(&recorder.committed);
    let handled = lock(&recorder.handled);
    let scheduled = lock(&recorder.scheduled);
    println!("publisher transaction time:     {}", describe(&published.commit_times));
    println!("occurred_at -> applied:         {}", describe(&committed));
    println!("occurred_at -> handled:         {}", describe(&handled));
    println!("scheduled -> applied:           {}", describe(&scheduled));
    println!("  (applied: the sink's transaction has committed; handled: inside it, before the commit;");
    println!("   occurred_at is set by publish() inside the source transaction; scheduled is when the event");
    println!("   was due, so it also counts waiting for the source's write lock and a late publisher)");
    println!(
        "sink commits: {sink_commits} for {total} events ({:.2} events per commit)",
        total as f64 / sink_commits.max(1) as f64
    );
    println!(
        "result bus_latency_p50_ms={:.3}",
        committed.value_at_quantile(0.5) as f64 / 1000.0
    );
    println!(
        "result bus_latency_p99_ms={:.3}",
        committed.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!("result bus_latency_max_ms={:.3}", committed.max() as f64 / 1000.0);
    println!(
        "result bus_latency_scheduled_p99_ms={:.3}",
        scheduled.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!(
        "result bus_publish_rate_events_per_s={:.1}",
        total as f64 / elapsed.as_secs_f64()
    );
    println!("result bus_publishers={}", args.publishers);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    if !args.no_throughput {
        let dir = tempfile::Builder::new()
            .prefix("onetime-bus-bench-a")
            .tempdir_in(&base)?;
        throughput(&args, dir.path()).await?;
    }
    if !args.no_latency {
        let dir = tempfile::Builder::new()
            .prefix("onetime-bus-bench-b")
            .tempdir_in(&base)?;
        latency(&args, dir.path()).await?;
    }
    Ok(())
}
