//! The one place that knows every service: the table of them, and the wiring of their stores,
//! events and routes.
//!
//! Each service crate exports a [`ServiceDef`]; adding a service is adding its row to
//! [`SERVICES`]. Everything else here treats the rows alike.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use onetime_common::auth::JwtKeys;
use onetime_common::bus::Bus;
use onetime_common::directory::Clients;
use onetime_common::service::{Background, Context, ServiceDef, ServiceRoutes, ServiceStatus, StartError};
use onetime_storage::{CompactionPolicy, Store, StoreOptions};

use crate::config::Config;

/// Every service of the platform, in start order.
pub const SERVICES: &[ServiceDef] = &[
    onetime_user::SERVICE,
    onetime_job::SERVICE,
    onetime_search::SERVICE,
    onetime_payment::SERVICE,
    onetime_notification::SERVICE,
    onetime_chat::SERVICE,
];

/// Who consumes whose events (ARCHITECTURE.md's event table), as `(source, subscriber)`.
///
/// Declared up front so that an outbox keeps its rows until every subscriber listed here has
/// passed them, also one that is not running (yet): a service added later still receives every
/// event published before it started. Each service's actual subscriptions must appear here.
pub const EVENT_FLOWS: &[(&str, &str)] = &[
    ("user", "notification"),
    ("job", "search"),
    ("job", "payment"),
    ("job", "notification"),
    ("job", "chat"),
    ("payment", "job"),
    ("payment", "notification"),
    ("chat", "notification"),
];

/// Every service's store, by service name.
#[derive(Clone)]
pub struct Stores(Vec<(&'static str, Store)>);

impl Stores {
    /// Opens (and migrates) every service's store in `data_dir`. Operator commands that work on
    /// a stopped instance use this alone: it starts nothing.
    pub fn open(data_dir: &Path, options: StoreOptions) -> anyhow::Result<Self> {
        let mut stores = Vec::new();
        for service in SERVICES {
            if let Some(spec) = &service.store {
                stores.push((service.name, Store::open_with(data_dir, spec, options)?));
            }
        }
        Ok(Self(stores))
    }

    /// The store of the service `name`.
    pub fn of(&self, name: &str) -> Option<&Store> {
        self.0
            .iter()
            .find(|(service, _)| *service == name)
            .map(|(_, store)| store)
    }

    /// For what treats them alike: backup.
    pub fn all(&self) -> Vec<Store> {
        self.0.iter().map(|(_, store)| store.clone()).collect()
    }

    /// Measures every store file and compacts those `policy` wants compacted: a file that once
    /// grew (a backlog in an outbox, say) is given back before the platform serves.
    pub fn compact_where_wanted(&self, policy: CompactionPolicy) -> anyhow::Result<()> {
        for (_, store) in &self.0 {
            let space = store.measure_space()?;
            if policy.wants(&space) {
                let (before, after) = store.compact()?;
                tracing::info!(
                    store = store.name(),
                    free_share = space.free_share(),
                    before,
                    after,
                    "compacted at start-up"
                );
            }
        }
        Ok(())
    }
}

/// Measures each store's free share every `every` (for `/health` and `/metrics`) until shutdown.
async fn measure_space(stores: Vec<Store>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await; // the first tick is now: start-up has just measured
    loop {
        ticks.tick().await;
        for store in &stores {
            let measuring = store.clone();
            match tokio::task::spawn_blocking(move || measuring.measure_space()).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(store = store.name(), %error, "could not measure the store's space"),
                Err(error) => tracing::warn!(store = store.name(), %error, "measuring the store's space failed"),
            }
        }
    }
}

/// A started service as the platform keeps it.
pub struct Running {
    pub routes: ServiceRoutes,
    pub store: Option<Store>,
    pub status: Arc<dyn ServiceStatus>,
}

/// The services as wired: what the gateway serves and `/health` reports.
pub struct Wired {
    pub services: Vec<Running>,
    pub stores: Stores,
    /// The services' read clients (the gateway asks the user service whether a token's session
    /// goes on); cleared at shutdown.
    pub clients: Arc<Clients>,
}

/// Opens each service's store in `data_dir`, makes it a bus source, starts the service (its
/// background work on `background`), then subscribes what each consumes.
pub fn wire(
    config: &Config,
    data_dir: &Path,
    bus: &mut Bus,
    jwt: &JwtKeys,
    background: &Background,
) -> anyhow::Result<Wired> {
    let stores = Stores::open(data_dir, config.storage.store_options())?;
    stores.compact_where_wanted(config.storage.compaction_policy())?;
    let every = Duration::from_secs(config.storage.space_check_minutes * 60);
    let stopping = background.stopping();
    let measuring = measure_space(stores.all(), every);
    background.spawn(async move {
        tokio::select! {
            () = measuring => {}
            () = stopping => {}
        }
    });
    for (name, store) in &stores.0 {
        bus.add_source(name, store);
    }
    for (source, subscriber) in EVENT_FLOWS {
        bus.declare(source, subscriber);
    }
    let sections = config.sections();
    let clients = Arc::new(Clients::default());
    let mut services = Vec::new();
    let mut subscriptions = Vec::new();
    for service in SERVICES {
        let store = stores.of(service.name).cloned();
        let started = (service.start)(Context {
            store: store.clone(),
            data_dir,
            config: &sections,
            mail: &config.mail,
            jwt,
            clients: clients.clone(),
            background,
        })
        .map_err(|e: StartError| anyhow::anyhow!("the {} service cannot start: {e}", service.name))?;
        subscriptions.extend(started.subscriptions);
        services.push(Running {
            routes: ServiceRoutes {
                name: service.name,
                router: started.router,
                openapi: started.openapi,
            },
            store,
            status: started.status,
        });
    }
    for (source, subscriber) in subscriptions {
        if !EVENT_FLOWS.contains(&(source, subscriber.name())) {
            anyhow::bail!(
                "{} consumes {source}'s events but EVENT_FLOWS does not say so",
                subscriber.name()
            );
        }
        // A source whose service is not part of this platform publishes nothing to follow.
        if bus.subscribe(source, subscriber).is_err() {
            tracing::debug!(source, "no such event source on the bus; nothing to follow");
        }
    }
    Ok(Wired {
        services,
        stores,
        clients,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Services stay real services (ARCHITECTURE.md): a service crate builds on the storage and
    /// shared crates only, never on another service or the gateway.
    #[test]
    fn no_service_crate_depends_on_another() {
        let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("services");
        let mut checked = 0;
        for entry in std::fs::read_dir(&services).unwrap() {
            let dir = entry.unwrap().path();
            let crate_name = dir.file_name().unwrap().to_string_lossy().into_owned();
            if matches!(crate_name.as_str(), "common" | "gateway") {
                continue;
            }
            let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
                .unwrap()
                .parse()
                .unwrap();
            for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) else {
                    continue;
                };
                for dep in deps.keys().filter(|d| d.starts_with("onetime")) {
                    assert!(
                        matches!(dep.as_str(), "onetime-storage" | "onetime-common"),
                        "services/{crate_name} depends on {dep} in [{section}]"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 3, "found the service crates");
    }

    #[test]
    fn every_service_has_its_own_name_and_sections() {
        let mut names: Vec<_> = super::SERVICES.iter().map(|s| s.name).collect();
        let mut sections: Vec<_> = super::SERVICES.iter().flat_map(|s| s.config_sections).collect();
        let (all_names, all_sections) = (names.len(), sections.len());
        names.sort();
        names.dedup();
        sections.sort();
        sections.dedup();
        assert_eq!((names.len(), sections.len()), (all_names, all_sections));
    }
}
