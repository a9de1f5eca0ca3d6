//! Connections: how long a client may take to start a request, and how many connections one
//! client address and everyone together may hold open, so that slow or silent clients cannot
//! use up the process's file descriptors (slowloris).
//!
//! - A connection must deliver a complete request head within `header_read_timeout_seconds`
//!   of being ready for it: of being accepted (which also bounds a silent connection, before
//!   hyper even knows its protocol) and of finishing its previous answer (so the same timer
//!   closes kept-alive connections idle that long). The request itself then has
//!   `request_timeout_seconds`.
//! - Open connections are counted per client address and in total; past either cap a new one
//!   is answered `503` problem+json `too_many_connections` and closed at once (over TLS it is
//!   closed before the handshake: there is no one to read an answer yet).
//! - A connection that upgrades to a WebSocket leaves the HTTP counts for the WebSocket counts,
//!   capped on their own: sockets live long, requests do not, and neither should starve the
//!   other. Past a WebSocket cap, the upgrade request is answered `503` instead.
//!
//! Behind a trusted proxy (`trust_forwarded_for`) every connection comes from the proxy, so the
//! per-client connection cap is the proxy's job and not applied; WebSockets are then counted by
//! the forwarded client address.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::Server;
use axum_server::accept::Accept;
use http::{Request, StatusCode};
use onetime_common::ApiError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::Service;

use crate::config::ConnectionsConfig;

/// The counts of open connections, shared by every listener of the process.
#[derive(Clone)]
pub struct ConnectionLimits {
    inner: Arc<Counts>,
}

struct Counts {
    config: ConnectionsConfig,
    per_client_connections: bool,
    tally: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    http: Count,
    websockets: Count,
}

/// Open connections of one kind, in total and by client address.
#[derive(Default)]
struct Count {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a connection or upgrade was refused. Its `Display` is the problem's detail.
#[derive(Debug, Clone, Copy, thiserror::Error)]
enum Refusal {
    #[error("this address has too many connections open; close some and try again")]
    Client,
    #[error("the server has too many connections open; try again shortly")]
    Total,
    #[error("this address has too many WebSockets open; close some and try again")]
    WebSocketsOfClient,
    #[error("the server has too many WebSockets open; try again shortly")]
    WebSockets,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Client => "client",
            Refusal::Total => "total",
            Refusal::WebSocketsOfClient => "websockets_of_client",
            Refusal::WebSockets => "websockets",
        }
    }

    /// Counts the refusal in `onetime_connections_refused_total`.
    fn recorded(self) -> Self {
        metrics::counter!("onetime_connections_refused_total", "reason" => self.label()).increment(1);
        self
    }

    fn problem(self) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            self.to_string(),
        )
        .with_retry_after(Duration::from_secs(1))
    }

    /// The whole answer to a connection refused before any request: written as it is.
    fn raw_answer(self) -> Vec<u8> {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": self.to_string(),
            "code": "too_many_connections",
        })
        .to_string();
        format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

impl Count {
    fn try_add(&mut self, client: Option<IpAddr>, max_total: usize, max_per_client: usize) -> Result<(), Refusal> {
        if self.total >= max_total {
            return Err(Refusal::Total);
        }
        if let Some(client) = client {
            let of_client = self.by_client.entry(client).or_insert(0);
            if *of_client >= max_per_client {
                return Err(Refusal::Client);
            }
            *of_client += 1;
        }
        self.total += 1;
        Ok(())
    }

    fn remove(&mut self, client: Option<IpAddr>) {
        self.total -= 1;
        if let Some(client) = client
            && let Some(of_client) = self.by_client.get_mut(&client)
        {
            *of_client -= 1;
            if *of_client == 0 {
                self.by_client.remove(&client);
            }
        }
    }
}

impl ConnectionLimits {
    pub fn new(config: &ConnectionsConfig, trust_forwarded_for: bool) -> Self {
        Self {
            inner: Arc::new(Counts {
                config: config.clone(),
                per_client_connections: !trust_forwarded_for,
                tally: Mutex::default(),
            }),
        }
    }

    /// Counts a new connection from `peer`, or refuses it.
    fn open(&self, peer: IpAddr) -> Result<Arc<Connection>, Refusal> {
        let client = self.inner.per_client_connections.then_some(peer);
        let config = &self.inner.config;
        self.inner
            .lock()
            .http
            .try_add(client, config.max_connections, config.max_connections_per_client)?;
        Ok(Arc::new(Connection {
            counts: self.inner.clone(),
            client,
            websocket: Mutex::new(None),
        }))
    }
}

impl Counts {
    fn lock(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open connection; dropped (with the last of its stream, its requests and its upgraded
/// socket) it gives its place back.
pub(crate) struct Connection {
    counts: Arc<Counts>,
    /// The key of the HTTP count; `None` when connections are not counted per client.
    client: Option<IpAddr>,
    /// Once upgraded: the key of the WebSocket count.
    websocket: Mutex<Option<Option<IpAddr>>>,
}

impl Connection {
    /// Holds a WebSocket place for `client` until the upgrade request is answered, or refuses.
    fn reserve_websocket(self: &Arc<Self>, client: Option<IpAddr>) -> Result<WebSocketPlace, ApiError> {
        let config = &self.counts.config;
        self.counts
            .lock()
            .websockets
            .try_add(client, config.max_websockets, config.max_websockets_per_client)
            .map_err(|refusal| match refusal {
                Refusal::Client => Refusal::WebSocketsOfClient,
                _ => Refusal::WebSockets,
            })
            .map_err(|refusal| refusal.recorded().problem())?;
        Ok(WebSocketPlace {
            connection: Some(self.clone()),
            client,
        })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let websocket = *self.websocket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tally = self.counts.lock();
        match websocket {
            Some(client) => tally.websockets.remove(client),
            None => tally.http.remove(self.client),
        }
    }
}

/// Whether `request` asks to become a WebSocket.
pub(crate) fn is_websocket_upgrade<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Holds a WebSocket place for an upgrade request on a counted connection (requests served
/// without one, in-process, have nothing to count against), or refuses it.
pub(crate) fn reserve_websocket<B>(
    request: &Request<B>,
    client: Option<IpAddr>,
) -> Result<Option<WebSocketPlace>, ApiError> {
    if !is_websocket_upgrade(request) {
        return Ok(None);
    }
    match request.extensions().get::<Arc<Connection>>() {
        Some(connection) => connection.reserve_websocket(client).map(Some),
        None => Ok(None),
    }
}

/// A WebSocket place held while an upgrade request is handled.
pub(crate) struct WebSocketPlace {
    connection: Option<Arc<Connection>>,
    client: Option<IpAddr>,
}

impl WebSocketPlace {
    /// After the answer: a `101` makes the connection a WebSocket (leaving the HTTP count);
    /// anything else gives the place back.
    pub(crate) fn settle(mut self, status: StatusCode) {
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return;
        }
        if let Some(connection) = self.connection.take() {
            *connection
                .websocket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(self.client);
            connection.counts.lock().http.remove(connection.client);
        }
    }
}

impl Drop for WebSocketPlace {
    fn drop(&mut self) {
        if let Some(connection) = &self.connection {
            connection.counts.lock().websockets.remove(self.client);
        }
    }
}

/// The acceptor for axum-server: counts a connection first (refusing it past a cap), then
/// hands it on.
#[derive(Clone)]
pub struct Counting {
    limits: ConnectionLimits,
    /// Write the 503 to a refused connection (plain HTTP only).
    answer_refusals: bool,
}

impl<S> Accept<TcpStream, S> for Counting {
    type Stream = Counted<TcpStream>;
    type Service = WithConnection<S>;
    type Future = Ready<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        ready(self.count(stream, service))
    }
}

impl Counting {
    /// Counts in `limits`; `answer_refusals` writes the 503 to a refused connection (plain
    /// HTTP: over TLS nobody could read it before the handshake).
    pub(crate) fn new(limits: &ConnectionLimits, answer_refusals: bool) -> Self {
        Self {
            limits: limits.clone(),
            answer_refusals,
        }
    }

    fn count<S>(&self, stream: TcpStream, service: S) -> io::Result<(Counted<TcpStream>, WithConnection<S>)> {
        let peer = stream.peer_addr()?.ip();
        match self.limits.open(peer) {
            Ok(connection) => Ok((
                Counted {
                    inner: stream,
                    _connection: connection.clone(),
                },
                WithConnection {
                    inner: service,
                    connection,
                },
            )),
            Err(refusal) => {
                let refusal = refusal.recorded();
                if self.answer_refusals {
                    // One try without waiting: a client too slow to take 300 bytes gets none.
                    let _ = stream.try_write(&refusal.raw_answer());
                }
                Err(io::Error::other(refusal))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A connection's stream, holding its place while it is open (upgraded or not).
    pub struct Counted<S> {
        #[pin]
        inner: S,
        _connection: Arc<Connection>,
    }
}

impl<S: AsyncRead> AsyncRead for Counted<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for Counted<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection's service: each request carries the connection (for WebSocket accounting).
#[derive(Clone)]
pub struct WithConnection<S> {
    inner: S,
    connection: Arc<Connection>,
}

impl<S, B> Service<Request<B>> for WithConnection<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.connection.clone());
        self.inner.call(request)
    }
}

/// `server` with the header timeout of `config`.
pub(crate) fn with_timeouts<A>(mut server: Server<SocketAddr, A>, config: &ConnectionsConfig) -> Server<SocketAddr, A> {
    let timeout = config.header_read_timeout();
    // hyper's header timer starts whenever a connection waits for a request head, idle or not.
    server.http_builder().http1().header_read_timeout(timeout);
    // A connection that sends nothing never gets as far as HTTP/1 (hyper first reads to tell
    // the protocol): bound it too.
    server.first_request_timeout(timeout)
}
