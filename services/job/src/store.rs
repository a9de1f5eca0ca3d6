//! The job store (`jobs.redb`): its tables and indexes, its queries, and the service's write
//! transactions.
//!
//! Each operation loads what it needs, lets the domain decide, saves, and appends its events to
//! the outbox, all in one write transaction. redb runs write transactions one at a time, so two
//! requests racing for a job's last place, or one worker applying twice at once, are serialised:
//! the second sees what the first committed.

use onetime_common::events::job::{self as catalogue, CompletedBy, JobStatus, RejectionReason};
use onetime_common::events::new_id;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::{
    Direction, Index, Key, Migration, ReadTx, Readable, Record, StorageError, StoreSpec, Table, WriteTx,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{
    Application, ApplicationMessage, ApplicationStatus, Category, CategoryName, CategorySlug, DEFAULT_CATEGORIES, Job,
    JobChanges, JobDraft,
};
use crate::error::JobError;
use crate::events;

pub const SPEC: StoreSpec = StoreSpec {
    name: "jobs",
    schema_version: 3,
    migrations: &[
        Migration {
            to_version: 2,
            description: "jobs gain break time: jobs posted before it have a break of 0 minutes",
            apply: migrate_break_minutes,
        },
        Migration {
            to_version: 3,
            description: "the job listing index is keyed by ids' 16 bytes rather than their text",
            apply: rebuild_listing,
        },
    ],
};

const JOBS: Table<String, Job> = Table::new("jobs");
/// Every visible job under each combination of the list filters it matches (see
/// [`listing_keys`]), so that any filtered list, newest first, is one walk of one index. A job
/// is in eight of them, so their keys are bytes: ids as their 16 bytes, not 36 characters.
const LISTING: Index<Vec<u8>, Uuid> = Index::new("jobs.listing");
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

/// How an employer's id goes into a listing key: its 16 bytes when it is a UUID as this
/// platform writes them, else its text.
#[derive(Debug, Clone, Copy)]
enum EmployerKey<'a> {
    Uuid(Uuid),
    Text(&'a str),
}

impl<'a> EmployerKey<'a> {
    fn of(id: &'a str) -> Self {
        match Uuid::try_parse(id) {
            Ok(uuid) if uuid.to_string() == id => Self::Uuid(uuid),
            _ => Self::Text(id),
        }
    }
}

/// The index key of one filter combination. A byte says which filters follow: the status (one
/// byte), the category (ended by a 0 byte, which slugs never hold), the employer (see
/// [`EmployerKey`]). The employer comes last, the one part of free length, so no two
/// combinations share a key.
fn listing_key(status: Option<JobStatus>, category: Option<&str>, employer: Option<EmployerKey>) -> Vec<u8> {
    let employer_bit = match employer {
        None => 0,
        Some(EmployerKey::Uuid(_)) => 1 << 2,
        Some(EmployerKey::Text(_)) => 1 << 3,
    };
    let present = u8::from(status.is_some()) | u8::from(category.is_some()) << 1 | employer_bit;
    let mut key = vec![present];
    key.extend(status.map(status_byte));
    if let Some(category) = category {
        key.extend_from_slice(category.as_bytes());
        key.push(0);
    }
    match employer {
        Some(EmployerKey::Uuid(uuid)) => key.extend_from_slice(uuid.as_bytes()),
        Some(EmployerKey::Text(text)) => key.extend_from_slice(text.as_bytes()),
        None => {}
    }
    key
}

/// A status as one byte of an index key. Stored, so never renumber.
fn status_byte(status: JobStatus) -> u8 {
    match status {
        JobStatus::Open => 1,
        JobStatus::Filled => 2,
        JobStatus::Closed => 3,
        JobStatus::Completed => 4,
        JobStatus::Cancelled => 5,
    }
}

/// An id this service made ([`new_id`]); one that is not a UUID means a damaged store.
fn stored_id(id: &str) -> Result<Uuid, StorageError> {
    Uuid::parse_str(id).map_err(|e| StorageError::Decode {
        table: JOBS.name().to_owned(),
        reason: format!("job id `{id}`: {e}"),
    })
}

/// The keys `job` is listed under: all eight filter combinations it matches, none when hidden.
fn listing_keys(job: &Job) -> Vec<Vec<u8>> {
    if !job.is_visible() {
        return Vec::new();
    }
    let employer = EmployerKey::of(job.employer_id());
    let mut keys = Vec::with_capacity(8);
    for status in [None, Some(job.status())] {
        for category in [None, Some(job.category().as_str())] {
            for employer in [None, Some(employer)] {
                keys.push(listing_key(status, category, employer));
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
    let listed_id = stored_id(&id)?;
    let (old, new) = (before.map(listing_keys).unwrap_or_default(), listing_keys(job));
    for key in old.iter().filter(|k| !new.contains(k)) {
        LISTING.remove(tx, key, &listed_id)?;
    }
    for key in new.iter().filter(|k| !old.contains(k)) {
        LISTING.insert(tx, key, &listed_id)?;
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

/// Records of schema 1 lack `terms.breakMinutes`; those jobs had no break.
fn migrate_break_minutes(tx: &WriteTx) -> Result<(), StorageError> {
    // Read untyped: the typed record requires the field this adds.
    const RAW_JOBS: Table<String, serde_json::Value> = Table::new("jobs");
    for (id, mut job) in RAW_JOBS.range(tx, .., Direction::Forward, usize::MAX)? {
        if let Some(terms) = job.get_mut("terms").and_then(serde_json::Value::as_object_mut) {
            terms.entry("breakMinutes").or_insert(0.into());
        }
        RAW_JOBS.insert(tx, &id, &job)?;
    }
    Ok(())
}

/// Lists every job again under keys of the current shape.
fn rebuild_listing(tx: &WriteTx) -> Result<(), StorageError> {
    LISTING.clear(tx)?;
    for (id, job) in JOBS.range(tx, .., Direction::Forward, usize::MAX)? {
        for key in listing_keys(&job) {
            LISTING.insert(tx, &key, &stored_id(&id)?)?;
        }
    }
    Ok(())
}

/// The job as events and other services see it: with its category's name.
pub fn published(tx: &impl Readable, job: &Job) -> Result<catalogue::Job, StorageError> {
    let mut published = job.published();
    published.category_name = category_name(tx, &published.category)?;
    Ok(published)
}

fn visible(job: Option<Job>) -> Result<Job, JobError> {
    job.filter(Job::is_visible).ok_or(JobError::JobNotFound)
}

fn owned(job: Job, caller_id: &str) -> Result<Job, JobError> {
    if job.employer_id() == caller_id {
        Ok(job)
    } else {
        Err(JobError::NotOwner)
    }
}

/// The visible job `id` in a write transaction, when `caller_id` owns it.
fn owned_job(tx: &WriteTx, id: &str, caller_id: &str) -> Result<Job, JobError> {
    owned(visible(JOBS.get(tx, &id.to_owned())?)?, caller_id)
}

fn check_category(tx: &WriteTx, slug: &CategorySlug) -> Result<(), JobError> {
    match CATEGORIES.get(tx, &slug.as_str().to_owned())? {
        Some(_) => Ok(()),
        None => Err(JobError::invalid(
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
pub fn add_category(tx: &WriteTx, slug: CategorySlug, name: CategoryName) -> Result<Category, JobError> {
    let key = slug.as_str().to_owned();
    if CATEGORIES.get(tx, &key)?.is_some() {
        return Err(JobError::CategoryExists(key));
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

pub fn post_job(tx: &WriteTx, employer_id: &str, draft: JobDraft, now: OffsetDateTime) -> Result<Job, JobError> {
    check_category(tx, &draft.category)?;
    let job = Job::post(new_id().to_string(), employer_id.to_owned(), draft, now);
    save_job(tx, None, &job)?;
    events::job_created(tx, published(tx, &job)?)?;
    Ok(job)
}

/// A visible job.
pub fn job(tx: &ReadTx, id: &str) -> Result<Job, JobError> {
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
pub fn jobs(tx: &ReadTx, query: &JobQuery, page: &PageRequest) -> Result<Page<Job>, JobError> {
    if query
        .category
        .as_deref()
        .is_some_and(|category| category.contains('\0'))
    {
        // No category's slug holds one (and a listing key could not tell where it ends).
        return Ok(page.page(Vec::new(), Job::id));
    }
    let after = match page.after.as_deref().map(Uuid::parse_str).transpose() {
        Ok(after) => after,
        Err(_) => {
            return Err(JobError::BadQuery(
                "query parameter `cursor` is not a cursor of this list",
            ));
        }
    };
    let employer = query.employer_id.as_deref().map(EmployerKey::of);
    let key = listing_key(query.status, query.category.as_deref(), employer);
    Ok(newest_first(tx, &LISTING, key, after, &JOBS, page, Job::id)?)
}

/// The page of `table`'s records whose ids `index` files under `key`, newest first.
/// `after` is the page's cursor as the index keys it.
fn newest_first<I: Key, P: Key + ToString, V: Record>(
    tx: &ReadTx,
    index: &Index<I, P>,
    key: I,
    after: Option<P>,
    table: &Table<String, V>,
    page: &PageRequest,
    id: impl Fn(&V) -> &str,
) -> Result<Page<V>, StorageError> {
    let ids = index.lookup(tx, &key, after.as_ref(), Direction::Reverse, page.fetch())?;
    Ok(page.page(table.get_many(tx, ids.iter().map(P::to_string))?, id))
}

/// Up to `limit` open jobs with ids after `after`, in id order: for other services' reads.
pub fn open_jobs(tx: &ReadTx, after: Option<&str>, limit: usize) -> Result<Vec<Job>, StorageError> {
    let key = listing_key(Some(JobStatus::Open), None, None);
    let after = after.map(stored_id).transpose()?;
    let ids = LISTING.lookup(tx, &key, after.as_ref(), Direction::Forward, limit)?;
    JOBS.get_many(tx, ids.iter().map(Uuid::to_string))
}

/// The owner's edit of job `id`: `changes` turns the request into changes to the job as it is
/// inside this transaction, so that a new wage is judged against the schedule it will have.
pub fn edit_job(
    tx: &WriteTx,
    id: &str,
    caller_id: &str,
    now: OffsetDateTime,
    changes: impl FnOnce(&Job) -> Result<JobChanges, JobError>,
) -> Result<Job, JobError> {
    let before = owned_job(tx, id, caller_id)?;
    let changes = changes(&before)?;
    if let Some(category) = &changes.category {
        check_category(tx, category)?;
    }
    let mut job = before.clone();
    if job.edit(changes, now)? {
        save_job(tx, Some(&before), &job)?;
        events::job_updated(tx, published(tx, &job)?)?;
    }
    Ok(job)
}

/// The owner cancels job `id`: pending applications are rejected; accepted workers are named in
/// `job.deleted`.
pub fn cancel_job(tx: &WriteTx, id: &str, caller_id: &str, now: OffsetDateTime) -> Result<(), JobError> {
    let before = owned_job(tx, id, caller_id)?;
    let mut job = before.clone();
    job.cancel(now)?;
    let accepted = close_applications(tx, &job, RejectionReason::JobCancelled)?;
    save_job(tx, Some(&before), &job)?;
    events::job_deleted(tx, published(tx, &job)?, accepted)?;
    Ok(())
}

/// `worker_id` applies to job `id`, once.
pub fn apply(
    tx: &WriteTx,
    job_id: &str,
    worker_id: &str,
    message: Option<ApplicationMessage>,
    now: OffsetDateTime,
) -> Result<Application, JobError> {
    let job = visible(JOBS.get(tx, &job_id.to_owned())?)?;
    let applicant = applicant_key(job_id, worker_id);
    if APPLICANTS.get(tx, &applicant)?.is_some() {
        return Err(JobError::AlreadyApplied);
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
    caller_id: &str,
    page: &PageRequest,
) -> Result<Page<Application>, JobError> {
    owned(job(tx, job_id)?, caller_id)?;
    let key = job_id.to_owned();
    Ok(newest_first(
        tx,
        &APPLICATIONS_BY_JOB,
        key,
        page.after.clone(),
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
    newest_first(
        tx,
        &APPLICATIONS_BY_WORKER,
        key,
        page.after.clone(),
        &APPLICATIONS,
        page,
        Application::id,
    )
}

/// The owner accepts (`accept`) or rejects an application to job `job_id`. Accepting the last
/// place fills the job and rejects the applications still pending.
pub fn decide(
    tx: &WriteTx,
    job_id: &str,
    application_id: &str,
    caller_id: &str,
    accept: bool,
    now: OffsetDateTime,
) -> Result<Application, JobError> {
    let before = owned_job(tx, job_id, caller_id)?;
    let mut application = APPLICATIONS
        .get(tx, &application_id.to_owned())?
        .filter(|a| a.job_id() == job_id)
        .ok_or(JobError::ApplicationNotFound("no such application to this job"))?;
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
        events::job_filled(tx, published(tx, &job)?, accepted)?;
    }
    save_job(tx, Some(&before), &job)?;
    Ok(application)
}

/// The worker withdraws a pending application: it is deleted, and the worker may apply again.
/// Someone else's application is not found.
pub fn withdraw(tx: &WriteTx, application_id: &str, worker_id: &str) -> Result<(), JobError> {
    let id = application_id.to_owned();
    let application = APPLICATIONS
        .get(tx, &id)?
        .filter(|a| a.worker_id() == worker_id)
        .ok_or(JobError::ApplicationNotFound("no such application of yours"))?;
    application.check_pending()?;
    let job = JOBS
        .get(tx, &application.job_id().to_owned())?
        .ok_or_else(|| JobError::Inconsistent(format!("application {id} points at a missing job")))?;
    APPLICATIONS.remove(tx, &id)?;
    APPLICATIONS_BY_JOB.remove(tx, &application.job_id().to_owned(), &id)?;
    APPLICATIONS_BY_WORKER.remove(tx, &worker_id.to_owned(), &id)?;
    APPLICANTS.remove(tx, &applicant_key(application.job_id(), worker_id))?;
    events::application_withdrawn(tx, &application, &job)?;
    Ok(())
}

/// Completes `job` (loaded in `tx`, as `before`): pending applications are rejected and
/// `job.completed` carries what settlement needs.
fn finish(tx: &WriteTx, before: &Job, by: CompletedBy, now: OffsetDateTime) -> Result<Job, JobError> {
    let mut job = before.clone();
    job.complete(now)?;
    let accepted = close_applications(tx, &job, RejectionReason::JobCompleted)?;
    save_job(tx, Some(before), &job)?;
    events::job_completed(tx, published(tx, &job)?, accepted, by)?;
    Ok(job)
}

/// The owner completes job `id`.
pub fn complete(tx: &WriteTx, id: &str, caller_id: &str, now: OffsetDateTime) -> Result<Job, JobError> {
    let job = owned_job(tx, id, caller_id)?;
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
pub fn complete_if_due(tx: &WriteTx, id: &str, grace: Duration, now: OffsetDateTime) -> Result<bool, JobError> {
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
        events::job_updated(tx, published(tx, &job)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_stored_before_break_time_are_migrated_with_no_break_and_listed_anew() {
        let dir = tempfile::tempdir().unwrap();
        const V1: StoreSpec = StoreSpec {
            name: "jobs",
            schema_version: 1,
            migrations: &[],
        };
        const RAW_JOBS: Table<String, serde_json::Value> = Table::new("jobs");
        const TEXT_LISTING: Index<String, String> = Index::new("jobs.listing");
        let (id, employer_id) = (new_id().to_string(), new_id().to_string());
        // A job as schema 1 wrote it: 09:00–18:00 at 12,000 won an hour, all of it paid.
        let old = serde_json::json!({
            "id": id, "employerId": employer_id, "title": "카페 바리스타", "description": "",
            "category": "food-cafe",
            "location": { "address": "서울 마포구", "lat": 37.55, "lng": 126.92 },
            "terms": {
                "wage": { "kind": "hourly", "amount": 12_000 },
                "schedule": { "starts_at": "2026-03-02T09:00:00Z", "ends_at": "2026-03-02T18:00:00Z" },
            },
            "headcount": 2, "acceptedCount": 0, "status": "open", "fundingOrders": [],
            "createdAt": "2026-03-01T09:00:00Z", "updatedAt": "2026-03-01T09:00:00Z",
        });
        let v1 = onetime_storage::Store::open(dir.path(), &V1).unwrap();
        v1.write_blocking(|tx| {
            RAW_JOBS.insert(tx, &id, &old)?;
            // Listed as schemas 1 and 2 did, under keys of text.
            TEXT_LISTING.insert(tx, &"s=open&".to_owned(), &id)
        })
        .unwrap();
        drop(v1);

        let store = onetime_storage::Store::open(dir.path(), &SPEC).unwrap();
        let job = store.read_blocking(|tx| any_job(tx, &id)).unwrap().unwrap();
        let published = job.published();
        assert_eq!(
            (
                published.break_minutes,
                published.paid_minutes,
                published.pay_per_worker
            ),
            (0, 540, 108_000)
        );
        let listed = |query: JobQuery| {
            let page = PageRequest { limit: 10, after: None };
            let jobs = store.read_blocking(|tx| jobs(tx, &query, &page)).unwrap();
            jobs.items.iter().map(|job| job.id().to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(listed(JobQuery::default()), std::slice::from_ref(&id));
        let by_employer = JobQuery {
            status: Some(JobStatus::Open),
            employer_id: Some(employer_id),
            ..JobQuery::default()
        };
        assert_eq!(listed(by_employer), [id]);
    }

    #[test]
    fn listing_keys_of_different_filters_never_collide() {
        let statuses = [None, Some(JobStatus::Open), Some(JobStatus::Closed)];
        let categories = [None, Some("etc"), Some("food-cafe")];
        // Employer ids are free-form: ones that look like the other parts must stay apart.
        let uuid = new_id().to_string();
        let (upper, bytes) = (
            uuid.to_uppercase(),
            String::from_utf8_lossy(new_id().as_bytes()).into_owned(),
        );
        let employers = [
            None,
            Some(""),
            Some("e1"),
            Some("etc\0"),
            Some(&*uuid),
            Some(&*upper),
            Some(&*bytes),
        ];
        let mut seen = std::collections::HashMap::new();
        for status in statuses {
            for category in categories {
                for employer in employers {
                    let key = listing_key(status, category, employer.map(EmployerKey::of));
                    if let Some(other) = seen.insert(key.clone(), (status, category, employer)) {
                        panic!("{key:?} is shared by {other:?} and {:?}", (status, category, employer));
                    }
                }
            }
        }
    }
}
