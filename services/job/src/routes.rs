//! The job service's HTTP handlers: extract, run one store operation, answer in the published
//! shape. Who may call what is checked here (roles, by extractor, before the body is read) and
//! in the store operation (ownership, against the job as the transaction sees it).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use onetime_common::ApiError;
use onetime_common::auth::{Authorized, Principal, roles};
use onetime_common::error::Problem;
use onetime_common::events::job::{Application, Job, JobStatus, Location, Wage, WageKind};
use onetime_common::extract::{Json, Query};
use onetime_common::paging::{Page, PageQuery};
use onetime_storage::Store;
use time::OffsetDateTime;
use utoipa::OpenApi;

use crate::JobsConfig;
use crate::api::{
    CategoryView, Decision, EditableStatus, JobFilter, JobPatch, NewApplication, NewCategory, NewJob, Verdict,
};
use crate::store::{self, JobQuery};

#[derive(Clone)]
struct AppState {
    store: Store,
    config: Arc<JobsConfig>,
}

pub fn router(store: Store, config: JobsConfig) -> Router {
    let state = AppState {
        store,
        config: Arc::new(config),
    };
    Router::new()
        .route("/jobs", get(list_jobs).post(post_job))
        .route("/jobs/{id}", get(get_job).put(edit_job).delete(cancel_job))
        .route("/jobs/{id}/apply", post(apply))
        .route("/jobs/{id}/applications", get(job_applications))
        .route("/jobs/{id}/applications/{application_id}", put(decide))
        .route("/jobs/{id}/complete", post(complete))
        .route("/applications", get(own_applications))
        .route("/applications/{id}", axum::routing::delete(withdraw))
        .route("/categories", get(list_categories).post(add_category))
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_jobs,
        post_job,
        get_job,
        edit_job,
        cancel_job,
        apply,
        job_applications,
        decide,
        complete,
        own_applications,
        withdraw,
        list_categories,
        add_category
    ),
    components(schemas(
        Job,
        Wage,
        WageKind,
        Location,
        JobStatus,
        Application,
        onetime_common::events::job::ApplicationStatus,
        NewJob,
        JobPatch,
        EditableStatus,
        NewApplication,
        Decision,
        Verdict,
        NewCategory,
        CategoryView,
        Problem
    )),
    tags((name = "job", description = "Job postings, applications, completion, categories"))
)]
struct JobApi;

pub fn openapi() -> utoipa::openapi::OpenApi {
    JobApi::openapi()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Visible jobs, newest first.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "job",
    params(JobFilter, PageQuery),
    responses(
        (status = 200, body = Page<Job>),
        (status = 400, description = "A bad filter, limit or cursor", body = Problem),
    )
)]
async fn list_jobs(
    State(state): State<AppState>,
    Query(filter): Query<JobFilter>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Job>>, ApiError> {
    filter.check()?;
    let page = page.parse()?;
    let query = JobQuery {
        status: filter.status,
        category: filter.category,
        employer_id: filter.employer_id,
    };
    let jobs = state.store.read(move |tx| store::jobs(tx, &query, &page)).await?;
    Ok(axum::Json(jobs.map(|job| job.published())))
}

/// Posts a job (employers only); emits `job.created`.
#[utoipa::path(
    post,
    path = "/jobs",
    tag = "job",
    request_body = NewJob,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Job),
        (status = 401, body = Problem),
        (status = 403, description = "Not an employer", body = Problem),
        (status = 422, description = "`validation_failed`, or `below_minimum_wage`", body = Problem),
    )
)]
async fn post_job(
    State(state): State<AppState>,
    employer: Authorized<roles::Employer>,
    Json(input): Json<NewJob>,
) -> Result<(StatusCode, axum::Json<Job>), ApiError> {
    let now = now();
    let draft = input.parse(now, state.config.minimum_wage())?;
    let job = state
        .store
        .write(move |tx| store::post_job(tx, &employer.user_id, draft, now))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(job.published())))
}

/// One job; cancelled jobs are not found.
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    tag = "job",
    params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 404, body = Problem))
)]
async fn get_job(State(state): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<Job>, ApiError> {
    let job = state.store.read(move |tx| store::job(tx, &id)).await?;
    Ok(axum::Json(job.published()))
}

/// Edits a job (owner); `status` closes it to applications or opens it again. Emits
/// `job.updated` when anything changed.
#[utoipa::path(
    put,
    path = "/jobs/{id}",
    tag = "job",
    params(("id" = String, Path)),
    request_body = JobPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Job),
        (status = 401, body = Problem),
        (status = 403, description = "Not the owner", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`job_not_editable` (completed), `terms_locked`, `invalid_transition`", body = Problem),
        (status = 422, description = "`validation_failed`, or `below_minimum_wage`", body = Problem),
    )
)]
async fn edit_job(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    Json(patch): Json<JobPatch>,
) -> Result<axum::Json<Job>, ApiError> {
    let now = now();
    let minimum = state.config.minimum_wage();
    let job = state
        .store
        .write(move |tx| store::edit_job(tx, &id, &caller, now, |job| patch.parse(job, now, minimum)))
        .await?;
    Ok(axum::Json(job.published()))
}

/// Cancels a job (owner): kept for history, gone from reads and lists; pending applications are
/// rejected. Emits `job.deleted`.
#[utoipa::path(
    delete,
    path = "/jobs/{id}",
    tag = "job",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, body = Problem),
        (status = 403, description = "Not the owner", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`job_not_editable`: completed", body = Problem),
    )
)]
async fn cancel_job(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = now();
    state
        .store
        .write(move |tx| store::cancel_job(tx, &id, &caller, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies to an open job (workers only), once; emits `application.submitted`.
#[utoipa::path(
    post,
    path = "/jobs/{id}/apply",
    tag = "job",
    params(("id" = String, Path)),
    request_body = NewApplication,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Application),
        (status = 401, body = Problem),
        (status = 403, description = "Not a worker", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`already_applied` or `job_not_open`", body = Problem),
        (status = 422, body = Problem),
    )
)]
async fn apply(
    State(state): State<AppState>,
    worker: Authorized<roles::Worker>,
    Path(id): Path<String>,
    Json(input): Json<NewApplication>,
) -> Result<(StatusCode, axum::Json<Application>), ApiError> {
    let message = input.parse()?;
    let now = now();
    let application = state
        .store
        .write(move |tx| store::apply(tx, &id, &worker.user_id, message, now))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(application.published())))
}

/// The applications to a job (owner), newest first.
#[utoipa::path(
    get,
    path = "/jobs/{id}/applications",
    tag = "job",
    params(("id" = String, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Application>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "Not the owner", body = Problem),
        (status = 404, body = Problem),
    )
)]
async fn job_applications(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Application>>, ApiError> {
    let page = page.parse()?;
    let applications = state
        .store
        .read(move |tx| store::applications_for_owner(tx, &id, &caller, &page))
        .await?;
    Ok(axum::Json(applications.map(|a| a.published())))
}

/// Accepts or rejects a pending application (owner). Accepting the last place fills the job and
/// rejects the applications still pending. Emits `application.accepted`/`.rejected`, and
/// `job.filled`.
#[utoipa::path(
    put,
    path = "/jobs/{id}/applications/{applicationId}",
    tag = "job",
    params(("id" = String, Path), ("applicationId" = String, Path)),
    request_body = Decision,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Application),
        (status = 401, body = Problem),
        (status = 403, description = "Not the owner", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`job_not_open` or `application_not_pending`", body = Problem),
        (status = 422, body = Problem),
    )
)]
async fn decide(
    State(state): State<AppState>,
    caller: Principal,
    Path((id, application_id)): Path<(String, String)>,
    Json(decision): Json<Decision>,
) -> Result<axum::Json<Application>, ApiError> {
    let now = now();
    let accept = decision.status == Verdict::Accepted;
    let application = state
        .store
        .write(move |tx| store::decide(tx, &id, &application_id, &caller, accept, now))
        .await?;
    Ok(axum::Json(application.published()))
}

/// Completes a job (owner) that has started and has accepted workers; emits `job.completed`,
/// which settlement follows.
#[utoipa::path(
    post,
    path = "/jobs/{id}/complete",
    tag = "job",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Job),
        (status = 401, body = Problem),
        (status = 403, description = "Not the owner", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`no_accepted_workers`, `job_not_started`, `invalid_transition`", body = Problem),
    )
)]
async fn complete(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Job>, ApiError> {
    let now = now();
    let job = state
        .store
        .write(move |tx| store::complete(tx, &id, &caller, now))
        .await?;
    Ok(axum::Json(job.published()))
}

/// The caller's own applications (workers only), newest first.
#[utoipa::path(
    get,
    path = "/applications",
    tag = "job",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Application>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "Not a worker", body = Problem),
    )
)]
async fn own_applications(
    State(state): State<AppState>,
    worker: Authorized<roles::Worker>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Application>>, ApiError> {
    let page = page.parse()?;
    let applications = state
        .store
        .read(move |tx| store::applications_of_worker(tx, &worker.user_id, &page))
        .await?;
    Ok(axum::Json(applications.map(|a| a.published())))
}

/// Withdraws one of the caller's pending applications (workers only); it is deleted and the
/// worker may apply again. Emits `application.withdrawn`.
#[utoipa::path(
    delete,
    path = "/applications/{id}",
    tag = "job",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, body = Problem),
        (status = 403, description = "Not a worker", body = Problem),
        (status = 404, description = "No such application of the caller's", body = Problem),
        (status = 409, description = "`application_not_pending`", body = Problem),
    )
)]
async fn withdraw(
    State(state): State<AppState>,
    worker: Authorized<roles::Worker>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .write(move |tx| store::withdraw(tx, &id, &worker.user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every category, in display order (one page, `nextCursor` always `null`).
#[utoipa::path(
    get,
    path = "/categories",
    tag = "job",
    responses((status = 200, body = Page<CategoryView>))
)]
async fn list_categories(State(state): State<AppState>) -> Result<axum::Json<Page<CategoryView>>, ApiError> {
    let categories = state.store.read(store::categories).await?;
    Ok(axum::Json(Page {
        items: categories.iter().map(CategoryView::from).collect(),
        next_cursor: None,
    }))
}

/// Adds a category (admins only).
#[utoipa::path(
    post,
    path = "/categories",
    tag = "job",
    request_body = NewCategory,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CategoryView),
        (status = 401, body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 409, description = "`category_exists`", body = Problem),
        (status = 422, body = Problem),
    )
)]
async fn add_category(
    State(state): State<AppState>,
    _admin: Authorized<roles::Admin>,
    Json(input): Json<NewCategory>,
) -> Result<(StatusCode, axum::Json<CategoryView>), ApiError> {
    let (slug, name) = input.parse()?;
    let category = state.store.write(move |tx| store::add_category(tx, slug, name)).await?;
    Ok((StatusCode::CREATED, axum::Json(CategoryView::from(&category))))
}
