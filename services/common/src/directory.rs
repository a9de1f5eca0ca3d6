//! Typed clients for reads across services. Each trait is implemented by the owning service
//! in-process today; a split deployment would implement it over HTTP.

use crate::events::job::Job;

/// Reads of the job service's data.
pub trait JobDirectory: Send + Sync + 'static {
    /// Open jobs with ids after `after` (all when `None`), in id order, at most `limit`.
    fn open_jobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<Job>, String>;
}
