//! The chat service's request and response bodies and its socket frames, with their OpenAPI
//! schemas, and their translation to and from the domain.

use onetime_common::ApiError;
use onetime_common::paging::{PageQuery, PageRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::ChatError;
use crate::domain::{ClientMsgId, Message, MessageText, ReadMark, Room};

/// `POST /chat/rooms`: the job, and the other person of the room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenRoomRequest {
    pub job_id: String,
    /// The job's owner when a worker asks, the worker when the owner asks.
    pub participant_id: String,
}

/// `POST /chat/rooms/:id/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    /// 1 to 2,000 characters after trimming.
    pub text: String,
    /// 1 to 64 characters, unique per sender and room: sending it again returns the first
    /// message instead of storing another.
    pub client_msg_id: String,
}

/// A message to send, every field parsed.
pub struct Outgoing {
    pub text: MessageText,
    pub client_msg_id: ClientMsgId,
}

impl Outgoing {
    pub fn parse(text: &str, client_msg_id: &str) -> Result<Self, ChatError> {
        let client_msg_id = ClientMsgId::parse(client_msg_id).map_err(|e| ChatError::invalid("clientMsgId", e))?;
        let text = MessageText::parse(text).map_err(|e| ChatError::invalid("text", e))?;
        Ok(Self { text, client_msg_id })
    }
}

/// `PUT /chat/rooms/:id/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadRequest {
    /// The seq of the newest message read; marks only move forward.
    pub seq: u64,
}

pub fn read_mark(seq: u64) -> Result<ReadMark, ChatError> {
    ReadMark::parse(seq).map_err(|e| ChatError::invalid("seq", e))
}

/// `GET /chat/rooms/:id/messages`: `before` a seq, or the `cursor` of the previous page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only messages with a smaller seq; none means from the newest.
    pub before: Option<u64>,
    /// Most messages to return: 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page (instead of `before`).
    pub cursor: Option<String>,
}

/// A checked [`HistoryQuery`].
pub struct HistoryRequest {
    /// Messages below this seq.
    pub before: u64,
    /// The limit (the cursor, if any, is in `before` now).
    pub page: PageRequest,
}

impl HistoryQuery {
    pub fn parse(self) -> Result<HistoryRequest, ApiError> {
        let mut page = PageQuery {
            limit: self.limit,
            cursor: self.cursor,
        }
        .parse()?;
        let from_cursor = page
            .after
            .take()
            .map(|seq| seq.parse::<u64>())
            .transpose()
            .map_err(|_| {
                ApiError::bad_request("invalid_query", "query parameter `cursor` is not a cursor of this list")
            })?;
        let before = match (self.before, from_cursor) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "give `before` or `cursor`, not both",
                ));
            }
            (Some(before), None) | (None, Some(before)) => before,
            (None, None) => u64::MAX,
        };
        Ok(HistoryRequest { before, page })
    }
}

/// A room as its participants see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: String,
    pub job_id: String,
    /// The job's owner, then the worker.
    pub participants: Vec<String>,
    pub last_message: Option<MessageView>,
    /// Messages from the other participant after the caller's read mark.
    pub unread_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl RoomView {
    /// `room` as `user_id` sees it.
    pub fn of(room: Room, user_id: &str) -> Self {
        Self {
            unread_count: room.unread_for(user_id),
            participants: room.participant_ids().map(str::to_owned).to_vec(),
            id: room.id,
            job_id: room.job_id,
            last_message: room.last_message.map(MessageView::from),
            created_at: room.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub room_id: String,
    /// 1, 2, 3, … per room, without gaps.
    pub seq: u64,
    pub sender_id: String,
    pub text: String,
    pub client_msg_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Message> for MessageView {
    fn from(message: Message) -> Self {
        Self {
            id: message.id,
            room_id: message.room_id,
            seq: message.seq,
            sender_id: message.sender_id,
            text: message.text,
            client_msg_id: message.client_msg_id,
            created_at: message.created_at,
        }
    }
}

/// What a client sends over `/chat/socket` (JSON text frames).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
pub enum ClientFrame {
    /// Sends a message, as `POST /chat/rooms/:id/messages` does; answered with `ack`.
    Send {
        room_id: String,
        text: String,
        client_msg_id: String,
    },
    /// Tells the other participant that the user is typing; never stored.
    Typing { room_id: String },
    /// Moves the user's read mark, as `PUT /chat/rooms/:id/read` does.
    Read { room_id: String, seq: u64 },
    /// Answered with `pong`.
    Ping,
}

/// What the server sends over `/chat/socket` (JSON text frames).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    /// To the sending connection, once the message is durably stored (also for a resent
    /// `clientMsgId`: then with the first message).
    Ack {
        client_msg_id: String,
        message: MessageView,
    },
    /// A new message, to every other connection of both participants.
    Message {
        message: MessageView,
    },
    /// The other participant is typing.
    Typing {
        room_id: String,
        user_id: String,
    },
    /// `userId` has read up to `seq`: to the other participant and the reader's other
    /// connections.
    Read {
        room_id: String,
        user_id: String,
        seq: u64,
    },
    Pong,
    /// A frame could not be handled; the connection stays open. `code`: `bad_frame`,
    /// `not_participant`, `invalid_text`, `rate_limited` (or `internal`).
    Error {
        code: String,
        detail: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
}

impl ServerFrame {
    /// The `error` frame of `error`; our own failures are logged and described generically, as
    /// over REST.
    pub fn error(error: &ChatError, client_msg_id: Option<String>) -> Self {
        let code = error.frame_code();
        let detail = if code == "internal" {
            tracing::error!(%error, "a chat frame failed");
            "the server failed to handle this frame".to_owned()
        } else {
            error.to_string()
        };
        Self::Error {
            code: code.to_owned(),
            detail,
            client_msg_id,
        }
    }

    pub fn bad_frame(detail: impl Into<String>) -> Self {
        Self::Error {
            code: "bad_frame".to_owned(),
            detail: detail.into(),
            client_msg_id: None,
        }
    }
}
