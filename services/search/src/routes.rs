//! HTTP handlers: thin, with the index work on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onetime_common::ApiError;
use onetime_common::auth::{Authorized, roles};
use onetime_common::extract::Query;
use utoipa::OpenApi;

use crate::SearchService;
use crate::api::{ReindexStarted, ReindexTask, SearchResponse, SuggestParams, Suggestions};
use crate::query::SearchParams;

#[derive(OpenApi)]
#[openapi(
    paths(search_jobs, suggestions, start_reindex, reindex_status),
    tags((name = "search", description = "Korean job search, suggestions, reindexing"))
)]
struct SearchDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    SearchDoc::openapi()
}

pub fn router(service: Arc<SearchService>) -> Router {
    Router::new()
        .route("/search/jobs", get(search_jobs))
        .route("/search/suggestions", get(suggestions))
        .route("/search/reindex", post(start_reindex))
        .route("/search/reindex/{task_id}", get(reindex_status))
        .with_state(service)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| Err(ApiError::internal(join)))
}

/// Open jobs matching free text and filters, with facets and highlights.
#[utoipa::path(get, path = "/search/jobs", tag = "search", params(SearchParams), responses(
    (status = 200, body = SearchResponse),
    (status = 400, description = "Malformed query string", body = onetime_common::error::Problem, content_type = "application/problem+json"),
    (status = 422, description = "A parameter out of range", body = onetime_common::error::Problem, content_type = "application/problem+json"),
))]
async fn search_jobs(
    State(service): State<Arc<SearchService>>,
    Query(params): Query<SearchParams>,
) -> Result<axum::Json<SearchResponse>, ApiError> {
    blocking(move || service.search(&params)).await.map(axum::Json)
}

/// Completions of a prefix, a partial last syllable or initial consonants.
#[utoipa::path(get, path = "/search/suggestions", tag = "search", params(SuggestParams), responses(
    (status = 200, body = Suggestions),
))]
async fn suggestions(
    State(service): State<Arc<SearchService>>,
    Query(params): Query<SuggestParams>,
) -> Result<axum::Json<Suggestions>, ApiError> {
    service.suggest(params.q.as_deref().unwrap_or_default()).map(axum::Json)
}

/// Rebuilds the index from the job service while search keeps answering (admin).
#[utoipa::path(post, path = "/search/reindex", tag = "search", security(("bearer" = [])), responses(
    (status = 202, body = ReindexStarted),
    (status = 401, body = onetime_common::error::Problem, content_type = "application/problem+json"),
    (status = 403, body = onetime_common::error::Problem, content_type = "application/problem+json"),
    (status = 409, description = "A rebuild is already running", body = onetime_common::error::Problem, content_type = "application/problem+json"),
))]
async fn start_reindex(
    State(service): State<Arc<SearchService>>,
    _admin: Authorized<roles::Admin>,
) -> Result<Response, ApiError> {
    let (task_id, started) = service.reindex();
    if !started {
        return Err(ApiError::conflict(
            "reindex_running",
            format!("rebuild {task_id} is still running"),
        ));
    }
    Ok((StatusCode::ACCEPTED, axum::Json(ReindexStarted { task_id })).into_response())
}

/// A rebuild's progress (admin).
#[utoipa::path(get, path = "/search/reindex/{taskId}", tag = "search", security(("bearer" = [])),
    params(("taskId" = String, Path, description = "From POST /search/reindex")),
    responses(
        (status = 200, body = ReindexTask),
        (status = 401, body = onetime_common::error::Problem, content_type = "application/problem+json"),
        (status = 403, body = onetime_common::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = onetime_common::error::Problem, content_type = "application/problem+json"),
    ))]
async fn reindex_status(
    State(service): State<Arc<SearchService>>,
    _admin: Authorized<roles::Admin>,
    Path(task_id): Path<String>,
) -> Result<axum::Json<ReindexTask>, ApiError> {
    service
        .task(&task_id)
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("no such reindex task"))
}
