//! The face a service shows the rest of the platform: its routes and their documentation.

use axum::Router;

/// What a service hands the gateway.
#[derive(Clone)]
pub struct ServiceRoutes {
    pub name: &'static str,
    pub router: Router,
    pub openapi: utoipa::openapi::OpenApi,
}
