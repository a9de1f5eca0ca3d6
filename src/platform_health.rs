//! The platform's answer to `/health`: per service, its store and the bus lanes it consumes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use onetime_common::bus::RunningBus;
use onetime_gateway::{HealthReport, HealthSource, ServiceHealth, Status};
use onetime_search::SearchService;
use onetime_storage::Store;

/// Bus subscribers are named after the service that consumes: that is how lanes are filed.
pub struct PlatformHealth {
    pub started: Instant,
    pub services: Vec<&'static str>,
    /// Each service's store, by service name (`user` → `users.redb`).
    pub stores: Vec<(&'static str, Store)>,
    pub bus: Arc<RunningBus>,
    pub search: Arc<SearchService>,
}

impl HealthSource for PlatformHealth {
    fn report(&self) -> Pin<Box<dyn Future<Output = HealthReport> + Send + '_>> {
        Box::pin(async move {
            let lanes = self.bus.status();
            let mut services = BTreeMap::new();
            services.insert(
                "gateway".to_owned(),
                ServiceHealth {
                    status: Status::Ok,
                    store: None,
                    bus: Vec::new(),
                },
            );
            for &name in &self.services {
                let store = self
                    .stores
                    .iter()
                    .find(|(service, _)| *service == name)
                    .map(|(_, store)| onetime_gateway::StoreHealth {
                        file: store.path().display().to_string(),
                        size_bytes: store.size_bytes(),
                    });
                let bus: Vec<_> = lanes.iter().filter(|l| l.subscriber == name).cloned().collect();
                let status = if bus.iter().any(|l| l.last_error.is_some()) {
                    Status::Degraded
                } else {
                    Status::Ok
                };
                services.insert(name.to_owned(), ServiceHealth { status, store, bus });
            }
            let status = if services.values().all(|s| s.status == Status::Ok) {
                Status::Ok
            } else {
                Status::Degraded
            };
            HealthReport {
                status,
                version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_seconds: self.started.elapsed().as_secs(),
                services,
            }
        })
    }

    fn is_ready(&self) -> bool {
        self.bus.is_ready() && self.search.is_complete()
    }
}
