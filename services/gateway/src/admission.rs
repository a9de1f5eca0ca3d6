//! Admission: who is asking, and whether they may ask now.
//!
//! In this order: a token from the client IP's bucket (so a flood of forged tokens is throttled
//! before any is verified), the bearer token's verification (the principal goes into the
//! request's extensions for the services), a token from the user's bucket. The answer carries
//! the `RateLimit-*` headers of the tighter bucket that applied.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use onetime_common::ApiError;
use onetime_common::auth::JwtKeys;
use tower::{Layer, Service};

use crate::auth;
use crate::rate_limit::{Allowance, Exhausted, Limiters};

/// The rules of admission.
pub struct Gate {
    pub limits: Limiters,
    pub keys: JwtKeys,
}

impl Gate {
    /// Admits `request` (adding its principal, if any) with the allowance to report, or
    /// refuses it.
    fn admit(&self, request: &mut Request) -> Result<Option<Allowance>, Refusal> {
        let buckets = self.limits.for_path(request.uri().path());
        let by_ip = match &buckets {
            Some(buckets) => buckets.take_for_ip(request)?,
            None => None,
        };
        let principal = match auth::principal_of(&self.keys, request) {
            Ok(principal) => principal,
            Err(problem) => return Err(Refusal::BadToken(problem, by_ip)),
        };
        let Some(principal) = principal else {
            return Ok(by_ip);
        };
        let by_user = match &buckets {
            Some(buckets) => Some(buckets.take_for_user(&principal.user_id)?),
            None => None,
        };
        request.extensions_mut().insert(principal);
        // The per-user bucket is the tighter one to report when both applied.
        Ok(by_user.or(by_ip))
    }
}

/// Why a request was not admitted.
enum Refusal {
    /// A bucket was empty: 429.
    RateLimited(Exhausted),
    /// The token was bad: 401, with the IP bucket's headers.
    BadToken(ApiError, Option<Allowance>),
}

impl From<Exhausted> for Refusal {
    fn from(exhausted: Exhausted) -> Self {
        Refusal::RateLimited(exhausted)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::RateLimited(exhausted) => exhausted.into_response(),
            Refusal::BadToken(problem, by_ip) => {
                let mut response = problem.into_response();
                stamp(&mut response, by_ip.as_ref());
                response
            }
        }
    }
}

fn stamp(response: &mut Response, allowance: Option<&Allowance>) {
    if let Some(allowance) = allowance {
        allowance.stamp(response);
    }
}

#[derive(Clone)]
pub struct AdmissionLayer {
    gate: Arc<Gate>,
}

impl AdmissionLayer {
    pub fn new(gate: Gate) -> Self {
        Self { gate: Arc::new(gate) }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            gate: self.gate.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    gate: Arc<Gate>,
}

impl<S, B> Service<Request> for Admission<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AdmissionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match self.gate.admit(&mut request) {
            Ok(allowance) => AdmissionFuture::Admitted {
                inner: self.inner.call(request),
                allowance,
            },
            Err(refusal) => AdmissionFuture::Refused {
                refusal: Some(refusal.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    #[project = AdmissionProjection]
    pub enum AdmissionFuture<F> {
        Admitted { #[pin] inner: F, allowance: Option<Allowance> },
        Refused { refusal: Option<Response> },
    }
}

impl<F, B> Future for AdmissionFuture<F>
where
    F: Future<Output = Result<http::Response<B>, Infallible>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.project() {
            AdmissionProjection::Admitted { inner, allowance } => {
                let mut response = ready!(inner.poll(cx))?.map(Body::new);
                stamp(&mut response, allowance.as_ref());
                response
            }
            AdmissionProjection::Refused { refusal } => refusal.take().expect("polled after completion"),
        };
        Poll::Ready(Ok(response))
    }
}
