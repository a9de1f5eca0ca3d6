//! `/chat/socket`: one task per connection, which reads the client's frames and answers them,
//! writes what the hub queued for it, pings the client and closes it when it falls silent or
//! behind. Frames are JSON text, as API.md and [`ClientFrame`] / [`ServerFrame`] describe.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use tokio::time::{Instant, MissedTickBehavior};

use crate::api::{ClientFrame, Outgoing, ServerFrame, read_mark};
use crate::hub::Registration;
use crate::{Chat, ChatError};

/// Most bytes of one client frame: a send of 2,000 four-byte characters with room to spare.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Per-socket read and write buffers; chat frames are small, and idle sockets should cost little.
pub const BUFFER_BYTES: usize = 4 * 1024;
/// How long the closing handshake may take; a client that does not complete it is simply
/// dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// "Try again later" (RFC 6455 registry): the client could not keep up and should reconnect.
const CLOSE_BEHIND: u16 = 1013;
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;

/// Why a connection ends.
enum End {
    /// The client hung up, or the connection broke: nothing left to say.
    Gone,
    /// The server ends it with this close code and reason.
    Close(u16, &'static str),
}

struct Connection {
    chat: Arc<Chat>,
    user_id: String,
    ws: WebSocket,
    registration: Registration,
    /// Rooms this connection has typed in, with the other participant: typing is frequent and
    /// never stored, so its rooms are checked once per connection.
    typing_to: HashMap<String, String>,
    /// When the client last sent anything, pongs included.
    heard: Instant,
}

/// Serves `user_id`'s socket until it ends.
pub async fn serve(ws: WebSocket, user_id: String, chat: Arc<Chat>) {
    let registration = chat.hub.join(&user_id);
    let mut connection = Connection {
        chat,
        user_id,
        ws,
        registration,
        typing_to: HashMap::new(),
        heard: Instant::now(),
    };
    if let End::Close(code, reason) = connection.run().await {
        connection.close(code, reason).await;
    }
}

impl Connection {
    async fn run(&mut self) -> End {
        let (ping_every, idle_after) = (self.chat.config.ping_interval(), self.chat.config.idle_timeout());
        let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep(idle_after);
        let stopping = self.chat.background.stopping();
        tokio::pin!(idle, stopping);
        loop {
            let step = tokio::select! {
                biased;
                () = &mut stopping => Err(End::Close(CLOSE_GOING_AWAY, "the server is shutting down")),
                () = self.registration.overflowed.notified() => Err(behind()),
                incoming = self.ws.recv() => match incoming {
                    Some(Ok(incoming)) => {
                        self.heard = Instant::now();
                        self.on_frame(incoming).await
                    }
                    Some(Err(_)) | None => Err(End::Gone),
                },
                queued = self.registration.frames.recv() => match queued {
                    Some(frame) => self.write(WsMessage::Text(frame)).await,
                    // The hub let go of this socket: it fell behind.
                    None => Err(behind()),
                },
                _ = pings.tick() => self.write(WsMessage::Ping(Default::default())).await,
                () = &mut idle => {
                    let deadline = self.heard + idle_after;
                    if deadline <= Instant::now() {
                        Err(End::Close(CLOSE_NORMAL, "silent for too long"))
                    } else {
                        idle.as_mut().reset(deadline);
                        Ok(())
                    }
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Leaves the hub, then closes the WebSocket way: the close frame, then the client's answer
    /// (frames still on their way are read and dropped), within [`CLOSE_GRACE`]. At shutdown only
    /// the frame: shutdown waits for this task, and the client learns soon enough that the
    /// server is gone.
    async fn close(self, code: u16, reason: &'static str) {
        let Self {
            mut ws, registration, ..
        } = self;
        drop(registration);
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let handshake = async {
            if ws.send(WsMessage::Close(Some(frame))).await.is_ok() && code != CLOSE_GOING_AWAY {
                while let Some(Ok(_)) = ws.recv().await {}
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, handshake).await;
    }

    async fn on_frame(&mut self, incoming: WsMessage) -> Result<(), End> {
        match incoming {
            WsMessage::Text(text) => self.on_text(&text).await,
            WsMessage::Binary(_) => self.reply(&ServerFrame::bad_frame("frames are JSON text")).await,
            // Pongs only count as signs of life; pings are answered by the protocol layer, and
            // after a close the next read ends the connection.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(error) => {
                return self
                    .reply(&ServerFrame::bad_frame(format!("not a chat frame: {error}")))
                    .await;
            }
        };
        let reply = match frame {
            ClientFrame::Send {
                room_id,
                text,
                client_msg_id,
            } => Some(self.send(&room_id, &text, client_msg_id).await),
            ClientFrame::Typing { room_id } => self.typing(&room_id).await.err().map(|e| ServerFrame::error(&e, None)),
            ClientFrame::Read { room_id, seq } => self
                .read(&room_id, seq)
                .await
                .err()
                .map(|e| ServerFrame::error(&e, None)),
            ClientFrame::Ping => Some(ServerFrame::Pong),
        };
        match reply {
            Some(reply) => self.reply(&reply).await,
            None => Ok(()),
        }
    }

    /// `ack` once the message is stored, or the `error` naming the `clientMsgId`. (`&mut self`
    /// although it only reads: the socket is not `Sync`, so `&self` would make the task not
    /// `Send`.)
    async fn send(&mut self, room_id: &str, text: &str, client_msg_id: String) -> ServerFrame {
        let sent = match Outgoing::parse(text, &client_msg_id) {
            Ok(outgoing) => {
                let origin = Some(self.registration.id);
                self.chat.messages.send(&self.user_id, room_id, outgoing, origin).await
            }
            Err(error) => Err(error),
        };
        match sent {
            Ok(sent) => ServerFrame::Ack {
                client_msg_id,
                message: sent.message.into(),
            },
            Err(error) => ServerFrame::error(&error, Some(client_msg_id)),
        }
    }

    async fn typing(&mut self, room_id: &str) -> Result<(), ChatError> {
        let other = match self.typing_to.get(room_id) {
            Some(other) => other.clone(),
            None => {
                let room = self.chat.rooms.room_of(&self.user_id, room_id).await?;
                let other = room.other(&self.user_id).to_owned();
                self.typing_to.insert(room_id.to_owned(), other.clone());
                other
            }
        };
        let frame = ServerFrame::Typing {
            room_id: room_id.to_owned(),
            user_id: self.user_id.clone(),
        };
        self.chat.hub.deliver(&[&other], None, &frame);
        Ok(())
    }

    async fn read(&mut self, room_id: &str, seq: u64) -> Result<(), ChatError> {
        let origin = Some(self.registration.id);
        self.chat
            .messages
            .mark_read(&self.user_id, room_id, read_mark(seq)?, origin)
            .await
    }

    async fn reply(&mut self, frame: &ServerFrame) -> Result<(), End> {
        match serde_json::to_string(frame) {
            Ok(text) => self.write(WsMessage::Text(text.into())).await,
            Err(error) => {
                tracing::error!(%error, "a chat frame does not serialize");
                Ok(())
            }
        }
    }

    /// Writes one frame, unless the hub gives up on this socket meanwhile.
    async fn write(&mut self, message: WsMessage) -> Result<(), End> {
        tokio::select! {
            biased;
            () = self.registration.overflowed.notified() => Err(behind()),
            written = self.ws.send(message) => written.map_err(|_| End::Gone),
        }
    }
}

fn behind() -> End {
    End::Close(
        CLOSE_BEHIND,
        "cannot keep up; reconnect and read what you missed over REST",
    )
}
