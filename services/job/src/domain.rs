//! The job domain: values that exist only when valid (`JobTitle`, `Schedule`, `Terms`, …), the
//! job and application aggregates, and the rules of their status. Pure: no I/O and no clock
//! (callers pass `now`), so every rule is unit-tested here.
//!
//! The aggregates derive serde for the job store alone, which holds only values that were parsed
//! when they were written; reading them back must not re-judge them (a job posted under last
//! year's minimum wage is still a valid job). Client input never deserializes into these types.

use onetime_common::events::job as published;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use published::{ApplicationStatus, JobStatus, WageKind};

/// The longest a job may last: this is a day-job platform; longer work is posted as several jobs.
pub const MAX_JOB_LENGTH: Duration = Duration::hours(24);
/// The most a wage may be, in won per hour or per day: far above any real day job, and low
/// enough that no pay computation can overflow.
pub const MAX_WAGE: i64 = 10_000_000;
pub const MAX_HEADCOUNT: u32 = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// Trimmed `raw` when it has `min..=max` characters and no control characters other than the
/// line breaks and tabs that `multiline` text may have.
fn text(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(match min {
            0 => format!("must be at most {max} characters, not {chars}"),
            _ => format!("must be {min} to {max} characters, not {chars}"),
        });
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTitle(String);

impl JobTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 2, 100, false).map(Self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 0, MAX_DESCRIPTION_CHARS, true).map(Self)
    }
}

/// A category's stable ASCII name, e.g. `food-cafe`: lowercase letters and digits in words joined
/// by single hyphens, 2 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySlug(String);

impl CategorySlug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let well_formed = (2..=40).contains(&raw.len())
            && raw
                .split('-')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 2 to 40 lowercase letters and digits in words joined by single hyphens".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryName(String);

impl CategoryName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, 1, 50, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category jobs are filed under; listed in `position` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub slug: CategorySlug,
    pub name: CategoryName,
    pub position: u32,
}

/// The categories a new store starts with: `(slug, name)`.
pub const DEFAULT_CATEGORIES: [(&str, &str); 8] = [
    ("food-cafe", "음식점·카페"),
    ("logistics", "물류·배송"),
    ("retail", "매장관리·판매"),
    ("events", "행사·스태프"),
    ("office", "사무보조"),
    ("cleaning", "청소·미화"),
    ("construction", "공사·현장"),
    ("etc", "기타"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    address: String,
    lat: f64,
    lng: f64,
}

impl Location {
    pub fn parse(address: &str, lat: f64, lng: f64) -> Result<Self, String> {
        let address = text(address, 1, 200, false).map_err(|e| format!("address {e}"))?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err("lat must be between -90 and 90".to_owned());
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err("lng must be between -180 and 180".to_owned());
        }
        Ok(Self { address, lat, lng })
    }
}

/// When the work happens: it ends after it starts, at most [`MAX_JOB_LENGTH`] later, and (when
/// set) in the future.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
}

impl Schedule {
    pub fn parse(starts_at: OffsetDateTime, ends_at: OffsetDateTime, now: OffsetDateTime) -> Result<Self, String> {
        if ends_at <= starts_at {
            return Err("must be after startsAt".to_owned());
        }
        if ends_at - starts_at > MAX_JOB_LENGTH {
            return Err(format!(
                "must be at most {} hours after startsAt",
                MAX_JOB_LENGTH.whole_hours()
            ));
        }
        if ends_at <= now {
            return Err("must be in the future".to_owned());
        }
        Ok(Self {
            starts_at: starts_at.to_offset(time::UtcOffset::UTC),
            ends_at: ends_at.to_offset(time::UtcOffset::UTC),
        })
    }

    pub fn starts_at(&self) -> OffsetDateTime {
        self.starts_at
    }

    pub fn ends_at(&self) -> OffsetDateTime {
        self.ends_at
    }

    fn seconds(&self) -> i64 {
        (self.ends_at - self.starts_at).whole_seconds()
    }
}

/// A wage amount in won, 1 to [`MAX_WAGE`], per hour or per day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wage {
    kind: WageKind,
    amount: i64,
}

impl Wage {
    pub fn parse(kind: WageKind, amount: i64) -> Result<Self, String> {
        if (1..=MAX_WAGE).contains(&amount) {
            Ok(Self { kind, amount })
        } else {
            Err(format!("amount must be 1 to {MAX_WAGE} won"))
        }
    }
}

/// The legal minimum hourly wage, in won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumWage(pub i64);

/// A wage under the legal minimum for its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BelowMinimumWage {
    pub kind: WageKind,
    /// The lowest acceptable amount, in won.
    pub required: i64,
}

impl std::fmt::Display for BelowMinimumWage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let required = won(self.required);
        match self.kind {
            WageKind::Hourly => write!(
                f,
                "the hourly wage must be at least the legal minimum wage of {required} won"
            ),
            WageKind::Daily => write!(
                f,
                "the daily wage must be at least the legal minimum wage times the job's hours: {required} won"
            ),
        }
    }
}

/// `82560` → `82,560`.
fn won(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// What a worker is paid for what: a wage with its schedule, at or above the minimum wage when
/// agreed. The pay per worker follows from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    wage: Wage,
    schedule: Schedule,
}

impl Terms {
    pub fn new(wage: Wage, schedule: Schedule, minimum: MinimumWage) -> Result<Self, BelowMinimumWage> {
        let seconds = schedule.seconds();
        let below = match wage.kind {
            WageKind::Hourly => (wage.amount < minimum.0).then_some(minimum.0),
            // Compared exactly (amount / hours < minimum), then reported rounded up to the won.
            WageKind::Daily => (i128::from(wage.amount) * 3600 < i128::from(minimum.0) * i128::from(seconds))
                .then(|| (minimum.0 * seconds + 3599) / 3600),
        };
        match below {
            Some(required) => Err(BelowMinimumWage {
                kind: wage.kind,
                required,
            }),
            None => Ok(Self { wage, schedule }),
        }
    }

    pub fn wage(&self) -> &Wage {
        &self.wage
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The hourly wage times the job's hours, rounded down to the won; or the daily wage.
    pub fn pay_per_worker(&self) -> i64 {
        match self.wage.kind {
            // At most MAX_WAGE × 86,400 s: far inside i64.
            WageKind::Hourly => self.wage.amount * self.schedule.seconds() / 3600,
            WageKind::Daily => self.wage.amount,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount(u32);

impl Headcount {
    pub fn parse(raw: i64) -> Result<Self, String> {
        match u32::try_from(raw) {
            Ok(n) if (1..=MAX_HEADCOUNT).contains(&n) => Ok(Self(n)),
            _ => Err(format!("must be 1 to {MAX_HEADCOUNT}")),
        }
    }
}

/// Why the domain refuses a change: each is a conflict with the current state (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
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

impl JobError {
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
                .schedule
                .ends_at
                .checked_add(grace)
                .is_some_and(|due| due <= now)
    }

    /// Applies an owner's edit, all of it or (on error) none of it; returns whether anything
    /// changed.
    pub fn edit(&mut self, changes: JobChanges, now: OffsetDateTime) -> Result<bool, JobError> {
        if matches!(self.status, JobStatus::Completed | JobStatus::Cancelled) {
            return Err(JobError::NotEditable(self.status));
        }
        let touches_terms = changes.terms.as_ref().is_some_and(|t| *t != self.terms)
            || changes.headcount.is_some_and(|h| h != self.headcount);
        if touches_terms && (self.accepted_count > 0 || self.funded()) {
            return Err(JobError::TermsLocked);
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
                return Err(JobError::InvalidTransition { from, to });
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
    pub fn check_open(&self) -> Result<(), JobError> {
        match self.status {
            JobStatus::Open => Ok(()),
            other => Err(JobError::NotOpen(other)),
        }
    }

    /// Checks that the owner may still decide on pending applications: while open, and after
    /// closing (closing stops new applications, not the choice among those in).
    fn check_deciding(&self) -> Result<(), JobError> {
        match self.status {
            JobStatus::Open | JobStatus::Closed => Ok(()),
            other => Err(JobError::NotOpen(other)),
        }
    }

    /// Accepts `application`; returns whether that took the last place, which fills the job.
    pub fn accept(&mut self, application: &mut Application, now: OffsetDateTime) -> Result<bool, JobError> {
        self.check_deciding()?;
        application.check_pending()?;
        application.status = ApplicationStatus::Accepted;
        self.accepted_count += 1;
        self.updated_at = now;
        let filled = self.accepted_count >= self.headcount.0;
        if filled {
            self.status = JobStatus::Filled;
        }
        Ok(filled)
    }

    /// The owner declines `application`.
    pub fn reject(&self, application: &mut Application) -> Result<(), JobError> {
        self.check_deciding()?;
        application.check_pending()?;
        application.status = ApplicationStatus::Rejected;
        Ok(())
    }

    /// Completes the job: the work has at least begun and someone was accepted to do it.
    pub fn complete(&mut self, now: OffsetDateTime) -> Result<(), JobError> {
        if !matches!(self.status, JobStatus::Open | JobStatus::Closed | JobStatus::Filled) {
            return Err(JobError::InvalidTransition {
                from: self.status,
                to: JobStatus::Completed,
            });
        }
        if self.accepted_count == 0 {
            return Err(JobError::NoAcceptedWorkers);
        }
        if now < self.terms.schedule.starts_at {
            return Err(JobError::NotStarted);
        }
        self.status = JobStatus::Completed;
        self.updated_at = now;
        Ok(())
    }

    /// Cancels the job (`DELETE`); anything but a completed job may be cancelled.
    pub fn cancel(&mut self, now: OffsetDateTime) -> Result<(), JobError> {
        if matches!(self.status, JobStatus::Completed | JobStatus::Cancelled) {
            return Err(JobError::NotEditable(self.status));
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
        let schedule = &self.terms.schedule;
        published::Job {
            id: self.id.clone(),
            employer_id: self.employer_id.clone(),
            title: self.title.0.clone(),
            description: self.description.0.clone(),
            category: self.category.0.clone(),
            category_name: None,
            wage: published::Wage {
                kind: self.terms.wage.kind,
                amount: self.terms.wage.amount,
            },
            location: published::Location {
                address: self.location.address.clone(),
                lat: self.location.lat,
                lng: self.location.lng,
            },
            starts_at: schedule.starts_at,
            ends_at: schedule.ends_at,
            headcount: self.headcount.0,
            accepted_count: self.accepted_count,
            pay_per_worker: self.terms.pay_per_worker(),
            status: self.status,
            funded: self.funded(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A worker's note to the employer: up to [`MAX_MESSAGE_CHARS`]; blank means none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationMessage(String);

impl ApplicationMessage {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, String> {
        let message = text(raw.unwrap_or_default(), 0, MAX_MESSAGE_CHARS, true)?;
        Ok((!message.is_empty()).then_some(Self(message)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    id: String,
    job_id: String,
    worker_id: String,
    status: ApplicationStatus,
    message: Option<ApplicationMessage>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl Application {
    /// `worker_id` applies to `job`, which must be open.
    pub fn submit(
        id: String,
        job: &Job,
        worker_id: String,
        message: Option<ApplicationMessage>,
        now: OffsetDateTime,
    ) -> Result<Self, JobError> {
        job.check_open()?;
        Ok(Self {
            id,
            job_id: job.id.clone(),
            worker_id,
            status: ApplicationStatus::Pending,
            message,
            created_at: now,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    pub fn status(&self) -> ApplicationStatus {
        self.status
    }

    /// Only a pending application may be decided on or withdrawn.
    pub fn check_pending(&self) -> Result<(), JobError> {
        match self.status {
            ApplicationStatus::Pending => Ok(()),
            other => Err(JobError::NotPending(other)),
        }
    }

    /// Rejects a pending application because its job filled, completed or was cancelled.
    pub fn close(&mut self) {
        if self.status == ApplicationStatus::Pending {
            self.status = ApplicationStatus::Rejected;
        }
    }

    pub fn published(&self) -> published::Application {
        published::Application {
            id: self.id.clone(),
            job_id: self.job_id.clone(),
            worker_id: self.worker_id.clone(),
            status: self.status,
            message: self.message.as_ref().map(|m| m.0.clone()),
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const MINIMUM: MinimumWage = MinimumWage(10_320);
    const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

    fn schedule(hours: f64) -> Schedule {
        let start = NOW + Duration::hours(1);
        Schedule::parse(start, start + Duration::seconds_f64(hours * 3600.0), NOW).unwrap()
    }

    fn terms(kind: WageKind, amount: i64, hours: f64) -> Result<Terms, BelowMinimumWage> {
        Terms::new(Wage::parse(kind, amount).unwrap(), schedule(hours), MINIMUM)
    }

    fn job(headcount: i64) -> Job {
        let draft = JobDraft {
            title: JobTitle::parse("카페 바리스타").unwrap(),
            description: Description::parse("").unwrap(),
            category: CategorySlug::parse("food-cafe").unwrap(),
            location: Location::parse("서울 마포구", 37.55, 126.92).unwrap(),
            terms: terms(WageKind::Hourly, 12_000, 8.0).unwrap(),
            headcount: Headcount::parse(headcount).unwrap(),
        };
        Job::post("job-1".into(), "employer-1".into(), draft, NOW)
    }

    fn application(job: &Job, worker: &str) -> Application {
        Application::submit(format!("app-{worker}"), job, worker.into(), None, NOW).unwrap()
    }

    #[test]
    fn hourly_wages_below_the_minimum_are_refused() {
        assert!(terms(WageKind::Hourly, 10_320, 8.0).is_ok());
        let below = terms(WageKind::Hourly, 10_319, 8.0).unwrap_err();
        assert_eq!(below.required, 10_320);
        assert!(below.to_string().contains("10,320 won"), "{below}");
    }

    #[test]
    fn daily_wages_must_cover_the_minimum_for_the_jobs_hours() {
        // 8 h × 10,320 = 82,560.
        assert!(terms(WageKind::Daily, 82_560, 8.0).is_ok());
        assert_eq!(terms(WageKind::Daily, 82_559, 8.0).unwrap_err().required, 82_560);
        // 7 h 30 min × 10,320 = 77,400; an odd length rounds the requirement up to the won.
        assert!(terms(WageKind::Daily, 77_400, 7.5).is_ok());
        assert_eq!(terms(WageKind::Daily, 1, 1.0 / 3600.0 * 7.0).unwrap_err().required, 21);
    }

    #[test]
    fn pay_per_worker_is_hourly_wage_times_hours_rounded_down_or_the_daily_wage() {
        assert_eq!(terms(WageKind::Hourly, 12_000, 8.0).unwrap().pay_per_worker(), 96_000);
        // 2 h 20 min at 10,321 won: 24,082.33… → 24,082.
        let odd = terms(WageKind::Hourly, 10_321, 2.0 + 20.0 / 60.0).unwrap();
        assert_eq!(odd.pay_per_worker(), 24_082);
        assert_eq!(terms(WageKind::Daily, 100_000, 6.0).unwrap().pay_per_worker(), 100_000);
        let longest = terms(WageKind::Hourly, MAX_WAGE, 24.0).unwrap();
        assert_eq!(longest.pay_per_worker(), MAX_WAGE * 24);
    }

    #[test]
    fn values_parse_only_when_valid() {
        assert!(JobTitle::parse(" a ").is_err());
        assert!(JobTitle::parse(&"가".repeat(100)).is_ok());
        assert!(JobTitle::parse(&"가".repeat(101)).is_err());
        assert!(JobTitle::parse("tab\tin title").is_err());
        assert!(Description::parse(&"x".repeat(5_000)).is_ok());
        assert!(Description::parse(&"x".repeat(5_001)).is_err());
        assert!(Description::parse("line\nbreaks are fine").is_ok());
        for (raw, ok) in [(0, false), (1, true), (100, true), (101, false), (-1, false)] {
            assert_eq!(Headcount::parse(raw).is_ok(), ok, "{raw}");
        }
        assert!(Location::parse("서울", 90.0, -180.0).is_ok());
        assert!(Location::parse("서울", 90.1, 0.0).is_err());
        assert!(Location::parse("서울", 0.0, 180.5).is_err());
        assert!(Location::parse("  ", 0.0, 0.0).is_err());
        assert!(Wage::parse(WageKind::Hourly, 0).is_err());
        assert!(Wage::parse(WageKind::Hourly, MAX_WAGE + 1).is_err());
        for slug in ["food-cafe", "etc", "a1"] {
            assert!(CategorySlug::parse(slug).is_ok(), "{slug}");
        }
        for slug in ["Food", "a", "-a", "a--b", "a-", "카페", "a_b"] {
            assert!(CategorySlug::parse(slug).is_err(), "{slug}");
        }
        assert_eq!(ApplicationMessage::parse(Some("  ")).unwrap(), None);
        assert!(ApplicationMessage::parse(Some(&"x".repeat(1_001))).is_err());
    }

    #[test]
    fn schedules_end_after_they_start_within_a_day_and_in_the_future() {
        let start = NOW + Duration::hours(1);
        assert!(Schedule::parse(start, start, NOW).is_err());
        assert!(Schedule::parse(start, start - Duration::minutes(1), NOW).is_err());
        assert!(Schedule::parse(start, start + Duration::hours(24), NOW).is_ok());
        assert!(Schedule::parse(start, start + Duration::hours(24) + Duration::SECOND, NOW).is_err());
        // Already running is fine; already over is not.
        assert!(Schedule::parse(NOW - Duration::hours(2), NOW + Duration::hours(1), NOW).is_ok());
        assert!(Schedule::parse(NOW - Duration::hours(2), NOW, NOW).is_err());
    }

    #[test]
    fn accepting_the_last_place_fills_the_job_and_later_decisions_conflict() {
        let mut job = job(2);
        let (mut a, mut b, mut c) = (application(&job, "a"), application(&job, "b"), application(&job, "c"));
        assert_eq!(job.accept(&mut a, NOW), Ok(false));
        assert_eq!(
            job.accept(&mut a, NOW),
            Err(JobError::NotPending(ApplicationStatus::Accepted))
        );
        assert_eq!(job.accept(&mut b, NOW), Ok(true));
        assert_eq!(job.status(), JobStatus::Filled);
        assert_eq!(job.accept(&mut c, NOW), Err(JobError::NotOpen(JobStatus::Filled)));
        assert_eq!(
            c.status(),
            ApplicationStatus::Pending,
            "a refused decision changes nothing"
        );
        assert_eq!(
            Application::submit("x".into(), &job, "d".into(), None, NOW).unwrap_err(),
            JobError::NotOpen(JobStatus::Filled)
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
            Err(JobError::InvalidTransition {
                from: JobStatus::Filled,
                to: JobStatus::Closed
            })
        );
    }

    #[test]
    fn terms_are_fixed_once_someone_is_accepted_or_the_job_is_funded() {
        let new_terms = JobChanges {
            terms: Some(terms(WageKind::Hourly, 15_000, 8.0).unwrap()),
            ..Default::default()
        };
        let mut funded = job(3);
        assert!(funded.record_funding("order-1", true, NOW));
        assert!(!funded.record_funding("order-1", true, NOW), "idempotent");
        assert_eq!(funded.edit(new_terms.clone(), NOW), Err(JobError::TermsLocked));
        assert!(funded.record_funding("order-1", false, NOW));
        assert!(!funded.funded());
        assert_eq!(funded.edit(new_terms.clone(), NOW), Ok(true));

        let mut staffed = job(3);
        let mut a = application(&staffed, "a");
        staffed.accept(&mut a, NOW).unwrap();
        assert_eq!(staffed.edit(new_terms, NOW), Err(JobError::TermsLocked));
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
        assert_eq!(job.complete(started), Err(JobError::NoAcceptedWorkers));
        let mut a = application(&job, "a");
        job.accept(&mut a, NOW).unwrap();
        assert_eq!(job.complete(NOW), Err(JobError::NotStarted));
        assert!(!job.is_due(job.terms().schedule().ends_at(), Duration::hours(24)));
        assert!(job.is_due(
            job.terms().schedule().ends_at() + Duration::hours(24),
            Duration::hours(24)
        ));
        assert_eq!(job.complete(started), Ok(()));
        assert!(!job.awaits_completion());
        assert_eq!(job.cancel(NOW), Err(JobError::NotEditable(JobStatus::Completed)));
        assert_eq!(
            job.edit(JobChanges::default(), NOW),
            Err(JobError::NotEditable(JobStatus::Completed))
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
        assert_eq!(published.pay_per_worker, 96_000);
        assert_eq!((published.headcount, published.accepted_count), (2, 0));
        assert_eq!(published.status, JobStatus::Open);
        assert!(!published.funded);
    }

    #[test]
    fn won_amounts_are_grouped_by_thousands() {
        assert_eq!(won(82_560), "82,560");
        assert_eq!(won(100), "100");
        assert_eq!(won(10_000_000), "10,000,000");
    }
}
