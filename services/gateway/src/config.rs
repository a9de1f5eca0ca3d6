//! The gateway's part of the configuration (`[gateway]` with its `cors`, `rate_limit` and
//! `connections` tables).

use std::collections::BTreeMap;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub cors: CorsConfig,
    pub rate_limit: RateLimitConfig,
    #[serde(default)]
    pub connections: ConnectionsConfig,
}

impl GatewayConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

/// Slow and idle connections, and how many may be open (see `connections.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// Seconds a connection has to deliver a request head once it is ready for one: after it
    /// was accepted, or after its previous answer (so also the keep-alive idle limit).
    pub header_read_timeout_seconds: u64,
    /// Open HTTP connections, in total and from one client address.
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// Open WebSockets, in total and from one client address.
    pub max_websockets: usize,
    pub max_websockets_per_client: usize,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: 10,
            max_connections: 512,
            max_connections_per_client: 128,
            max_websockets: 256,
            max_websockets_per_client: 8,
        }
    }
}

impl ConnectionsConfig {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    /// Checks what the types cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        let limits = [
            self.max_connections,
            self.max_connections_per_client,
            self.max_websockets,
            self.max_websockets_per_client,
        ];
        if self.header_read_timeout_seconds == 0 || limits.contains(&0) {
            return Err("every key of `gateway.connections` must be at least 1".to_owned());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser; `["*"]` allows any.
    pub allowed_origins: Vec<String>,
    pub max_age_seconds: u64,
}

impl CorsConfig {
    pub(crate) fn layer(&self) -> CorsLayer {
        let origins = if self.allowed_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            // Origins were checked when the configuration was loaded.
            AllowOrigin::list(
                self.allowed_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                http::header::AUTHORIZATION,
                http::header::CONTENT_TYPE,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
                http::header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(self.max_age_seconds))
            // `VARY_FOR_CORS` instead, set once: tower-http would rebuild it on every request.
            .vary([])
    }
}

/// What CORS answers vary on, for caches: the request headers the CORS layer reads.
pub(crate) const VARY_FOR_CORS: HeaderValue =
    HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Route groups by name; `default` covers every path no other group claims.
    pub groups: BTreeMap<String, RateGroup>,
}

/// Token buckets for one group of routes: a request takes a token from its client IP's bucket
/// and, when authenticated, from its user's bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateGroup {
    /// Path prefixes of this group (`/auth/login`); the longest matching prefix wins.
    #[serde(default)]
    pub paths: Vec<String>,
    pub ip_per_minute: u32,
    pub ip_burst: u32,
    pub user_per_minute: u32,
    pub user_burst: u32,
}
