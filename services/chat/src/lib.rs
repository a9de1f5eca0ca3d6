//! The chat service: rooms between a job's owner and a worker who applied to it, messages stored
//! in order per room, and the live socket `/chat/socket` that carries them. It owns `chat.redb`.
//!
//! Publishes, through the outbox of its store (bus source `chat`; payload in
//! `onetime_common::events::chat`): `chat.message`, for the notification service to push to a
//! recipient without an open chat socket. It tells who has one through the
//! `ChatPresence` read client it provides.
//!
//! Consumes `application.accepted` from the job source: the employer and the accepted worker get
//! their room. Reads jobs, applications and users through the job and user read clients.

mod api;
mod config;
mod domain;
mod error;
mod events;
mod fanout;
mod hub;
mod messages;
mod rooms;
mod routes;
mod socket;
mod store;

use std::sync::Arc;
use std::time::Duration;

use onetime_common::bus::StoreSubscriber;
use onetime_common::events::job;
use onetime_common::service::{
    Background, Context, Sections, Service, ServiceDef, ServiceDetails, ServiceStatus, StartError,
};
use utoipa::OpenApi;

pub use config::ChatConfig;
pub use error::ChatError;

use crate::events::Acceptances;
use crate::hub::Hub;
use crate::messages::Messages;
use crate::rooms::Rooms;

/// The service's name: its bus source and subscriber, `/health` key and listener key.
pub const NAME: &str = "chat";

/// How often the rate-limit state of users who stopped sending is forgotten.
const FORGET_SENDERS_EVERY: Duration = Duration::from_secs(60);

/// The chat service as the platform wires it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: Some(store::SPEC),
    config_sections: &["chat"],
    check_config,
    start,
};

/// Checks the `[chat]` section.
pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    config(sections).map(drop)
}

fn config(sections: &Sections) -> Result<ChatConfig, StartError> {
    let config: ChatConfig = sections.get("chat")?;
    config.check().map_err(StartError::Config)?;
    Ok(config)
}

/// What the handlers and sockets share.
struct Chat {
    rooms: Rooms,
    messages: Arc<Messages>,
    hub: Arc<Hub>,
    config: ChatConfig,
    /// Sockets run on it, and close when the platform shuts down.
    background: Background,
}

/// Starts the service: provides `ChatPresence`, subscribes to acceptances, and forgets idle
/// senders' rate-limit state in the background.
pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let config = config(ctx.config)?;
    let store = ctx.store()?;
    let hub = Arc::new(Hub::new(config.send_queue_frames));
    ctx.clients.provide_chat_presence(hub.clone());
    let messages = Arc::new(Messages::new(store.clone(), hub.clone(), &config));
    ctx.background
        .spawn(forget_idle_senders(messages.clone(), ctx.background.clone()));
    let chat = Arc::new(Chat {
        rooms: Rooms::new(store.clone(), ctx.clients.clone()),
        messages,
        hub: hub.clone(),
        config,
        background: ctx.background.clone(),
    });
    Ok(Service::new(routes::router(chat), routes::ChatDoc::openapi())
        .subscribe(job::SOURCE, Arc::new(StoreSubscriber::new(store, Acceptances)))
        .with_status(Arc::new(Sockets(hub))))
}

async fn forget_idle_senders(messages: Arc<Messages>, background: Background) {
    let stopping = background.stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            () = tokio::time::sleep(FORGET_SENDERS_EVERY) => messages.forget_idle_senders(),
            () = &mut stopping => return,
        }
    }
}

/// `/health` shows the open sockets and how many were closed for falling behind.
struct Sockets(Arc<Hub>);

impl ServiceStatus for Sockets {
    fn health(&self) -> ServiceDetails {
        let mut details = ServiceDetails::default();
        details
            .fields
            .insert("connections".to_owned(), self.0.connections().into());
        details
            .fields
            .insert("slowClientsClosed".to_owned(), self.0.slow_closed().into());
        details
    }
}
