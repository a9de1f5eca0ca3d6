//! The scope of one request: its id is the current one (for errors built anywhere inside), and
//! when it is answered it is counted by route and status and written to the access log.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use http::{HeaderValue, Method, Uri};
use onetime_common::request_id;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::route::RouteMetrics;

#[derive(Clone, Default)]
pub struct RequestScopeLayer {
    metrics: Arc<RouteMetrics>,
}

impl<S> Layer<S> for RequestScopeLayer {
    type Service = RequestScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestScope {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestScope<S> {
    inner: S,
    metrics: Arc<RouteMetrics>,
}

impl<S, B> Service<Request> for RequestScope<S>
where
    S: Service<Request, Response = http::Response<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RequestScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let seen = Seen {
            started: Instant::now(),
            id: request.headers().get("x-request-id").cloned(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            metrics: self.metrics.clone(),
        };
        let id = seen.id().to_owned();
        // Inner layers may answer from `call` already (a refusal, a panic): inside the scope too.
        let inner = request_id::sync_scope(id.clone(), || self.inner.call(request));
        RequestScopeFuture {
            inner: request_id::scope(id, inner),
            seen: Some(seen),
        }
    }
}

/// What the access log and the metrics need of the request.
struct Seen {
    started: Instant,
    id: Option<HeaderValue>,
    method: Method,
    uri: Uri,
    metrics: Arc<RouteMetrics>,
}

impl Seen {
    fn id(&self) -> &str {
        self.id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn answered<B>(self, response: &http::Response<B>) {
        let elapsed = self.started.elapsed();
        let status = response.status();
        // Label by route template, never by raw path: ids in paths would explode the series count.
        let route = response
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        self.metrics.record(&self.method, route, status, elapsed);
        tracing::info!(
            target: "onetime::access",
            request_id = self.id(),
            method = %self.method,
            path = self.uri.path(),
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
}

pin_project_lite::pin_project! {
    pub struct RequestScopeFuture<F> {
        #[pin]
        inner: TaskLocalFuture<String, F>,
        seen: Option<Seen>,
    }
}

impl<F, B, E> Future for RequestScopeFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        if let Some(seen) = this.seen.take() {
            seen.answered(&response);
        }
        Poll::Ready(Ok(response))
    }
}
