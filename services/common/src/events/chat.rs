//! What the chat service publishes. The notification service consumes `chat.message` to push a
//! message to a recipient who has no open chat socket.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The envelope `source` of these events and the bus source name (the chat store).
pub const SOURCE: &str = "chat";

/// [`ChatMessage`]: a message was stored in a room.
pub const CHAT_MESSAGE: &str = "chat.message";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub room_id: String,
    pub job_id: String,
    pub message_id: String,
    pub seq: u64,
    pub sender_id: String,
    pub recipient_id: String,
    /// The first characters of the text, for a notification.
    pub preview: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
