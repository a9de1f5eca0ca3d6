//! Where the gateway's time goes, without network or HTTP parsing: the real
//! `onetime_gateway::Gateway::into_service()` (configured from onetime's real configuration) and a
//! bare axum hello router, each called in-process in a loop on one thread.
//!
//! For each variant it reports the time per request, the heap allocations and bytes allocated
//! per request (a counting global allocator), and how much the live heap grew per request, which
//! is memory that stays allocated after the request is done.
//!
//! ```text
//! gateway-inproc [--requests 200000] [--only NAME-PART]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use clap::Parser;
use http::{Request, Response, StatusCode};
use onetime_common::auth::JwtKeys;
use onetime_gateway::{Gateway, GatewayConfig, HealthReport, HealthSource, ServiceHealth, Status};
use tower::{Service, ServiceExt};

/// Counts every allocation, and the bytes allocated and freed.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Allocations of at least 1 KiB, and their bytes.
static LARGE: AtomicU64 = AtomicU64::new(0);
static LARGE_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

fn count(size: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    ALLOCATED.fetch_add(size as u64, Ordering::Relaxed);
    if size >= 1024 {
        LARGE.fetch_add(1, Ordering::Relaxed);
        LARGE_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc` and `realloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct HeapCounters {
    allocations: u64,
    large: u64,
    large_bytes: u64,
    allocated: u64,
    freed: u64,
}

fn heap() -> HeapCounters {
    HeapCounters {
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
        large: LARGE.load(Ordering::Relaxed),
        large_bytes: LARGE_BYTES.load(Ordering::Relaxed),
        allocated: ALLOCATED.load(Ordering::Relaxed),
        freed: FREED.load(Ordering::Relaxed),
    }
}

impl HeapCounters {
    fn live(&self) -> i64 {
        self.allocated as i64 - self.freed as i64
    }
}

#[derive(Parser)]
#[command(about = "In-process cost per request of the onetime gateway's layers, against a bare axum router")]
struct Args {
    /// Requests measured per variant (after a tenth as many for warm-up).
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Only the variants whose name contains this (e.g. to profile one with perf).
    #[arg(long)]
    only: Option<String>,
}

/// What onetime's platform health reports while no service is wired: the gateway alone.
struct GatewayOnlyHealth {
    started: Instant,
}

impl GatewayOnlyHealth {
    fn report_now(&self) -> HealthReport {
        let gateway = ServiceHealth {
            status: Status::Ok,
            store: None,
            bus: Vec::new(),
            details: Default::default(),
        };
        HealthReport {
            status: Status::Ok,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            services: BTreeMap::from([("gateway".to_owned(), gateway)]),
        }
    }
}

impl HealthSource for GatewayOnlyHealth {
    fn report(&self) -> Pin<Box<dyn Future<Output = HealthReport> + Send + '_>> {
        Box::pin(async move { self.report_now() })
    }

    fn is_ready(&self) -> bool {
        true
    }
}

/// The gateway as onetime serves it, but for the bodies: hyper's there, axum's here (boxing the
/// response body costs one allocation onetime does not make).
fn gateway(
    config: GatewayConfig,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
    let jwt = JwtKeys::new(
        b"benchmark-secret-benchmark-secret-0123456789",
        "onetime",
        "onetime",
        Duration::from_secs(900),
    );
    Gateway {
        config,
        jwt,
        services: Vec::new(),
        health: Arc::new(GatewayOnlyHealth {
            started: Instant::now(),
        }),
        // No request here carries a token: no session to look up.
        clients: Default::default(),
        tls: false,
    }
    .into_service::<Body>()
    .map_response(|response| response.map(Body::new))
}

const BROWSER_ENCODINGS: &str = "gzip, compress, deflate, br";

/// A request as the server hands it to the router: with the peer address the gateway's per-IP
/// rate limit keys on.
fn request(path: &str, accept_encoding: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri(path).header("host", "127.0.0.1:3000");
    if let Some(encodings) = accept_encoding {
        builder = builder.header("accept-encoding", encodings);
    }
    let mut request = builder.body(Body::empty()).expect("a valid request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    request
}

/// Sends one request through `service` (cloned first, as hyper-util does per request) and reads
/// the whole body; returns its length.
async fn one<S>(service: &S, request: Request<Body>) -> anyhow::Result<usize>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let response = service.clone().oneshot(request).await?;
    ensure!(response.status() == StatusCode::OK, "answered {}", response.status());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(body.len())
}

/// One way of serving a request, measured.
struct Variant<S> {
    name: &'static str,
    service: S,
    path: &'static str,
    accept_encoding: Option<&'static str>,
}

impl<S> Variant<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    /// Measures `requests` requests after a tenth as many for warm-up and prints a table row;
    /// nothing when the name does not contain `only`.
    async fn measure(&self, requests: u64, only: &str) -> anyhow::Result<()> {
        if !self.name.contains(only) {
            return Ok(());
        }
        let send = || one(&self.service, request(self.path, self.accept_encoding));
        for _ in 0..requests / 10 {
            send().await?;
        }
        let before = heap();
        let started = Instant::now();
        let mut body = 0;
        for _ in 0..requests {
            body = send().await?;
        }
        let elapsed = started.elapsed();
        let after = heap();
        let n = requests as f64;
        println!(
            "{:<48} {:>7.2} {:>7.1} {:>9.0} {:>10} {:>8.1} {:>5}",
            self.name,
            elapsed.as_secs_f64() * 1e6 / n,
            (after.allocations - before.allocations) as f64 / n,
            (after.allocated - before.allocated) as f64 / n,
            format!(
                "{:.1}/{:.0}",
                (after.large - before.large) as f64 / n,
                (after.large_bytes - before.large_bytes) as f64 / n
            ),
            (after.live() - before.live()) as f64 / n,
            body
        );
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = onetime::config::Config::load(None).context("loading onetime's configuration")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let hello = Router::new().route("/", get(|| async { "Hello, World!" }));
        let health = Arc::new(GatewayOnlyHealth {
            started: Instant::now(),
        });
        let bare_health = Router::new().route(
            "/health",
            get(move || {
                let health = health.clone();
                async move { (StatusCode::OK, axum::Json(health.report().await)) }
            }),
        );
        let mut no_rate_limit = config.gateway.clone();
        no_rate_limit.rate_limit.enabled = false;
        println!(
            "== gateway in-process: {} requests per variant, one thread, no network ==",
            args.requests
        );
        println!(
            "{:<48} {:>7} {:>7} {:>9} {:>10} {:>8} {:>5}",
            "variant (per request)", "µs", "allocs", "bytes", ">=1KiB n/B", "kept B", "body"
        );
        let only = args.only.as_deref().unwrap_or_default();
        let requests = args.requests;
        Variant {
            name: "hello router, GET / (no layers)",
            service: hello,
            path: "/",
            accept_encoding: None,
        }
        .measure(requests, only)
        .await?;
        Variant {
            name: "bare /health handler, no layers",
            service: bare_health,
            path: "/health",
            accept_encoding: None,
        }
        .measure(requests, only)
        .await?;
        let full = Variant {
            name: "gateway, GET /health (identity)",
            service: gateway(config.gateway.clone()),
            path: "/health",
            accept_encoding: None,
        };
        full.measure(requests, only).await?;
        Variant {
            name: "gateway, GET /health, rate limit off",
            service: gateway(no_rate_limit),
            path: "/health",
            accept_encoding: None,
        }
        .measure(requests, only)
        .await?;
        Variant {
            name: "gateway, GET /health, Accept-Encoding incl. br",
            service: gateway(config.gateway.clone()),
            path: "/health",
            accept_encoding: Some(BROWSER_ENCODINGS),
        }
        .measure(requests, only)
        .await?;
        if !only.is_empty() {
            return Ok(());
        }

        // The gateway's latency histograms keep every sample until /metrics is rendered, which
        // drains them (their blocks are freed a little later, by epoch-based reclamation).
        let gateway = &full.service;
        let kept = heap().live();
        let started = Instant::now();
        let rendered = one(gateway, request("/metrics", None)).await?;
        let render_ms = started.elapsed().as_secs_f64() * 1000.0;
        let settle = 10_000;
        for _ in 0..settle {
            one(gateway, request("/health", None)).await?;
        }
        let drained = heap().live();
        println!(
            "GET /metrics afterwards: {rendered} bytes in {render_ms:.1} ms; then {settle} more requests: \
             live heap {:+.1} MiB",
            (drained - kept) as f64 / (1024.0 * 1024.0)
        );
        anyhow::Ok(())
    })
}
