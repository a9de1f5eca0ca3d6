//! The events the service consumes (it publishes none): user, job, payment and chat events
//! become notifications for the users they concern.
//!
//! [`Notifier`] handles them inside the store's transaction with the bus cursor
//! (`StoreSubscriber`), so each event makes its notifications, mails and deliveries exactly once,
//! whatever the redelivery after a crash; it tells open sockets and the senders once that
//! transaction is durable (`StoreHandler::committed`), never before.

use std::sync::Arc;

use onetime_common::bus::{HandlerError, StoreHandler};
use onetime_common::events::Envelope;
use onetime_common::events::chat::{CHAT_MESSAGE, ChatMessage};
use onetime_common::events::job::{
    APPLICATION_ACCEPTED, APPLICATION_REJECTED, APPLICATION_SUBMITTED, ApplicationChanged, JOB_DELETED, JobEnded,
};
use onetime_common::events::payment::{
    PAYMENT_COMPLETED, PaymentCompleted, SETTLEMENT_CREATED, SettlementCreated, WITHDRAWAL_COMPLETED,
    WITHDRAWAL_FAILED, WithdrawalChanged,
};
use onetime_common::events::user::{UserVerified, VERIFIED};
use onetime_storage::{StorageError, Store, WriteTx};
use time::OffsetDateTime;

use crate::dispatch::{self, Dispatch, Offer, Outlets};
use crate::domain::Draft;
use crate::{store, templates};

/// What one event means: a notification, and who gets it.
fn interpret(event: &Envelope) -> Result<Option<(Draft, Vec<String>)>, serde_json::Error> {
    let one = |draft: Draft, user: &str| Some((draft, vec![user.to_owned()]));
    Ok(match event.event_type.as_str() {
        VERIFIED => {
            let verified: UserVerified = event.payload()?;
            one(templates::welcome(&verified), &verified.user_id)
        }
        APPLICATION_SUBMITTED => {
            let changed: ApplicationChanged = event.payload()?;
            one(templates::application_submitted(&changed), &changed.employer_id)
        }
        APPLICATION_ACCEPTED => {
            let changed: ApplicationChanged = event.payload()?;
            one(
                templates::application_accepted(&changed),
                &changed.application.worker_id,
            )
        }
        APPLICATION_REJECTED => {
            let changed: ApplicationChanged = event.payload()?;
            one(
                templates::application_rejected(&changed),
                &changed.application.worker_id,
            )
        }
        JOB_DELETED => {
            let ended: JobEnded = event.payload()?;
            Some((templates::job_cancelled(&ended), ended.accepted_worker_ids))
        }
        PAYMENT_COMPLETED => {
            let paid: PaymentCompleted = event.payload()?;
            one(templates::payment_completed(&paid), &paid.employer_id)
        }
        SETTLEMENT_CREATED => {
            let settled: SettlementCreated = event.payload()?;
            one(templates::settlement_created(&settled), &settled.worker_id)
        }
        WITHDRAWAL_COMPLETED => {
            let withdrawal: WithdrawalChanged = event.payload()?;
            one(templates::withdrawal_completed(&withdrawal), &withdrawal.worker_id)
        }
        WITHDRAWAL_FAILED => {
            let withdrawal: WithdrawalChanged = event.payload()?;
            one(templates::withdrawal_failed(&withdrawal), &withdrawal.worker_id)
        }
        CHAT_MESSAGE => {
            let message: ChatMessage = event.payload()?;
            one(templates::chat_message(&message), &message.recipient_id)
        }
        _ => None,
    })
}

/// Makes the notifications of each event, in the bus's transaction; once it is committed, hands
/// them to the outlets (sockets, senders).
pub struct Notifier {
    pub dispatch: Arc<Dispatch>,
    pub outlets: Arc<Outlets>,
}

impl StoreHandler for Notifier {
    /// Subscribers are named after the consuming service.
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            VERIFIED
                | APPLICATION_SUBMITTED
                | APPLICATION_ACCEPTED
                | APPLICATION_REJECTED
                | JOB_DELETED
                | PAYMENT_COMPLETED
                | SETTLEMENT_CREATED
                | WITHDRAWAL_COMPLETED
                | WITHDRAWAL_FAILED
                | CHAT_MESSAGE
        )
    }

    fn handle(&self, tx: &WriteTx, event: &Envelope) -> Result<(), HandlerError> {
        // A payload that does not decode stops this lane (and shows in /health) rather than
        // being skipped: skipping would lose the notification for good.
        let Some((draft, recipients)) = interpret(event)? else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        let event_id = event.id.to_string();
        for user in recipients {
            // A chat message is news only to someone not looking at the chat.
            if event.event_type == CHAT_MESSAGE && self.dispatch.is_chatting(&user) {
                continue;
            }
            let Some(contact) = self.dispatch.contact(&user)? else {
                tracing::warn!(user, event = %event.event_type, "no such user to notify; skipped");
                continue;
            };
            self.dispatch
                .record(tx, &draft, &contact, Offer::All, Some(&event_id), now)?;
        }
        Ok(())
    }

    fn committed(&self, notifications: &Store, events: &[Envelope]) {
        // The batch is applied for good: if this read fails, open sockets miss these
        // notifications until the next list or unread frame, nothing worse.
        let created = notifications.read_blocking(|tx| {
            let mut made = Vec::new();
            for event in events {
                made.extend(store::made_by(tx, &event.id.to_string())?);
            }
            dispatch::created(tx, made)
        });
        match created {
            Ok(created) => self.outlets.committed(&created),
            Err(error) => {
                let error: StorageError = error;
                tracing::error!(%error, "cannot read back committed notifications; sockets miss them");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use onetime_common::auth::Role;
    use onetime_common::bus::{StoreSubscriber, Subscriber};
    use onetime_common::directory::{Clients, DirectoryError, UserContact, UserDirectory};
    use onetime_common::events::job::{APPLICATION_ACCEPTED, Application, ApplicationStatus};
    use onetime_common::events::{new_id, user};
    use onetime_common::mail::{Links, MailConfig, MailQueue, SmtpConfig, SmtpSecurity, TransportKind};
    use onetime_common::service::Background;
    use onetime_storage::{Store, Table};
    use tokio::sync::Notify;

    use super::*;
    use crate::config::NotificationsConfig;
    use crate::domain::{Channel, Kind};
    use crate::socket::Hub;

    struct Directory;

    impl UserDirectory for Directory {
        fn contact(&self, id: &str) -> Result<Option<UserContact>, DirectoryError> {
            Ok((id != "ghost").then(|| UserContact {
                id: id.to_owned(),
                name: "김원데".to_owned(),
                email: format!("{id}@example.com"),
                phone: Some("+821012345678".to_owned()),
                role: Role::Worker,
                email_verified: true,
            }))
        }

        fn may_transact(&self, _id: &str) -> Result<bool, DirectoryError> {
            Ok(true)
        }
    }

    fn envelope(event_type: &str, seq: u64, payload: serde_json::Value) -> Envelope {
        Envelope {
            id: new_id(),
            event_type: event_type.to_owned(),
            source: "test".to_owned(),
            seq,
            occurred_at: OffsetDateTime::now_utc(),
            payload,
        }
    }

    /// The shared mail queue's table, counted from outside.
    const MAIL_QUEUE: Table<String, serde_json::Value> = Table::new("mail.queue");

    #[tokio::test]
    async fn events_make_notifications_mails_and_texts_and_sockets_hear_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &store::SPEC).unwrap();
        let clients = Arc::new(Clients::default());
        clients.provide_users(Arc::new(Directory));
        let mail = MailQueue::new(&MailConfig {
            transport: TransportKind::File,
            from: "원데이 <no-reply@oneday.local>".to_owned(),
            dir: Default::default(),
            retry_max_backoff_seconds: 1,
            smtp: SmtpConfig {
                host: String::new(),
                port: 0,
                security: SmtpSecurity::None,
                username: String::new(),
                password: String::new(),
                timeout_seconds: 1,
            },
        })
        .unwrap();
        let hub = Arc::new(Hub::new(&NotificationsConfig::default(), Background::default()));
        let outlets = Arc::new(Outlets {
            hub: hub.clone(),
            mail: mail.clone(),
            sms: Arc::new(Notify::new()),
            push: Arc::new(Notify::new()),
        });
        let dispatch = Arc::new(Dispatch::new(clients, mail, Links::new("http://localhost"), false));
        let subscription = StoreSubscriber::new(store.clone(), Notifier { dispatch, outlets });
        let mut frames = hub.register_for_test("w1");

        let verified = envelope(
            user::VERIFIED,
            1,
            serde_json::json!({ "userId": "w1", "email": "w1@example.com", "name": "김원데", "role": "worker",
                "verifiedAt": "2026-03-02T00:00:00Z" }),
        );
        let application = Application {
            id: "a1".to_owned(),
            job_id: "j1".to_owned(),
            worker_id: "w1".to_owned(),
            status: ApplicationStatus::Accepted,
            message: None,
            created_at: OffsetDateTime::now_utc(),
        };
        let accepted = envelope(
            APPLICATION_ACCEPTED,
            2,
            serde_json::to_value(ApplicationChanged {
                application,
                employer_id: "e1".to_owned(),
                job_title: "주말 카페 바리스타".to_owned(),
                reason: None,
            })
            .unwrap(),
        );
        let events = [verified, accepted];
        subscription.apply("test", &events, 2).unwrap();

        let first: serde_json::Value = serde_json::from_str(frames.recv().await.unwrap().as_str()).unwrap();
        assert_eq!(first["notification"]["kind"], "welcome");
        let (listed, mails, sms) = store
            .read_blocking(|tx| {
                Ok::<_, StorageError>((
                    store::list(tx, "w1", false, None, 10)?,
                    MAIL_QUEUE.len(tx)?,
                    store::backlog(tx, Channel::Sms)?.0,
                ))
            })
            .unwrap();
        let kinds: Vec<Kind> = listed.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [Kind::ApplicationAccepted, Kind::Welcome]);
        assert_eq!(listed[0].data["applicationId"], "a1");
        assert_eq!(
            (mails, sms),
            (2, 1),
            "two mails; a text for the hire only (the default)"
        );
        assert_eq!(subscription.cursor("test").unwrap(), 2);
    }
}
