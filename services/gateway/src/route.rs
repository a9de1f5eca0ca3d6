//! The route a request matched, for metrics labelled by route template.
//!
//! The router knows the template (`/jobs/{id}`) only inside; [`RecordRouteLayer`], wrapped
//! around each route, copies it onto the response, where the request scope outside the router
//! reads it. [`RouteMetrics`] keeps each (route, method, status)'s counter and histogram, so a
//! request does not build label keys.
//!
//! Every label comes from a fixed set, never from the request as sent: routes are templates (or
//! `unmatched`), methods are the standard ones (or `other`), statuses are what the platform
//! answers. A client cannot create series.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use http::{Method, StatusCode};
use metrics::{Counter, Histogram};
use tower::{Layer, Service};

#[derive(Clone, Copy)]
pub struct RecordRouteLayer;

impl<S> Layer<S> for RecordRouteLayer {
    type Service = RecordRoute<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordRoute { inner }
    }
}

#[derive(Clone)]
pub struct RecordRoute<S> {
    inner: S,
}

impl<S, B> Service<Request> for RecordRoute<S>
where
    S: Service<Request, Response = http::Response<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RecordRouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        RecordRouteFuture {
            route: request.extensions().get::<MatchedPath>().cloned(),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    pub struct RecordRouteFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, B, E> Future for RecordRouteFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(response))
    }
}

/// `onetime_http_requests_total` and `onetime_http_request_duration_seconds` by method, route
/// template and status.
#[derive(Default)]
pub struct RouteMetrics {
    /// By route, then by method and status. Routes are a fixed set (templates, or `unmatched`),
    /// so this grows to the number of series and stops.
    handles: RwLock<HashMap<String, ByMethodAndStatus>>,
}

type ByMethodAndStatus = HashMap<(&'static str, StatusCode), Handles>;

struct Handles {
    requests: Counter,
    latency: Histogram,
}

impl RouteMetrics {
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let key = (method_label(method), status);
        {
            let known = self.handles.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(handles) = known.get(route).and_then(|by_key| by_key.get(&key)) {
                handles.record(elapsed);
                return;
            }
        }
        let mut all = self.handles.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        all.entry(route.to_owned())
            .or_default()
            .entry(key)
            .or_insert_with(|| Handles::new(key.0, route, status))
            .record(elapsed);
    }
}

/// The method's label: its name for the standard methods, `other` for whatever a client invents
/// (any token is a valid method, and each would otherwise be a new series).
fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

impl Handles {
    fn new(method: &'static str, route: &str, status: StatusCode) -> Self {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.as_u16().to_string()),
        ];
        Handles {
            requests: metrics::counter!("onetime_http_requests_total", &labels),
            latency: metrics::histogram!("onetime_http_request_duration_seconds", &labels),
        }
    }

    fn record(&self, elapsed: Duration) {
        self.requests.increment(1);
        self.latency.record(elapsed.as_secs_f64());
    }
}
