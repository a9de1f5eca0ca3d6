//! The job aggregate: posted by its owner, edited, closed, filled by accepting applications,
//! completed or cancelled, and funded while a payment for it is held; the rules of its status.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{
    Application, ApplicationStatus, CategorySlug, Description, Headcount, JobStatus, JobTitle, Location, Terms,
    published,
};

/// Why the domain refuses a change: each is a conflict with the current state (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the job is {}, not open", .0.as_str())]
    NotOpen(JobStatus),
    #[error("a {} job can no longer be changed", .0.as_str())]
    NotEditable(JobStatus),
    #[error("wage, schedule and headcount are fixed once a worker is accepted or the job is funded")]
    TermsLocked,
    #[error("a {} job cannot become {}", .from.as_str(), .to.as_str())]
    InvalidTransition { from: JobStatus, to: JobStatus },
    #[error("a job without accepted workers cannot be completed")]
    NoAcceptedWorkers,
    #[error("a job cannot be completed before it starts")]
    NotStarted,
    #[error("the application is {}, not pending", .0.as_str())]
    NotPending(ApplicationStatus),
}

impl Conflict {
    /// The stable problem+json `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOpen(_) => "job_not_open",
            Self::NotEditable(_) => "job_not_editable",
            Self::TermsLocked => "terms_locked",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::NoAcceptedWorkers => "no_accepted_workers",
            Self::NotStarted => "job_not_started",
            Self::NotPending(_) => "application_not_pending",
        }
    }
}

/// A job as its owner describes it when posting.
#[derive(Debug, Clone)]
pub struct JobDraft {
    pub title: JobTitle,
    pub description: Description,
    pub category: CategorySlug,
    pub location: Location,
    pub terms: Terms,
    pub headcount: Headcount,
}

/// The statuses an owner may set by editing: stop applications, or take them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Open,
    Closed,
}

/// An owner's edit: what is `Some` changes.
#[derive(Debug, Clone, Default)]
pub struct JobChanges {
    pub title: Option<JobTitle>,
    pub description: Option<Description>,
    pub category: Option<CategorySlug>,
    pub location: Option<Location>,
    pub terms: Option<Terms>,
    pub headcount: Option<Headcount>,
    pub availability: Option<Availability>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    id: String,
    employer_id: String,
    title: JobTitle,
    description: Description,
    category: CategorySlug,
    location: Location,
    terms: Terms,
    headcount: Headcount,
    accepted_count: u32,
    status: JobStatus,
    /// Orders whose payment for this job is held; the job is funded while there is one.
    funding_orders: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl Job {
    pub fn post(id: String, employer_id: String, draft: JobDraft, now: OffsetDateTime) -> Self {
        Self {
            id,
            employer_id,
            title: draft.title,
            description: draft.description,
            category: draft.category,
            location: draft.location,
            terms: draft.terms,
            headcount: draft.headcount,
            accepted_count: 0,
            status: JobStatus::Open,
            funding_orders: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn employer_id(&self) -> &str {
        &self.employer_id
    }

    pub fn category(&self) -> &CategorySlug {
        &self.category
    }

    pub fn status(&self) -> JobStatus {
        self.status
    }

    pub fn terms(&self) -> &Terms {
        &self.terms
    }

    pub fn funded(&self) -> bool {
        !self.funding_orders.is_empty()
    }

    /// Cancelled jobs are kept for history but are gone for every reader.
    pub fn is_visible(&self) -> bool {
        self.status != JobStatus::Cancelled
    }

    /// Whether the job still waits to be completed by someone: running or over, with workers.
    pub fn awaits_completion(&self) -> bool {
        matches!(self.status, JobStatus::Open | JobStatus::Closed | JobStatus::Filled) && self.accepted_count > 0
    }

    /// Whether the scheduler completes it: it awaits completion and ended `grace` or longer ago.
    pub fn is_due(&self, now: OffsetDateTime, grace: Duration) -> bool {
        self.awaits_completion()
            && self
                .terms
                .schedule()
                .ends_at()
                .checked_add(grace)
                .is_some_and(|due| due <= now)
    }

    /// Applies an owner's edit, all of it or (on error) none of it; returns whether anything
    /// changed.
    pub fn edit(&mut self, changes: JobChanges, now: OffsetDateTime) -> Result<bool, Conflict> {
        if matches!(self.status, JobStatus::Completed | JobStatus::Cancelled) {
            return Err(Conflict::NotEditable(self.status));
        }
        let touches_terms = changes.terms.as_ref().is_some_and(|t| *t != self.terms)
            || changes.headcount.is_some_and(|h| h != self.headcount);
        if touches_terms && (self.accepted_count > 0 || self.funded()) {
            return Err(Conflict::TermsLocked);
        }
        let status = match (changes.availability, self.status) {
            (None, status) => status,
            (Some(Availability::Open), JobStatus::Open | JobStatus::Closed) => JobStatus::Open,
            (Some(Availability::Closed), JobStatus::Open | JobStatus::Closed) => JobStatus::Closed,
            (Some(wanted), from) => {
                let to = match wanted {
                    Availability::Open => JobStatus::Open,
                    Availability::Closed => JobStatus::Closed,
                };
                return Err(Conflict::InvalidTransition { from, to });
            }
        };
        let before = self.clone();
        self.status = status;
        if let Some(title) = changes.title {
            self.title = title;
        }
        if let Some(description) = changes.description {
            self.description = description;
        }
        if let Some(category) = changes.category {
            self.category = category;
        }
        if let Some(location) = changes.location {
            self.location = location;
        }
        if let Some(terms) = changes.terms {
            self.terms = terms;
        }
        if let Some(headcount) = changes.headcount {
            self.headcount = headcount;
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }

    /// Checks that a worker may apply now.
    pub fn check_open(&self) -> Result<(), Conflict> {
        match self.status {
            JobStatus::Open => Ok(()),
            other => Err(Conflict::NotOpen(other)),
        }
    }

    /// Checks that the owner may still decide on pending applications: while open, and after
    /// closing (closing stops new applications, not the choice among those in).
    fn check_deciding(&self) -> Result<(), Conflict> {
        match self.status {
            JobStatus::Open | JobStatus::Closed => Ok(()),
            other => Err(Conflict::NotOpen(other)),
        }
    }

    /// Accepts `application`; returns whether that took the last place, which fills the job.
    pub fn accept(&mut self, application: &mut Application, now: OffsetDateTime) -> Result<bool, Conflict> {
        self.check_deciding()?;
        application.check_pending()?;
        application.decide(ApplicationStatus::Accepted);
        self.accepted_count += 1;
        self.updated_at = now;
        let filled = self.accepted_count >= self.headcount.0;
        if filled {
            self.status = JobStatus::Filled;
        }
        Ok(filled)
    }

    /// The owner declines `application`.
    pub fn reject(&self, application: &mut Application) -> Result<(), Conflict> {
        self.check_deciding()?;
        application.check_pending()?;
        application.decide(ApplicationStatus::Rejected);
        Ok(())
    }

    /// Completes the job: the work has at least begun and someone was accepted to do it.
    pub fn complete(&mut self, now: OffsetDateTime) -> Result<(), Conflict> {
        if !matches!(self.status, JobStatus::Open | JobStatus::Closed | JobStatus::Filled) {
            return Err(Conflict::InvalidTransition {
                from: self.status,
                to: JobStatus::Completed,
            });
        }
        if self.accepted_count == 0 {
            return Err(Conflict::NoAcceptedWorkers);
        }
        if now < self.terms.schedule().starts_at() {
            return Err(Conflict::NotStarted);
        }
        self.status = JobStatus::Completed;
        self.updated_at = now;
        Ok(())
    }

    /// Cancels the job (`DELETE`); anything but a completed job may be cancelled.
    pub fn cancel(&mut self, now: OffsetDateTime) -> Result<(), Conflict> {
        if matches!(self.status, JobStatus::Completed | JobStatus::Cancelled) {
            return Err(Conflict::NotEditable(self.status));
        }
        self.status = JobStatus::Cancelled;
        self.updated_at = now;
        Ok(())
    }

    /// Records that `order`'s payment for this job is held (`paid`) or was given back; returns
    /// whether the job's funding changed. Idempotent per order.
    pub fn record_funding(&mut self, order: &str, paid: bool, now: OffsetDateTime) -> bool {
        let was_funded = self.funded();
        let known = self.funding_orders.iter().position(|o| o == order);
        match (paid, known) {
            (true, None) => self.funding_orders.push(order.to_owned()),
            (false, Some(at)) => {
                self.funding_orders.remove(at);
            }
            _ => return false,
        }
        let changed = self.funded() != was_funded;
        if changed {
            self.updated_at = now;
        }
        changed
    }

    /// The job as clients and other services see it.
    pub fn published(&self) -> published::Job {
        let schedule = self.terms.schedule();
        let wage = self.terms.wage();
        published::Job {
            id: self.id.clone(),
            employer_id: self.employer_id.clone(),
            title: self.title.0.clone(),
            description: self.description.0.clone(),
            category: self.category.as_str().to_owned(),
            category_name: None,
            wage: published::Wage {
                kind: wage.kind,
                amount: wage.amount,
            },
            location: published::Location {
                address: self.location.address.clone(),
                lat: self.location.lat,
                lng: self.location.lng,
            },
            starts_at: schedule.starts_at(),
            ends_at: schedule.ends_at(),
            break_minutes: self.terms.break_minutes(),
            paid_minutes: self.terms.paid_minutes(),
            pay_per_worker: self.terms.pay_per_worker(),
            headcount: self.headcount.0,
            accepted_count: self.accepted_count,
            status: self.status,
            funded: self.funded(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::{MinimumWage, Schedule, Wage, WageKind};

    const MINIMUM: MinimumWage = MinimumWage(10_320);
    const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

    /// `amount` won an hour for `hours` starting an hour from now, with the default break.
    fn terms(amount: i64, hours: i64) -> Terms {
        let start = NOW + Duration::hours(1);
        let schedule = Schedule::parse(start, start + Duration::hours(hours), NOW).unwrap();
        Terms::new(Wage::parse(WageKind::Hourly, amount).unwrap(), schedule, None, MINIMUM).unwrap()
    }

    fn job(headcount: i64) -> Job {
        let draft = JobDraft {
            title: JobTitle::parse("카페 바리스타").unwrap(),
            description: Description::parse("").unwrap(),
            category: CategorySlug::parse("food-cafe").unwrap(),
            location: Location::parse("서울 마포구", 37.55, 126.92).unwrap(),
            terms: terms(12_000, 9),
            headcount: Headcount::parse(headcount).unwrap(),
        };
        Job::post("job-1".into(), "employer-1".into(), draft, NOW)
    }

    fn application(job: &Job, worker: &str) -> Application {
        Application::submit(format!("app-{worker}"), job, worker.into(), None, NOW).unwrap()
    }

    #[test]
    fn accepting_the_last_place_fills_the_job_and_later_decisions_conflict() {
        let mut job = job(2);
        let (mut a, mut b, mut c) = (application(&job, "a"), application(&job, "b"), application(&job, "c"));
        assert_eq!(job.accept(&mut a, NOW), Ok(false));
        assert_eq!(
            job.accept(&mut a, NOW),
            Err(Conflict::NotPending(ApplicationStatus::Accepted))
        );
        assert_eq!(job.accept(&mut b, NOW), Ok(true));
        assert_eq!(job.status(), JobStatus::Filled);
        assert_eq!(job.accept(&mut c, NOW), Err(Conflict::NotOpen(JobStatus::Filled)));
        assert_eq!(
            c.status(),
            ApplicationStatus::Pending,
            "a refused decision changes nothing"
        );
        assert_eq!(
            Application::submit("x".into(), &job, "d".into(), None, NOW).unwrap_err(),
            Conflict::NotOpen(JobStatus::Filled)
        );
    }

    #[test]
    fn owners_close_and_reopen_and_still_decide_while_closed() {
        let mut job = job(1);
        let mut a = application(&job, "a");
        let close = JobChanges {
            availability: Some(Availability::Closed),
            ..Default::default()
        };
        assert_eq!(job.edit(close.clone(), NOW), Ok(true));
        assert_eq!(job.status(), JobStatus::Closed);
        assert_eq!(job.edit(close.clone(), NOW), Ok(false), "closing twice changes nothing");
        assert!(job.check_open().is_err());
        assert_eq!(job.accept(&mut a, NOW), Ok(true));
        assert_eq!(job.status(), JobStatus::Filled);
        assert_eq!(
            job.edit(close, NOW),
            Err(Conflict::InvalidTransition {
                from: JobStatus::Filled,
                to: JobStatus::Closed
            })
        );
    }

    #[test]
    fn terms_are_fixed_once_someone_is_accepted_or_the_job_is_funded() {
        let new_terms = JobChanges {
            terms: Some(terms(15_000, 9)),
            ..Default::default()
        };
        let mut funded = job(3);
        assert!(funded.record_funding("order-1", true, NOW));
        assert!(!funded.record_funding("order-1", true, NOW), "idempotent");
        assert_eq!(funded.edit(new_terms.clone(), NOW), Err(Conflict::TermsLocked));
        assert!(funded.record_funding("order-1", false, NOW));
        assert!(!funded.funded());
        assert_eq!(funded.edit(new_terms.clone(), NOW), Ok(true));

        let mut staffed = job(3);
        let mut a = application(&staffed, "a");
        staffed.accept(&mut a, NOW).unwrap();
        assert_eq!(staffed.edit(new_terms, NOW), Err(Conflict::TermsLocked));
        let retitle = JobChanges {
            title: Some(JobTitle::parse("주말 바리스타").unwrap()),
            ..Default::default()
        };
        assert_eq!(staffed.edit(retitle, NOW), Ok(true));
    }

    #[test]
    fn completion_needs_accepted_workers_and_a_started_job_and_is_final() {
        let mut job = job(2);
        let started = job.terms().schedule().starts_at();
        assert_eq!(job.complete(started), Err(Conflict::NoAcceptedWorkers));
        let mut a = application(&job, "a");
        job.accept(&mut a, NOW).unwrap();
        assert_eq!(job.complete(NOW), Err(Conflict::NotStarted));
        assert!(!job.is_due(job.terms().schedule().ends_at(), Duration::hours(24)));
        assert!(job.is_due(
            job.terms().schedule().ends_at() + Duration::hours(24),
            Duration::hours(24)
        ));
        assert_eq!(job.complete(started), Ok(()));
        assert!(!job.awaits_completion());
        assert_eq!(job.cancel(NOW), Err(Conflict::NotEditable(JobStatus::Completed)));
        assert_eq!(
            job.edit(JobChanges::default(), NOW),
            Err(Conflict::NotEditable(JobStatus::Completed))
        );
    }

    #[test]
    fn anything_but_a_completed_job_can_be_cancelled_and_then_disappears() {
        let mut job = job(1);
        let mut a = application(&job, "a");
        job.accept(&mut a, NOW).unwrap();
        assert_eq!(job.cancel(NOW), Ok(()));
        assert!(!job.is_visible());
        assert!(!job.awaits_completion());
    }

    #[test]
    fn published_jobs_carry_the_pay_per_worker() {
        let job = job(2);
        let published = job.published();
        // 9 h at 12,000 won: 8 h paid after the 60-minute break.
        assert_eq!(
            (
                published.break_minutes,
                published.paid_minutes,
                published.pay_per_worker
            ),
            (60, 480, 96_000)
        );
        assert_eq!((published.headcount, published.accepted_count), (2, 0));
        assert_eq!(published.status, JobStatus::Open);
        assert!(!published.funded);
    }
}
