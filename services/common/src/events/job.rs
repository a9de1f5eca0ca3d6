//! What the job service publishes: the job and application as other services and clients see
//! them, and its events. Every payload carries enough that a consumer never calls back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The publishing service: the envelope's `source` and the bus source name.
pub const SOURCE: &str = "job";

/// [`JobChanged`]: a job was posted.
pub const JOB_CREATED: &str = "job.created";
/// [`JobChanged`]: the owner edited a job, or its funding changed.
pub const JOB_UPDATED: &str = "job.updated";
/// [`JobEnded`]: the owner cancelled a job (`DELETE /jobs/:id`).
pub const JOB_DELETED: &str = "job.deleted";
/// [`JobEnded`]: the last place was taken.
pub const JOB_FILLED: &str = "job.filled";
/// [`JobCompleted`]: the work is done; settlement follows.
pub const JOB_COMPLETED: &str = "job.completed";
/// [`ApplicationChanged`]: a worker applied.
pub const APPLICATION_SUBMITTED: &str = "application.submitted";
/// [`ApplicationChanged`]: the owner accepted a worker.
pub const APPLICATION_ACCEPTED: &str = "application.accepted";
/// [`ApplicationChanged`] with a `reason`: the owner declined, or the job filled, completed or
/// was cancelled while the application was pending.
pub const APPLICATION_REJECTED: &str = "application.rejected";
/// [`ApplicationChanged`]: the worker withdrew a pending application (it is deleted).
pub const APPLICATION_WITHDRAWN: &str = "application.withdrawn";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Taking applications.
    Open,
    /// Every place is taken.
    Filled,
    /// The owner stopped applications; pending ones can still be decided.
    Closed,
    /// The work is done and is being settled.
    Completed,
    /// Cancelled by the owner: kept for history, hidden from reads and lists.
    Cancelled,
}

impl JobStatus {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Filled => "filled",
            Self::Closed => "closed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WageKind {
    Hourly,
    Daily,
}

/// A wage in integer won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Wage {
    #[serde(rename = "type")]
    pub kind: WageKind,
    /// Won per hour or per day.
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    pub address: String,
    /// Degrees, -90 to 90.
    pub lat: f64,
    /// Degrees, -180 to 180.
    pub lng: f64,
}

/// A job as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", from = "JobRecord")]
pub struct Job {
    pub id: String,
    pub employer_id: String,
    pub title: String,
    pub description: String,
    /// A category slug, e.g. `food-cafe`.
    pub category: String,
    /// The category's display name, e.g. `음식점·카페`: in events, so that consumers (search,
    /// notifications) need not ask the job service. API answers leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_name: Option<String>,
    pub wage: Wage,
    pub location: Location,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Unpaid break inside `startsAt`–`endsAt`, in minutes (휴게시간).
    pub break_minutes: u32,
    /// The span less the break, in whole minutes: the time that is paid.
    pub paid_minutes: u32,
    /// What each accepted worker earns in won: the hourly wage times the paid time (rounded
    /// down to the won), or the daily wage.
    pub pay_per_worker: i64,
    pub headcount: u32,
    pub accepted_count: u32,
    pub status: JobStatus,
    /// Whether the employer's payment for the job is held in escrow.
    pub funded: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A [`Job`] as it is read back: events published before break time existed, still in an
/// outbox or a search index, carry neither `breakMinutes` nor `paidMinutes`. Those jobs had no
/// break, so all their time was paid (the job store migrated its records the same way).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobRecord {
    id: String,
    employer_id: String,
    title: String,
    description: String,
    category: String,
    #[serde(default)]
    category_name: Option<String>,
    wage: Wage,
    location: Location,
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
    #[serde(default)]
    break_minutes: u32,
    paid_minutes: Option<u32>,
    pay_per_worker: i64,
    headcount: u32,
    accepted_count: u32,
    status: JobStatus,
    funded: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<JobRecord> for Job {
    fn from(record: JobRecord) -> Self {
        let span_minutes = u32::try_from((record.ends_at - record.starts_at).whole_minutes()).unwrap_or(0);
        Self {
            paid_minutes: record
                .paid_minutes
                .unwrap_or_else(|| span_minutes.saturating_sub(record.break_minutes)),
            id: record.id,
            employer_id: record.employer_id,
            title: record.title,
            description: record.description,
            category: record.category,
            category_name: record.category_name,
            wage: record.wage,
            location: record.location,
            starts_at: record.starts_at,
            ends_at: record.ends_at,
            break_minutes: record.break_minutes,
            pay_per_worker: record.pay_per_worker,
            headcount: record.headcount,
            accepted_count: record.accepted_count,
            status: record.status,
            funded: record.funded,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    Pending,
    Accepted,
    Rejected,
}

impl ApplicationStatus {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

/// A worker's application to a job, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub job_id: String,
    pub worker_id: String,
    pub status: ApplicationStatus,
    pub message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `job.created`, `job.updated`: the whole job as it now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobChanged {
    pub job: Job,
}

/// `job.deleted`, `job.filled`: the job, and the workers it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEnded {
    pub job: Job,
    pub accepted_worker_ids: Vec<String>,
}

/// Who completed a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompletedBy {
    /// `POST /jobs/:id/complete`.
    Owner,
    /// The scheduler, once the job had ended long enough ago.
    Scheduler,
}

/// `job.completed`: everything settlement needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCompleted {
    pub job: Job,
    pub accepted_worker_ids: Vec<String>,
    /// Gross pay of each accepted worker in won (also `job.payPerWorker`).
    pub pay_per_worker: i64,
    pub completed_by: CompletedBy,
}

/// Why a pending application was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// The owner declined it.
    Employer,
    JobFilled,
    JobCompleted,
    JobCancelled,
}

/// `application.*`: the application, and who and what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationChanged {
    pub application: Application,
    pub employer_id: String,
    pub job_title: String,
    /// Only for `application.rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectionReason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_json() -> serde_json::Value {
        serde_json::json!({
            "id": "j", "employerId": "e", "title": "카페", "description": "", "category": "etc",
            "wage": { "type": "hourly", "amount": 12_000 },
            "location": { "address": "서울", "lat": 37.5, "lng": 127.0 },
            "startsAt": "2026-03-02T09:00:00Z", "endsAt": "2026-03-02T18:00:00Z",
            "payPerWorker": 108_000, "headcount": 1, "acceptedCount": 0, "status": "open", "funded": false,
            "createdAt": "2026-03-01T09:00:00Z", "updatedAt": "2026-03-01T09:00:00Z",
        })
    }

    #[test]
    fn jobs_published_before_break_time_read_as_all_paid() {
        let old: Job = serde_json::from_value(job_json()).unwrap();
        assert_eq!((old.break_minutes, old.paid_minutes), (0, 540));
        let mut current = job_json();
        current["breakMinutes"] = 60.into();
        current["paidMinutes"] = 480.into();
        let job: Job = serde_json::from_value(current.clone()).unwrap();
        assert_eq!((job.break_minutes, job.paid_minutes), (60, 480));
        assert_eq!(serde_json::to_value(&job).unwrap(), current, "round trip");
    }
}
