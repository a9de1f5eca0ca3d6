//! The job service's use cases: post, list, read, edit, cancel and complete jobs; apply,
//! decide on and withdraw applications; list and add categories.
//!
//! Each turns a request into domain values against the clock and the law of now (the minimum
//! wage of the config), then runs one store operation. Posting and applying also need the
//! caller's email verified, as the user service says now (not as the access token said when it
//! was issued: a token from before the verification works as soon as it is done). Requests that depend on the job as it
//! is (an edit's new wage is judged with the schedule it keeps) are parsed inside the write
//! transaction, against the job that transaction sees.

use std::sync::Arc;

use onetime_common::directory::Clients;
use onetime_common::paging::{Page, PageRequest};
use onetime_storage::Store;
use time::OffsetDateTime;

use crate::api::{JobFilter, JobPatch, NewApplication, NewCategory, NewJob};
use crate::domain::{Application, Category, Job, MinimumWage};
use crate::error::JobError;
use crate::store;

pub struct Jobs {
    store: Store,
    minimum_wage: MinimumWage,
    /// The user directory answers whether a caller may post and apply.
    clients: Arc<Clients>,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Jobs {
    pub fn new(store: Store, minimum_wage: MinimumWage, clients: Arc<Clients>) -> Self {
        Self {
            store,
            minimum_wage,
            clients,
        }
    }

    /// Refuses callers whose account may not transact (`users.require_verified_email`).
    async fn check_may_transact(&self, user_id: &str) -> Result<(), JobError> {
        let users = self.clients.users()?;
        let user_id = user_id.to_owned();
        // The directory reads a store: off the reactor.
        let allowed = tokio::task::spawn_blocking(move || users.may_transact(&user_id))
            .await
            .map_err(|e| JobError::Inconsistent(format!("the user directory read failed: {e}")))??;
        if allowed {
            Ok(())
        } else {
            Err(JobError::EmailNotVerified)
        }
    }

    /// Visible jobs matching `filter`, newest first.
    pub async fn list(&self, filter: JobFilter, page: PageRequest) -> Result<Page<Job>, JobError> {
        let query = filter.parse()?;
        self.store.read(move |tx| store::jobs(tx, &query, &page)).await
    }

    /// `employer_id` posts a job; `job.created` follows.
    pub async fn post(&self, employer_id: &str, input: NewJob) -> Result<Job, JobError> {
        self.check_may_transact(employer_id).await?;
        let now = now();
        let draft = input.parse(now, self.minimum_wage)?;
        let employer_id = employer_id.to_owned();
        self.store
            .write(move |tx| store::post_job(tx, &employer_id, draft, now))
            .await
    }

    /// A visible job.
    pub async fn job(&self, id: &str) -> Result<Job, JobError> {
        let id = id.to_owned();
        self.store.read(move |tx| store::job(tx, &id)).await
    }

    /// The owner edits job `id`.
    pub async fn edit(&self, caller_id: &str, id: &str, patch: JobPatch) -> Result<Job, JobError> {
        let (caller_id, id, now, minimum) = (caller_id.to_owned(), id.to_owned(), now(), self.minimum_wage);
        self.store
            .write(move |tx| store::edit_job(tx, &id, &caller_id, now, |job| patch.parse(job, now, minimum)))
            .await
    }

    /// The owner cancels job `id`.
    pub async fn cancel(&self, caller_id: &str, id: &str) -> Result<(), JobError> {
        let (caller_id, id, now) = (caller_id.to_owned(), id.to_owned(), now());
        self.store
            .write(move |tx| store::cancel_job(tx, &id, &caller_id, now))
            .await
    }

    /// `worker_id` applies to job `job_id`.
    pub async fn apply(&self, worker_id: &str, job_id: &str, input: NewApplication) -> Result<Application, JobError> {
        self.check_may_transact(worker_id).await?;
        let message = input.parse()?;
        let (worker_id, job_id, now) = (worker_id.to_owned(), job_id.to_owned(), now());
        self.store
            .write(move |tx| store::apply(tx, &job_id, &worker_id, message, now))
            .await
    }

    /// The applications to job `job_id`, for its owner.
    pub async fn applications_to(
        &self,
        caller_id: &str,
        job_id: &str,
        page: PageRequest,
    ) -> Result<Page<Application>, JobError> {
        let (caller_id, job_id) = (caller_id.to_owned(), job_id.to_owned());
        self.store
            .read(move |tx| store::applications_for_owner(tx, &job_id, &caller_id, &page))
            .await
    }

    /// A worker's own applications.
    pub async fn applications_of(&self, worker_id: &str, page: PageRequest) -> Result<Page<Application>, JobError> {
        let worker_id = worker_id.to_owned();
        Ok(self
            .store
            .read(move |tx| store::applications_of_worker(tx, &worker_id, &page))
            .await?)
    }

    /// The owner of job `job_id` accepts (`accept`) or rejects one of its applications.
    pub async fn decide(
        &self,
        caller_id: &str,
        job_id: &str,
        application_id: &str,
        accept: bool,
    ) -> Result<Application, JobError> {
        let (caller_id, job_id, application_id, now) = (
            caller_id.to_owned(),
            job_id.to_owned(),
            application_id.to_owned(),
            now(),
        );
        self.store
            .write(move |tx| store::decide(tx, &job_id, &application_id, &caller_id, accept, now))
            .await
    }

    /// A worker withdraws a pending application of theirs.
    pub async fn withdraw(&self, worker_id: &str, application_id: &str) -> Result<(), JobError> {
        let (worker_id, application_id) = (worker_id.to_owned(), application_id.to_owned());
        self.store
            .write(move |tx| store::withdraw(tx, &application_id, &worker_id))
            .await
    }

    /// The owner completes job `id`.
    pub async fn complete(&self, caller_id: &str, id: &str) -> Result<Job, JobError> {
        let (caller_id, id, now) = (caller_id.to_owned(), id.to_owned(), now());
        self.store
            .write(move |tx| store::complete(tx, &id, &caller_id, now))
            .await
    }

    pub async fn categories(&self) -> Result<Vec<Category>, JobError> {
        Ok(self.store.read(store::categories).await?)
    }

    pub async fn add_category(&self, input: NewCategory) -> Result<Category, JobError> {
        let (slug, name) = input.parse()?;
        self.store.write(move |tx| store::add_category(tx, slug, name)).await
    }
}
