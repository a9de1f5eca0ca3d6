//! The face a service shows the rest of the platform: its routes and their documentation, and
//! the background work it runs beside them.

use std::future::Future;

use axum::Router;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

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
