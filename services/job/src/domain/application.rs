//! A worker's application to a job: submitted while the job is open, then accepted, rejected
//! or withdrawn while pending.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::values::text;
use super::{ApplicationStatus, Conflict, Job, published};

pub const MAX_MESSAGE_CHARS: usize = 1_000;

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
    ) -> Result<Self, Conflict> {
        job.check_open()?;
        Ok(Self {
            id,
            job_id: job.id().to_owned(),
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
    pub fn check_pending(&self) -> Result<(), Conflict> {
        match self.status {
            ApplicationStatus::Pending => Ok(()),
            other => Err(Conflict::NotPending(other)),
        }
    }

    /// Records the owner's decision; [`Job::accept`] and [`Job::reject`] check that it may be made.
    pub(super) fn decide(&mut self, status: ApplicationStatus) {
        self.status = status;
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
    use super::*;

    #[test]
    fn blank_messages_are_none_and_long_ones_are_refused() {
        assert_eq!(ApplicationMessage::parse(Some("  ")).unwrap(), None);
        assert_eq!(ApplicationMessage::parse(None).unwrap(), None);
        assert!(ApplicationMessage::parse(Some(&"x".repeat(1_000))).unwrap().is_some());
        assert!(ApplicationMessage::parse(Some(&"x".repeat(1_001))).is_err());
    }
}
