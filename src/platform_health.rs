//! The platform's answer to `/health` and `/ready`: per service, its store, the bus lanes it
//! consumes and what it reports of itself.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use onetime_common::bus::RunningBus;
use onetime_common::service::ServiceStatus;
use onetime_gateway::{HealthReport, HealthSource, ServiceHealth, Status, StoreHealth};
use onetime_storage::Store;

/// What `/health` reports on, per service.
pub struct ServiceEntry {
    pub name: &'static str,
    pub store: Option<Store>,
    pub status: Arc<dyn ServiceStatus>,
}

/// Bus subscribers are named after the service that consumes: that is how lanes are filed.
pub struct PlatformHealth {
    pub started: Instant,
    pub services: Vec<ServiceEntry>,
    pub bus: Arc<RunningBus>,
}

impl PlatformHealth {
    fn service_health(&self, entry: &ServiceEntry, lanes: &[onetime_common::bus::LaneStatus]) -> ServiceHealth {
        let store = entry.store.as_ref().map(|store| {
            let space = store.space();
            StoreHealth {
                file: store.path().display().to_string(),
                size_bytes: store.size_bytes(),
                allocated_bytes: space.map_or(0, |space| space.allocated_bytes),
                free_share: space.map_or(0.0, |space| space.free_share()),
            }
        });
        let bus: Vec<_> = lanes.iter().filter(|l| l.subscriber == entry.name).cloned().collect();
        let details = entry.status.health();
        let status = if details.degraded || bus.iter().any(|l| l.last_error.is_some()) {
            Status::Degraded
        } else {
            Status::Ok
        };
        ServiceHealth {
            status,
            store,
            bus,
            details: details.fields,
        }
    }
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
                    details: Default::default(),
                },
            );
            for entry in &self.services {
                services.insert(entry.name.to_owned(), self.service_health(entry, &lanes));
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
        self.bus.is_ready() && self.services.iter().all(|s| s.status.is_ready())
    }
}
