//! The user service: worker, employer and admin accounts; argon2id passwords; access tokens with
//! rotating refresh-token sessions; email verification and password reset by mail; profiles.
//! It owns `users.redb`.
//!
//! Publishes, through the outbox of its store (bus source and envelope source `user`; payloads
//! in `onetime_common::events::user`): `user.registered`, `user.verified`. Consumes nothing.
//! Answers other services' reads through `onetime_common::directory::UserDirectory`.
//!
//! Runs in the background: the sender of the mail queued in its store, and an hourly sweep of
//! expired sessions and tokens.

mod accounts;
mod api;
mod config;
mod directory;
mod domain;
mod error;
mod events;
mod mail;
mod pacing;
mod password;
mod routes;
mod store;
mod throttle;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use onetime_common::mail::{MailMetrics, MailQueue, Mailer, deliver};
use onetime_common::service::{Context, SectionConfig, Sections, Service, ServiceDef, StartError};
use onetime_storage::{Store, StoreSpec};
use utoipa::OpenApi;

pub use config::{Argon2Config, ResetMailConfig, ThrottleConfig, UsersConfig};
pub use domain::User;
pub use error::UserError;

use crate::accounts::Accounts;
use crate::domain::{Email, Name, Password};
use crate::password::Hasher;

/// The user store: `users.redb`.
pub const STORE: StoreSpec = store::SPEC;

/// How often expired sessions and tokens are deleted.
const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// The service's name: bus source, `/health` key.
pub const NAME: &str = onetime_common::events::user::SOURCE;

/// The user service as the platform wires it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: NAME,
    store: Some(STORE),
    config_sections: &[UsersConfig::SECTION],
    check_config,
    start,
};

pub fn check_config(sections: &Sections) -> Result<(), StartError> {
    sections.load::<UsersConfig>().map(drop)
}

/// Starts the mail sender and the sweep on the background set, provides the user directory,
/// and returns the routes. `ctx.jwt` signs the access tokens the gateway verifies; the `file`
/// mail transport writes under `ctx.data_dir` by default.
pub fn start(ctx: Context<'_>) -> Result<Service, StartError> {
    let config: UsersConfig = ctx.config.load()?;
    let store = ctx.store()?;
    let queue = MailQueue::new(ctx.mail).map_err(|e| StartError::Config(format!("mail: {e}")))?;
    let mailer = Mailer::new(ctx.mail, ctx.data_dir).map_err(|e| StartError::Config(format!("mail: {e}")))?;
    ctx.background.spawn(deliver(
        store.clone(),
        mailer,
        queue.clone(),
        ctx.mail.max_backoff(),
        Arc::new(MailMetrics),
        ctx.background.stopping(),
    ));
    ctx.background.spawn(sweep(store.clone(), ctx.background.stopping()));
    let directory = Arc::new(directory::Directory {
        store: store.clone(),
        require_verified_email: config.require_verified_email,
    });
    ctx.clients.provide_users(directory.clone());
    ctx.clients.provide_sessions(directory);
    let hasher = Hasher::new(&config.argon2).map_err(|e| StartError::Config(format!("users.argon2: {e}")))?;
    let accounts = Accounts::new(store, hasher, ctx.jwt.clone(), queue, config, ctx.background.clone());
    Ok(Service::new(
        routes::router(Arc::new(accounts)),
        routes::UserDoc::openapi(),
    ))
}

/// Deletes expired sessions and tokens every [`SWEEP_INTERVAL`] until `stopping` resolves.
async fn sweep(store: Store, stopping: impl Future<Output = ()>) {
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            () = &mut stopping => return,
        }
        let now = time::OffsetDateTime::now_utc();
        match store.write(move |tx| store::prune_expired(tx, now)).await {
            Ok(removed) => tracing::debug!(removed, "swept expired sessions and tokens"),
            Err(error) => tracing::warn!(%error, "cannot sweep expired sessions and tokens"),
        }
    }
}

/// An administrator for `onetime admin create`.
pub struct NewAdmin {
    pub email: String,
    pub password: String,
    /// Defaults to `관리자`.
    pub name: Option<String>,
}

/// Creates an administrator in `store`, hashing with `config`'s parameters. The password must
/// meet the same policy as everyone's.
pub async fn create_admin(store: &Store, config: &UsersConfig, admin: NewAdmin) -> Result<User, UserError> {
    let email = Email::parse(&admin.email).map_err(|e| UserError::invalid("email", e))?;
    let password = Password::new(&admin.password, email.as_str()).map_err(|e| UserError::invalid("password", e))?;
    let name = Name::parse(admin.name.as_deref().unwrap_or("관리자")).map_err(|e| UserError::invalid("name", e))?;
    let hasher = Hasher::new(&config.argon2).map_err(|e| UserError::Hashing(e.to_string()))?;
    accounts::create_admin(store, &hasher, email, password, name).await
}
