//! Making a notification and sending it on its way, the same for every kind.
//!
//! [`Dispatch::record`] runs in the write transaction that decides to notify (an event's, or an
//! announcement's): it stores the notification and, by the recipient's preferences, queues its
//! mail and one delivery per outside channel, so a notification and its deliveries are committed
//! together or not at all. Quiet hours make SMS and push due when they end.
//!
//! [`Outlets::committed`] runs once that transaction is durable: only then do open sockets hear
//! of the notification, and the senders wake.

use std::sync::Arc;

use onetime_common::directory::{Clients, UserContact};
use onetime_common::events::new_id;
use onetime_common::mail::{Links, MailQueue};
use onetime_storage::{Readable, StorageError, WriteTx};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::NotificationError;
use crate::channels::email::letter;
use crate::domain::{Channel, Draft, Notification};
use crate::socket::Hub;
use crate::store::{self, Delivery};

/// Records notifications and queues their deliveries.
pub struct Dispatch {
    clients: Arc<Clients>,
    mail: MailQueue,
    links: Links,
    /// False when no push provider is configured: nothing is queued for push then.
    push_enabled: bool,
}

/// Which channels a notification may use, before the recipient's preferences have their say.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// Every channel (events).
    All,
    /// Only these (an administrator's announcement).
    Only(&'a [Channel]),
}

impl Offer<'_> {
    fn includes(&self, channel: Channel) -> bool {
        match self {
            Offer::All => true,
            Offer::Only(channels) => channels.contains(&channel),
        }
    }
}

impl Dispatch {
    pub fn new(clients: Arc<Clients>, mail: MailQueue, links: Links, push_enabled: bool) -> Self {
        Self {
            clients,
            mail,
            links,
            push_enabled,
        }
    }

    /// The account with `id`, as the user service knows it.
    pub fn contact(&self, id: &str) -> Result<Option<UserContact>, NotificationError> {
        Ok(self.clients.users()?.contact(id)?)
    }

    /// Whether `user` has a chat socket open (then a chat message needs no notification).
    pub fn is_chatting(&self, user: &str) -> bool {
        // Without a chat service there are no chat messages to notify of either.
        self.clients
            .chat_presence()
            .is_ok_and(|presence| presence.is_online(user))
    }

    /// Stores `draft` for `to` and queues what its preferences and `offer` allow; `event` is
    /// the id of the event it comes from.
    pub fn record(
        &self,
        tx: &WriteTx,
        draft: &Draft,
        to: &UserContact,
        offer: Offer,
        event: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Notification, NotificationError> {
        let notification = Notification {
            id: new_id().to_string(),
            user_id: to.id.clone(),
            kind: draft.kind,
            title: draft.title.clone(),
            body: draft.body.clone(),
            data: draft.data.clone(),
            read_at: None,
            created_at: now,
        };
        store::insert(tx, &notification, event)?;
        metrics::counter!("onetime_notifications_created_total", "kind" => draft.kind.as_str()).increment(1);

        let preferences = store::preferences(tx, &to.id)?;
        let switches = preferences.switches(draft.kind);
        let wanted = |channel: Channel| offer.includes(channel) && switches.allows(channel);
        if wanted(Channel::Email) {
            self.mail.enqueue(tx, &letter(&notification, to, &self.links))?;
        }
        // SMS and push wait out quiet hours; in-app and email go at once.
        let due = preferences
            .quiet_hours
            .and_then(|quiet| quiet.end_after(now))
            .unwrap_or(now);
        let delivery = |to: Option<String>| Delivery {
            notification_id: notification.id.clone(),
            user_id: notification.user_id.clone(),
            to,
            attempts: 0,
            queued_at: now,
            last_error: None,
            done: Vec::new(),
        };
        if let (true, Some(phone)) = (wanted(Channel::Sms), &to.phone) {
            store::enqueue(tx, Channel::Sms, due, &delivery(Some(phone.clone())))?;
        }
        if wanted(Channel::Push) && self.push_enabled && !store::devices_of(tx, &to.id)?.is_empty() {
            store::enqueue(tx, Channel::Push, due, &delivery(None))?;
        }
        Ok(notification)
    }
}

/// A notification just committed, with its recipient's unread count after it.
pub struct Created {
    pub notification: Notification,
    pub unread: u64,
}

/// Reads back what `notifications` are now, for [`Outlets::committed`].
pub fn created(tx: &impl Readable, notifications: Vec<Notification>) -> Result<Vec<Created>, StorageError> {
    notifications
        .into_iter()
        .map(|notification| {
            let unread = store::unread_count(tx, &notification.user_id)?;
            Ok(Created { notification, unread })
        })
        .collect()
}

/// Where committed notifications go next: open sockets, and the senders of each channel.
pub struct Outlets {
    pub hub: Arc<Hub>,
    pub mail: MailQueue,
    pub sms: Arc<Notify>,
    pub push: Arc<Notify>,
}

impl Outlets {
    /// Call once the transaction that made `created` is durable.
    pub fn committed(&self, created: &[Created]) {
        if created.is_empty() {
            return;
        }
        for Created { notification, unread } in created {
            self.hub.notification(notification, *unread);
        }
        self.mail.wake();
        self.sms.notify_one();
        self.push.notify_one();
    }
}
