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
#[serde(rename_all = "camelCase")]
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
    pub headcount: u32,
    pub accepted_count: u32,
    /// What each accepted worker earns in won: the hourly wage times the job's hours (rounded
    /// down to the won), or the daily wage.
    pub pay_per_worker: i64,
    pub status: JobStatus,
    /// Whether the employer's payment for the job is held in escrow.
    pub funded: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
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
