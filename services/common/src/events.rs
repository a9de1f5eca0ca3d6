//! The event envelope every service publishes through its outbox, ids, and the catalogue of
//! events: one submodule per publishing service with its event types and payloads, so that a
//! consumer reads everything it needs from the event and never calls the publisher back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub mod chat;
pub mod job;
pub mod payment;
pub mod user;

/// A new UUIDv7: unique, and sortable by creation time.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// One event as it travels the bus: `{ id, type, source, seq, occurredAt, payload }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Unique per event; handlers with outside effects use it to stay idempotent.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The publishing service.
    pub source: String,
    /// Position in the source's outbox; delivery follows it.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub payload: serde_json::Value,
}

impl Envelope {
    /// The payload as the type its event type promises.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.payload)
    }
}
