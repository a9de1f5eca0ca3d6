//! Typed clients for reads across services. Each trait is implemented by the owning service
//! in-process today; a split deployment would implement it over HTTP.
//!
//! [`Clients`] is where the platform keeps them: a service provides its own in `start` and uses
//! the others' when it serves, so the order in which services start does not matter.

use std::sync::{Arc, RwLock};

use crate::auth::{Principal, Role};
use crate::events::job::{Application, Job};

/// Why a read across services failed. Callers map it to an internal error: the data exists or
/// not, but the owning service could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("the {0} service is not wired into this platform")]
    NotWired(&'static str),
    #[error("the {service} service could not answer: {reason}")]
    Unavailable { service: &'static str, reason: String },
}

/// Reads of the job service's data.
pub trait JobDirectory: Send + Sync + 'static {
    /// Open jobs with ids after `after` (all when `None`), in id order, at most `limit`.
    fn open_jobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<Job>, DirectoryError>;

    /// The job with `id` in any status (cancelled included); `None` when there is none.
    fn job(&self, id: &str) -> Result<Option<Job>, DirectoryError>;

    /// `worker_id`'s application to `job_id`, in any status; `None` when there is none.
    fn application(&self, job_id: &str, worker_id: &str) -> Result<Option<Application>, DirectoryError>;
}

/// What other services may know of an account: enough to address and authorize it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserContact {
    pub id: String,
    pub name: String,
    pub email: String,
    /// E.164 (`+821012345678`), when the user gave one.
    pub phone: Option<String>,
    pub role: Role,
    pub email_verified: bool,
}

/// Reads of the user service's data.
pub trait UserDirectory: Send + Sync + 'static {
    /// The account with `id`; `None` when there is none.
    fn contact(&self, id: &str) -> Result<Option<UserContact>, DirectoryError>;

    /// Whether `id` may post a job, apply, pay and withdraw: its account exists and its email
    /// is verified, or the platform does not require that (`users.require_verified_email`).
    /// Reads the account's current state, whatever its access token says.
    fn may_transact(&self, id: &str) -> Result<bool, DirectoryError>;
}

/// Whether an access token still speaks for its account. The gateway asks on every request
/// that carries a validly signed token, so a token stops working the moment its session ends
/// (logout, password reset, a reused refresh token) or its account is gone or changed role, not
/// when it expires.
pub trait SessionDirectory: Send + Sync + 'static {
    /// Whether `principal`, from a token whose signature and expiry were checked, is current:
    /// the login session it was issued in (`sid`) goes on and is its account's, and the account
    /// exists with the role the token names.
    fn is_current(&self, principal: &Principal) -> Result<bool, DirectoryError>;
}

/// Reads of the chat service's live state.
pub trait ChatPresence: Send + Sync + 'static {
    /// Whether `user_id` has at least one open chat socket now.
    fn is_online(&self, user_id: &str) -> bool;
}

/// The read clients of the running platform. Each is provided once, by its owning service, and
/// all are let go at shutdown ([`Clients::clear`]): a client holds its service's store, and
/// services hold `Clients`, so without that the stores could outlive the platform.
#[derive(Default)]
pub struct Clients {
    jobs: Slot<dyn JobDirectory>,
    users: Slot<dyn UserDirectory>,
    sessions: Slot<dyn SessionDirectory>,
    chat_presence: Slot<dyn ChatPresence>,
}

struct Slot<T: ?Sized>(RwLock<Option<Arc<T>>>);

impl<T: ?Sized> Default for Slot<T> {
    fn default() -> Self {
        Self(RwLock::new(None))
    }
}

impl<T: ?Sized> Slot<T> {
    fn set(&self, client: Arc<T>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(client);
    }

    fn get(&self, service: &'static str) -> Result<Arc<T>, DirectoryError> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(DirectoryError::NotWired(service))
    }

    fn clear(&self) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Clients {
    pub fn provide_jobs(&self, client: Arc<dyn JobDirectory>) {
        self.jobs.set(client);
    }

    pub fn provide_users(&self, client: Arc<dyn UserDirectory>) {
        self.users.set(client);
    }

    pub fn provide_sessions(&self, client: Arc<dyn SessionDirectory>) {
        self.sessions.set(client);
    }

    pub fn provide_chat_presence(&self, client: Arc<dyn ChatPresence>) {
        self.chat_presence.set(client);
    }

    pub fn jobs(&self) -> Result<Arc<dyn JobDirectory>, DirectoryError> {
        self.jobs.get("job")
    }

    pub fn users(&self) -> Result<Arc<dyn UserDirectory>, DirectoryError> {
        self.users.get("user")
    }

    pub fn sessions(&self) -> Result<Arc<dyn SessionDirectory>, DirectoryError> {
        self.sessions.get("user")
    }

    pub fn chat_presence(&self) -> Result<Arc<dyn ChatPresence>, DirectoryError> {
        self.chat_presence.get("chat")
    }

    /// Lets go of every client; reads after this answer `NotWired`.
    pub fn clear(&self) {
        self.jobs.clear();
        self.users.clear();
        self.sessions.clear();
        self.chat_presence.clear();
    }
}
