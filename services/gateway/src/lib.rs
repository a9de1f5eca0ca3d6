//! The front door of onetime: one router over every service, wrapped in the layers each request
//! passes (outermost first):
//!
//! request id (a client's only when short and plain) → request scope (access log, metrics,
//! request-id for errors) → security headers → CORS →
//! compression → panic guard (answers problem+json itself) → problem+json for bare errors →
//! timeout → admission (per-IP rate limit → JWT verification, session still current →
//! per-user rate limit) → body
//! limit → the route.
//!
//! Plus the gateway's own endpoints: `/health`, `/ready`, `/metrics`, `/openapi.json`, `/docs`,
//! and the web UI at `/`.

mod access;
mod admission;
mod auth;
mod config;
mod connections;
mod docs;
mod headers;
mod health;
mod observe;
mod problem;
mod rate_limit;
mod route;
mod ui;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::{BoxError, Router, ServiceExt};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use http::{Extensions, HeaderMap, StatusCode, Version, header};
use onetime_common::auth::JwtKeys;
use onetime_common::directory::Clients;
use onetime_common::service::ServiceRoutes;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use config::{ConnectionsConfig, CorsConfig, GatewayConfig, RateGroup, RateLimitConfig};
pub use connections::ConnectionLimits;
pub use health::{HealthReport, HealthSource, ServiceHealth, Status, StoreHealth};
pub use observe::install_metrics_recorder;

/// Everything the gateway needs from the platform that runs it.
pub struct Gateway {
    pub config: GatewayConfig,
    pub jwt: JwtKeys,
    pub services: Vec<ServiceRoutes>,
    pub health: Arc<dyn HealthSource>,
    /// The read clients of the platform; the user service's [`SessionDirectory`] says whether a
    /// token's session and account are current.
    ///
    /// [`SessionDirectory`]: onetime_common::directory::SessionDirectory
    pub clients: Arc<Clients>,
    /// Served over TLS: answers tell browsers to keep to HTTPS (`Strict-Transport-Security`).
    pub tls: bool,
}

/// Compress text worth it: below about a packet, compressing costs more than it saves; and not
/// what a handler marked [`Uncompressed`].
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(|_: StatusCode, _: Version, _: &HeaderMap, extensions: &Extensions| {
            extensions.get::<Uncompressed>().is_none()
        })
}

/// A response extension that keeps an answer uncompressed whatever the client accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uncompressed;

impl Gateway {
    /// Serves the application on `listener` (over TLS with `tls`) until `handle` stops it:
    /// connections counted in `limits` (shared by every listener of the process) and held to
    /// the header timeout of the configuration.
    pub async fn serve(
        self,
        listener: std::net::TcpListener,
        tls: Option<RustlsConfig>,
        limits: &ConnectionLimits,
        handle: axum_server::Handle<SocketAddr>,
    ) -> std::io::Result<()> {
        let config = self.config.connections.clone();
        let counting = connections::Counting::new(limits, tls.is_none());
        let app = self
            .into_service::<hyper::body::Incoming>()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = axum_server::from_tcp(listener)?.handle(handle);
        match tls {
            Some(tls) => {
                let acceptor = RustlsAcceptor::new(tls).acceptor(counting);
                connections::with_timeouts(server.acceptor(acceptor), &config)
                    .serve(app)
                    .await
            }
            None => {
                connections::with_timeouts(server.acceptor(counting), &config)
                    .serve(app)
                    .await
            }
        }
    }

    /// The complete application: the services' routes behind every layer, as one service that
    /// any hyper-based server (axum's, axum-server) can serve, whatever its request body type.
    ///
    /// The layers wrap the router as a whole, once. (`Router::layer` would wrap every route
    /// separately, and axum clones a route's whole stack for each request it serves.) Only the
    /// route template is recorded per route, for the metrics of [`access::RequestScope`].
    pub fn into_service<B>(
        self,
    ) -> impl Service<
        http::Request<B>,
        Response = http::Response<impl HttpBody<Data = Bytes, Error: Into<BoxError>> + Send + 'static>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
    where
        B: HttpBody<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
    {
        let openapi = docs::assemble(&self.services);
        let mut routes = Router::new()
            .merge(health::routes(self.health.clone()))
            .merge(observe::routes(self.health.clone()))
            .merge(docs::routes(openapi));
        for service in self.services {
            routes = routes.merge(service.router);
        }
        let routes = routes.route_layer(route::RecordRouteLayer).fallback(ui::serve);

        let config = &self.config;
        let gate = admission::Gate {
            limits: rate_limit::Limiters::new(&config.rate_limit),
            keys: self.jwt,
            clients: self.clients,
            trust_forwarded_for: config.trust_forwarded_for,
        };
        ServiceBuilder::new()
            .map_request(|request: http::Request<B>| observe::drop_unsafe_request_id(request.map(Body::new)))
            .layer(SetRequestIdLayer::x_request_id(observe::MakeRequestUuidV7))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(access::RequestScopeLayer::default())
            .map_response(headers::stamp(self.tls))
            .layer(SetResponseHeaderLayer::appending(header::VARY, config::VARY_FOR_CORS))
            .layer(config.cors.layer())
            .layer(CompressionLayer::new().compress_when(worth_compressing()))
            .layer(CatchPanicLayer::custom(problem::from_panic))
            .map_response(problem::bare_errors_as_problems)
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.request_timeout(),
            ))
            .layer(admission::AdmissionLayer::new(gate))
            .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
            .service(routes)
    }
}
