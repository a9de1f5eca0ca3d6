//! Builds the application from a configuration and runs it until told to stop.
//!
//! Start-up order: lock the data directory → open every store → wire the bus and services →
//! bind the listeners (so an address in use fails start-up, not later) → serve.
//! Shutdown order: stop accepting → let in-flight requests finish within the grace period →
//! stop the services' background work → flush the bus → stop it → let go of the services and
//! their read clients → close the stores.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use onetime_common::auth::JwtKeys;
use onetime_common::bus::{Bus, RunningBus};
use onetime_common::directory::Clients;
use onetime_common::service::Background;
use onetime_gateway::{ConnectionLimits, Gateway};
use onetime_storage::{DataDir, Store};

use crate::config::Config;
use crate::control::{ControlSocket, Instance};
use crate::platform_health::{PlatformHealth, ServiceEntry};
use crate::{secrets, services};

/// A built, bound, not yet serving onetime.
pub struct Application {
    config: Config,
    /// The gateway's listener first, then one per service that has its own.
    listeners: Vec<Listener>,
    tls: Option<RustlsConfig>,
    bus: Arc<RunningBus>,
    clients: Arc<Clients>,
    background: Background,
    stores: Vec<Store>,
    control: ControlSocket,
    data_dir: DataDir,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let started = Instant::now();
        let data_dir = DataDir::lock(&config.data_dir)?;
        let secret = secrets::jwt_secret(&config.auth.jwt_secret, data_dir.path())?;
        let jwt = JwtKeys::new(
            &secret,
            &config.auth.issuer,
            &config.auth.audience,
            Duration::from_secs(config.auth.access_token_ttl_seconds),
        );

        let mut bus = Bus::new(config.bus.bus_config());
        let background = Background::default();
        let wired = services::wire(&config, data_dir.path(), &mut bus, &jwt, &background)?;
        let bus = Arc::new(bus.start());
        let (routes, entries): (Vec<_>, Vec<_>) = wired
            .services
            .into_iter()
            .map(|running| {
                let entry = ServiceEntry {
                    name: running.routes.name,
                    store: running.store,
                    status: running.status,
                };
                (running.routes, entry)
            })
            .unzip();
        let health = Arc::new(PlatformHealth {
            started,
            services: entries,
            bus: bus.clone(),
        });

        let mut listeners = Vec::new();
        for service in &routes {
            if let Some(addr) = config.server.service_listeners.addr_of(service.name) {
                let own = Gateway {
                    config: config.gateway.clone(),
                    jwt: jwt.clone(),
                    services: vec![service.clone()],
                    health: health.clone(),
                    clients: wired.clients.clone(),
                    tls: config.server.tls.files().is_some(),
                };
                listeners.push(Listener {
                    service: Some(service.name),
                    socket: bind(addr)?,
                    gateway: own,
                });
            }
        }
        let main = Gateway {
            config: config.gateway.clone(),
            jwt,
            services: routes,
            health,
            clients: wired.clients.clone(),
            tls: config.server.tls.files().is_some(),
        };
        listeners.insert(
            0,
            Listener {
                service: None,
                socket: bind(config.server.addr)?,
                gateway: main,
            },
        );

        let tls = match config.server.tls.files() {
            Some((cert, key)) => Some(RustlsConfig::from_pem_file(cert, key).await.with_context(|| {
                format!(
                    "cannot load the TLS certificate {} and key {}",
                    cert.display(),
                    key.display()
                )
            })?),
            None => None,
        };
        let control = ControlSocket::start(Instance {
            data_dir: data_dir.path().to_owned(),
            stores: wired.stores.clone(),
            sections: config.sections(),
        })?;
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "built");
        Ok(Self {
            config,
            listeners,
            tls,
            bus,
            clients: wired.clients,
            background,
            stores: wired.stores.all(),
            control,
            data_dir,
        })
    }

    /// The main listener's address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.listeners[0].addr()
    }

    /// The address of `service`'s own listener, when it has one.
    pub fn service_addr(&self, service: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.service == Some(service))
            .map(Listener::addr)
    }

    /// Serves until `shutdown` resolves, then shuts down in order.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let control = axum_server::Handle::new();
        let mut servers = tokio::task::JoinSet::new();
        // One count of connections for every listener: the file descriptors are the process's.
        let limits = ConnectionLimits::new(
            &self.config.gateway.connections,
            self.config.gateway.trust_forwarded_for,
        );
        for Listener {
            socket: listener,
            gateway,
            ..
        } in self.listeners
        {
            let addr = listener.local_addr()?;
            let (tls, limits, handle) = (self.tls.clone(), limits.clone(), control.clone());
            servers.spawn(async move { gateway.serve(listener, tls, &limits, handle).await });
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            tracing::info!(%addr, "listening on {scheme}://{addr}");
        }

        tokio::select! {
            () = shutdown => tracing::info!("shutting down"),
            Some(result) = servers.join_next() => {
                result.context("a listener task failed")?.context("a listener stopped")?;
            }
        }
        let grace = Duration::from_secs(self.config.server.shutdown_grace_seconds);
        control.graceful_shutdown(Some(grace));
        while servers.join_next().await.is_some() {}
        // Background work may still be writing (and publishing): let it finish first.
        self.background.stop().await;

        if !self.bus.flush(grace).await {
            tracing::warn!("some events were not delivered before the deadline; they will be after the next start");
        }
        self.bus.stop().await;
        // What still holds a store: the bus's subscribers (services) and the read clients.
        self.clients.clear();
        drop(self.bus);
        self.control.stop().await;
        drop(self.stores);
        drop(self.data_dir);
        tracing::info!("stopped");
        Ok(())
    }
}

/// A bound socket and the gateway it will serve.
struct Listener {
    /// `None` for the gateway's main listener.
    service: Option<&'static str>,
    socket: TcpListener,
    gateway: Gateway,
}

impl Listener {
    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound listener has an address")
    }
}

fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail on unix");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
