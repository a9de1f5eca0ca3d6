//! Observability: request ids, the Prometheus recorder and `/metrics`.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{HeaderValue, header};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::health::{HealthReport, HealthSource};

const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client.
const MAX_CLIENT_REQUEST_ID: usize = 128;

/// Drops a client's `x-request-id` unless it is one id of at most [`MAX_CLIENT_REQUEST_ID`]
/// characters of `[A-Za-z0-9._:-]`, so that one is made instead. The id is echoed in answers
/// and problem bodies and written to every log line of the request: anything else would let a
/// client fill logs, forge log fields or bloat answers.
pub fn drop_unsafe_request_id<B>(mut request: http::Request<B>) -> http::Request<B> {
    let mut ids = request.headers().get_all(REQUEST_ID).iter();
    let safe = matches!((ids.next(), ids.next()), (Some(id), None) if is_safe_request_id(id.as_bytes()));
    if !safe {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_CLIENT_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Request ids are UUIDv7, so they sort by time in logs.
#[derive(Clone, Copy)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        let mut text = uuid::Uuid::encode_buffer();
        // Without uuid's shared v7 context, a mutex every worker would take on every request:
        // ids then sort by millisecond, which is what reading logs needs.
        let now = uuid::Timestamp::now(uuid::NoContext);
        let id = uuid::Uuid::new_v7(now).hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(id).ok().map(RequestId::new)
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
    set_gauges(&state.health.report().await);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.handle.render(),
    )
}

/// The figures that are read, not counted (store sizes, bus lag), as of a health report: they
/// are brought up to date when scraped.
fn set_gauges(report: &HealthReport) {
    for (service, health) in &report.services {
        if let Some(store) = &health.store {
            metrics::gauge!("onetime_store_size_bytes", "store" => service.clone()).set(store.size_bytes as f64);
            metrics::gauge!("onetime_store_allocated_bytes", "store" => service.clone())
                .set(store.allocated_bytes as f64);
            metrics::gauge!("onetime_store_free_share", "store" => service.clone()).set(store.free_share);
        }
        for lane in &health.bus {
            metrics::gauge!("onetime_bus_lag_events", "subscriber" => lane.subscriber, "source" => lane.source)
                .set(lane.lag as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_ids_of_safe_characters_are_kept() {
        let kept = |ids: &[&str]| {
            let mut request = http::Request::new(());
            for id in ids {
                request
                    .headers_mut()
                    .append(REQUEST_ID, HeaderValue::from_str(id).unwrap());
            }
            drop_unsafe_request_id(request).headers().contains_key(REQUEST_ID)
        };
        assert!(kept(&["client-chosen-42"]));
        assert!(kept(&["0190a1b2-c3d4.e5:f6_A"]));
        assert!(kept(&[&"a".repeat(128)]));
        assert!(!kept(&[&"a".repeat(129)]));
        assert!(!kept(&[""]));
        assert!(!kept(&["two words"]));
        assert!(!kept(&["id\",\"forged\":\"1"]));
        assert!(!kept(&["a", "b"]), "two ids: neither is the request's");
        assert!(!kept(&[]));
    }
}
