//! The user service: worker, employer and admin accounts; argon2id passwords; access tokens with
//! rotating refresh-token sessions; email verification and password reset by mail; profiles.
//! It owns `users.redb`.
//!
//! Publishes, through the outbox of its store (bus source `users`, envelope source `user`;
//! payloads in `onetime_common::events::user`): `user.registered`, `user.verified`. Consumes
//! nothing.
//!
//! Runs in the background: the sender of the mail queued in its store, and an hourly sweep of
//! expired sessions and tokens.

mod accounts;
mod api;
mod config;
mod domain;
mod error;
mod events;
mod mail;
mod pacing;
mod password;
mod routes;
mod sessions;
mod store;
mod throttle;
mod tokens;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use onetime_common::auth::JwtKeys;
use onetime_common::directory::SessionDirectory;
use onetime_common::mail::{MailConfig, MailError, MailQueue, Mailer, deliver};
use onetime_common::service::{Background, ServiceRoutes};
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

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("users.argon2: {0}")]
    Argon2(#[from] argon2::Error),
}

/// The running user service, for the platform to wire.
pub struct UserService {
    pub routes: ServiceRoutes,
    /// Whether an access token's session and account are current, for the gateway.
    pub sessions: Arc<dyn SessionDirectory>,
}

impl UserService {
    /// Starts the mail sender and the sweep on `background` and returns the routes. `jwt` signs
    /// the access tokens the gateway verifies; `data_dir` is where the `file` mail transport
    /// writes by default.
    pub fn start(
        store: Store,
        jwt: JwtKeys,
        config: UsersConfig,
        mail_config: &MailConfig,
        data_dir: &Path,
        background: &Background,
    ) -> Result<Self, StartError> {
        let queue = MailQueue::new(mail_config)?;
        let mailer = Mailer::new(mail_config, data_dir)?;
        background.spawn(deliver(
            store.clone(),
            mailer,
            queue.clone(),
            mail_config.max_backoff(),
            background.stopping(),
        ));
        background.spawn(sweep(store.clone(), background.stopping()));
        let hasher = Hasher::new(&config.argon2)?;
        let sessions = Arc::new(sessions::CurrentSessions::new(store.clone()));
        let accounts = Accounts::new(store, hasher, jwt, queue, config, background.clone());
        Ok(Self {
            routes: ServiceRoutes {
                name: "user",
                router: routes::router(Arc::new(accounts)),
                openapi: routes::UserDoc::openapi(),
            },
            sessions,
        })
    }
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
