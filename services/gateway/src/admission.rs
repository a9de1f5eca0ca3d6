//! Admission: who is asking, and whether they may ask now.
//!
//! In this order: the client's address (into the request's extensions, for services that
//! decide per client), a token from the client IP's bucket (so a flood of forged tokens is
//! throttled before any is verified), the bearer token's verification (signature and expiry here,
//! then the user service's word that its session goes on and its account still exists with that
//! role; the principal goes into the request's extensions for the services), a token from the
//! user's bucket, and for a WebSocket upgrade a WebSocket place (see `connections.rs`). The
//! answer carries the `RateLimit-*` headers of the tighter bucket that applied.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use onetime_common::ApiError;
use onetime_common::auth::JwtKeys;
use onetime_common::directory::Clients;
use onetime_common::extract::ClientAddress;
use tower::{Layer, Service};

use crate::auth;
use crate::connections::{self, WebSocketPlace};
use crate::rate_limit::{self, Allowance, Exhausted, Limiters};

/// The rules of admission.
pub struct Gate {
    pub limits: Limiters,
    pub keys: JwtKeys,
    /// For the user service's `SessionDirectory`: whether a token's session and account are current.
    pub clients: Arc<Clients>,
    /// Take the client's address from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl Gate {
    /// Admits `request` (adding its principal, if any) with the allowance to report and the
    /// WebSocket place it holds, or refuses it.
    fn admit(&self, request: &mut Request) -> Result<Admitted, Refusal> {
        let client = rate_limit::client_ip(request, self.trust_forwarded_for);
        if let Some(address) = client {
            request.extensions_mut().insert(ClientAddress(address));
        }
        let buckets = self.limits.for_path(request.uri().path());
        let by_ip = match &buckets {
            Some(buckets) => buckets.take_for_ip(client)?,
            None => None,
        };
        let principal = match auth::principal_of(&self.keys, request) {
            Ok(principal) => principal,
            Err(problem) => return Err(Refusal::BadToken(problem, by_ip)),
        };
        let allowance = match principal {
            None => by_ip,
            Some(principal) => {
                match self
                    .clients
                    .sessions()
                    .and_then(|sessions| sessions.is_current(&principal))
                {
                    Ok(true) => {}
                    Ok(false) => return Err(Refusal::BadToken(session_ended(), by_ip)),
                    Err(error) => {
                        tracing::error!(%error, "cannot tell whether an access token's session goes on");
                        return Err(Refusal::Unavailable);
                    }
                }
                let by_user = match &buckets {
                    Some(buckets) => Some(buckets.take_for_user(&principal.user_id)?),
                    None => None,
                };
                request.extensions_mut().insert(principal);
                // The per-user bucket is the tighter one to report when both applied.
                by_user.or(by_ip)
            }
        };
        let websocket = connections::reserve_websocket(request, client).map_err(Refusal::Connections)?;
        Ok(Admitted { allowance, websocket })
    }
}

/// What an admitted request carries to its answer.
struct Admitted {
    allowance: Option<Allowance>,
    /// For an upgrade request: the WebSocket place, kept when the answer is `101`.
    websocket: Option<WebSocketPlace>,
}

/// Why a request was not admitted.
enum Refusal {
    /// A bucket was empty: 429.
    RateLimited(Exhausted),
    /// The token was bad: 401, with the IP bucket's headers.
    BadToken(ApiError, Option<Allowance>),
    /// Whether the token is current could not be told: 503.
    Unavailable,
    /// Too many WebSockets: 503.
    Connections(ApiError),
}

/// The token was validly signed, but its session ended or its account is gone or changed.
fn session_ended() -> ApiError {
    ApiError::unauthorized(
        "session_ended",
        "the session of this access token has ended or its account changed; log in again",
    )
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
            Refusal::Connections(problem) => problem.into_response(),
            Refusal::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot check the access token now; try again",
            )
            .into_response(),
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
            Ok(Admitted { allowance, websocket }) => AdmissionFuture::Admitted {
                inner: self.inner.call(request),
                allowance,
                websocket,
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
        Admitted { #[pin] inner: F, allowance: Option<Allowance>, websocket: Option<WebSocketPlace> },
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
            AdmissionProjection::Admitted {
                inner,
                allowance,
                websocket,
            } => {
                let mut response = ready!(inner.poll(cx))?.map(Body::new);
                stamp(&mut response, allowance.as_ref());
                if let Some(place) = websocket.take() {
                    place.settle(response.status());
                }
                response
            }
            AdmissionProjection::Refused { refusal } => refusal.take().expect("polled after completion"),
        };
        Poll::Ready(Ok(response))
    }
}
