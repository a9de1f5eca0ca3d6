//! `notifications.redb`: notifications with their per-user and unread indexes, the unread
//! counts, preferences, push devices, and the delivery queues of SMS and push. Every function
//! here runs inside the caller's transaction.
//!
//! A delivery is one row per (notification, channel), keyed by when it is due
//! (`onetime_common::due`), so a sender finds due work with one range read; quiet hours are
//! simply a later due time.

use onetime_common::due::{due_bound, due_key, due_of};
use onetime_storage::{Direction, Index, Readable, StorageError, StoreSpec, Table, WriteTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{Channel, Notification, Preferences};

pub const SPEC: StoreSpec = StoreSpec {
    name: "notifications",
    schema_version: 1,
    migrations: &[],
};

const NOTIFICATIONS: Table<String, Notification> = Table::new("notifications");
const BY_USER: Index<String, String> = Index::new("notifications.by_user");
const UNREAD: Index<String, String> = Index::new("notifications.unread");
const UNREAD_COUNT: Table<String, u64> = Table::new("notifications.unread_count");
/// Event id → the notifications it made, so that what a committed batch created can be sent to
/// open sockets.
const BY_EVENT: Index<String, String> = Index::new("notifications.by_event");
const PREFERENCES: Table<String, Preferences> = Table::new("preferences");
const DEVICES: Table<String, Device> = Table::new("devices");
const DEVICES_BY_USER: Index<String, String> = Index::new("devices.by_user");
const SMS_QUEUE: Table<String, Delivery> = Table::new("delivery.sms");
const PUSH_QUEUE: Table<String, Delivery> = Table::new("delivery.push");

/// A phone, tablet or browser that receives push messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub token: String,
    pub user_id: String,
    pub platform: String,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

/// One notification still to go out on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub notification_id: String,
    pub user_id: String,
    /// The address as it was when the notification was made (SMS: the E.164 number).
    pub to: Option<String>,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
    pub last_error: Option<String>,
    /// Push: the devices that have it already, so that a retry does not send it to them again.
    #[serde(default)]
    pub done: Vec<String>,
}

fn queue(channel: Channel) -> Result<Table<String, Delivery>, StorageError> {
    match channel {
        Channel::Sms => Ok(SMS_QUEUE),
        Channel::Push => Ok(PUSH_QUEUE),
        other => Err(StorageError::Decode {
            table: "delivery".to_owned(),
            reason: format!("the {} channel has no delivery queue", other.as_str()),
        }),
    }
}

/// Stores a new notification, unread; `event` is the id of the event that made it.
pub fn insert(tx: &WriteTx, notification: &Notification, event: Option<&str>) -> Result<(), StorageError> {
    NOTIFICATIONS.insert(tx, &notification.id, notification)?;
    BY_USER.insert(tx, &notification.user_id, &notification.id)?;
    UNREAD.insert(tx, &notification.user_id, &notification.id)?;
    let count = unread_count(tx, &notification.user_id)?;
    UNREAD_COUNT.insert(tx, &notification.user_id, &(count + 1))?;
    if let Some(event) = event {
        BY_EVENT.insert(tx, &event.to_owned(), &notification.id)?;
    }
    Ok(())
}

pub fn notification(tx: &impl Readable, id: &str) -> Result<Option<Notification>, StorageError> {
    NOTIFICATIONS.get(tx, &id.to_owned())
}

/// The notifications the event `event` made.
pub fn made_by(tx: &impl Readable, event: &str) -> Result<Vec<Notification>, StorageError> {
    let ids = BY_EVENT.lookup(tx, &event.to_owned(), None, Direction::Forward, usize::MAX)?;
    NOTIFICATIONS.get_many(tx, ids)
}

/// Up to `limit` of `user`'s notifications (or unread ones), newest first, after `after`.
pub fn list(
    tx: &impl Readable,
    user: &str,
    unread_only: bool,
    after: Option<&String>,
    limit: usize,
) -> Result<Vec<Notification>, StorageError> {
    let index = if unread_only { UNREAD } else { BY_USER };
    let ids = index.lookup(tx, &user.to_owned(), after, Direction::Reverse, limit)?;
    NOTIFICATIONS.get_many(tx, ids)
}

pub fn unread_count(tx: &impl Readable, user: &str) -> Result<u64, StorageError> {
    Ok(UNREAD_COUNT.get(tx, &user.to_owned())?.unwrap_or(0))
}

/// Marks `notification` read (if it is not yet); returns it as it now is.
pub fn mark_read(
    tx: &WriteTx,
    mut notification: Notification,
    now: OffsetDateTime,
) -> Result<Notification, StorageError> {
    if notification.read_at.is_none() {
        notification.read_at = Some(now);
        NOTIFICATIONS.insert(tx, &notification.id, &notification)?;
        UNREAD.remove(tx, &notification.user_id, &notification.id)?;
        let count = unread_count(tx, &notification.user_id)?;
        UNREAD_COUNT.insert(tx, &notification.user_id, &count.saturating_sub(1))?;
    }
    Ok(notification)
}

/// Marks every unread notification of `user` read; returns how many were.
pub fn mark_all_read(tx: &WriteTx, user: &str, now: OffsetDateTime) -> Result<usize, StorageError> {
    let ids = UNREAD.lookup(tx, &user.to_owned(), None, Direction::Forward, usize::MAX)?;
    for notification in NOTIFICATIONS.get_many(tx, ids.clone())? {
        mark_read(tx, notification, now)?;
    }
    Ok(ids.len())
}

pub fn preferences(tx: &impl Readable, user: &str) -> Result<Preferences, StorageError> {
    Ok(PREFERENCES.get(tx, &user.to_owned())?.unwrap_or_default())
}

pub fn save_preferences(tx: &WriteTx, user: &str, preferences: &Preferences) -> Result<(), StorageError> {
    PREFERENCES.insert(tx, &user.to_owned(), preferences).map(drop)
}

/// Registers `device`; false when its token was registered to the same user already. A token
/// registered to someone else moves to this user: the app on that device logged in anew.
pub fn register_device(tx: &WriteTx, device: &Device) -> Result<bool, StorageError> {
    if let Some(known) = DEVICES.get(tx, &device.token)? {
        if known.user_id == device.user_id && known.platform == device.platform {
            return Ok(false);
        }
        DEVICES_BY_USER.remove(tx, &known.user_id, &known.token)?;
    }
    DEVICES.insert(tx, &device.token, device)?;
    DEVICES_BY_USER.insert(tx, &device.user_id, &device.token)?;
    Ok(true)
}

/// Removes the device with `token` if `user` is given and owns it, or whoever owns it when
/// `user` is `None` (FCM said the token is dead); true when one went.
pub fn remove_device(tx: &WriteTx, token: &str, user: Option<&str>) -> Result<bool, StorageError> {
    let token = token.to_owned();
    match DEVICES.get(tx, &token)? {
        Some(device) if user.is_none_or(|user| user == device.user_id) => {
            DEVICES.remove(tx, &token)?;
            DEVICES_BY_USER.remove(tx, &device.user_id, &token)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub fn devices_of(tx: &impl Readable, user: &str) -> Result<Vec<Device>, StorageError> {
    let tokens = DEVICES_BY_USER.lookup(tx, &user.to_owned(), None, Direction::Forward, usize::MAX)?;
    DEVICES.get_many(tx, tokens)
}

/// Queues `delivery` on `channel`, due at `due`.
pub fn enqueue(tx: &WriteTx, channel: Channel, due: OffsetDateTime, delivery: &Delivery) -> Result<(), StorageError> {
    queue(channel)?
        .insert(tx, &due_key(due, &delivery.notification_id), delivery)
        .map(drop)
}

/// Up to `limit` deliveries of `channel` due at `now`, earliest first, with their keys.
pub fn due(
    tx: &impl Readable,
    channel: Channel,
    now: OffsetDateTime,
    limit: usize,
) -> Result<Vec<(String, Delivery)>, StorageError> {
    queue(channel)?.range(tx, ..due_bound(now), Direction::Forward, limit)
}

/// How many deliveries `channel` holds, and when the earliest is due.
pub fn backlog(tx: &impl Readable, channel: Channel) -> Result<(u64, Option<OffsetDateTime>), StorageError> {
    let table = queue(channel)?;
    let first = table.range(tx, .., Direction::Forward, 1)?;
    Ok((table.len(tx)?, first.first().and_then(|(key, _)| due_of(key))))
}

/// Replaces the delivery under `key` by `next` due at `due`, or removes it when `next` is `None`.
pub fn settle(
    tx: &WriteTx,
    channel: Channel,
    key: &str,
    next: Option<(OffsetDateTime, &Delivery)>,
) -> Result<(), StorageError> {
    let table = queue(channel)?;
    table.remove(tx, &key.to_owned())?;
    if let Some((due, delivery)) = next {
        table.insert(tx, &due_key(due, &delivery.notification_id), delivery)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use onetime_storage::Store;

    use super::*;
    use crate::domain::Kind;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &SPEC).unwrap();
        (dir, store)
    }

    fn note(id: &str, user: &str) -> Notification {
        Notification {
            id: id.to_owned(),
            user_id: user.to_owned(),
            kind: Kind::Announcement,
            title: "제목".to_owned(),
            body: "내용".to_owned(),
            data: BTreeMap::new(),
            read_at: None,
            created_at: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn unread_counts_follow_inserts_and_reads() {
        let (_dir, store) = store();
        let now = OffsetDateTime::now_utc();
        store
            .write_blocking(|tx| {
                for id in ["n1", "n2", "n3"] {
                    insert(tx, &note(id, "u1"), Some("e1"))?;
                }
                insert(tx, &note("n4", "u2"), None)
            })
            .unwrap();
        let count = |user: &str| store.read_blocking(|tx| unread_count(tx, user)).unwrap();
        assert_eq!((count("u1"), count("u2")), (3, 1));
        assert_eq!(store.read_blocking(|tx| made_by(tx, "e1")).unwrap().len(), 3);

        store
            .write_blocking(|tx| {
                let n2 = notification(tx, "n2")?.unwrap();
                let read = mark_read(tx, n2, now)?;
                mark_read(tx, read, now).map(drop)
            })
            .unwrap();
        assert_eq!(count("u1"), 2, "reading twice counts once");
        let unread = store.read_blocking(|tx| list(tx, "u1", true, None, 10)).unwrap();
        let ids: Vec<_> = unread.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["n3", "n1"], "newest first");

        assert_eq!(store.write_blocking(|tx| mark_all_read(tx, "u1", now)).unwrap(), 2);
        assert_eq!((count("u1"), count("u2")), (0, 1));
        let all = store
            .read_blocking(|tx| list(tx, "u1", false, Some(&"n3".to_owned()), 10))
            .unwrap();
        assert_eq!(all.len(), 2, "paged after n3");
    }

    #[test]
    fn preferences_keep_only_what_changed() {
        use crate::domain::{PreferenceChanges, QuietHours, SwitchChanges};

        let (_dir, store) = store();
        let mut changed = store.read_blocking(|tx| preferences(tx, "u1")).unwrap();
        assert_eq!(changed, Preferences::default());
        let mut changes = PreferenceChanges::default();
        changes.kinds.insert(
            Kind::ChatMessage,
            SwitchChanges {
                push: Some(false),
                ..Default::default()
            },
        );
        changes.quiet_hours = Some(Some(QuietHours::parse("22:00", "08:00").unwrap()));
        changed.apply(changes);
        store.write_blocking(|tx| save_preferences(tx, "u1", &changed)).unwrap();
        let stored = store.read_blocking(|tx| preferences(tx, "u1")).unwrap();
        assert_eq!(stored, changed);
        assert!(!stored.switches(Kind::ChatMessage).push);
    }

    #[test]
    fn devices_belong_to_one_user_at_a_time() {
        let (_dir, store) = store();
        let device = |user: &str| Device {
            token: "t1".to_owned(),
            user_id: user.to_owned(),
            platform: "android".to_owned(),
            registered_at: OffsetDateTime::now_utc(),
        };
        assert!(store.write_blocking(|tx| register_device(tx, &device("u1"))).unwrap());
        assert!(!store.write_blocking(|tx| register_device(tx, &device("u1"))).unwrap());
        assert!(store.write_blocking(|tx| register_device(tx, &device("u2"))).unwrap());
        assert!(store.read_blocking(|tx| devices_of(tx, "u1")).unwrap().is_empty());
        assert!(!store.write_blocking(|tx| remove_device(tx, "t1", Some("u1"))).unwrap());
        assert!(store.write_blocking(|tx| remove_device(tx, "t1", None)).unwrap());
        assert!(store.read_blocking(|tx| devices_of(tx, "u2")).unwrap().is_empty());
    }
}
