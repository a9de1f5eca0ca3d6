//! Observability: request ids, the access log, Prometheus metrics.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::health::HealthSource;

/// Request ids are UUIDv7, so they sort by time in logs.
#[derive(Clone, Copy)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// How often buffered histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle).
pub fn install_metrics_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            const LATENCY_BUCKETS: &[f64] = &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .expect("bucket list is not empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (an embedding program's): keep ours private.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            // Histogram samples pile up until something drains them; a scrape does, but nobody
            // has to scrape. Without this, memory would grow with every request.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .expect("a thread can be spawned at start-up");
            handle
        })
        .clone()
}

/// Wraps each request: makes its id the current one for errors and logs, writes the access log
/// line, and counts it by route and status.
pub async fn request_scope(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // Label by route template, never by raw path: ids in paths would explode the series count.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());

    let response = onetime_common::request_id::scope(id.clone(), next.run(request)).await;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("onetime_http_requests_total", &labels).increment(1);
    metrics::histogram!("onetime_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::info!(
        target: "onetime::access",
        request_id = %id,
        %method,
        path,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

#[derive(Clone)]
pub(crate) struct MetricsState {
    handle: PrometheusHandle,
    health: Arc<dyn HealthSource>,
}

pub fn routes(health: Arc<dyn HealthSource>) -> Router {
    let state = MetricsState {
        handle: install_metrics_recorder(),
        health,
    };
    Router::new().route("/metrics", get(render)).with_state(state)
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "gateway", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub(crate) async fn render(State(state): State<MetricsState>) -> impl IntoResponse {
    // Taking a health report refreshes the gauges that are read, not counted: lag, store sizes.
    state.health.report().await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.handle.render(),
    )
}
