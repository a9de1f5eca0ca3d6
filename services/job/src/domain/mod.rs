//! The job domain: values that exist only when valid (`JobTitle`, `Schedule`, `Terms`, …), the
//! job and application aggregates, and the rules of their status and pay. Pure: no I/O and no
//! clock (callers pass `now`), so every rule is unit-tested here.
//!
//! The aggregates derive serde for the job store alone, which holds only values that were parsed
//! when they were written; reading them back must not re-judge them (a job posted under last
//! year's minimum wage is still a valid job). Client input never deserializes into these types.

mod application;
mod job;
mod terms;
mod values;

use onetime_common::events::job as published;

pub use application::{Application, ApplicationMessage};
pub use job::{Availability, Conflict, Job, JobChanges, JobDraft};
pub use published::{ApplicationStatus, JobStatus, WageKind};
pub use terms::{MinimumWage, Schedule, Terms, TermsError, Wage, parse_break_minutes};
pub use values::{
    Category, CategoryName, CategorySlug, DEFAULT_CATEGORIES, Description, Headcount, JobTitle, Location,
};
