//! The job service's HTTP handlers and their OpenAPI description. Each one extracts, calls
//! [`Jobs`], and shapes the answer in the published form. Roles are checked here, by extractor,
//! before the body is read; ownership by the use case, against the job as its transaction sees it.

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
use utoipa::OpenApi;

use crate::api::{
    CategoryView, Decision, EditableStatus, JobFilter, JobPatch, NewApplication, NewCategory, NewJob, Verdict,
};
use crate::jobs::Jobs;

type Answer<T> = Result<Json<T>, ApiError>;

pub fn router(jobs: Arc<Jobs>) -> Router {
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
        .with_state(jobs)
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

/// Visible jobs, newest first.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "job",
    params(JobFilter, PageQuery),
    responses(
        (status = 200, body = Page<Job>),
        (status = 400, description = "A bad filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_jobs(
    State(jobs): State<Arc<Jobs>>,
    Query(filter): Query<JobFilter>,
    Query(page): Query<PageQuery>,
) -> Answer<Page<Job>> {
    let listed = jobs.list(filter, page.parse()?).await?;
    Ok(Json(listed.map(|job| job.published())))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an employer, or `email_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `break_too_short`, `break_too_long` (both with `errors.breakMinutes`), or `below_minimum_wage`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn post_job(
    State(jobs): State<Arc<Jobs>>,
    employer: Authorized<roles::Employer>,
    Json(input): Json<NewJob>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = jobs.post(&employer.user_id, input).await?;
    Ok((StatusCode::CREATED, Json(job.published())))
}

/// One job; cancelled jobs are not found.
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    tag = "job",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Job),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_job(State(jobs): State<Arc<Jobs>>, Path(id): Path<String>) -> Answer<Job> {
    Ok(Json(jobs.job(&id).await?.published()))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_not_editable` (completed), `terms_locked`, `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `break_too_short`, `break_too_long` (both with `errors.breakMinutes`), or `below_minimum_wage`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn edit_job(
    State(jobs): State<Arc<Jobs>>,
    caller: Principal,
    Path(id): Path<String>,
    Json(patch): Json<JobPatch>,
) -> Answer<Job> {
    Ok(Json(jobs.edit(&caller.user_id, &id, patch).await?.published()))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_not_editable`: completed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn cancel_job(
    State(jobs): State<Arc<Jobs>>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    jobs.cancel(&caller.user_id, &id).await?;
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a worker, or `email_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_applied` or `job_not_open`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn apply(
    State(jobs): State<Arc<Jobs>>,
    worker: Authorized<roles::Worker>,
    Path(id): Path<String>,
    Json(input): Json<NewApplication>,
) -> Result<(StatusCode, Json<Application>), ApiError> {
    let application = jobs.apply(&worker.user_id, &id, input).await?;
    Ok((StatusCode::CREATED, Json(application.published())))
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn job_applications(
    State(jobs): State<Arc<Jobs>>,
    caller: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Answer<Page<Application>> {
    let applications = jobs.applications_to(&caller.user_id, &id, page.parse()?).await?;
    Ok(Json(applications.map(|a| a.published())))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_not_open` or `application_not_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide(
    State(jobs): State<Arc<Jobs>>,
    caller: Principal,
    Path((id, application_id)): Path<(String, String)>,
    Json(decision): Json<Decision>,
) -> Answer<Application> {
    let accept = decision.status == Verdict::Accepted;
    let application = jobs.decide(&caller.user_id, &id, &application_id, accept).await?;
    Ok(Json(application.published()))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_accepted_workers`, `job_not_started`, `invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn complete(State(jobs): State<Arc<Jobs>>, caller: Principal, Path(id): Path<String>) -> Answer<Job> {
    Ok(Json(jobs.complete(&caller.user_id, &id).await?.published()))
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a worker", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn own_applications(
    State(jobs): State<Arc<Jobs>>,
    worker: Authorized<roles::Worker>,
    Query(page): Query<PageQuery>,
) -> Answer<Page<Application>> {
    let applications = jobs.applications_of(&worker.user_id, page.parse()?).await?;
    Ok(Json(applications.map(|a| a.published())))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a worker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_not_pending`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn withdraw(
    State(jobs): State<Arc<Jobs>>,
    worker: Authorized<roles::Worker>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    jobs.withdraw(&worker.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every category, in display order (one page, `nextCursor` always `null`).
#[utoipa::path(
    get,
    path = "/categories",
    tag = "job",
    responses((status = 200, body = Page<CategoryView>))
)]
async fn list_categories(State(jobs): State<Arc<Jobs>>) -> Answer<Page<CategoryView>> {
    let categories = jobs.categories().await?;
    Ok(Json(Page {
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`category_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_category(
    State(jobs): State<Arc<Jobs>>,
    _admin: Authorized<roles::Admin>,
    Json(input): Json<NewCategory>,
) -> Result<(StatusCode, Json<CategoryView>), ApiError> {
    let category = jobs.add_category(input).await?;
    Ok((StatusCode::CREATED, Json(CategoryView::from(&category))))
}
