//! The chat service's use cases on messages, the same for REST and the socket: send (rate
//! limited per user, idempotent by `clientMsgId`), read the history, mark messages read. Each
//! change reaches the participants' open sockets once it is durably stored.
//!
//! Concurrent sends, to one room or many, share the store's write transaction and durable
//! commit; [`Fanout`] gets a room's messages to the sockets in seq order all the same.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use onetime_common::events::new_id;
use onetime_common::paging::Page;
use onetime_storage::{StorageError, Store, WriteTx};
use time::OffsetDateTime;

use crate::api::{HistoryRequest, MessageView, Outgoing, ServerFrame};
use crate::config::ChatConfig;
use crate::domain::{Message, ReadMark, Room};
use crate::fanout::{Delivery, Fanout};
use crate::hub::{ConnectionId, Hub};
use crate::{ChatError, events, store};

pub struct Messages {
    store: Store,
    hub: Arc<Hub>,
    fanout: Arc<Fanout>,
    limiter: SendLimiter,
}

/// A send's outcome: the message, and whether this send stored it (false for a resent
/// `clientMsgId`: the first message, nothing new stored or delivered).
pub struct Sent {
    pub message: Message,
    pub created: bool,
}

impl Messages {
    pub fn new(store: Store, hub: Arc<Hub>, config: &ChatConfig) -> Self {
        Self {
            store,
            fanout: Arc::new(Fanout::new(hub.clone())),
            hub,
            limiter: SendLimiter::new(config.send_per_second, config.send_burst),
        }
    }

    /// Stores `outgoing` as `sender_id`'s next message in `room_id`, then queues it for every
    /// socket of both participants but `origin` (the sending socket, which gets an `ack`).
    pub async fn send(
        self: &Arc<Self>,
        sender_id: &str,
        room_id: &str,
        outgoing: Outgoing,
        origin: Option<ConnectionId>,
    ) -> Result<Sent, ChatError> {
        self.limiter.check(sender_id)?;
        let (this, sender, room) = (self.clone(), sender_id.to_owned(), room_id.to_owned());
        // A task of its own: a client hanging up mid-request must not stop the fan-out of a
        // message that is stored already.
        tokio::spawn(async move { this.store_and_deliver(sender, room, outgoing, origin).await })
            .await
            .unwrap_or_else(|join| Err(StorageError::Join(join.to_string()).into()))
    }

    async fn store_and_deliver(
        &self,
        sender_id: String,
        room_id: String,
        outgoing: Outgoing,
        origin: Option<ConnectionId>,
    ) -> Result<Sent, ChatError> {
        let fanout = self.fanout.clone();
        let (room, sent, ticket) = self
            .store
            .write(move |tx| {
                // Taken here, where write operations run one at a time, so that times follow seqs.
                let now = OffsetDateTime::now_utc();
                let (room, sent) = append(tx, &sender_id, &room_id, outgoing, now)?;
                // The last step: nothing after it can fail (see `fanout`).
                let ticket = sent.created.then(|| fanout.ticket(&room.id));
                Ok::<_, ChatError>((room, sent, ticket))
            })
            .await?;
        if let Some(ticket) = ticket {
            ticket.deliver(Delivery {
                users: room.participant_ids().map(str::to_owned),
                skip: origin,
                frame: ServerFrame::Message {
                    message: MessageView::from(sent.message.clone()),
                },
            });
        }
        Ok(sent)
    }

    /// A page of messages of `room_id` before `request.before`, newest first.
    pub async fn history(
        &self,
        user_id: &str,
        room_id: &str,
        request: HistoryRequest,
    ) -> Result<Page<Message>, ChatError> {
        let (user, room_id) = (user_id.to_owned(), room_id.to_owned());
        self.store
            .read(move |tx| {
                store::room(tx, &room_id)?
                    .filter(|room| room.has(&user))
                    .ok_or(ChatError::RoomNotFound)?;
                let messages = store::messages_before(tx, &room_id, request.before, request.page.fetch())?;
                // The cursor is the seq of the oldest message served: the next page goes below it.
                let rows = messages.into_iter().map(|m| (m.seq.to_string(), m)).collect();
                Ok(request.page.page(rows, |(seq, _)| seq).map(|(_, m)| m))
            })
            .await
    }

    /// Moves `user_id`'s read mark in `room_id` to `mark` and tells the other participant and
    /// the reader's other sockets. A mark at or behind the current one changes nothing.
    pub async fn mark_read(
        &self,
        user_id: &str,
        room_id: &str,
        mark: ReadMark,
        origin: Option<ConnectionId>,
    ) -> Result<(), ChatError> {
        let (user, room_id) = (user_id.to_owned(), room_id.to_owned());
        let moved = self
            .store
            .write(move |tx| move_read_mark(tx, &user, &room_id, mark))
            .await?;
        if let Some(room) = moved {
            let frame = ServerFrame::Read {
                room_id: room.id.clone(),
                user_id: user_id.to_owned(),
                seq: mark.0,
            };
            self.hub.deliver(&room.participant_ids(), origin, &frame);
        }
        Ok(())
    }

    /// Forgets the rate-limit state of users who have not sent for a while (their buckets are
    /// full again, so this changes nothing but memory).
    pub fn forget_idle_senders(&self) {
        self.limiter.senders.retain_recent();
    }
}

/// The send transaction: the room's next seq, unless `sender_id` sent this `clientMsgId` here
/// before; the room's activity, the recipient's unread count and `chat.message` with it.
fn append(
    tx: &WriteTx,
    sender_id: &str,
    room_id: &str,
    outgoing: Outgoing,
    now: OffsetDateTime,
) -> Result<(Room, Sent), ChatError> {
    let mut room = store::room(tx, room_id)?
        .filter(|room| room.has(sender_id))
        .ok_or(ChatError::RoomNotFound)?;
    let client_msg_id = outgoing.client_msg_id.as_str();
    if let Some(first) = store::message_by_client_id(tx, room_id, sender_id, client_msg_id)? {
        return Ok((
            room,
            Sent {
                message: first,
                created: false,
            },
        ));
    }
    let message = Message {
        id: new_id().to_string(),
        room_id: room.id.clone(),
        seq: room.last_seq + 1,
        sender_id: sender_id.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        text: outgoing.text.into_inner(),
        created_at: now,
    };
    store::insert_message(tx, &message)?;
    let previous = room.activity;
    room.append(&message, store::next_activity(tx)?);
    store::save_room(tx, &room, Some(previous))?;
    events::message_stored(tx, &room, &message)?;
    Ok((room, Sent { message, created: true }))
}

/// The read transaction: `Some(room)` when the mark moved.
fn move_read_mark(tx: &WriteTx, user_id: &str, room_id: &str, mark: ReadMark) -> Result<Option<Room>, ChatError> {
    let mut room = store::room(tx, room_id)?
        .filter(|room| room.has(user_id))
        .ok_or(ChatError::RoomNotFound)?;
    if mark.0 > room.last_seq {
        return Err(ChatError::invalid(
            "seq",
            format!("must not be past the newest message (seq {})", room.last_seq),
        ));
    }
    let unread = store::unread_between(tx, room_id, user_id, mark.0, room.last_seq)?;
    if !room.mark_read(user_id, mark, unread) {
        return Ok(None);
    }
    store::save_room(tx, &room, Some(room.activity))?;
    Ok(Some(room))
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Sends per user and second, REST and socket together (a token bucket per user).
struct SendLimiter {
    senders: Keyed,
    per_second: u32,
}

impl SendLimiter {
    fn new(per_second: u32, burst: u32) -> Self {
        // Zero values were refused when the configuration was checked; clamp anyway.
        let quota = Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            senders: RateLimiter::keyed(quota),
            per_second,
        }
    }

    fn check(&self, user_id: &str) -> Result<(), ChatError> {
        self.senders
            .check_key(&user_id.to_owned())
            .map_err(|not_until| ChatError::RateLimited {
                per_second: self.per_second,
                retry_after: not_until.wait_time_from(self.senders.clock().now()),
            })
    }
}
