//! The notification service: what happens on the platform reaches the people it concerns,
//! in-app (stored, listed, pushed to every open `/notifications/socket` of theirs), by email, SMS
//! and push, as their preferences and quiet hours say. It owns `notifications.redb`.
//!
//! Consumes (exactly once each, through its store's bus cursors): `user.verified` (welcome),
//! `application.submitted`, `.accepted`, `.rejected` and `job.deleted` from the job service,
//! `payment.completed`, `settlement.created`, `withdrawal.completed` and `.failed` from payments,
//! and `chat.message` (for a recipient with no chat socket open). Publishes nothing.
//!
//! Runs in the background: the mail sender of its own mail queue, and one sender per outside
//! channel (SMS, push) over its durable delivery queues. `/health` shows each of the three
//! queues (email, SMS, push) the same way, and `/metrics` labels their figures by channel.

mod api;
mod channels;
mod config;
mod delivery;
mod dispatch;
mod domain;
mod error;
mod events;
mod inbox;
mod routes;
mod socket;
mod store;
mod templates;

use std::sync::Arc;

use onetime_common::bus::StoreSubscriber;
use onetime_common::events::{chat, job, payment, user};
use onetime_common::mail::{Links, MailQueue, Mailer, deliver};
use onetime_common::service::{Context, Sections, Service, ServiceDef, ServiceDetails, ServiceStatus, StartError};
use serde_json::json;
use tokio::sync::Notify;
use utoipa::OpenApi;

pub use config::{NotificationsConfig, PushConfig, SmsConfig};
pub use error::NotificationError;

use crate::channels::push::Fcm;
use crate::config::PushProviderKind;
use crate::delivery::{Backlog, PushCourier, SmsCourier};
use crate::dispatch::{Dispatch, Outlets};
use crate::domain::Channel;
use crate::events::Notifier;
use crate::inbox::Inbox;
use crate::socket::Hub;

pub const NAME: &str = "notification";

pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: Some(store::SPEC),
    config_sections: &["notifications", "sms", "push"],
    check_config,
    start,
};

struct Settings {
    notifications: NotificationsConfig,
    sms: SmsConfig,
    push: PushConfig,
}

fn settings(sections: &Sections) -> Result<Settings, StartError> {
    let settings = Settings {
        notifications: sections.get("notifications")?,
        sms: sections.get("sms")?,
        push: sections.get("push")?,
    };
    settings
        .notifications
        .check()
        .and_then(|()| settings.sms.check())
        .and_then(|()| settings.push.check())
        .map_err(StartError::Config)?;
    Ok(settings)
}

pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    settings(sections).map(drop)
}

pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let Settings {
        notifications,
        sms,
        push,
    } = settings(ctx.config)?;
    let store = ctx.store()?;
    let mail_error = |e: onetime_common::mail::MailError| StartError::Other(format!("mail: {e}"));
    let mail = MailQueue::new(ctx.mail).map_err(mail_error)?;
    let mailer = Mailer::new(ctx.mail, ctx.data_dir).map_err(mail_error)?;
    let sms_provider = channels::sms::provider(&sms, ctx.data_dir).map_err(StartError::Config)?;
    let fcm = match push.provider {
        PushProviderKind::None => None,
        PushProviderKind::Fcm => Some(Fcm::new(&push.fcm).map_err(StartError::Config)?),
    };

    let background = ctx.background;
    let hub = Arc::new(Hub::new(&notifications, background.clone()));
    let outlets = Arc::new(Outlets {
        hub: hub.clone(),
        mail: mail.clone(),
        sms: Arc::new(Notify::new()),
        push: Arc::new(Notify::new()),
    });
    let links = Links::new(&notifications.public_base_url);
    let dispatch = Arc::new(Dispatch::new(ctx.clients.clone(), mail.clone(), links, fcm.is_some()));
    let health = Arc::new(Health {
        email: Arc::new(Backlog::new(Channel::Email)),
        sms: Arc::new(Backlog::new(Channel::Sms)),
        push: Arc::new(Backlog::new(Channel::Push)),
        hub: hub.clone(),
    });

    background.spawn(deliver(
        store.clone(),
        mailer,
        mail,
        ctx.mail.max_backoff(),
        health.email.clone(),
        background.stopping(),
    ));
    let sms_courier = SmsCourier {
        provider: sms_provider,
        from: sms.from.clone(),
    };
    background.spawn(delivery::run(
        sms_courier,
        store.clone(),
        outlets.sms.clone(),
        health.sms.clone(),
        notifications.max_backoff(),
        background.stopping(),
    ));
    if let Some(fcm) = fcm {
        background.spawn(delivery::run(
            PushCourier { fcm },
            store.clone(),
            outlets.push.clone(),
            health.push.clone(),
            notifications.max_backoff(),
            background.stopping(),
        ));
    }

    let subscription = Arc::new(StoreSubscriber::new(
        store.clone(),
        Notifier {
            dispatch: dispatch.clone(),
            outlets: outlets.clone(),
        },
    ));
    let inbox = Arc::new(Inbox::new(store, dispatch, outlets));
    Ok(
        Service::new(routes::router(inbox, hub), routes::NotificationDoc::openapi())
            .subscribe(user::SOURCE, subscription.clone())
            .subscribe(job::SOURCE, subscription.clone())
            .subscribe(payment::SOURCE, subscription.clone())
            .subscribe(chat::SOURCE, subscription)
            .with_status(health),
    )
}

/// `/health`: open sockets, and per delivery queue its depth and how long its first due row has
/// waited, as its sender last saw them.
struct Health {
    email: Arc<Backlog>,
    sms: Arc<Backlog>,
    push: Arc<Backlog>,
    hub: Arc<Hub>,
}

impl ServiceStatus for Health {
    fn health(&self) -> ServiceDetails {
        let queue = |backlog: &Backlog| {
            let (depth, waiting) = backlog.read();
            json!({ "depth": depth, "oldestWaitingSeconds": waiting })
        };
        let mut details = ServiceDetails::default();
        details.fields.insert("sockets".to_owned(), json!(self.hub.open()));
        details.fields.insert(
            "deliveryQueue".to_owned(),
            json!({ "email": queue(&self.email), "sms": queue(&self.sms), "push": queue(&self.push) }),
        );
        details
    }
}
