//! The face every service shows the platform, the same in every service crate.
//!
//! A service crate exports `NAME`, `start(ctx) -> Result<Service, StartError>` and a
//! [`ServiceDef`] (`SERVICE`) that bundles them with its store and config sections, so that
//! `src/services.rs` wires the platform as a table of `SERVICE`s: adding a service is one row.
//!
//! [`Context`] carries what any service may need: its store (opened and migrated by the platform
//! from the [`StoreSpec`] it declared), the data directory, its config sections, the shared mail
//! settings and JWT keys, the read clients of other services, and the background task set.
//! [`Service`] carries what the platform needs back: routes and OpenAPI, bus subscriptions,
//! readiness and health details.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use onetime_storage::{Store, StoreSpec};
use serde::de::DeserializeOwned;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use crate::auth::JwtKeys;
use crate::bus::Subscriber;
use crate::directory::Clients;
use crate::mail::MailConfig;

/// A service as the platform wires it: one row of `src/services.rs`.
pub struct ServiceDef {
    /// The service's name: bus source and subscriber name, `/health` key, listener key.
    pub name: &'static str,
    /// Its redb store, when it has one (`data/<spec.name>.redb`).
    pub store: Option<StoreSpec>,
    /// The top-level config sections it owns (e.g. `["jobs"]`); no two services share one.
    pub config_sections: &'static [&'static str],
    /// Parses and checks its sections, so that a bad value stops start-up (and
    /// `onetime check-config`) with a message naming the key.
    pub check_config: fn(&Sections) -> Result<(), StartError>,
    /// Starts it: background work on `ctx.background`, its read clients into `ctx.clients`.
    pub start: fn(Context<'_>) -> Result<Service, StartError>,
}

/// The config sections not owned by the platform itself, by top-level key.
#[derive(Debug, Clone, Default)]
pub struct Sections(pub BTreeMap<String, serde_json::Value>);

impl Sections {
    /// Section `key` as `T`; a missing section reads as an empty table (so `T`'s serde defaults
    /// apply). Errors name the key.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, StartError> {
        let value = self
            .0
            .get(key)
            .cloned()
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                key.to_owned()
            } else {
                format!("{key}.{path}")
            };
            StartError::Config(format!("`{at}`: {}", e.inner()))
        })
    }
}

/// A service's config section: parsed with serde, then checked for what types cannot say.
pub trait SectionConfig: DeserializeOwned {
    /// Its top-level key, e.g. `"users"`.
    const SECTION: &'static str;

    /// Ranges and rules beyond the types; the message names the key.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl Sections {
    /// `T`'s section, parsed and checked.
    pub fn load<T: SectionConfig>(&self) -> Result<T, StartError> {
        let config: T = self.get(T::SECTION)?;
        config.check().map_err(StartError::Config)?;
        Ok(config)
    }
}

/// What a service is started with.
pub struct Context<'a> {
    /// Its store, when its [`ServiceDef`] declared one.
    pub store: Option<Store>,
    /// The instance's data directory (for files of its own: a search index, mail captures).
    pub data_dir: &'a Path,
    pub config: &'a Sections,
    /// The platform's `[mail]` settings, shared by every service that sends mail.
    pub mail: &'a MailConfig,
    /// Signs and verifies access tokens.
    pub jwt: &'a JwtKeys,
    /// Read clients: a service provides its own here and uses others' once the platform runs.
    pub clients: Arc<Clients>,
    pub background: &'a Background,
}

impl Context<'_> {
    /// The store the service declared; an error (not a panic) when the row forgot to declare it.
    pub fn store(&self) -> Result<Store, StartError> {
        self.store
            .clone()
            .ok_or_else(|| StartError::Other("the service declared no store".to_owned()))
    }
}

/// Why a service cannot start. The message is meant for the operator as it is.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Storage(#[from] onetime_storage::StorageError),
    #[error("{0}")]
    Other(String),
}

/// A started service, as the platform needs it.
pub struct Service {
    pub router: Router,
    pub openapi: utoipa::openapi::OpenApi,
    /// `(source, subscriber)`: the bus lanes it consumes.
    pub subscriptions: Vec<(&'static str, Arc<dyn Subscriber>)>,
    pub status: Arc<dyn ServiceStatus>,
}

impl Service {
    /// A service with routes and nothing else yet.
    pub fn new(router: Router, openapi: utoipa::openapi::OpenApi) -> Self {
        Self {
            router,
            openapi,
            subscriptions: Vec::new(),
            status: Arc::new(AlwaysReady),
        }
    }

    /// Consumes `source`'s events with `subscriber`.
    pub fn subscribe(mut self, source: &'static str, subscriber: Arc<dyn Subscriber>) -> Self {
        self.subscriptions.push((source, subscriber));
        self
    }

    pub fn with_status(mut self, status: Arc<dyn ServiceStatus>) -> Self {
        self.status = status;
        self
    }
}

/// Readiness and service-specific health, beyond the store and bus lanes the platform reports
/// for every service.
pub trait ServiceStatus: Send + Sync + 'static {
    /// False while the service cannot yet answer correctly (e.g. search rebuilding its index).
    fn is_ready(&self) -> bool {
        true
    }

    /// Extra fields of the service's `/health` entry (queue depths, counters); `degraded`
    /// reports trouble that should turn the platform's status to `degraded`.
    fn health(&self) -> ServiceDetails {
        ServiceDetails::default()
    }
}

/// See [`ServiceStatus::health`].
#[derive(Debug, Clone, Default)]
pub struct ServiceDetails {
    pub degraded: bool,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

struct AlwaysReady;
impl ServiceStatus for AlwaysReady {}

/// What a service hands the gateway.
#[derive(Clone)]
pub struct ServiceRoutes {
    pub name: &'static str,
    pub router: Router,
    pub openapi: utoipa::openapi::OpenApi,
}

/// The platform's background tasks: long-running loops (a mail sender) and work a request
/// starts but does not wait for. Shutdown tells the loops to stop and waits for every task, so
/// no task still holds a store when the stores close.
#[derive(Clone, Default)]
pub struct Background {
    tracker: TaskTracker,
    stopping: CancellationToken,
}

impl Background {
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task);
    }

    /// Resolves when shutdown begins; loops select on it and return.
    pub fn stopping(&self) -> WaitForCancellationFutureOwned {
        self.stopping.clone().cancelled_owned()
    }

    /// Whether shutdown has begun: long blocking work checks it between steps.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Signals the loops and waits until every task has finished.
    pub async fn stop(&self) {
        self.stopping.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}
