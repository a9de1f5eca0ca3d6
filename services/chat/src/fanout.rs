//! Fan-out of stored messages in seq order, without making a room's sends take turns.
//!
//! Concurrent sends to one room share a write transaction and its durable commit (the store
//! batches concurrent writers), so they come back from the store together and in any order.
//! Sockets must still get a room's messages in seq order. So the send transaction takes a
//! [`Ticket`] for its room as its last step: the store runs write operations one at a time, so
//! tickets are taken in the order seqs are assigned. Once the commit is durable the ticket is
//! [`Ticket::deliver`]ed; a ticket dropped instead (the commit failed, or the operation
//! panicked) delivers nothing. A ticket's frame goes out when every earlier ticket of its room
//! has been delivered or dropped, by whichever send settles the last of them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::api::ServerFrame;
use crate::hub::{ConnectionId, Hub};

/// The tickets of every room with sends in flight.
pub struct Fanout {
    hub: Arc<Hub>,
    rooms: Mutex<HashMap<String, Queue>>,
}

/// One room's tickets: handed out up to `next`, settled in `settled` until their turn.
#[derive(Default)]
struct Queue {
    next: u64,
    /// The oldest ticket not yet delivered or dropped.
    turn: u64,
    settled: BTreeMap<u64, Option<Delivery>>,
}

/// What a settled ticket sends.
pub struct Delivery {
    pub users: [String; 2],
    pub skip: Option<ConnectionId>,
    pub frame: ServerFrame,
}

/// A send's place in its room's order. Dropping it gives the place up.
pub struct Ticket {
    fanout: Arc<Fanout>,
    room_id: String,
    number: u64,
    settled: bool,
}

impl Fanout {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self {
            hub,
            rooms: Mutex::default(),
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, Queue>> {
        self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next place in `room_id`'s order. Take it inside the write operation that assigns the
    /// seq, after everything in it that can fail.
    pub fn ticket(self: &Arc<Self>, room_id: &str) -> Ticket {
        let mut rooms = self.rooms();
        let queue = rooms.entry(room_id.to_owned()).or_default();
        let number = queue.next;
        queue.next += 1;
        Ticket {
            fanout: self.clone(),
            room_id: room_id.to_owned(),
            number,
            settled: false,
        }
    }

    /// Settles ticket `number` of `room_id`, then sends every settled delivery whose turn it is.
    /// The hub never waits, so sending under the lock is cheap.
    fn settle(&self, room_id: &str, number: u64, delivery: Option<Delivery>) {
        let mut rooms = self.rooms();
        let Some(queue) = rooms.get_mut(room_id) else {
            return;
        };
        queue.settled.insert(number, delivery);
        while let Some(delivery) = queue.settled.remove(&queue.turn) {
            queue.turn += 1;
            if let Some(Delivery { users, skip, frame }) = delivery {
                self.hub.deliver(&[users[0].as_str(), users[1].as_str()], skip, &frame);
            }
        }
        if queue.turn == queue.next {
            rooms.remove(room_id);
        }
    }

    #[cfg(test)]
    fn rooms_in_flight(&self) -> usize {
        self.rooms().len()
    }
}

impl Ticket {
    /// Sends `delivery` in its turn: call once the message is durably stored.
    pub fn deliver(mut self, delivery: Delivery) {
        self.settled = true;
        self.fanout.settle(&self.room_id, self.number, Some(delivery));
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.settled {
            self.fanout.settle(&self.room_id, self.number, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(seq: u64) -> Delivery {
        Delivery {
            users: ["a".to_owned(), "b".to_owned()],
            skip: None,
            frame: ServerFrame::Read {
                room_id: "r".to_owned(),
                user_id: "a".to_owned(),
                seq,
            },
        }
    }

    #[tokio::test]
    async fn deliveries_wait_for_earlier_tickets_and_dropped_ones_are_skipped() {
        let hub = Arc::new(Hub::new(16));
        let mut socket = hub.join("b");
        let fanout = Arc::new(Fanout::new(hub));
        let [first, second, third, fourth] = [(); 4].map(|()| fanout.ticket("r"));
        let other_room = fanout.ticket("other");

        third.deliver(delivery(3));
        fourth.deliver(delivery(4));
        assert!(socket.frames.try_recv().is_err(), "3 and 4 wait for 1 and 2");
        drop(second);
        assert!(socket.frames.try_recv().is_err(), "still waiting for 1");
        first.deliver(delivery(1));
        for seq in [1, 3, 4] {
            let frame = socket.frames.try_recv().expect("delivered in order");
            assert!(frame.contains(&format!(r#""seq":{seq}"#)), "{frame}");
        }
        assert!(socket.frames.try_recv().is_err());
        assert_eq!(fanout.rooms_in_flight(), 1, "only the other room has a send in flight");
        drop(other_room);
        assert_eq!(fanout.rooms_in_flight(), 0);
    }
}
