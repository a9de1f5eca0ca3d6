//! `chat.redb`: rooms, messages and the indexes that find them. Every function here runs inside
//! the caller's transaction.
//!
//! Messages are keyed by (room, seq), so a room's history is one range read. A room is found by
//! its pair (job, worker) through `rooms.by_pair`, written in the transaction that creates the
//! room: redb runs one write transaction at a time, so two opens of the same pair cannot both
//! create one. Each participant's rooms are indexed by the room's activity, newest last.

use onetime_storage::{Direction, Index, Key, Readable, StorageError, StoreSpec, Table, WriteTx};

use crate::domain::{Message, Pair, Room};

pub const SPEC: StoreSpec = StoreSpec {
    name: "chat",
    schema_version: 1,
    migrations: &[],
};

const ROOMS: Table<String, Room> = Table::new("rooms");
/// [`Pair::key`] → room id.
const BY_PAIR: Table<String, String> = Table::new("rooms.by_pair");
/// Participant → [`activity_key`] of each of their rooms.
const BY_ACTIVITY: Index<String, String> = Index::new("rooms.by_activity");
const MESSAGES: Table<MessageKey, Message> = Table::new("messages");
/// `room/sender/clientMsgId` → seq: what makes resends idempotent.
const BY_CLIENT_ID: Table<String, u64> = Table::new("messages.by_client_id");
/// The last activity number handed out (see [`Room::activity`]).
const ACTIVITY: Table<String, u64> = Table::new("rooms.activity");
const ACTIVITY_KEY: &str = "last";

/// A message's place: its room, then its seq. The room id is followed by a zero byte, which no
/// id contains, so one room's messages sit together and in seq order whatever the ids' lengths.
struct MessageKey {
    room_id: String,
    seq: u64,
}

impl Key for MessageKey {
    fn encode(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.room_id.len() + 9);
        key.extend_from_slice(self.room_id.as_bytes());
        key.push(0);
        key.extend_from_slice(&self.seq.to_be_bytes());
        key
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let split = bytes
            .len()
            .checked_sub(9)
            .filter(|&at| bytes[at] == 0)
            .ok_or_else(|| "a message key is a room id, a zero byte and a seq".to_owned())?;
        Ok(Self {
            room_id: String::decode(&bytes[..split])?,
            seq: u64::decode(&bytes[split + 1..])?,
        })
    }
}

fn message_key(room_id: &str, seq: u64) -> MessageKey {
    MessageKey {
        room_id: room_id.to_owned(),
        seq,
    }
}

/// A room's entry in its participants' activity index: zero-padded so that text order is
/// number order, then the room id.
pub fn activity_key(room: &Room) -> String {
    format!("{:020}/{}", room.activity, room.id)
}

fn room_of_activity_key(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, room_id)| room_id)
}

fn client_id_key(room_id: &str, sender_id: &str, client_msg_id: &str) -> String {
    format!("{room_id}/{sender_id}/{client_msg_id}")
}

/// The next activity number: higher than every one before.
pub fn next_activity(tx: &WriteTx) -> Result<u64, StorageError> {
    let next = ACTIVITY.get(tx, &ACTIVITY_KEY.to_owned())?.unwrap_or(0) + 1;
    ACTIVITY.insert(tx, &ACTIVITY_KEY.to_owned(), &next)?;
    Ok(next)
}

pub fn room(tx: &impl Readable, id: &str) -> Result<Option<Room>, StorageError> {
    ROOMS.get(tx, &id.to_owned())
}

pub fn room_of_pair(tx: &impl Readable, pair: &Pair) -> Result<Option<Room>, StorageError> {
    match BY_PAIR.get(tx, &pair.key())? {
        Some(id) => room(tx, &id),
        None => Ok(None),
    }
}

/// Stores a new room for its pair, which must have none yet.
pub fn insert_room(tx: &WriteTx, pair: &Pair, room: &Room) -> Result<(), StorageError> {
    BY_PAIR.insert(tx, &pair.key(), &room.id)?;
    save_room(tx, room, None)
}

/// Saves `room`; `previous_activity` is its activity as stored before (`None` for a new room),
/// so its participants' index entries move with it.
pub fn save_room(tx: &WriteTx, room: &Room, previous_activity: Option<u64>) -> Result<(), StorageError> {
    let key = activity_key(room);
    for user_id in room.participant_ids() {
        let user_id = user_id.to_owned();
        if let Some(previous) = previous_activity.filter(|&a| a != room.activity) {
            let old = Room {
                activity: previous,
                ..room.clone()
            };
            BY_ACTIVITY.remove(tx, &user_id, &activity_key(&old))?;
        }
        BY_ACTIVITY.insert(tx, &user_id, &key)?;
    }
    ROOMS.insert(tx, &room.id, room).map(drop)
}

/// Up to `limit` of `user_id`'s rooms, most recent activity first, after the one with activity
/// key `after`; each with its activity key (the paging cursor).
pub fn rooms_of(
    tx: &impl Readable,
    user_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Room)>, StorageError> {
    let keys = BY_ACTIVITY.lookup(
        tx,
        &user_id.to_owned(),
        after.map(str::to_owned).as_ref(),
        Direction::Reverse,
        limit,
    )?;
    let mut rooms = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(room) = room(tx, room_of_activity_key(&key))? {
            rooms.push((key, room));
        }
    }
    Ok(rooms)
}

/// The message `sender_id` sent in `room_id` with `client_msg_id`, if any.
pub fn message_by_client_id(
    tx: &impl Readable,
    room_id: &str,
    sender_id: &str,
    client_msg_id: &str,
) -> Result<Option<Message>, StorageError> {
    match BY_CLIENT_ID.get(tx, &client_id_key(room_id, sender_id, client_msg_id))? {
        Some(seq) => MESSAGES.get(tx, &message_key(room_id, seq)),
        None => Ok(None),
    }
}

/// Stores `message`; its seq must be the room's next.
pub fn insert_message(tx: &WriteTx, message: &Message) -> Result<(), StorageError> {
    let by_client = client_id_key(&message.room_id, &message.sender_id, &message.client_msg_id);
    BY_CLIENT_ID.insert(tx, &by_client, &message.seq)?;
    MESSAGES
        .insert(tx, &message_key(&message.room_id, message.seq), message)
        .map(drop)
}

/// Up to `limit` messages of `room_id` with a seq below `before`, newest first.
pub fn messages_before(
    tx: &impl Readable,
    room_id: &str,
    before: u64,
    limit: usize,
) -> Result<Vec<Message>, StorageError> {
    let range = message_key(room_id, 0)..message_key(room_id, before);
    let rows = MESSAGES.range(tx, range, Direction::Reverse, limit)?;
    Ok(rows.into_iter().map(|(_, message)| message).collect())
}

/// How many messages of `room_id` with a seq in `after + 1 ..= up_to` someone other than
/// `reader_id` sent: what `reader_id` has left unread with a read mark at `after`.
pub fn unread_between(
    tx: &impl Readable,
    room_id: &str,
    reader_id: &str,
    after: u64,
    up_to: u64,
) -> Result<u64, StorageError> {
    let range = message_key(room_id, after.saturating_add(1))..=message_key(room_id, up_to);
    let rows = MESSAGES.range(tx, range, Direction::Forward, usize::MAX)?;
    Ok(rows.iter().filter(|(_, m)| m.sender_id != reader_id).count() as u64)
}

#[cfg(test)]
mod tests {
    use onetime_storage::Store;
    use time::OffsetDateTime;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &SPEC).unwrap();
        (dir, store)
    }

    fn message(room: &Room, seq: u64, sender: &str) -> Message {
        Message {
            id: format!("m{seq}"),
            room_id: room.id.clone(),
            seq,
            sender_id: sender.to_owned(),
            text: format!("message {seq}"),
            client_msg_id: format!("c{seq}"),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn message_keys_keep_rooms_apart_and_seqs_in_order() {
        let (_dir, store) = store();
        let pair = Pair::on_job("job", "boss", "boss", "worker").unwrap();
        let rooms = ["a", "ab"].map(|id| Room::new(id.to_owned(), &pair, 1, OffsetDateTime::UNIX_EPOCH));
        store
            .write_blocking(|tx| {
                for room in &rooms {
                    for seq in 1..=300 {
                        insert_message(tx, &message(room, seq, "boss"))?;
                    }
                }
                Ok::<_, StorageError>(())
            })
            .unwrap();
        store
            .read_blocking(|tx| {
                let page = messages_before(tx, "a", 258, 3)?;
                assert_eq!(
                    page.iter().map(|m| (m.room_id.as_str(), m.seq)).collect::<Vec<_>>(),
                    [("a", 257), ("a", 256), ("a", 255)]
                );
                assert_eq!(messages_before(tx, "ab", u64::MAX, 1000)?.len(), 300);
                assert_eq!(messages_before(tx, "a", 1, 10)?, []);
                assert_eq!(unread_between(tx, "a", "worker", 290, 300)?, 10);
                assert_eq!(unread_between(tx, "a", "boss", 0, 300)?, 0);
                let found = message_by_client_id(tx, "ab", "boss", "c7")?.unwrap();
                assert_eq!((found.room_id.as_str(), found.seq), ("ab", 7));
                assert_eq!(message_by_client_id(tx, "ab", "worker", "c7")?, None);
                Ok::<_, StorageError>(())
            })
            .unwrap();
        let key = message_key("room", 42);
        let decoded = MessageKey::decode(&key.encode()).unwrap();
        assert_eq!((decoded.room_id.as_str(), decoded.seq), ("room", 42));
    }

    #[test]
    fn rooms_list_by_latest_activity_and_move_when_active() {
        let (_dir, store) = store();
        let rooms: Vec<Room> = store
            .write_blocking(|tx| {
                let mut rooms = Vec::new();
                for worker in ["w1", "w2", "w3"] {
                    let pair = Pair::on_job("job", "boss", "boss", worker).unwrap();
                    let room = Room::new(
                        format!("room-{worker}"),
                        &pair,
                        next_activity(tx)?,
                        OffsetDateTime::UNIX_EPOCH,
                    );
                    insert_room(tx, &pair, &room)?;
                    rooms.push(room);
                }
                Ok::<_, StorageError>(rooms)
            })
            .unwrap();
        let ids = |rows: Vec<(String, Room)>| rows.into_iter().map(|(_, r)| r.id).collect::<Vec<_>>();
        let listed = store.read_blocking(|tx| rooms_of(tx, "boss", None, 10)).unwrap();
        assert_eq!(ids(listed), ["room-w3", "room-w2", "room-w1"]);

        store
            .write_blocking(|tx| {
                let mut room = rooms[0].clone();
                let previous = room.activity;
                room.append(&message(&room, 1, "w1"), next_activity(tx)?);
                save_room(tx, &room, Some(previous))
            })
            .unwrap();
        let listed = store.read_blocking(|tx| rooms_of(tx, "boss", None, 2)).unwrap();
        let cursor = listed[1].0.clone();
        assert_eq!(ids(listed), ["room-w1", "room-w3"]);
        let rest = store
            .read_blocking(|tx| rooms_of(tx, "boss", Some(&cursor), 2))
            .unwrap();
        assert_eq!(ids(rest), ["room-w2"]);
        let own = store.read_blocking(|tx| rooms_of(tx, "w1", None, 10)).unwrap();
        assert_eq!(ids(own), ["room-w1"], "the worker sees only its own room, once");

        let pair = Pair::on_job("job", "boss", "w2", "boss").unwrap();
        let found = store.read_blocking(|tx| room_of_pair(tx, &pair)).unwrap().unwrap();
        assert_eq!(found.id, "room-w2");
    }
}
