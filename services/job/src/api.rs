//! Request and response types of the job API, with their OpenAPI schemas, and how requests
//! become domain values. Responses are the published shapes of `onetime_common::events::job`,
//! so clients and event consumers see the same job.

use onetime_common::error::FieldErrors;
use onetime_common::events::job::{JobStatus, Location, Wage};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{
    ApplicationMessage, Availability, Category, CategoryName, CategorySlug, Description, Headcount, Job, JobChanges,
    JobDraft, JobTitle, MinimumWage, Schedule, Terms, parse_break_minutes,
};
use crate::error::JobError;
use crate::store::JobQuery;

/// `POST /jobs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewJob {
    /// 2 to 100 characters.
    pub title: String,
    /// Up to 5,000 characters.
    #[serde(default)]
    pub description: String,
    /// A slug from `GET /categories`.
    pub category: String,
    pub wage: Wage,
    pub location: Location,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// After `startsAt`, at most 24 hours later, and in the future.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Unpaid break inside the shift, in minutes. Paid time of 4 hours or more needs at least
    /// 30, of 8 hours or more at least 60 (`break_too_short`); at most half the span
    /// (`break_too_long`). Omitted: 0 under 4 h of span, 30 up to 8 h 30, 60 from there.
    pub break_minutes: Option<i64>,
    /// 1 to 100.
    pub headcount: i64,
}

impl NewJob {
    /// The draft this asks for, judged against the law as of `now`.
    pub fn parse(self, now: OffsetDateTime, minimum: MinimumWage) -> Result<JobDraft, JobError> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", JobTitle::parse(&self.title));
        let description = errors.check("description", Description::parse(&self.description));
        let category = errors.check("category", CategorySlug::parse(&self.category));
        let wage = errors.check("wage", crate::domain::Wage::parse(self.wage.kind, self.wage.amount));
        let location = errors.check("location", parse_location(&self.location));
        let schedule = errors.check("endsAt", Schedule::parse(self.starts_at, self.ends_at, now));
        let headcount = errors.check("headcount", Headcount::parse(self.headcount));
        let break_minutes = changed(&mut errors, "breakMinutes", self.break_minutes.map(parse_break_minutes));
        let (
            Some(title),
            Some(description),
            Some(category),
            Some(wage),
            Some(location),
            Some(schedule),
            Some(headcount),
            Ok(break_minutes),
        ) = (
            title,
            description,
            category,
            wage,
            location,
            schedule,
            headcount,
            break_minutes,
        )
        else {
            return Err(errors.into());
        };
        Ok(JobDraft {
            title,
            description,
            category,
            location,
            terms: Terms::new(wage, schedule, break_minutes, minimum)?,
            headcount,
        })
    }
}

fn parse_location(location: &Location) -> Result<crate::domain::Location, String> {
    crate::domain::Location::parse(&location.address, location.lat, location.lng)
}

/// What an owner may set by editing; `completed` and `cancelled` have their own endpoints.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EditableStatus {
    /// Take applications again (from `closed`).
    Open,
    /// Stop taking applications (from `open`); pending ones can still be decided.
    Closed,
}

/// `PUT /jobs/:id`: every field optional; absent or `null` keeps the current value, except that
/// a new schedule without `breakMinutes` gets the default break for its span. Wage, schedule,
/// break and headcount are fixed once a worker is accepted or the job is funded.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub wage: Option<Wage>,
    pub location: Option<Location>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Minutes; the rules of `POST /jobs`.
    pub break_minutes: Option<i64>,
    pub headcount: Option<i64>,
    pub status: Option<EditableStatus>,
}

impl JobPatch {
    /// The changes to `job` this asks for. A new wage, schedule or break is checked together
    /// with the parts that stay, against today's law.
    pub fn parse(self, job: &Job, now: OffsetDateTime, minimum: MinimumWage) -> Result<JobChanges, JobError> {
        let mut errors = FieldErrors::default();
        let current = job.terms();
        let title = changed(&mut errors, "title", self.title.map(|t| JobTitle::parse(&t)));
        let description = changed(
            &mut errors,
            "description",
            self.description.map(|d| Description::parse(&d)),
        );
        let category = changed(&mut errors, "category", self.category.map(|c| CategorySlug::parse(&c)));
        let location = changed(&mut errors, "location", self.location.map(|l| parse_location(&l)));
        let headcount = changed(&mut errors, "headcount", self.headcount.map(Headcount::parse));
        let reschedules = self.starts_at.is_some() || self.ends_at.is_some();
        let terms_change = self.wage.is_some() || reschedules || self.break_minutes.is_some();
        let wage = changed(
            &mut errors,
            "wage",
            self.wage.map(|w| crate::domain::Wage::parse(w.kind, w.amount)),
        );
        let schedule = changed(
            &mut errors,
            "endsAt",
            reschedules.then(|| {
                Schedule::parse(
                    self.starts_at.unwrap_or(current.schedule().starts_at()),
                    self.ends_at.unwrap_or(current.schedule().ends_at()),
                    now,
                )
            }),
        );
        let break_minutes = changed(&mut errors, "breakMinutes", self.break_minutes.map(parse_break_minutes));
        let (
            Ok(title),
            Ok(description),
            Ok(category),
            Ok(location),
            Ok(headcount),
            Ok(wage),
            Ok(schedule),
            Ok(break_minutes),
        ) = (
            title,
            description,
            category,
            location,
            headcount,
            wage,
            schedule,
            break_minutes,
        )
        else {
            return Err(errors.into());
        };
        let terms = if terms_change {
            let wage = wage.unwrap_or_else(|| current.wage().clone());
            // A new span without a break takes the default for it; the old break may not fit.
            let break_minutes = break_minutes.or((!reschedules).then(|| current.break_minutes()));
            let schedule = schedule.unwrap_or_else(|| current.schedule().clone());
            Some(Terms::new(wage, schedule, break_minutes, minimum)?)
        } else {
            None
        };
        Ok(JobChanges {
            title,
            description,
            category,
            location,
            terms,
            headcount,
            availability: self.status.map(|s| match s {
                EditableStatus::Open => Availability::Open,
                EditableStatus::Closed => Availability::Closed,
            }),
        })
    }
}

/// An optional field of an edit: `Ok(None)` when absent, `Ok(Some(_))` when it parses, else
/// `Err` with the message filed under `field`.
fn changed<T>(errors: &mut FieldErrors, field: &str, parsed: Option<Result<T, String>>) -> Result<Option<T>, ()> {
    parsed.transpose().map_err(|message| errors.add(field, message))
}

/// `GET /jobs` filters; cancelled jobs are never listed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// `open`, `filled`, `closed` or `completed`.
    pub status: Option<JobStatus>,
    /// A category slug.
    pub category: Option<String>,
    /// Jobs of one employer.
    pub employer_id: Option<String>,
}

impl JobFilter {
    /// The filters as the store takes them; 400 for `status=cancelled`: those jobs are gone,
    /// asking for them is a mistake.
    pub fn parse(self) -> Result<JobQuery, JobError> {
        if self.status == Some(JobStatus::Cancelled) {
            return Err(JobError::BadQuery(
                "query parameter `status`: cancelled jobs are not listed",
            ));
        }
        Ok(JobQuery {
            status: self.status,
            category: self.category,
            employer_id: self.employer_id,
        })
    }
}

/// `POST /jobs/:id/apply`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// A note to the employer, up to 1,000 characters.
    pub message: Option<String>,
}

impl NewApplication {
    pub fn parse(self) -> Result<Option<ApplicationMessage>, JobError> {
        ApplicationMessage::parse(self.message.as_deref()).map_err(|e| JobError::invalid("message", e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accepted,
    Rejected,
}

/// `PUT /jobs/:id/applications/:applicationId`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub status: Verdict,
}

/// A category as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    /// Stable ASCII name, used in jobs and filters.
    pub slug: String,
    /// Display name.
    pub name: String,
}

impl From<&Category> for CategoryView {
    fn from(category: &Category) -> Self {
        Self {
            slug: category.slug.as_str().to_owned(),
            name: category.name.as_str().to_owned(),
        }
    }
}

/// `POST /categories`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Lowercase letters and digits in words joined by hyphens, 2 to 40 characters.
    pub slug: String,
    /// 1 to 50 characters.
    pub name: String,
}

impl NewCategory {
    pub fn parse(self) -> Result<(CategorySlug, CategoryName), JobError> {
        let mut errors = FieldErrors::default();
        let slug = errors.check("slug", CategorySlug::parse(&self.slug));
        let name = errors.check("name", CategoryName::parse(&self.name));
        match (slug, name) {
            (Some(slug), Some(name)) => Ok((slug, name)),
            _ => Err(errors.into()),
        }
    }
}
