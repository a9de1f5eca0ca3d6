//! Token-bucket rate limiting per client IP and per authenticated user, per route group.
//!
//! Answers carry the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers of
//! the tighter bucket that applied; a refused request gets 429 with `Retry-After`.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::HeaderValue;
use onetime_common::ApiError;

use crate::config::{RateGroup, RateLimitConfig};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

struct Group {
    paths: Vec<String>,
    by_ip: Keyed<IpAddr>,
    by_user: Keyed<String>,
}

/// All groups' buckets; cheap to clone.
#[derive(Clone)]
pub struct Limiters {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    groups: BTreeMap<String, Group>,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    // Zero values were refused when the configuration was loaded; clamp anyway.
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

fn keyed<K: Hash + Eq + Clone>(per_minute: u32, burst: u32) -> Keyed<K> {
    RateLimiter::keyed(quota(per_minute, burst)).with_middleware::<StateInformationMiddleware>()
}

impl Limiters {
    pub fn new(config: &RateLimitConfig) -> Self {
        if !config.enabled {
            return Self { inner: None };
        }
        let groups = config
            .groups
            .iter()
            .map(|(name, group): (&String, &RateGroup)| {
                let limits = Group {
                    paths: group.paths.clone(),
                    by_ip: keyed(group.ip_per_minute, group.ip_burst),
                    by_user: keyed(group.user_per_minute, group.user_burst),
                };
                (name.clone(), limits)
            })
            .collect();
        let inner = Arc::new(Inner { groups });
        // Idle buckets are full buckets: forgetting them changes nothing but memory.
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                for group in inner.groups.values() {
                    group.by_ip.retain_recent();
                    group.by_user.retain_recent();
                }
            }
        });
        Self { inner: Some(inner) }
    }

    /// The buckets of the route group `path` belongs to; `None` when rate limiting is off.
    pub fn for_path(&self, path: &str) -> Option<Buckets<'_>> {
        let inner = self.inner.as_deref()?;
        Some(Buckets {
            group: inner.group_for(path)?,
        })
    }
}

impl Inner {
    /// The group whose longest path prefix matches, else `default`.
    fn group_for(&self, path: &str) -> Option<&Group> {
        self.groups
            .values()
            .flat_map(|g| {
                g.paths
                    .iter()
                    .filter(|p| path.starts_with(p.as_str()))
                    .map(move |p| (p.len(), g))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, g)| g)
            .or_else(|| self.groups.get("default"))
    }
}

/// The client's address: the peer's, or behind a trusted proxy the first `X-Forwarded-For` hop.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Takes a token from `limiter`'s bucket for `key`: what is left, or a refusal.
fn take<K: Hash + Eq + Clone>(limiter: &Keyed<K>, key: &K) -> Result<Allowance, Allowance> {
    match limiter.check_key(key) {
        Ok(snapshot) => {
            let quota = snapshot.quota();
            let limit = quota.burst_size().get();
            let remaining = snapshot.remaining_burst_capacity().min(limit);
            // The bucket is full again once every spent token has been replenished.
            let reset = quota.replenish_interval() * (limit - remaining);
            Ok(Allowance {
                limit,
                remaining,
                reset,
            })
        }
        Err(not_until) => {
            let limit = not_until.quota().burst_size().get();
            let reset = not_until.wait_time_from(DefaultClock::default().now());
            Err(Allowance {
                limit,
                remaining: 0,
                reset,
            })
        }
    }
}

/// An empty bucket: the request is refused with 429 problem+json, `Retry-After` and the
/// bucket's headers.
pub struct Exhausted(Allowance);

impl IntoResponse for Exhausted {
    fn into_response(self) -> Response {
        let mut response = ApiError::too_many_requests(self.0.reset).into_response();
        self.0.stamp(&mut response);
        response
    }
}

/// The state of the bucket a request was counted against.
pub struct Allowance {
    limit: u32,
    remaining: u32,
    reset: Duration,
}

impl Allowance {
    /// Sets the headers, unless an inner (per-user) limiter already did.
    pub fn stamp(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if headers.contains_key("ratelimit-limit") {
            return;
        }
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert(
            "ratelimit-reset",
            HeaderValue::from(self.reset.as_secs_f64().ceil() as u64),
        );
    }
}

/// One route group's buckets, for one request.
pub struct Buckets<'a> {
    group: &'a Group,
}

impl Buckets<'_> {
    /// Takes a token from the client IP's bucket (nothing to count when the IP is unknown).
    pub fn take_for_ip(&self, client: Option<IpAddr>) -> Result<Option<Allowance>, Exhausted> {
        match client {
            Some(ip) => take(&self.group.by_ip, &ip).map(Some).map_err(Exhausted),
            None => Ok(None),
        }
    }

    /// Takes a token from the authenticated user's bucket.
    pub fn take_for_user(&self, user: &String) -> Result<Allowance, Exhausted> {
        take(&self.group.by_user, user).map_err(Exhausted)
    }
}
