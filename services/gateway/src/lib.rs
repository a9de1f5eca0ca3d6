//! The front door of onetime: one router over every service, wrapped in the layers each request
//! passes (outermost first):
//!
//! request id → request scope (access log, metrics, request-id for errors) → CORS →
//! compression → problem+json for bare errors → panic guard → timeout → body limit →
//! per-IP rate limit → JWT verification → per-user rate limit → the route.
//!
//! Plus the gateway's own endpoints: `/health`, `/ready`, `/metrics`, `/openapi.json`, `/docs`,
//! and the web UI at `/`.

mod auth;
mod config;
mod docs;
mod health;
mod observe;
mod problem;
mod rate_limit;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use onetime_common::auth::JwtKeys;
use onetime_common::service::ServiceRoutes;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

pub use config::{CorsConfig, GatewayConfig, RateGroup, RateLimitConfig};
pub use health::{HealthReport, HealthSource, ServiceHealth, Status, StoreHealth};
pub use observe::install_metrics_recorder;

/// Everything the gateway needs from the platform that runs it.
pub struct Gateway {
    pub config: GatewayConfig,
    pub jwt: JwtKeys,
    pub services: Vec<ServiceRoutes>,
    pub health: Arc<dyn HealthSource>,
}

/// Compress text worth it: below about a packet, compressing costs more than it saves.
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
}

impl Gateway {
    /// The complete application router.
    pub fn into_router(self) -> Router {
        let openapi = docs::assemble(&self.services);
        let mut routes = Router::new()
            .merge(health::routes(self.health.clone()))
            .merge(observe::routes(self.health.clone()))
            .merge(docs::routes(openapi));
        for service in self.services {
            routes = routes.merge(service.router);
        }
        let limits = rate_limit::Limiters::new(&self.config.rate_limit, self.config.trust_forwarded_for);
        let config = &self.config;
        routes
            .fallback(ui::serve)
            .layer(from_fn_with_state(limits.clone(), rate_limit::by_user))
            .layer(from_fn_with_state(Arc::new(self.jwt), auth::verify_bearer))
            .layer(from_fn_with_state(limits, rate_limit::by_ip))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(config.body_limit_bytes))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                http::StatusCode::REQUEST_TIMEOUT,
                config.request_timeout(),
            ))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(problem::from_panic))
            .layer(from_fn(problem::bare_errors_as_problems))
            .layer(tower_http::compression::CompressionLayer::new().compress_when(worth_compressing()))
            .layer(config.cors.layer())
            .layer(from_fn(observe::request_scope))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(observe::MakeRequestUuidV7))
    }
}
