//! The WebSocket load client of issues 12 and 13, driven by `benches/sockets.sh` against a running
//! onetime (gateway rate limits and WebSocket caps raised, argon2 cheap for the registrations).
//!
//! Every mode first registers accounts through the HTTP API, opens `--sockets` sockets on
//! `--path` (`--devices` per account) and reports the server's resident set before and after
//! (`--server-pid`): the idle cost of a connection. Then:
//!
//! * `idle` holds them for `--hold` seconds.
//! * `notify` has an administrator announce (`POST /notifications/send`, in-app only) to
//!   `--per-request` of those accounts at a time, `--rate` notifications a second for
//!   `--duration` seconds, and times each request's start to each `notification` frame.
//! * `chat` adds `--rooms` rooms (an employer's job, a worker who applied; the worker on two
//!   devices), sends `--rate` messages a second over their sockets, round robin over the rooms
//!   and alternating the sender, and times each `send` to the other participant's `message`
//!   frames (and to the `ack`); then reads every room's history to check that each message was
//!   stored once, with dense seqs, in the order each sender sent. `--flood-rate` adds one more
//!   room whose employer floods it with messages of 2,000 characters; with `--slow-reader` its
//!   worker's laptop reads one frame every `--slow-read-ms` (the same flood without a slow
//!   reader tells the cost of the flood from the cost of the slow reader).
//!
//! ```text
//! ws-bench --url http://127.0.0.1:38400 --server-pid PID idle --path /chat/socket --sockets 10000
//! ws-bench --url … --server-pid PID notify --sockets 10000 --rate 1000 --duration 30 \
//!     --admin-email admin@example.com --admin-password '…'
//! ws-bench --url … --server-pid PID chat --sockets 0 --rooms 1000 --rate 2000 --duration 30 \
//!     --flood-rate 200 --slow-reader
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Args, Parser, Subcommand};
use futures::{SinkExt, StreamExt, stream};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const PASSWORD: &str = "bench password 1";
/// Requests (registrations, set-up calls) in flight at once: under the gateway's per-client cap.
const HTTP_CONCURRENCY: usize = 48;
/// Socket handshakes in flight at once.
const CONNECT_CONCURRENCY: usize = 64;
/// How long frames still on their way may take after the load stops.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "WebSocket load client: idle memory per socket, notification and chat latency")]
struct Cli {
    /// The running onetime.
    #[arg(long)]
    url: String,
    /// The server's process id, whose resident set is read from /proc.
    #[arg(long)]
    server_pid: u32,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Open sockets, report the memory they cost, hold them.
    Idle {
        #[command(flatten)]
        sockets: SocketArgs,
        #[arg(long, default_value_t = 10)]
        hold: u64,
    },
    /// Open notification sockets, then announce to their accounts at a steady rate.
    Notify {
        #[command(flatten)]
        sockets: SocketArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// Accounts named in each announcement.
        #[arg(long, default_value_t = 10)]
        per_request: usize,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_password: String,
    },
    /// Chat rooms with messages at a steady rate (beside `--sockets` idle chat sockets).
    Chat {
        #[command(flatten)]
        sockets: SocketArgs,
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        /// In the flooded room, the worker's laptop reads slowly.
        #[arg(long)]
        slow_reader: bool,
        #[arg(long, default_value_t = 1000)]
        slow_read_ms: u64,
        /// Messages a second the employer of one more room sends (needs `chat.send_per_second`);
        /// 0: no such room.
        #[arg(long, default_value_t = 0)]
        flood_rate: u64,
    },
}

#[derive(Args)]
struct SocketArgs {
    /// The socket path; `notify` and `chat` set their own.
    #[arg(long, default_value = "/notifications/socket")]
    path: String,
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Sockets per account.
    #[arg(long, default_value_t = 2)]
    devices: usize,
}

#[derive(Args)]
struct LoadArgs {
    /// Notifications or messages per second.
    #[arg(long)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    duration: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let api = Api::new(&cli.url)?;
    match cli.mode {
        Mode::Idle { sockets, hold } => {
            let idle = open_idle(&api, cli.server_pid, &sockets, &sockets.path, ignore).await?;
            println!("holding {} sockets for {hold} s", idle.sockets.len());
            tokio::time::sleep(Duration::from_secs(hold)).await;
            report_closed("idle", &idle.sockets);
        }
        Mode::Notify {
            sockets,
            load,
            per_request,
            admin_email,
            admin_password,
        } => {
            let admin = api.login(&admin_email, &admin_password).await?;
            notify::run(&api, &admin, &sockets, &load, per_request, cli.server_pid).await?;
        }
        Mode::Chat {
            sockets,
            load,
            rooms,
            slow_reader,
            slow_read_ms,
            flood_rate,
        } => {
            let idle = open_idle(&api, cli.server_pid, &sockets, "/chat/socket", ignore).await?;
            ensure!(flood_rate > 0 || !slow_reader, "--slow-reader needs --flood-rate");
            let flood = (flood_rate > 0).then(|| chat::Flood {
                rate: flood_rate,
                slow_read: slow_reader.then(|| Duration::from_millis(slow_read_ms)),
            });
            chat::run(&api, &load, rooms, flood, cli.server_pid).await?;
            report_closed("idle", &idle.sockets);
        }
    }
    Ok(())
}

/// A registered account.
#[derive(Clone)]
struct Account {
    id: String,
    token: String,
}

/// The HTTP calls the set-up and the checks need.
struct Api {
    http: reqwest::Client,
    url: String,
    /// Tells this run's accounts from those of runs before it on the same data directory.
    run: u128,
    /// Accounts registered so far by this run: each address is new.
    registered: AtomicUsize,
}

impl Api {
    fn new(url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(HTTP_CONCURRENCY)
            .timeout(Duration::from_secs(60))
            .build()?;
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_owned(),
            run,
            registered: AtomicUsize::new(0),
        })
    }

    /// Sends `body` (a GET without one) with `token`; the answer's JSON, which must come with
    /// `status`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        let got = response.status().as_u16();
        let text = response.text().await?;
        ensure!(got == status, "{method} {path}: {got} (expected {status}): {text}");
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    async fn login(&self, email: &str, password: &str) -> anyhow::Result<Account> {
        let body = json!({ "email": email, "password": password });
        let answer = self
            .call(reqwest::Method::POST, "/auth/login", None, Some(body), 200)
            .await?;
        account_of(&answer)
    }

    /// Registers `count` accounts of `role`, `HTTP_CONCURRENCY` at a time, in order.
    async fn register(&self, role: &str, count: usize) -> anyhow::Result<Vec<Account>> {
        let started = Instant::now();
        let first = self.registered.fetch_add(count, Ordering::Relaxed);
        let accounts: Vec<Account> = concurrently(first..first + count, |n| async move {
            let body = json!({
                "email": format!("ws-{}-{role}-{n}@example.com", self.run),
                "password": PASSWORD,
                "name": "벤치",
                "role": role,
            });
            account_of(
                &self
                    .call(reqwest::Method::POST, "/auth/register", None, Some(body), 201)
                    .await?,
            )
        })
        .await?;
        println!("registered {count} {role}s in {:.1} s", started.elapsed().as_secs_f64());
        Ok(accounts)
    }
}

fn account_of(answer: &Value) -> anyhow::Result<Account> {
    let text = |pointer: &str| {
        answer
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("{pointer} missing in {answer}"))
    };
    Ok(Account {
        id: text("/user/id")?,
        token: text("/accessToken")?,
    })
}

/// Runs `f` on every item, `HTTP_CONCURRENCY` at a time; the outputs in the items' order.
async fn concurrently<I, F, Fut, T>(items: I, f: F) -> anyhow::Result<Vec<T>>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    stream::iter(items)
        .map(f)
        .buffered(HTTP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The server's resident set (`VmRSS`), in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// Idle sockets with their accounts.
struct Idle {
    accounts: Vec<Account>,
    sockets: Vec<Socket>,
}

/// Registers `sockets / devices` workers, opens `devices` sockets on `path` for each (frames go
/// to what `on_frame` makes for the socket's owner), and prints the server's resident set
/// before, after, and per socket.
async fn open_idle(
    api: &Api,
    pid: u32,
    args: &SocketArgs,
    path: &str,
    on_frame: impl Fn(&Account) -> OnFrame,
) -> anyhow::Result<Idle> {
    ensure!(args.devices > 0, "--devices must be at least 1");
    let accounts = api.register("worker", args.sockets.div_ceil(args.devices)).await?;
    if args.sockets == 0 {
        return Ok(Idle {
            accounts,
            sockets: Vec::new(),
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let started = Instant::now();
    let owners = (0..args.sockets).map(|n| &accounts[n / args.devices]);
    let sockets = open_sockets(api, path, owners, on_frame).await?;
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid)?;
    println!(
        "idle {path}: {} sockets open in {:.1} s; server RSS {:.1} MiB before, {:.1} MiB after: {:.1} KiB a socket",
        sockets.len(),
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / sockets.len() as f64
    );
    Ok(Idle { accounts, sockets })
}

/// A frame handler that ignores every frame.
fn ignore(_: &Account) -> OnFrame {
    Arc::new(|_: &str, _: Instant| {})
}

/// What a socket does with each text frame it receives (with the time it arrived).
type OnFrame = Arc<dyn Fn(&str, Instant) + Send + Sync>;

/// One open socket, served by a task of its own: it writes what is queued on `send` and hands
/// every text frame to its [`OnFrame`].
struct Socket {
    send: mpsc::UnboundedSender<Outgoing>,
    /// The close code the server sent, 0 while open, 1 when the connection ended without one.
    closed: Arc<AtomicU64>,
}

/// A frame to send, and the send time to note when it leaves.
struct Outgoing {
    text: String,
    sent: Option<(Arc<Timings>, usize)>,
}

/// Opens one socket per owner on `path`, `CONNECT_CONCURRENCY` handshakes at a time; `on_frame`
/// makes each socket's frame handler from its owner.
async fn open_sockets<'a>(
    api: &Api,
    path: &str,
    owners: impl Iterator<Item = &'a Account>,
    on_frame: impl Fn(&Account) -> OnFrame,
) -> anyhow::Result<Vec<Socket>> {
    let pending: Vec<_> = owners.map(|owner| (owner.token.clone(), on_frame(owner))).collect();
    stream::iter(pending)
        .map(|(token, on_frame)| connect(api, path, token, on_frame, None))
        .buffered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Opens a socket and starts its task. A `read_every` makes it a slow reader: it reads one frame
/// per period, through a small receive buffer.
async fn connect(
    api: &Api,
    path: &str,
    token: String,
    on_frame: OnFrame,
    read_every: Option<Duration>,
) -> anyhow::Result<Socket> {
    let address = api.url.trim_start_matches("http://");
    let tcp = TcpSocket::new_v4()?;
    if read_every.is_some() {
        tcp.set_recv_buffer_size(4096)?;
    }
    let stream = tcp.connect(address.parse()?).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{address}{path}?token={token}");
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .with_context(|| format!("opening {path}"))?;
    let (send, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let closed = Arc::new(AtomicU64::new(0));
    let ended = closed.clone();
    tokio::spawn(async move {
        let code = loop {
            tokio::select! {
                out = outgoing.recv() => {
                    let Some(out) = out else { break 1000 };
                    if let Some((timings, k)) = &out.sent {
                        timings.sent(*k);
                    }
                    if ws.send(Message::text(out.text)).await.is_err() {
                        break 1;
                    }
                }
                incoming = ws.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        on_frame(text.as_str(), Instant::now());
                        if let Some(period) = read_every {
                            tokio::time::sleep(period).await;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => break frame.map_or(1, |f| u16::from(f.code).into()),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break 1,
                },
            }
        };
        ended.store(code, Ordering::Relaxed);
    });
    Ok(Socket { send, closed })
}

/// Prints how many of `sockets` ended, by close code.
fn report_closed(what: &str, sockets: &[Socket]) {
    let mut codes: HashMap<u64, usize> = HashMap::new();
    for socket in sockets {
        *codes.entry(socket.closed.load(Ordering::Relaxed)).or_default() += 1;
    }
    let open = codes.remove(&0).unwrap_or(0);
    println!("{what} sockets: {open} still open, closed by code: {codes:?}");
}

/// Send times of numbered requests or messages, and the latencies measured against them.
struct Timings {
    started: Instant,
    /// Nanoseconds after `started` each was sent; 0 until it is.
    sent: Vec<AtomicU64>,
    latencies: Mutex<HashMap<&'static str, Histogram<u64>>>,
}

impl Timings {
    fn new(count: usize) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            sent: (0..count).map(|_| AtomicU64::new(0)).collect(),
            latencies: Mutex::default(),
        })
    }

    fn sent(&self, k: usize) {
        let nanos = self.started.elapsed().as_nanos().max(1) as u64;
        self.sent[k].store(nanos, Ordering::Relaxed);
    }

    /// Records the time from `k`'s send to `at` under `what`.
    fn arrived(&self, what: &'static str, k: usize, at: Instant) {
        let Some(sent) = self.sent.get(k).map(|s| s.load(Ordering::Relaxed)).filter(|&s| s > 0) else {
            return;
        };
        let micros = (at.duration_since(self.started).as_nanos() as u64).saturating_sub(sent) / 1000;
        let mut latencies = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        let histogram = latencies
            .entry(what)
            .or_insert_with(|| Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"));
        histogram.saturating_record(micros.max(1));
    }

    fn count(&self, what: &str) -> u64 {
        let latencies = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        latencies.get(what).map_or(0, Histogram::len)
    }

    /// Prints each latency's count and quantiles.
    fn report(&self) {
        let latencies = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<_> = latencies.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            let h = &latencies[name];
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "{name}: {} frames; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
                h.len(),
                ms(0.5),
                ms(0.9),
                ms(0.99),
                ms(0.999),
                h.max() as f64 / 1000.0
            );
        }
    }
}

/// Calls `each(k)` for k = 0, 1, … at `rate` a second for `duration` seconds, on schedule (a
/// late call does not push the next ones back).
async fn paced(rate: u64, duration: u64, mut each: impl FnMut(usize)) {
    let started = tokio::time::Instant::now();
    for k in 0..(rate * duration) as usize {
        tokio::time::sleep_until(started + Duration::from_secs_f64(k as f64 / rate as f64)).await;
        each(k);
    }
}

/// Waits until `done()` or `DRAIN` has passed.
async fn drain(done: impl Fn() -> bool) {
    let until = Instant::now() + DRAIN;
    while !done() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

mod notify {
    //! `notify`: announcements to the accounts of the open notification sockets.

    use super::*;

    /// The part of a notification frame the client reads.
    #[derive(Deserialize)]
    struct Frame {
        #[serde(rename = "type")]
        kind: String,
        notification: Option<Body>,
    }

    #[derive(Deserialize)]
    struct Body {
        title: String,
    }

    pub async fn run(
        api: &Api,
        admin: &Account,
        args: &SocketArgs,
        load: &LoadArgs,
        per_request: usize,
        pid: u32,
    ) -> anyhow::Result<()> {
        let requests = (load.rate * load.duration) as usize / per_request.max(1);
        let timings = Timings::new(requests);
        let on_frame = |_: &Account| -> OnFrame {
            let timings = timings.clone();
            Arc::new(move |text: &str, at: Instant| {
                let Ok(frame) = serde_json::from_str::<Frame>(text) else {
                    return;
                };
                if frame.kind != "notification" {
                    return;
                }
                let number = frame
                    .notification
                    .and_then(|n| n.title.strip_prefix("bench ").and_then(|k| k.parse().ok()));
                if let Some(k) = number {
                    timings.arrived("request -> notification frame", k, at);
                }
            })
        };
        let Idle { accounts, sockets } = open_idle(api, pid, args, "/notifications/socket", on_frame).await?;
        ensure!(
            per_request > 0 && per_request <= accounts.len(),
            "--per-request must be 1..=accounts"
        );
        let devices = args.devices;

        println!(
            "== {} notifications/s for {} s: {requests} announcements to {per_request} accounts each ==",
            load.rate, load.duration
        );
        let (failures, answered) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let request_rate = load.rate / per_request as u64;
        let accounts = Arc::new(accounts);
        paced(request_rate, load.duration, |k| {
            let user_ids: Vec<&str> = (0..per_request).map(|j| accounts[(k * per_request + j) % accounts.len()].id.as_str()).collect();
            let body = json!({ "userIds": user_ids, "title": format!("bench {k}"), "body": "벤치마크 공지", "channels": ["inapp"] });
            let (http, url, token) = (api.http.clone(), api.url.clone(), admin.token.clone());
            let (timings, failures, answered) = (timings.clone(), failures.clone(), answered.clone());
            tokio::spawn(async move {
                timings.sent(k);
                let sent = http.post(format!("{url}/notifications/send")).bearer_auth(token).json(&body).send().await;
                match sent {
                    Ok(response) if response.status() == 202 => {
                        timings.arrived("request -> 202", k, Instant::now());
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(response) => {
                        if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("announce: {} {}", response.status(), response.text().await.unwrap_or_default());
                        }
                    }
                    Err(error) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("announce: {error}");
                    }
                }
            });
        })
        .await;
        let expected = (requests * per_request * devices) as u64;
        drain(|| timings.count("request -> notification frame") >= expected).await;
        println!(
            "announcements: {} answered 202, {} failed; notification frames {} of {expected}; server RSS now {:.1} MiB",
            answered.load(Ordering::Relaxed),
            failures.load(Ordering::Relaxed),
            timings.count("request -> notification frame"),
            rss_kib(pid)? as f64 / 1024.0
        );
        timings.report();
        report_closed("notification", &sockets);
        Ok(())
    }
}

mod chat {
    //! `chat`: rooms of an employer and a worker (on two devices) with messages at a steady rate.

    use super::*;

    /// The flooded room: how fast its employer sends, and how slowly the worker's laptop reads.
    pub struct Flood {
        pub rate: u64,
        pub slow_read: Option<Duration>,
    }

    /// The part of a chat frame the client reads.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Frame {
        #[serde(rename = "type")]
        kind: String,
        message: Option<Stored>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stored {
        seq: u64,
        sender_id: String,
        client_msg_id: String,
    }

    /// One room and the sockets of its two participants.
    struct Room {
        id: String,
        employer: Account,
        worker: Account,
        employer_socket: Socket,
        /// The worker's phone (which sends) and laptop.
        worker_sockets: [Socket; 2],
    }

    /// Makes `count` rooms: `count` employers each post a job, as many workers apply to one each
    /// and open the room.
    async fn rooms(
        api: &Api,
        count: usize,
        timings: &Arc<Timings>,
        errors: &Arc<AtomicU64>,
        read_every: Option<Duration>,
    ) -> anyhow::Result<Vec<Room>> {
        let employers = api.register("employer", count).await?;
        let workers = api.register("worker", count).await?;
        let started = Instant::now();
        let opened = concurrently(employers.iter().zip(&workers), |(employer, worker)| async move {
            let job = api
                .call(
                    reqwest::Method::POST,
                    "/jobs",
                    Some(&employer.token),
                    Some(job_body()?),
                    201,
                )
                .await?;
            let job_id = job["id"].as_str().context("job id")?;
            api.call(
                reqwest::Method::POST,
                &format!("/jobs/{job_id}/apply"),
                Some(&worker.token),
                Some(json!({})),
                201,
            )
            .await?;
            let body = json!({ "jobId": job_id, "participantId": employer.id });
            let room = api
                .call(
                    reqwest::Method::POST,
                    "/chat/rooms",
                    Some(&worker.token),
                    Some(body),
                    201,
                )
                .await?;
            Ok(room["id"].as_str().context("room id")?.to_owned())
        })
        .await?;
        println!(
            "{count} jobs, applications and rooms in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let mut rooms = Vec::with_capacity(count);
        for ((id, employer), worker) in opened.into_iter().zip(employers).zip(workers) {
            let handler = |owner: &Account| receiver(owner.id.clone(), timings.clone(), errors.clone());
            let employer_socket =
                connect(api, "/chat/socket", employer.token.clone(), handler(&employer), None).await?;
            let phone = connect(api, "/chat/socket", worker.token.clone(), handler(&worker), None).await?;
            let laptop = connect(api, "/chat/socket", worker.token.clone(), handler(&worker), read_every).await?;
            rooms.push(Room {
                id,
                employer,
                worker,
                employer_socket,
                worker_sockets: [phone, laptop],
            });
        }
        Ok(rooms)
    }

    fn job_body() -> anyhow::Result<Value> {
        use time::format_description::well_known::Rfc3339;
        let starts = time::OffsetDateTime::now_utc().replace_nanosecond(0)? + time::Duration::days(1);
        Ok(json!({
            "title": "주말 카페 바리스타",
            "description": "벤치마크용 공고입니다.",
            "category": "food-cafe",
            "wage": { "type": "hourly", "amount": 10_320 },
            "location": { "address": "서울 중구 세종대로 110", "lat": 37.56, "lng": 126.97 },
            "startsAt": starts.format(&Rfc3339)?,
            "endsAt": (starts + time::Duration::hours(4)).format(&Rfc3339)?,
            "headcount": 1,
        }))
    }

    /// The frame handler of a socket of `owner`: `ack`s and other participants' `message`s are
    /// timed against their send (clientMsgId `b<k>`); errors are counted.
    fn receiver(owner: String, timings: Arc<Timings>, errors: Arc<AtomicU64>) -> OnFrame {
        Arc::new(move |text: &str, at: Instant| {
            let Ok(frame) = serde_json::from_str::<Frame>(text) else {
                return;
            };
            let number = |m: &Stored| m.client_msg_id.strip_prefix('b').and_then(|k| k.parse::<usize>().ok());
            match (frame.kind.as_str(), frame.message) {
                ("ack", Some(m)) => number(&m)
                    .into_iter()
                    .for_each(|k| timings.arrived("send -> ack", k, at)),
                ("message", Some(m)) if m.sender_id != owner => {
                    number(&m)
                        .into_iter()
                        .for_each(|k| timings.arrived("send -> other participant's message", k, at));
                }
                ("message", Some(m)) => number(&m)
                    .into_iter()
                    .for_each(|k| timings.arrived("send -> sender's other device", k, at)),
                ("error", _) => {
                    let seen = errors.fetch_add(1, Ordering::Relaxed);
                    if seen < 5 {
                        eprintln!("error frame: {text}");
                    }
                }
                _ => {}
            }
        })
    }

    fn send_frame(room: &str, k: usize) -> String {
        json!({ "type": "send", "roomId": room, "text": format!("안녕하세요, 메시지 {k}입니다"), "clientMsgId": format!("b{k}") }).to_string()
    }

    pub async fn run(api: &Api, load: &LoadArgs, count: usize, flood: Option<Flood>, pid: u32) -> anyhow::Result<()> {
        let total = (load.rate * load.duration) as usize;
        let flood_total = flood.as_ref().map_or(0, |f| (f.rate * load.duration) as usize);
        let timings = Timings::new(total);
        let flood_timings = Timings::new(flood_total);
        let errors = Arc::new(AtomicU64::new(0));
        let before = rss_kib(pid)?;
        let rooms = rooms(api, count, &timings, &errors, None).await?;
        let flooded = match &flood {
            Some(flood) => Some(flooded_room(api, &flood_timings, &errors, flood.slow_read).await?),
            None => None,
        };
        println!(
            "{} room sockets open; server RSS {:.1} → {:.1} MiB",
            rooms.len() * 3,
            before as f64 / 1024.0,
            rss_kib(pid)? as f64 / 1024.0
        );

        println!(
            "== {} messages/s for {} s over {count} rooms{} ==",
            load.rate,
            load.duration,
            match &flood {
                Some(Flood {
                    rate,
                    slow_read: Some(_),
                }) => format!(", a flooded room ({rate}/s) with a slow reader"),
                Some(Flood { rate, slow_read: None }) => format!(", a flooded room ({rate}/s)"),
                None => String::new(),
            }
        );
        // Message k goes to room k % count; the employer sends on even rounds, the worker's
        // phone on odd ones.
        let sender_of = |k: usize| ((k / count) % 2 == 1, &rooms[k % count]);
        let flooding = flood.as_ref().zip(flooded.as_ref()).map(|(flood, room)| {
            let (sender, room_id, timings) = (room.employer_socket.send.clone(), room.id.clone(), flood_timings.clone());
            tokio::spawn(paced(flood.rate, load.duration, move |k| {
                let text = json!({ "type": "send", "roomId": room_id, "text": "가".repeat(2000), "clientMsgId": format!("b{k}") }).to_string();
                let _ = sender.send(Outgoing { text, sent: Some((timings.clone(), k)) });
            }))
        });
        paced(load.rate, load.duration, |k| {
            let (by_worker, room) = sender_of(k);
            let socket = if by_worker {
                &room.worker_sockets[0]
            } else {
                &room.employer_socket
            };
            let _ = socket.send.send(Outgoing {
                text: send_frame(&room.id, k),
                sent: Some((timings.clone(), k)),
            });
        })
        .await;
        if let Some(flooding) = flooding {
            flooding.await?;
        }
        // Frames to the other participant: two for the employer's messages, one for the worker's.
        let expected = (0..total).map(|k| if sender_of(k).0 { 1 } else { 2 }).sum::<u64>();
        drain(|| {
            timings.count("send -> other participant's message") >= expected
                && timings.count("send -> ack") >= total as u64
        })
        .await;
        println!(
            "acks {} of {total}; frames to the other participant {} of {expected}; error frames {}; server RSS now {:.1} MiB",
            timings.count("send -> ack"),
            timings.count("send -> other participant's message"),
            errors.load(Ordering::Relaxed),
            rss_kib(pid)? as f64 / 1024.0
        );
        timings.report();
        if let Some(room) = &flooded {
            println!("the flooded room (not in the figures above):");
            flood_timings.report();
            // The close may sit behind megabytes of frames in the kernel's buffers: the server's
            // own count says whether it gave up on the slow reader.
            let health = api.call(reqwest::Method::GET, "/health", None, None, 200).await?;
            println!(
                "server: slow chat sockets closed {}, chat sockets open {}",
                health["services"]["chat"]["slowClientsClosed"], health["services"]["chat"]["connections"]
            );
            report_closed("flooded room, the worker's laptop", &room.worker_sockets[1..]);
            report_closed("flooded room, the worker's phone", &room.worker_sockets[..1]);
        }
        let sockets: Vec<&Socket> = rooms
            .iter()
            .flat_map(|r| std::iter::once(&r.employer_socket).chain(&r.worker_sockets))
            .collect();
        let open = sockets.iter().filter(|s| s.closed.load(Ordering::Relaxed) == 0).count();
        println!("room sockets still open: {open} of {}", sockets.len());
        check_history(api, &rooms, total, count).await
    }

    /// The flooded room; `slow_read` makes its worker's laptop a slow reader.
    async fn flooded_room(
        api: &Api,
        timings: &Arc<Timings>,
        errors: &Arc<AtomicU64>,
        slow_read: Option<Duration>,
    ) -> anyhow::Result<Room> {
        let mut made = rooms(api, 1, timings, errors, slow_read).await?;
        made.pop().context("one room")
    }

    /// Reads every room's history: each sent message stored once, seqs dense from 1, each
    /// sender's messages in the order sent.
    async fn check_history(api: &Api, rooms: &[Room], total: usize, count: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        let checked = concurrently(rooms.iter().enumerate(), |(r, room)| async move {
            let mut stored: Vec<(u64, String, usize)> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let query = cursor.as_ref().map_or(String::new(), |c| format!("&cursor={c}"));
                let page = api
                    .call(
                        reqwest::Method::GET,
                        &format!("/chat/rooms/{}/messages?limit=100{query}", room.id),
                        Some(&room.worker.token),
                        None,
                        200,
                    )
                    .await?;
                for m in page["items"].as_array().context("items")? {
                    let m: Stored = serde_json::from_value(m.clone())?;
                    let k = m
                        .client_msg_id
                        .strip_prefix('b')
                        .and_then(|k| k.parse().ok())
                        .context("a bench clientMsgId")?;
                    stored.push((m.seq, m.sender_id, k));
                }
                match page["nextCursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            stored.reverse();
            let sent: Vec<usize> = (r..total).step_by(count).collect();
            if stored.len() != sent.len() {
                bail!(
                    "room {}: {} messages stored, {} sent",
                    room.id,
                    stored.len(),
                    sent.len()
                );
            }
            for (i, (seq, _, _)) in stored.iter().enumerate() {
                ensure!(
                    *seq == i as u64 + 1,
                    "room {}: seq {seq} at position {}",
                    room.id,
                    i + 1
                );
            }
            for sender in [&room.employer.id, &room.worker.id] {
                let ks: Vec<usize> = stored
                    .iter()
                    .filter(|(_, s, _)| s == sender)
                    .map(|(_, _, k)| *k)
                    .collect();
                ensure!(
                    ks.windows(2).all(|w| w[0] < w[1]),
                    "room {}: a sender's messages out of order",
                    room.id
                );
            }
            let mut ks: Vec<usize> = stored.iter().map(|(_, _, k)| *k).collect();
            ks.sort_unstable();
            ensure!(ks == sent, "room {}: stored messages differ from those sent", room.id);
            Ok(stored.len())
        })
        .await?;
        println!(
            "history: {} messages in {} rooms, each stored once, seqs dense, every sender's in order (checked in {:.1} s)",
            checked.iter().sum::<usize>(),
            rooms.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
