//! What users and administrators do with notifications over HTTP: list them, read them, send
//! announcements, set preferences, register devices. Each action reads and writes through
//! `store.rs` in one transaction and tells open sockets only once it is committed.

use std::sync::Arc;

use onetime_common::paging::{Page, PageRequest};
use onetime_storage::Store;
use time::OffsetDateTime;

use crate::NotificationError;
use crate::api::{Announcement, Platform};
use crate::dispatch::{self, Dispatch, Offer, Outlets};
use crate::domain::{Draft, Kind, Notification, PreferenceChanges, Preferences};
use crate::store::{self, Device};

/// The notification service's use cases.
pub struct Inbox {
    store: Store,
    dispatch: Arc<Dispatch>,
    outlets: Arc<Outlets>,
}

impl Inbox {
    pub fn new(store: Store, dispatch: Arc<Dispatch>, outlets: Arc<Outlets>) -> Self {
        Self {
            store,
            dispatch,
            outlets,
        }
    }

    /// A page of `user`'s notifications, newest first, and their unread count.
    pub async fn list(
        &self,
        user: &str,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<(Page<Notification>, u64), NotificationError> {
        let user = user.to_owned();
        self.store
            .read(move |tx| {
                let rows = store::list(tx, &user, unread_only, page.after.as_ref(), page.fetch())?;
                let unread = store::unread_count(tx, &user)?;
                Ok((page.page(rows, |n| n.id.as_str()), unread))
            })
            .await
    }

    pub async fn unread_count(&self, user: &str) -> Result<u64, NotificationError> {
        let user = user.to_owned();
        self.store.read(move |tx| Ok(store::unread_count(tx, &user)?)).await
    }

    /// Marks `user`'s notification `id` read; someone else's is as good as missing.
    pub async fn read(&self, user: &str, id: &str) -> Result<Notification, NotificationError> {
        let (user, id) = (user.to_owned(), id.to_owned());
        let (notification, unread) = self
            .store
            .write(move |tx| {
                let found = store::notification(tx, &id)?.filter(|n| n.user_id == user);
                let notification = found.ok_or(NotificationError::NotFound)?;
                let was_unread = notification.read_at.is_none();
                let notification = store::mark_read(tx, notification, OffsetDateTime::now_utc())?;
                let unread = was_unread.then(|| store::unread_count(tx, &user)).transpose()?;
                Ok::<_, NotificationError>((notification, unread))
            })
            .await?;
        if let Some(count) = unread {
            self.outlets.hub.unread(&notification.user_id, count);
        }
        Ok(notification)
    }

    pub async fn read_all(&self, user: &str) -> Result<(), NotificationError> {
        let owner = user.to_owned();
        let marked = self
            .store
            .write(move |tx| store::mark_all_read(tx, &owner, OffsetDateTime::now_utc()))
            .await?;
        if marked > 0 {
            self.outlets.hub.unread(user, 0);
        }
        Ok(())
    }

    /// Sends an administrator's announcement to every named user; all of them must exist.
    pub async fn announce(&self, announcement: Announcement) -> Result<Vec<String>, NotificationError> {
        let dispatch = self.dispatch.clone();
        let created = self
            .store
            .write(move |tx| {
                let mut contacts = Vec::with_capacity(announcement.user_ids.len());
                let mut unknown = Vec::new();
                for id in &announcement.user_ids {
                    match dispatch.contact(id)? {
                        Some(contact) => contacts.push(contact),
                        None => unknown.push(id.as_str()),
                    }
                }
                if !unknown.is_empty() {
                    return Err(NotificationError::invalid(
                        "userIds",
                        format!("no such users: {}", unknown.join(", ")),
                    ));
                }
                let draft = Draft::new(Kind::Announcement, &announcement.title, &announcement.body);
                let now = OffsetDateTime::now_utc();
                let offer = Offer::Only(&announcement.channels);
                let made = contacts
                    .iter()
                    .map(|contact| dispatch.record(tx, &draft, contact, offer, None, now))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(dispatch::created(tx, made)?)
            })
            .await?;
        self.outlets.committed(&created);
        Ok(created.into_iter().map(|c| c.notification.id).collect())
    }

    pub async fn preferences(&self, user: &str) -> Result<Preferences, NotificationError> {
        let user = user.to_owned();
        self.store.read(move |tx| Ok(store::preferences(tx, &user)?)).await
    }

    pub async fn update_preferences(
        &self,
        user: &str,
        changes: PreferenceChanges,
    ) -> Result<Preferences, NotificationError> {
        let user = user.to_owned();
        self.store
            .write(move |tx| {
                let mut preferences = store::preferences(tx, &user)?;
                preferences.apply(changes);
                store::save_preferences(tx, &user, &preferences)?;
                Ok(preferences)
            })
            .await
    }

    /// Registers a device of `user`; true when it is new to them.
    pub async fn register_device(
        &self,
        user: &str,
        token: String,
        platform: Platform,
    ) -> Result<(bool, Device), NotificationError> {
        let device = Device {
            token,
            user_id: user.to_owned(),
            platform: platform.as_str().to_owned(),
            registered_at: OffsetDateTime::now_utc(),
        };
        self.store
            .write(move |tx| Ok((store::register_device(tx, &device)?, device)))
            .await
    }

    pub async fn remove_device(&self, user: &str, token: &str) -> Result<(), NotificationError> {
        let (user, token) = (user.to_owned(), token.to_owned());
        let removed = self
            .store
            .write(move |tx| store::remove_device(tx, &token, Some(&user)))
            .await?;
        if removed {
            Ok(())
        } else {
            Err(NotificationError::DeviceNotFound)
        }
    }
}
