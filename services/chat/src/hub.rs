//! The live chat sockets, by user: where frames for a user go, and who is online.
//!
//! Each socket has a bounded queue of frames. Delivery never waits: a frame is serialised once,
//! then offered to every queue with `try_send`. A socket whose queue is full cannot keep up; it
//! leaves the hub at once and is told to close with 1013, so a slow reader costs its own
//! connection and never delays anyone else's frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::extract::ws::Utf8Bytes;
use onetime_common::directory::ChatPresence;
use tokio::sync::{Notify, mpsc};

use crate::api::ServerFrame;

/// Tells one socket from the others, also among one user's.
pub type ConnectionId = u64;

pub struct Hub {
    connections: RwLock<HashMap<String, Vec<Connection>>>,
    next_id: AtomicU64,
    queue_frames: usize,
    slow_closed: AtomicU64,
}

/// The hub's side of one socket.
struct Connection {
    id: ConnectionId,
    frames: mpsc::Sender<Utf8Bytes>,
    overflowed: Arc<Notify>,
}

/// A socket's side: its queue, and the signal that it fell behind. Dropping it leaves the hub.
pub struct Registration {
    hub: Arc<Hub>,
    user_id: String,
    pub id: ConnectionId,
    pub frames: mpsc::Receiver<Utf8Bytes>,
    /// Notified when the hub dropped the socket because its queue was full.
    pub overflowed: Arc<Notify>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.leave(&self.user_id, self.id);
    }
}

impl Hub {
    /// A hub whose sockets queue at most `queue_frames` frames each.
    pub fn new(queue_frames: usize) -> Self {
        Self {
            connections: RwLock::default(),
            next_id: AtomicU64::new(1),
            queue_frames,
            slow_closed: AtomicU64::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Vec<Connection>>> {
        self.connections.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Vec<Connection>>> {
        self.connections
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a socket of `user_id`.
    pub fn join(self: &Arc<Self>, user_id: &str) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, frames) = mpsc::channel(self.queue_frames);
        let overflowed = Arc::new(Notify::new());
        self.write().entry(user_id.to_owned()).or_default().push(Connection {
            id,
            frames: sender,
            overflowed: overflowed.clone(),
        });
        Registration {
            hub: self.clone(),
            user_id: user_id.to_owned(),
            id,
            frames,
            overflowed,
        }
    }

    fn leave(&self, user_id: &str, id: ConnectionId) {
        let mut connections = self.write();
        if let Some(own) = connections.get_mut(user_id) {
            own.retain(|connection| connection.id != id);
            if own.is_empty() {
                connections.remove(user_id);
            }
        }
    }

    /// Queues `frame` for every socket of `users` except `skip`. Sockets whose queue is full
    /// are dropped from the hub and told to close.
    pub fn deliver(&self, users: &[&str], skip: Option<ConnectionId>, frame: &ServerFrame) {
        let text = match serde_json::to_string(frame) {
            Ok(text) => Utf8Bytes::from(text),
            Err(error) => {
                tracing::error!(%error, "a chat frame does not serialize");
                return;
            }
        };
        let mut behind = Vec::new();
        {
            let connections = self.read();
            for &user_id in users {
                for connection in connections.get(user_id).into_iter().flatten() {
                    if Some(connection.id) == skip {
                        continue;
                    }
                    if let Err(mpsc::error::TrySendError::Full(_)) = connection.frames.try_send(text.clone()) {
                        behind.push((user_id, connection.id));
                    }
                }
            }
        }
        for (user_id, id) in behind {
            self.drop_slow(user_id, id);
        }
    }

    fn drop_slow(&self, user_id: &str, id: ConnectionId) {
        let mut connections = self.write();
        let Some(own) = connections.get_mut(user_id) else {
            return;
        };
        let Some(at) = own.iter().position(|connection| connection.id == id) else {
            return;
        };
        let connection = own.swap_remove(at);
        if own.is_empty() {
            connections.remove(user_id);
        }
        connection.overflowed.notify_one();
        self.slow_closed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            user_id,
            connection = id,
            "chat socket cannot keep up; closing it with 1013"
        );
    }

    /// Open sockets now.
    pub fn connections(&self) -> usize {
        self.read().values().map(Vec::len).sum()
    }

    /// Sockets closed so far because their queue was full.
    pub fn slow_closed(&self) -> u64 {
        self.slow_closed.load(Ordering::Relaxed)
    }
}

impl ChatPresence for Hub {
    fn is_online(&self, user_id: &str) -> bool {
        self.read().contains_key(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64) -> ServerFrame {
        ServerFrame::Read {
            room_id: "r".to_owned(),
            user_id: "u".to_owned(),
            seq: n,
        }
    }

    #[tokio::test]
    async fn frames_reach_every_socket_but_the_skipped_one() {
        let hub = Arc::new(Hub::new(8));
        let mut phone = hub.join("a");
        let mut laptop = hub.join("a");
        let mut other = hub.join("b");
        hub.deliver(&["a", "b"], Some(phone.id), &frame(1));
        assert!(laptop.frames.recv().await.unwrap().contains(r#""seq":1"#));
        assert!(other.frames.recv().await.unwrap().contains(r#""type":"read""#));
        assert!(phone.frames.try_recv().is_err());
        assert!(hub.is_online("a") && hub.is_online("b"));
        assert_eq!(hub.connections(), 3);

        drop((phone, laptop));
        assert!(!hub.is_online("a"), "offline once the last socket is gone");
        assert_eq!(hub.connections(), 1);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_socket() {
        let hub = Arc::new(Hub::new(2));
        let slow = hub.join("a");
        let mut fast = hub.join("b");
        for n in 1..=3 {
            hub.deliver(&["a", "b"], None, &frame(n));
            fast.frames.recv().await.unwrap();
        }
        tokio::time::timeout(std::time::Duration::from_secs(1), slow.overflowed.notified())
            .await
            .expect("the slow socket is told to close");
        assert_eq!(hub.slow_closed(), 1);
        assert!(!hub.is_online("a"));
        hub.deliver(&["a", "b"], None, &frame(4));
        assert!(fast.frames.recv().await.unwrap().contains(r#""seq":4"#));
    }
}
