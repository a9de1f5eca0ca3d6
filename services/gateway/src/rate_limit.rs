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

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::HeaderValue;
use onetime_common::ApiError;
use onetime_common::auth::Principal;

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
    trust_forwarded_for: bool,
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
    pub fn new(config: &RateLimitConfig, trust_forwarded_for: bool) -> Self {
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
        let inner = Arc::new(Inner {
            groups,
            trust_forwarded_for,
        });
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

    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        if self.trust_forwarded_for {
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

/// Runs the request when `limiter` has a token for `key`; answers 429 otherwise.
async fn guarded<K: Hash + Eq + Clone>(limiter: &Keyed<K>, key: &K, request: Request, next: Next) -> Response {
    match take(limiter, key) {
        Ok(allowance) => {
            let mut response = next.run(request).await;
            allowance.stamp(&mut response);
            response
        }
        Err(refusal) => {
            let mut response = ApiError::too_many_requests(refusal.reset).into_response();
            refusal.stamp(&mut response);
            response
        }
    }
}

/// The state of the bucket a request was counted against.
struct Allowance {
    limit: u32,
    remaining: u32,
    reset: Duration,
}

impl Allowance {
    /// Sets the headers, unless an inner (per-user) limiter already did.
    fn stamp(&self, response: &mut Response) {
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

pub async fn by_ip(State(limits): State<Limiters>, request: Request, next: Next) -> Response {
    let Some(inner) = &limits.inner else {
        return next.run(request).await;
    };
    let (Some(group), Some(ip)) = (inner.group_for(request.uri().path()), inner.client_ip(&request)) else {
        return next.run(request).await;
    };
    guarded(&group.by_ip, &ip, request, next).await
}

pub async fn by_user(State(limits): State<Limiters>, request: Request, next: Next) -> Response {
    let Some(inner) = &limits.inner else {
        return next.run(request).await;
    };
    let user = request.extensions().get::<Principal>().map(|p| p.user_id.clone());
    let (Some(group), Some(user)) = (inner.group_for(request.uri().path()), user) else {
        return next.run(request).await;
    };
    guarded(&group.by_user, &user, request, next).await
}
