//! `/openapi.json` and `/docs`: one OpenAPI document assembled from what each service
//! contributes, browsable with Swagger UI (served from the binary, no CDN).

use axum::Router;
use onetime_common::error::Problem;
use onetime_common::service::ServiceRoutes;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "onetime", description = "OneDay (원데이) day-job platform API"),
    paths(crate::health::health, crate::health::ready, crate::observe::render),
    components(schemas(Problem)),
    tags((name = "gateway", description = "Health, readiness and metrics"))
)]
struct GatewayDoc;

pub fn assemble(services: &[ServiceRoutes]) -> utoipa::openapi::OpenApi {
    let mut doc = GatewayDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for service in services {
        doc.merge(service.openapi.clone());
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    doc
}

pub fn routes(doc: utoipa::openapi::OpenApi) -> Router {
    SwaggerUi::new("/docs").url("/openapi.json", doc).into()
}
