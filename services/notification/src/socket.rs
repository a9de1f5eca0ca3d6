//! `/notifications/socket`: every open connection of every user, and what each is sent.
//!
//! The [`Hub`] files connections by user, so that a user's phone and laptop both hear of a
//! notification. Each connection has a bounded queue: the hub only ever `try_send`s, so a client
//! that cannot keep up never slows anyone else; when its queue is full it is closed with 1013
//! (try again later) and may reconnect to catch up through the list. Frames are serialized once
//! per notification and shared by all of the user's connections.
//!
//! A connection is pinged every `socket_ping_interval_seconds` and closed when nothing (not even
//! a pong) came from it for `socket_idle_timeout_seconds`. Clients may send `{"type":"ping"}`
//! and get `{"type":"pong"}`. On shutdown every connection is closed with 1001.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use onetime_common::service::Background;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::api::{ClientFrame, NotificationBody, ServerFrame};
use crate::config::NotificationsConfig;
use crate::domain::Notification;

/// 1013, "try again later": the client fell behind.
const TRY_AGAIN_LATER: u16 = 1013;
/// How long the closing handshake may take.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Per-socket read and write buffers. tungstenite's default of 128 KiB each made an idle socket
/// cost 134 KiB of resident memory; frames here are small both ways.
pub const BUFFER_BYTES: usize = 4 * 1024;
/// Most bytes of one client frame: clients only ever send `{"type":"ping"}`.
pub const MAX_FRAME_BYTES: usize = 4 * 1024;

struct Connection {
    id: u64,
    frames: mpsc::Sender<Utf8Bytes>,
    /// Cancelled when the connection must close because its queue overflowed.
    overflowed: CancellationToken,
}

/// The open sockets, by user.
pub struct Hub {
    connections: Mutex<HashMap<String, Vec<Connection>>>,
    next_id: AtomicU64,
    queue: usize,
    ping_interval: Duration,
    idle_timeout: Duration,
    background: Background,
}

fn frame(frame: &ServerFrame) -> Utf8Bytes {
    // Plain data with string keys: serializing cannot fail.
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

impl Hub {
    pub fn new(config: &NotificationsConfig, background: Background) -> Self {
        Self {
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue: config.socket_send_queue,
            ping_interval: config.ping_interval(),
            idle_timeout: config.idle_timeout(),
            background,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Connection>>> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many sockets are open.
    pub fn open(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Queues `frames` on every connection of `user`; closes those whose queue is full.
    fn send(&self, user: &str, frames: &[Utf8Bytes]) {
        let mut connections = self.lock();
        let Some(open) = connections.get_mut(user) else {
            return;
        };
        open.retain(|connection| {
            for frame in frames {
                match connection.frames.try_send(frame.clone()) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        metrics::counter!("onetime_notification_sockets_overflowed_total").increment(1);
                        connection.overflowed.cancel();
                        return false;
                    }
                    Err(TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
        if open.is_empty() {
            connections.remove(user);
        }
    }

    /// Tells `notification`'s user of it, and of their unread count after it.
    pub fn notification(&self, notification: &Notification, unread: u64) {
        let body = NotificationBody::from(notification.clone());
        let frames = [
            frame(&ServerFrame::Notification { notification: &body }),
            frame(&ServerFrame::Unread { count: unread }),
        ];
        self.send(&notification.user_id, &frames);
    }

    /// Tells `user` their unread count changed.
    pub fn unread(&self, user: &str, count: u64) {
        self.send(user, &[frame(&ServerFrame::Unread { count })]);
    }

    fn register(&self, user: &str) -> (u64, mpsc::Receiver<Utf8Bytes>, CancellationToken) {
        let (frames, receiver) = mpsc::channel(self.queue);
        let overflowed = CancellationToken::new();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(user.to_owned()).or_default().push(Connection {
            id,
            frames,
            overflowed: overflowed.clone(),
        });
        (id, receiver, overflowed)
    }

    fn unregister(&self, user: &str, id: u64) {
        let mut connections = self.lock();
        if let Some(open) = connections.get_mut(user) {
            open.retain(|connection| connection.id != id);
            if open.is_empty() {
                connections.remove(user);
            }
        }
    }

    /// Serves `user`'s new connection until it closes. `unread` reads the current unread count,
    /// sent first; the connection is registered before, so that no change is missed.
    pub async fn serve<F>(self: Arc<Self>, socket: WebSocket, user: String, unread: F)
    where
        F: Future<Output = Option<u64>>,
    {
        let (id, frames, overflowed) = self.register(&user);
        metrics::gauge!("onetime_notification_sockets").increment(1.0);
        let first = unread.await.map(|count| frame(&ServerFrame::Unread { count }));
        let ending = self.converse(socket, first, frames, overflowed).await;
        self.unregister(&user, id);
        metrics::gauge!("onetime_notification_sockets").decrement(1.0);
        tracing::debug!(user, connection = id, ending, "notification socket closed");
    }

    /// The connection's life; returns why it ended.
    async fn converse(
        &self,
        mut socket: WebSocket,
        first: Option<Utf8Bytes>,
        mut frames: mpsc::Receiver<Utf8Bytes>,
        overflowed: CancellationToken,
    ) -> &'static str {
        if let Some(first) = first
            && socket.send(Message::Text(first)).await.is_err()
        {
            return "gone";
        }
        let stopping = self.background.stopping();
        tokio::pin!(stopping);
        let mut ping = tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let pong = frame(&ServerFrame::Pong);
        let (code, reason) = loop {
            tokio::select! {
                () = overflowed.cancelled() => break (TRY_AGAIN_LATER, "too slow: catch up with GET /notifications"),
                () = &mut stopping => break (close_code::AWAY, "the server is shutting down"),
                next = frames.recv() => match next {
                    Some(text) => {
                        if socket.send(Message::Text(text)).await.is_err() {
                            return "gone";
                        }
                    }
                    None => break (TRY_AGAIN_LATER, "too slow: catch up with GET /notifications"),
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return "closed by the client",
                    Some(Ok(message)) => {
                        heard = Instant::now();
                        let is_ping = match &message {
                            Message::Text(text) => matches!(serde_json::from_str(text), Ok(ClientFrame::Ping)),
                            _ => false,
                        };
                        if is_ping && socket.send(Message::Text(pong.clone())).await.is_err() {
                            return "gone";
                        }
                    }
                },
                _ = ping.tick() => {
                    if heard.elapsed() >= self.idle_timeout {
                        break (close_code::POLICY, "idle for too long");
                    }
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return "gone";
                    }
                }
            }
        };
        let close = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // The WebSocket way: our close frame, then the client's answer (what it sent before is
        // read and dropped, so that closing does not reset the connection under frames it has
        // still to read). A client that fell behind may never read again, so all of it within
        // CLOSE_GRACE; at shutdown only our frame. The peer may be gone already; there is
        // nothing left to do about that.
        let handshake = async {
            if socket.send(Message::Close(Some(close))).await.is_ok() && code != close_code::AWAY {
                while let Some(Ok(_)) = socket.recv().await {}
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, handshake).await;
        reason
    }
}

#[cfg(test)]
impl Hub {
    /// A connection's queue, without a socket.
    pub fn register_for_test(&self, user: &str) -> mpsc::Receiver<Utf8Bytes> {
        self.register(user).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_that_falls_behind_is_dropped_and_the_others_keep_theirs() {
        let config = NotificationsConfig {
            socket_send_queue: 2,
            ..NotificationsConfig::default()
        };
        let hub = Hub::new(&config, Background::default());
        let (_, mut reading, reader_overflowed) = hub.register("u1");
        let (_, _stuck, stuck_overflowed) = hub.register("u1");
        let (_, _other, _) = hub.register("u2");
        assert_eq!(hub.open(), 3);

        hub.unread("u1", 1);
        assert_eq!(reading.recv().await.unwrap().as_str(), r#"{"type":"unread","count":1}"#);
        hub.unread("u1", 2);
        hub.unread("u1", 3);
        assert!(stuck_overflowed.is_cancelled(), "its queue of 2 overflowed");
        assert!(!reader_overflowed.is_cancelled());
        assert_eq!(hub.open(), 2, "the slow one is gone, the other user's stays");
        assert_eq!(reading.recv().await.unwrap().as_str(), r#"{"type":"unread","count":2}"#);
    }
}
