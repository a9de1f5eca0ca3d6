//! `/health` and `/ready`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use http::StatusCode;
use onetime_common::ApiError;
use onetime_common::bus::LaneStatus;
use serde::Serialize;

/// What the platform tells the gateway about itself.
pub trait HealthSource: Send + Sync + 'static {
    fn report(&self) -> Pin<Box<dyn Future<Output = HealthReport> + Send + '_>>;
    /// Every service has started and replayed its bus backlog.
    fn is_ready(&self) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Degraded,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub status: Status,
    pub version: String,
    pub uptime_seconds: u64,
    pub services: BTreeMap<String, ServiceHealth>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    pub status: Status,
    /// The service's store file and its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreHealth>,
    /// The bus lanes this service consumes, with their lag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bus: Vec<LaneStatus>,
    /// What the service reports of itself (queue depths, counters).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreHealth {
    pub file: String,
    pub size_bytes: u64,
    /// Bytes of the file redb has allocated to live pages, as last measured.
    pub allocated_bytes: u64,
    /// The share of the file that is free (compaction would give it back), as last measured.
    pub free_share: f64,
}

pub fn routes(source: Arc<dyn HealthSource>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(source)
}

/// Platform health: 200 when every service is ok, 503 when any is degraded.
#[utoipa::path(get, path = "/health", tag = "gateway", responses(
    (status = 200, description = "Everything is ok", body = HealthReport),
    (status = 503, description = "Some service is degraded", body = HealthReport),
))]
pub(crate) async fn health(State(source): State<Arc<dyn HealthSource>>) -> Response {
    let report = source.report().await;
    let status = match report.status {
        Status::Ok => StatusCode::OK,
        Status::Degraded => StatusCode::SERVICE_UNAVAILABLE,
    };
    // Probes call it often and read it once: compressing its 2 KB cost more CPU (about 30 µs)
    // than answering it, for a packet saved.
    (status, Extension(crate::Uncompressed), Json(report)).into_response()
}

/// 200 once every service has started and replayed its bus backlog.
#[utoipa::path(get, path = "/ready", tag = "gateway", responses(
    (status = 200, description = "Ready to serve"),
    (status = 503, description = "Still starting", body = onetime_common::error::Problem, content_type = "application/problem+json"),
))]
pub(crate) async fn ready(State(source): State<Arc<dyn HealthSource>>) -> Response {
    if source.is_ready() {
        Json(serde_json::json!({ "ready": true })).into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "still replaying the event backlog",
        )
        .into_response()
    }
}
