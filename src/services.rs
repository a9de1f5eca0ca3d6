//! The one place that knows every service: it opens their stores, wires their events and
//! collects their routes.

use std::path::Path;
use std::sync::Arc;

use onetime_common::auth::JwtKeys;
use onetime_common::bus::Bus;
use onetime_common::directory::Clients;
use onetime_common::events::payment;
use onetime_common::service::{Background, ServiceRoutes};
use onetime_job::JobService;
use onetime_search::SearchService;
use onetime_storage::Store;
use onetime_user::UserService;

use crate::config::Config;

/// Every service's store.
#[derive(Clone)]
pub struct Stores {
    pub users: Store,
    pub jobs: Store,
}

impl Stores {
    /// Opens (and migrates) every service's store in `data_dir`. Operator commands that work on
    /// a stopped instance use this alone: it starts nothing.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            users: Store::open(data_dir, &onetime_user::STORE)?,
            jobs: Store::open(data_dir, &onetime_job::STORE)?,
        })
    }

    /// For what treats them alike: backup.
    pub fn all(&self) -> Vec<Store> {
        self.by_service().into_iter().map(|(_, store)| store).collect()
    }

    /// Each store with the name of the service that owns it, for `/health`.
    pub fn by_service(&self) -> Vec<(&'static str, Store)> {
        vec![("user", self.users.clone()), ("job", self.jobs.clone())]
    }
}

/// The services as wired: their routes for the gateway and their stores.
pub struct Wired {
    pub routes: Vec<ServiceRoutes>,
    pub stores: Stores,
    /// For readiness: search is not ready while it rebuilds a missing or outdated index.
    pub search: Arc<SearchService>,
    /// The services' read clients (the gateway asks the user service about sessions).
    pub clients: Arc<Clients>,
}

/// Opens each service's store in `data_dir`, registers its outbox and subscriptions on `bus`,
/// starts its background work on `background`, and returns its routes. `jwt` signs the access
/// tokens the user service issues.
pub fn wire(
    config: &Config,
    data_dir: &Path,
    bus: &mut Bus,
    jwt: &JwtKeys,
    background: &Background,
) -> anyhow::Result<Wired> {
    let stores = Stores::open(data_dir)?;

    bus.add_source(onetime_common::events::user::SOURCE, &stores.users);
    let user = UserService::start(
        stores.users.clone(),
        jwt.clone(),
        config.users.clone(),
        &config.mail,
        data_dir,
        background,
    )?;

    bus.add_source(onetime_common::events::job::SOURCE, &stores.jobs);
    let job = JobService::start(stores.jobs.clone(), config.jobs.clone(), background)?;
    // Funding follows payments: this takes effect once the payment store is a source (added
    // above this line); until then there is nothing to follow.
    if bus.subscribe(payment::SOURCE, job.funding).is_err() {
        tracing::debug!("no payment source on the bus: jobs are not marked funded");
    }

    let (search, search_routes) = SearchService::start(data_dir.join("search"), job.directory, background)?;
    bus.subscribe(onetime_common::events::job::SOURCE, search.clone())?;

    let clients = Clients::default();
    clients.provide_sessions(user.sessions);
    Ok(Wired {
        routes: vec![user.routes, job.routes, search_routes],
        stores,
        search,
        clients: Arc::new(clients),
    })
}
