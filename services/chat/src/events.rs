//! The events of the chat service: `chat.message`, published in the transaction that stores the
//! message (payload in `onetime_common::events::chat`), and its handler of `application.accepted`
//! from the job source, which opens the room of the employer and the accepted worker.

use onetime_common::bus::{HandlerError, StoreHandler, publish};
use onetime_common::events::Envelope;
use onetime_common::events::chat::{CHAT_MESSAGE, ChatMessage, SOURCE};
use onetime_common::events::job::{APPLICATION_ACCEPTED, ApplicationChanged};
use onetime_storage::{StorageError, WriteTx};

use crate::domain::{Message, Pair, Room};
use crate::rooms;

/// Call in the transaction that stores `message` in `room`.
pub fn message_stored(tx: &WriteTx, room: &Room, message: &Message) -> Result<(), StorageError> {
    let payload = ChatMessage {
        room_id: room.id.clone(),
        job_id: room.job_id.clone(),
        message_id: message.id.clone(),
        seq: message.seq,
        sender_id: message.sender_id.clone(),
        recipient_id: room.other(&message.sender_id).to_owned(),
        preview: message.preview(),
        created_at: message.created_at,
    };
    publish(tx, SOURCE, CHAT_MESSAGE, &payload).map(drop)
}

/// Opens the room of an accepted application (subscribed to the job source). Opening an open
/// room changes nothing, so a redelivered event is harmless.
pub struct Acceptances;

impl StoreHandler for Acceptances {
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type == APPLICATION_ACCEPTED
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        let accepted: ApplicationChanged = event.payload()?;
        let pair = Pair {
            job_id: accepted.application.job_id,
            employer_id: accepted.employer_id,
            worker_id: accepted.application.worker_id,
        };
        rooms::open_in(tx, &pair, event.occurred_at)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use onetime_common::events::job::{Application, ApplicationStatus};
    use onetime_storage::Store;
    use time::OffsetDateTime;

    use super::*;
    use crate::store;

    fn accepted(worker: &str) -> Envelope {
        let payload = ApplicationChanged {
            application: Application {
                id: format!("application-{worker}"),
                job_id: "job".to_owned(),
                worker_id: worker.to_owned(),
                status: ApplicationStatus::Accepted,
                message: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            employer_id: "boss".to_owned(),
            job_title: "주말 카페".to_owned(),
            reason: None,
        };
        Envelope {
            id: onetime_common::events::new_id(),
            event_type: APPLICATION_ACCEPTED.to_owned(),
            source: "job".to_owned(),
            seq: 1,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            payload: serde_json::to_value(payload).unwrap(),
        }
    }

    #[test]
    fn an_acceptance_opens_one_room_however_often_it_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &store::SPEC).unwrap();
        for _ in 0..2 {
            store
                .write_blocking(|tx| Acceptances.handle(tx, &accepted("w1")))
                .unwrap();
        }
        let rooms = store.read_blocking(|tx| store::rooms_of(tx, "boss", None, 10)).unwrap();
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].1.participant_ids(), ["boss", "w1"]);
        assert!(!Acceptances.wants("application.rejected"));
    }
}
