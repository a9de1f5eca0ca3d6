//! The chat service's use cases on rooms: open one (on request, after checking through the job
//! and user services that the two may talk), list a user's rooms, find a room for one of its
//! participants.

use std::sync::Arc;

use onetime_common::directory::Clients;
use onetime_common::events::new_id;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::{StorageError, Store, WriteTx};
use time::OffsetDateTime;

use crate::ChatError;
use crate::domain::{Pair, Room};
use crate::store;

pub struct Rooms {
    store: Store,
    clients: Arc<Clients>,
}

/// A room as opened: new, or the pair's existing one.
pub struct Opened {
    pub room: Room,
    pub created: bool,
}

impl Rooms {
    pub fn new(store: Store, clients: Arc<Clients>) -> Self {
        Self { store, clients }
    }

    /// Opens the room of `caller` and `other` on `job_id`, or finds the one they have. They must
    /// be the job's owner and a worker who applied to it (in any status).
    pub async fn open(&self, caller: &str, job_id: &str, other: &str) -> Result<Opened, ChatError> {
        if caller == other {
            return Err(ChatError::invalid("participantId", "must be someone other than you"));
        }
        let pair = self.relate(caller, job_id, other).await?;
        let now = OffsetDateTime::now_utc();
        Ok(self.store.write(move |tx| open_in(tx, &pair, now)).await?)
    }

    /// The pair `caller` and `other` form on `job_id`, asked of the job and user services (their
    /// reads block, so off the reactor).
    async fn relate(&self, caller: &str, job_id: &str, other: &str) -> Result<Pair, ChatError> {
        let (jobs, users) = (self.clients.jobs()?, self.clients.users()?);
        let (caller, job_id, other) = (caller.to_owned(), job_id.to_owned(), other.to_owned());
        let related = tokio::task::spawn_blocking(move || {
            let job = jobs.job(&job_id)?.ok_or(ChatError::JobNotFound)?;
            users.contact(&other)?.ok_or(ChatError::UserNotFound)?;
            let pair = Pair::on_job(&job.id, &job.employer_id, &caller, &other).ok_or(ChatError::NotRelated)?;
            jobs.application(&pair.job_id, &pair.worker_id)?
                .ok_or(ChatError::NotRelated)?;
            Ok(pair)
        });
        related
            .await
            .unwrap_or_else(|join| Err(StorageError::Join(join.to_string()).into()))
    }

    /// `user_id`'s rooms, most recent activity first.
    pub async fn list(&self, user_id: &str, page: PageRequest) -> Result<Page<Room>, ChatError> {
        let user = user_id.to_owned();
        let rows = self
            .store
            .read(move |tx| store::rooms_of(tx, &user, page.after.as_deref(), page.fetch()).map(|rows| (page, rows)))
            .await;
        let (page, rows) = rows?;
        Ok(page.page(rows, |(key, _)| key).map(|(_, room)| room))
    }

    /// Room `room_id`, if `user_id` is in it.
    pub async fn room_of(&self, user_id: &str, room_id: &str) -> Result<Room, ChatError> {
        let id = room_id.to_owned();
        let room = self.store.read(move |tx| store::room(tx, &id)).await?;
        room.filter(|room| room.has(user_id)).ok_or(ChatError::RoomNotFound)
    }
}

/// The room of `pair`, created in this transaction when it has none: as redb runs one write
/// transaction at a time, two opens of the same pair cannot both create one.
pub fn open_in(tx: &WriteTx, pair: &Pair, now: OffsetDateTime) -> Result<Opened, StorageError> {
    if let Some(room) = store::room_of_pair(tx, pair)? {
        return Ok(Opened { room, created: false });
    }
    let room = Room::new(new_id().to_string(), pair, store::next_activity(tx)?, now);
    store::insert_room(tx, pair, &room)?;
    Ok(Opened { room, created: true })
}
