//! The job store (`jobs.redb`): its tables and indexes, its queries, and the service's write
//! transactions.
//!
//! Each operation loads what it needs, lets the domain decide, saves, and appends its events to
//! the outbox, all in one write transaction. redb runs write transactions one at a time, so two
//! requests racing for a job's last place, or one worker applying twice at once, are serialised:
//! the second sees what the first committed.

use onetime_common::ApiError;
use onetime_common::auth::Principal;
use onetime_common::events::job::{CompletedBy, JobStatus, RejectionReason};
use onetime_common::events::new_id;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::{Direction, Index, ReadTx, Readable, Record, StorageError, StoreSpec, Table, WriteTx};
use time::{Duration, OffsetDateTime};

use crate::domain::{
    Application, ApplicationMessage, ApplicationStatus, Category, CategoryName, CategorySlug, DEFAULT_CATEGORIES, Job,
    JobChanges, JobDraft,
};
use crate::events;

pub const SPEC: StoreSpec = StoreSpec {
    name: "jobs",
    schema_version: 1,
    migrations: &[],
};

const JOBS: Table<String, Job> = Table::new("jobs");
/// Every visible job under each combination of the list filters it matches (see
/// [`listing_keys`]), so that any filtered list, newest first, is one walk of one index.
const LISTING: Index<String, String> = Index::new("jobs.listing");
/// Jobs awaiting completion, keyed by `endsAt` (Unix seconds, zero-padded) and id: the
/// scheduler's queue.
const AWAITING: Table<String, String> = Table::new("jobs.awaiting_completion");
const APPLICATIONS: Table<String, Application> = Table::new("applications");
const APPLICATIONS_BY_JOB: Index<String, String> = Index::new("applications.by_job");
const APPLICATIONS_BY_WORKER: Index<String, String> = Index::new("applications.by_worker");
/// One application per worker and job: `"{jobId}/{workerId}"` → application id. Job ids hold
/// no `/`, so the key is unambiguous whatever a worker id holds.
const APPLICANTS: Table<String, String> = Table::new("applications.applicants");
const CATEGORIES: Table<String, Category> = Table::new("categories");

/// The list filters of `GET /jobs`, checked.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    pub category: Option<String>,
    pub employer_id: Option<String>,
}

/// The index key of one filter combination. The employer id, the only free-form part, comes
/// last and is the only part without a trailing `&`, so no two combinations share a key.
fn listing_key(status: Option<JobStatus>, category: Option<&str>, employer_id: Option<&str>) -> String {
    let mut key = String::new();
    if let Some(status) = status {
        key.push_str(&format!("s={}&", status.as_str()));
    }
    if let Some(category) = category {
        key.push_str(&format!("c={category}&"));
    }
    if let Some(employer_id) = employer_id {
        key.push_str(&format!("e={employer_id}"));
    }
    key
}

/// The keys `job` is listed under: all eight filter combinations it matches, none when hidden.
fn listing_keys(job: &Job) -> Vec<String> {
    if !job.is_visible() {
        return Vec::new();
    }
    let mut keys = Vec::with_capacity(8);
    for status in [None, Some(job.status())] {
        for category in [None, Some(job.category().as_str())] {
            for employer_id in [None, Some(job.employer_id())] {
                keys.push(listing_key(status, category, employer_id));
            }
        }
    }
    keys
}

fn awaiting_key(job: &Job) -> Option<String> {
    job.awaits_completion().then(|| {
        let ends_at = job.terms().schedule().ends_at().unix_timestamp().max(0);
        format!("{ends_at:020}/{}", job.id())
    })
}

/// Writes `job`, moving its index entries from how it was (`before`) to how it is.
fn save_job(tx: &WriteTx, before: Option<&Job>, job: &Job) -> Result<(), StorageError> {
    let id = job.id().to_owned();
    let (old, new) = (before.map(listing_keys).unwrap_or_default(), listing_keys(job));
    for key in old.iter().filter(|k| !new.contains(k)) {
        LISTING.remove(tx, key, &id)?;
    }
    for key in new.iter().filter(|k| !old.contains(k)) {
        LISTING.insert(tx, key, &id)?;
    }
    let (old, new) = (before.and_then(awaiting_key), awaiting_key(job));
    if old != new {
        if let Some(old) = old {
            AWAITING.remove(tx, &old)?;
        }
        if let Some(new) = new {
            AWAITING.insert(tx, &new, &id)?;
        }
    }
    JOBS.insert(tx, &id, job).map(drop)
}

fn save_application(tx: &WriteTx, application: &Application) -> Result<(), StorageError> {
    APPLICATIONS
        .insert(tx, &application.id().to_owned(), application)
        .map(drop)
}

fn applicant_key(job_id: &str, worker_id: &str) -> String {
    format!("{job_id}/{worker_id}")
}

fn visible(job: Option<Job>) -> Result<Job, ApiError> {
    job.filter(Job::is_visible)
        .ok_or_else(|| ApiError::not_found("no such job"))
}

fn owned(job: Job, caller: &Principal) -> Result<Job, ApiError> {
    if job.employer_id() == caller.user_id {
        Ok(job)
    } else {
        Err(ApiError::forbidden("only the job's owner may do this"))
    }
}

/// The visible job `id` in a write transaction, when `caller` owns it.
fn owned_job(tx: &WriteTx, id: &str, caller: &Principal) -> Result<Job, ApiError> {
    owned(visible(JOBS.get(tx, &id.to_owned())?)?, caller)
}

fn check_category(tx: &WriteTx, slug: &CategorySlug) -> Result<(), ApiError> {
    match CATEGORIES.get(tx, &slug.as_str().to_owned())? {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid_field(
            "category",
            format!("unknown category `{}`; see GET /categories", slug.as_str()),
        )),
    }
}

/// Every application to `job_id`, oldest first.
fn applications_of(tx: &WriteTx, job_id: &str) -> Result<Vec<Application>, StorageError> {
    let ids = APPLICATIONS_BY_JOB.lookup(tx, &job_id.to_owned(), None, Direction::Forward, usize::MAX)?;
    APPLICATIONS.get_many(tx, ids)
}

/// Rejects every pending application of `job` for `reason`; returns the accepted workers' ids.
fn close_applications(tx: &WriteTx, job: &Job, reason: RejectionReason) -> Result<Vec<String>, StorageError> {
    let mut accepted = Vec::new();
    for mut application in applications_of(tx, job.id())? {
        match application.status() {
            ApplicationStatus::Accepted => accepted.push(application.worker_id().to_owned()),
            ApplicationStatus::Pending => {
                application.close();
                save_application(tx, &application)?;
                events::application_rejected(tx, &application, job, reason)?;
            }
            ApplicationStatus::Rejected => {}
        }
    }
    Ok(accepted)
}

/// Seeds the default categories into a store that has none.
pub fn seed_categories(tx: &WriteTx) -> Result<(), StorageError> {
    if !CATEGORIES.is_empty(tx)? {
        return Ok(());
    }
    for (position, (slug, name)) in DEFAULT_CATEGORIES.into_iter().enumerate() {
        let category = Category {
            slug: CategorySlug::parse(slug).expect("default slugs are valid"),
            name: CategoryName::parse(name).expect("default names are valid"),
            position: position as u32,
        };
        CATEGORIES.insert(tx, &slug.to_owned(), &category)?;
    }
    Ok(())
}

/// Every category, in listing order.
pub fn categories(tx: &ReadTx) -> Result<Vec<Category>, StorageError> {
    let mut all: Vec<Category> = CATEGORIES
        .range(tx, .., Direction::Forward, usize::MAX)?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    all.sort_by_key(|c| c.position);
    Ok(all)
}

/// The display name of category `slug`.
pub fn category_name(tx: &impl Readable, slug: &str) -> Result<Option<String>, StorageError> {
    Ok(CATEGORIES
        .get(tx, &slug.to_owned())?
        .map(|c| c.name.as_str().to_owned()))
}

/// Adds a category after the others; 409 `category_exists` for a taken slug.
pub fn add_category(tx: &WriteTx, slug: CategorySlug, name: CategoryName) -> Result<Category, ApiError> {
    let key = slug.as_str().to_owned();
    if CATEGORIES.get(tx, &key)?.is_some() {
        return Err(ApiError::conflict(
            "category_exists",
            format!("the category `{key}` exists already"),
        ));
    }
    let position = CATEGORIES
        .range(tx, .., Direction::Forward, usize::MAX)?
        .iter()
        .map(|(_, c)| c.position + 1)
        .max()
        .unwrap_or(0);
    let category = Category { slug, name, position };
    CATEGORIES.insert(tx, &key, &category)?;
    Ok(category)
}

pub fn post_job(tx: &WriteTx, employer_id: &str, draft: JobDraft, now: OffsetDateTime) -> Result<Job, ApiError> {
    check_category(tx, &draft.category)?;
    let job = Job::post(new_id().to_string(), employer_id.to_owned(), draft, now);
    save_job(tx, None, &job)?;
    events::job_created(tx, &job)?;
    Ok(job)
}

/// A visible job.
pub fn job(tx: &ReadTx, id: &str) -> Result<Job, ApiError> {
    visible(JOBS.get(tx, &id.to_owned())?)
}

/// The job with `id` in any status, for other services' reads.
pub fn any_job(tx: &ReadTx, id: &str) -> Result<Option<Job>, StorageError> {
    JOBS.get(tx, &id.to_owned())
}

/// `worker_id`'s application to `job_id`, in any status.
pub fn application_of(tx: &ReadTx, job_id: &str, worker_id: &str) -> Result<Option<Application>, StorageError> {
    match APPLICANTS.get(tx, &applicant_key(job_id, worker_id))? {
        Some(id) => APPLICATIONS.get(tx, &id),
        None => Ok(None),
    }
}

/// A page of visible jobs matching `query`, newest first.
pub fn jobs(tx: &ReadTx, query: &JobQuery, page: &PageRequest) -> Result<Page<Job>, StorageError> {
    let key = listing_key(query.status, query.category.as_deref(), query.employer_id.as_deref());
    newest_first(tx, &LISTING, key, &JOBS, page, Job::id)
}

/// The page of `table`'s records whose ids `index` files under `key`, newest first.
fn newest_first<V: Record>(
    tx: &ReadTx,
    index: &Index<String, String>,
    key: String,
    table: &Table<String, V>,
    page: &PageRequest,
    id: impl Fn(&V) -> &str,
) -> Result<Page<V>, StorageError> {
    let ids = index.lookup(tx, &key, page.after.as_ref(), Direction::Reverse, page.fetch())?;
    Ok(page.page(table.get_many(tx, ids)?, id))
}

/// Up to `limit` open jobs with ids after `after`, in id order: for other services' reads.
pub fn open_jobs(tx: &ReadTx, after: Option<&str>, limit: usize) -> Result<Vec<Job>, StorageError> {
    let key = listing_key(Some(JobStatus::Open), None, None);
    let after = after.map(str::to_owned);
    let ids = LISTING.lookup(tx, &key, after.as_ref(), Direction::Forward, limit)?;
    let jobs = JOBS.get_many(tx, ids)?;
    Ok(jobs)
}

/// The owner's edit of job `id`: `changes` turns the request into changes to the job as it is
/// inside this transaction, so that a new wage is judged against the schedule it will have.
pub fn edit_job(
    tx: &WriteTx,
    id: &str,
    caller: &Principal,
    now: OffsetDateTime,
    changes: impl FnOnce(&Job) -> Result<JobChanges, ApiError>,
) -> Result<Job, ApiError> {
    let before = owned_job(tx, id, caller)?;
    let changes = changes(&before)?;
    if let Some(category) = &changes.category {
        check_category(tx, category)?;
    }
    let mut job = before.clone();
    if job.edit(changes, now)? {
        save_job(tx, Some(&before), &job)?;
        events::job_updated(tx, &job)?;
    }
    Ok(job)
}

/// The owner cancels job `id`: pending applications are rejected; accepted workers are named in
/// `job.deleted`.
pub fn cancel_job(tx: &WriteTx, id: &str, caller: &Principal, now: OffsetDateTime) -> Result<(), ApiError> {
    let before = owned_job(tx, id, caller)?;
    let mut job = before.clone();
    job.cancel(now)?;
    let accepted = close_applications(tx, &job, RejectionReason::JobCancelled)?;
    save_job(tx, Some(&before), &job)?;
    events::job_deleted(tx, &job, accepted)?;
    Ok(())
}

/// `worker_id` applies to job `id`, once.
pub fn apply(
    tx: &WriteTx,
    job_id: &str,
    worker_id: &str,
    message: Option<ApplicationMessage>,
    now: OffsetDateTime,
) -> Result<Application, ApiError> {
    let job = visible(JOBS.get(tx, &job_id.to_owned())?)?;
    let applicant = applicant_key(job_id, worker_id);
    if APPLICANTS.get(tx, &applicant)?.is_some() {
        return Err(ApiError::conflict(
            "already_applied",
            "you have applied to this job already",
        ));
    }
    let application = Application::submit(new_id().to_string(), &job, worker_id.to_owned(), message, now)?;
    let id = application.id().to_owned();
    save_application(tx, &application)?;
    APPLICATIONS_BY_JOB.insert(tx, &job_id.to_owned(), &id)?;
    APPLICATIONS_BY_WORKER.insert(tx, &worker_id.to_owned(), &id)?;
    APPLICANTS.insert(tx, &applicant, &id)?;
    events::application_submitted(tx, &application, &job)?;
    Ok(application)
}

/// A page of job `id`'s applications for its owner, newest first.
pub fn applications_for_owner(
    tx: &ReadTx,
    job_id: &str,
    caller: &Principal,
    page: &PageRequest,
) -> Result<Page<Application>, ApiError> {
    owned(job(tx, job_id)?, caller)?;
    let key = job_id.to_owned();
    Ok(newest_first(
        tx,
        &APPLICATIONS_BY_JOB,
        key,
        &APPLICATIONS,
        page,
        Application::id,
    )?)
}

/// A page of a worker's own applications, newest first.
pub fn applications_of_worker(
    tx: &ReadTx,
    worker_id: &str,
    page: &PageRequest,
) -> Result<Page<Application>, StorageError> {
    let key = worker_id.to_owned();
    newest_first(tx, &APPLICATIONS_BY_WORKER, key, &APPLICATIONS, page, Application::id)
}

/// The owner accepts (`accept`) or rejects an application to job `job_id`. Accepting the last
/// place fills the job and rejects the applications still pending.
pub fn decide(
    tx: &WriteTx,
    job_id: &str,
    application_id: &str,
    caller: &Principal,
    accept: bool,
    now: OffsetDateTime,
) -> Result<Application, ApiError> {
    let before = owned_job(tx, job_id, caller)?;
    let mut application = APPLICATIONS
        .get(tx, &application_id.to_owned())?
        .filter(|a| a.job_id() == job_id)
        .ok_or_else(|| ApiError::not_found("no such application to this job"))?;
    let mut job = before.clone();
    if !accept {
        job.reject(&mut application)?;
        save_application(tx, &application)?;
        events::application_rejected(tx, &application, &job, RejectionReason::Employer)?;
        return Ok(application);
    }
    let filled = job.accept(&mut application, now)?;
    save_application(tx, &application)?;
    events::application_accepted(tx, &application, &job)?;
    if filled {
        let accepted = close_applications(tx, &job, RejectionReason::JobFilled)?;
        events::job_filled(tx, &job, accepted)?;
    }
    save_job(tx, Some(&before), &job)?;
    Ok(application)
}

/// The worker withdraws a pending application: it is deleted, and the worker may apply again.
/// Someone else's application is not found.
pub fn withdraw(tx: &WriteTx, application_id: &str, worker_id: &str) -> Result<(), ApiError> {
    let id = application_id.to_owned();
    let application = APPLICATIONS
        .get(tx, &id)?
        .filter(|a| a.worker_id() == worker_id)
        .ok_or_else(|| ApiError::not_found("no such application of yours"))?;
    application.check_pending()?;
    let job = JOBS
        .get(tx, &application.job_id().to_owned())?
        .ok_or_else(|| ApiError::internal(format!("application {id} points at a missing job")))?;
    APPLICATIONS.remove(tx, &id)?;
    APPLICATIONS_BY_JOB.remove(tx, &application.job_id().to_owned(), &id)?;
    APPLICATIONS_BY_WORKER.remove(tx, &worker_id.to_owned(), &id)?;
    APPLICANTS.remove(tx, &applicant_key(application.job_id(), worker_id))?;
    events::application_withdrawn(tx, &application, &job)?;
    Ok(())
}

/// Completes `job` (loaded in `tx`, as `before`): pending applications are rejected and
/// `job.completed` carries what settlement needs.
fn finish(tx: &WriteTx, before: &Job, by: CompletedBy, now: OffsetDateTime) -> Result<Job, ApiError> {
    let mut job = before.clone();
    job.complete(now)?;
    let accepted = close_applications(tx, &job, RejectionReason::JobCompleted)?;
    save_job(tx, Some(before), &job)?;
    events::job_completed(tx, &job, accepted, by)?;
    Ok(job)
}

/// The owner completes job `id`.
pub fn complete(tx: &WriteTx, id: &str, caller: &Principal, now: OffsetDateTime) -> Result<Job, ApiError> {
    let job = owned_job(tx, id, caller)?;
    finish(tx, &job, CompletedBy::Owner, now)
}

/// Up to `limit` jobs awaiting completion that ended by `ended_by`, earliest end first.
pub fn awaiting_completion(tx: &ReadTx, ended_by: OffsetDateTime, limit: usize) -> Result<Vec<String>, StorageError> {
    // Keys of jobs that ended in the second after `ended_by` sort below this bound too; the
    // scheduler re-checks each job exactly.
    let bound = format!("{:020}", ended_by.unix_timestamp().max(0) + 1);
    let rows = AWAITING.range(tx, ..bound, Direction::Forward, limit)?;
    Ok(rows.into_iter().map(|(_, id)| id).collect())
}

/// The scheduler completes job `id` if it is still due; returns whether it did.
pub fn complete_if_due(tx: &WriteTx, id: &str, grace: Duration, now: OffsetDateTime) -> Result<bool, ApiError> {
    match JOBS.get(tx, &id.to_owned())? {
        Some(job) if job.is_due(now, grace) => finish(tx, &job, CompletedBy::Scheduler, now).map(|_| true),
        _ => Ok(false),
    }
}

/// Records that `order`'s payment for job `job_id` is held (`paid`) or was refunded. A payment
/// for a job this store does not know changes nothing.
pub fn record_funding(
    tx: &WriteTx,
    job_id: &str,
    order: &str,
    paid: bool,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    let Some(before) = JOBS.get(tx, &job_id.to_owned())? else {
        tracing::warn!(job_id, order, "a payment names a job that does not exist; ignored");
        return Ok(());
    };
    let mut job = before.clone();
    if job.record_funding(order, paid, now) {
        save_job(tx, Some(&before), &job)?;
        events::job_updated(tx, &job)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_keys_of_different_filters_never_collide() {
        let statuses = [None, Some(JobStatus::Open), Some(JobStatus::Closed)];
        let categories = [None, Some("food-cafe"), Some("etc")];
        // Employer ids are free-form: ones that look like the other parts must stay apart.
        let employers = [None, Some(""), Some("e1"), Some("c=etc&"), Some("x&c=etc&e=y")];
        let mut seen = std::collections::HashMap::new();
        for status in statuses {
            for category in categories {
                for employer in employers {
                    let key = listing_key(status, category, employer);
                    if let Some(other) = seen.insert(key.clone(), (status, category, employer)) {
                        panic!("{key:?} is shared by {other:?} and {:?}", (status, category, employer));
                    }
                }
            }
        }
    }
}
