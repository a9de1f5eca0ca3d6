//! The durable in-process event bus.
//!
//! The Node plan used Redis pub/sub, which drops events while a subscriber is down. Here nothing
//! is dropped:
//!
//! * **Outbox.** [`publish`] appends the event to the outbox of the publisher's own store, inside
//!   the write transaction of the state change. Both commit, or neither.
//! * **Lanes.** For every (source, subscriber) pair a lane task tails the source's outbox in
//!   sequence order, woken by the store's commit notices, and hands batches to the subscriber.
//!   Lanes are independent: a failing subscriber retries with backoff and holds up only itself.
//! * **Cursors.** The subscriber records the last sequence number it applied together with the
//!   effect (for redb stores, in the same transaction: see [`StoreSubscriber`]). After a crash
//!   it resumes from there, so an effect is applied once even though delivery is at-least-once.
//! * **Pruning.** Outbox rows go once every lane of their source has passed them, and never
//!   while a subscriber [declared](Bus::declare) for the source has no lane: it will start
//!   later and must still find every event.
//!
//! Lag per lane is exported as a metric and shown by `/health`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onetime_storage::{CURSORS, StorageError, Store, WriteTx, outbox};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::{Envelope, new_id};

/// Appends `event_type` with `payload` to the outbox of `source`, in the caller's transaction.
pub fn publish<P: Serialize>(
    tx: &WriteTx,
    source: &str,
    event_type: &str,
    payload: &P,
) -> Result<Envelope, StorageError> {
    let payload = serde_json::to_value(payload).map_err(|e| StorageError::Decode {
        table: "bus.outbox".to_owned(),
        reason: format!("payload of {event_type} does not serialize: {e}"),
    })?;
    let mut envelope = Envelope {
        id: new_id(),
        event_type: event_type.to_owned(),
        source: source.to_owned(),
        seq: 0,
        occurred_at: OffsetDateTime::now_utc(),
        payload,
    };
    envelope.seq = outbox::append(tx, |seq| Envelope {
        seq,
        ..envelope.clone()
    })?;
    Ok(envelope)
}

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A consumer of one or more sources' events.
///
/// Its methods are blocking; the bus calls them on the blocking pool.
pub trait Subscriber: Send + Sync + 'static {
    /// Stable name, used for its cursors, metrics and health.
    fn name(&self) -> &'static str;

    /// Whether it handles this event type at all. Other events are skipped without a call.
    fn wants(&self, event_type: &str) -> bool;

    /// The last sequence number of `source` it has applied (0 when none).
    fn cursor(&self, source: &str) -> Result<u64, HandlerError>;

    /// Applies `events` (in order) and records `up_to` as its cursor for `source`, atomically.
    /// `up_to` may be past the last event: skipped events count as passed.
    fn apply(&self, source: &str, events: &[Envelope], up_to: u64) -> Result<(), HandlerError>;

    /// How far through `source` its effects are durable, now that it has been handed everything
    /// up to `handed`: the outbox keeps the rows after it. A subscriber whose `apply` is durable
    /// when it returns keeps this default; one that makes its work durable later says less.
    fn durable(&self, source: &str, handed: u64) -> Result<u64, HandlerError> {
        let _ = source;
        Ok(handed)
    }
}

/// The handler half of a subscriber that keeps its effects in a redb store.
pub trait StoreHandler: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn wants(&self, event_type: &str) -> bool;
    /// Applies one event inside `tx`. Returning an error aborts the whole batch.
    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError>;

    /// Runs once `events` and their effects are durably committed in `store`: where a service
    /// tells the live world (open sockets, a sleeping worker) about what it just stored. It
    /// cannot fail the batch, which is applied for good.
    fn committed(&self, _store: &Store, _events: &[Envelope]) {}
}

/// A [`Subscriber`] whose cursor lives in the same redb store, and the same transaction, as the
/// handler's effects: the effect of an event is therefore applied exactly once.
pub struct StoreSubscriber<H> {
    store: Store,
    handler: H,
}

impl<H: StoreHandler> StoreSubscriber<H> {
    pub fn new(store: Store, handler: H) -> Self {
        Self { store, handler }
    }

    fn cursor_key(&self, source: &str) -> String {
        format!("{}@{source}", self.handler.name())
    }
}

impl<H: StoreHandler> Subscriber for StoreSubscriber<H> {
    fn name(&self) -> &'static str {
        self.handler.name()
    }

    fn wants(&self, event_type: &str) -> bool {
        self.handler.wants(event_type)
    }

    fn cursor(&self, source: &str) -> Result<u64, HandlerError> {
        let key = self.cursor_key(source);
        let cursor = self.store.read_blocking(|tx| CURSORS.get(tx, &key))?;
        Ok(cursor.unwrap_or(0))
    }

    fn apply(&self, source: &str, events: &[Envelope], up_to: u64) -> Result<(), HandlerError> {
        self.store.write_blocking(|tx| {
            for event in events {
                self.handler.handle(tx, event)?;
            }
            CURSORS.insert(tx, &self.cursor_key(source), &up_to)?;
            Ok::<_, HandlerError>(())
        })?;
        self.handler.committed(&self.store, events);
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Most events handed to a subscriber in one call (and so one commit).
    pub batch_size: usize,
    /// Ceiling of the retry backoff of a failing subscriber.
    pub max_backoff: Duration,
    /// How often passed outbox rows are deleted.
    pub prune_interval: Duration,
}

/// The bus being wired: sources and subscriptions, before anything runs.
pub struct Bus {
    config: BusConfig,
    sources: BTreeMap<&'static str, Store>,
    lanes: Vec<Arc<Lane>>,
    /// `(source, subscriber)` pairs that consume, whether or not they run in this process.
    declared: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("no event source named `{0}` was added to the bus")]
pub struct UnknownSource(String);

impl Bus {
    pub fn new(config: BusConfig) -> Self {
        Self {
            config,
            sources: BTreeMap::new(),
            lanes: Vec::new(),
            declared: Vec::new(),
        }
    }

    /// Says that `subscriber` consumes `source`'s events. Until it subscribes, `source`'s
    /// outbox keeps every row for it.
    pub fn declare(&mut self, source: &str, subscriber: &str) {
        self.declared.push((source.to_owned(), subscriber.to_owned()));
    }

    /// A declared subscriber of `source` with no lane in this process, if any.
    fn absent_subscriber(&self, source: &str) -> Option<&str> {
        self.declared
            .iter()
            .filter(|(declared_source, _)| declared_source == source)
            .map(|(_, subscriber)| subscriber.as_str())
            .find(|subscriber| {
                !self
                    .lanes
                    .iter()
                    .any(|l| l.source_name == source && l.subscriber.name() == *subscriber)
            })
    }

    /// Makes `store`'s outbox the source `name` (the publishing service, as its envelopes say).
    pub fn add_source(&mut self, name: &'static str, store: &Store) {
        self.sources.insert(name, store.clone());
    }

    pub fn subscribe(&mut self, source: &str, subscriber: Arc<dyn Subscriber>) -> Result<(), UnknownSource> {
        let (&name, store) = self
            .sources
            .get_key_value(source)
            .ok_or_else(|| UnknownSource(source.to_owned()))?;
        self.lanes.push(Arc::new(Lane {
            subscriber,
            source_name: name,
            source: store.clone(),
            applied: watch::channel(0).0,
            ready_at: watch::channel(None).0,
            failures: Default::default(),
            last_error: Mutex::new(None),
        }));
        Ok(())
    }

    /// Spawns a task for every lane and a pruner for every source.
    pub fn start(self) -> RunningBus {
        let (stop, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for lane in &self.lanes {
            tasks.spawn(run_lane(lane.clone(), self.config.clone(), stop.subscribe()));
        }
        for (&name, store) in &self.sources {
            if let Some(absent) = self.absent_subscriber(name) {
                tracing::info!(
                    source = name,
                    subscriber = absent,
                    "keeping the outbox whole for a declared subscriber that is not running"
                );
                continue;
            }
            let lanes: Vec<_> = self.lanes.iter().filter(|l| l.source_name == name).cloned().collect();
            tasks.spawn(run_pruner(
                store.clone(),
                lanes,
                self.config.prune_interval,
                stop.subscribe(),
            ));
        }
        RunningBus {
            lanes: self.lanes,
            stop,
            tasks: tokio::sync::Mutex::new(tasks),
        }
    }
}

/// One subscriber's progress through one source.
struct Lane {
    subscriber: Arc<dyn Subscriber>,
    source_name: &'static str,
    source: Store,
    /// The cursor as far as this process knows it applied.
    applied: watch::Sender<u64>,
    /// The outbox head when the lane started: reaching it means the backlog is replayed.
    ready_at: watch::Sender<Option<u64>>,
    failures: std::sync::atomic::AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Lane {
    fn labels(&self) -> [(&'static str, String); 2] {
        [
            ("subscriber", self.subscriber.name().to_owned()),
            ("source", self.source_name.to_owned()),
        ]
    }

    fn record_failure(&self, error: &dyn std::fmt::Display) {
        tracing::warn!(subscriber = self.subscriber.name(), source = self.source_name, %error, "event handler failed; retrying");
        self.failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
        metrics::counter!("onetime_bus_handler_failures_total", &self.labels()).increment(1);
    }

    fn record_success(&self, up_to: u64) {
        self.applied.send_replace(up_to);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Doubling delay between retries, from 50 ms up to a ceiling.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);

    fn new(max: Duration) -> Self {
        Self { next: Self::FIRST, max }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// Waits the current delay; false when the bus is stopping instead.
    async fn wait(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = stop.wait_for(|stopping| *stopping) => false,
        }
    }
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, HandlerError> + Send + 'static,
) -> Result<R, HandlerError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| Err(join.into()))
}

async fn run_lane(lane: Arc<Lane>, config: BusConfig, mut stop: watch::Receiver<bool>) {
    let source = lane.source_name;
    let mut backoff = Backoff::new(config.max_backoff);
    let mut head = lane.source.outbox_head();

    let mut cursor = loop {
        let subscriber = lane.subscriber.clone();
        match blocking(move || subscriber.cursor(source)).await {
            Ok(cursor) => break cursor,
            Err(error) => {
                lane.record_failure(&error);
                if !backoff.wait(&mut stop).await {
                    return;
                }
            }
        }
    };
    lane.applied.send_replace(cursor);
    lane.ready_at.send_replace(Some(*head.borrow()));
    let store = lane.source.clone();

    while !*stop.borrow() {
        // Mark the head as seen before reading: a later commit wakes us.
        let durable = *head.borrow_and_update();
        if cursor >= durable {
            tokio::select! {
                _ = head.changed() => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            continue;
        }
        let batch_size = config.batch_size;
        let read = store
            .read(move |tx| outbox::read_range::<Envelope>(tx, cursor, durable, batch_size))
            .await;
        let batch = match read {
            Ok(batch) => batch,
            Err(error) => {
                lane.record_failure(&error);
                if !backoff.wait(&mut stop).await {
                    return;
                }
                continue;
            }
        };
        // Rows every lane has passed may be pruned already; then there is nothing up to the head.
        let up_to = batch.last().map_or(durable, |e| e.seq);
        let wanted: Arc<Vec<Envelope>> = Arc::new(
            batch
                .into_iter()
                .filter(|e| lane.subscriber.wants(&e.event_type))
                .collect(),
        );
        while !wanted.is_empty() {
            let (subscriber, events) = (lane.subscriber.clone(), wanted.clone());
            // Never abandoned half-way: a stop waits for the batch to commit or fail.
            match blocking(move || subscriber.apply(source, &events, up_to)).await {
                Ok(()) => {
                    backoff.reset();
                    record_delivery(&lane, &wanted);
                    break;
                }
                Err(error) => {
                    lane.record_failure(&error);
                    if !backoff.wait(&mut stop).await {
                        return;
                    }
                }
            }
        }
        cursor = up_to;
        lane.record_success(up_to);
    }
}

fn record_delivery(lane: &Lane, events: &[Envelope]) {
    let labels = lane.labels();
    let now = OffsetDateTime::now_utc();
    metrics::counter!("onetime_bus_events_applied_total", &labels).increment(events.len() as u64);
    let latency = metrics::histogram!("onetime_bus_delivery_seconds", &labels);
    for event in events {
        latency.record((now - event.occurred_at).as_seconds_f64().max(0.0));
    }
}

/// Most outbox rows one pruning write removes.
const PRUNE_CHUNK: u64 = 256;

async fn run_pruner(store: Store, lanes: Vec<Arc<Lane>>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut pruned_to = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        // A lane that has not loaded its cursor yet reports 0 and so holds everything back.
        let handed: Vec<(Arc<Lane>, u64)> = lanes
            .iter()
            .map(|lane| (lane.clone(), *lane.applied.borrow()))
            .collect();
        let durable = blocking(move || {
            handed.iter().try_fold(None, |passed: Option<u64>, (lane, handed)| {
                let durable = lane.subscriber.durable(lane.source_name, *handed)?;
                Ok(Some(passed.map_or(durable, |passed| passed.min(durable))))
            })
        })
        .await;
        let passed = match durable {
            Ok(Some(passed)) => passed,
            Ok(None) => *store.outbox_head().borrow(),
            Err(error) => {
                tracing::warn!(source = store.name(), %error, "a subscriber's progress is unknown; not pruning");
                continue;
            }
        };
        // In chunks, each its own write, so that the requests' writes go on in between.
        while passed > pruned_to {
            match store.write(move |tx| outbox::prune(tx, passed, PRUNE_CHUNK)).await {
                Ok(removed) => {
                    tracing::debug!(source = store.name(), removed, up_to = passed, "pruned outbox");
                    if removed < PRUNE_CHUNK {
                        pruned_to = passed;
                    }
                }
                Err(error) => {
                    tracing::warn!(source = store.name(), %error, "outbox pruning failed");
                    break;
                }
            }
        }
    }
}

/// One lane's state, as `/health` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneStatus {
    pub subscriber: &'static str,
    pub source: &'static str,
    pub applied: u64,
    pub head: u64,
    pub lag: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The bus while it runs.
pub struct RunningBus {
    lanes: Vec<Arc<Lane>>,
    stop: watch::Sender<bool>,
    tasks: tokio::sync::Mutex<JoinSet<()>>,
}

impl RunningBus {
    /// Every lane's progress; also updates the lag gauges.
    pub fn status(&self) -> Vec<LaneStatus> {
        let mut statuses = Vec::with_capacity(self.lanes.len());
        for lane in &self.lanes {
            let head = *lane.source.outbox_head().borrow();
            // What the subscriber has made durable, not merely been handed: until then a
            // restart would deliver it again, so it still counts as lag.
            let handed = *lane.applied.borrow();
            let applied = lane.subscriber.durable(lane.source_name, handed).unwrap_or(handed);
            let lag = head.saturating_sub(applied);
            statuses.push(LaneStatus {
                subscriber: lane.subscriber.name(),
                source: lane.source_name,
                applied,
                head,
                lag,
                failures: lane.failures.load(std::sync::atomic::Ordering::Relaxed),
                last_error: lane.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            });
        }
        statuses
    }

    /// True once every lane has replayed the backlog it found at start-up.
    pub fn is_ready(&self) -> bool {
        self.lanes.iter().all(|lane| match *lane.ready_at.borrow() {
            Some(target) => *lane.applied.borrow() >= target,
            None => false,
        })
    }

    /// Waits until every lane has applied what its source has committed so far, or `deadline`
    /// passes; true when everything was delivered.
    pub async fn flush(&self, deadline: Duration) -> bool {
        let all = async {
            for lane in &self.lanes {
                let head = *lane.source.outbox_head().borrow();
                let mut applied = lane.applied.subscribe();
                let _ = applied.wait_for(|applied| *applied >= head).await;
            }
        };
        tokio::time::timeout(deadline, all).await.is_ok()
    }

    /// Stops every lane once its current batch is done.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }
}
