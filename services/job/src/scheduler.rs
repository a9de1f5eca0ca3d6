//! Completes the jobs their owners forget: every `jobs.scheduler_interval`, each job with
//! accepted workers that ended more than `jobs.auto_complete_after` ago is completed, emitting
//! `job.completed` as the owner's completion would.

use std::future::Future;
use std::time::Duration;

use onetime_storage::Store;
use time::OffsetDateTime;
use tokio::time::MissedTickBehavior;

use crate::error::JobError;
use crate::store;

/// Jobs looked at per transaction of the queue read.
const BATCH: usize = 256;

/// Runs until `stopping` resolves; a failed pass is logged and retried on the next tick.
pub async fn run(store: Store, every: Duration, grace: Duration, stopping: impl Future<Output = ()>) {
    let grace = time::Duration::try_from(grace).unwrap_or(time::Duration::MAX);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = &mut stopping => return,
        }
        match complete_due(&store, grace).await {
            Ok(0) => {}
            Ok(completed) => tracing::info!(completed, "completed jobs that ended long enough ago"),
            Err(error) => tracing::warn!(%error, "completing due jobs failed; retrying on the next tick"),
        }
    }
}

/// One pass: completes every job due now; returns how many.
async fn complete_due(store: &Store, grace: time::Duration) -> Result<usize, JobError> {
    let mut completed = 0;
    loop {
        let now = OffsetDateTime::now_utc();
        let ended_by = now - grace;
        let due = store
            .read(move |tx| store::awaiting_completion(tx, ended_by, BATCH))
            .await?;
        let mut progressed = false;
        for id in &due {
            let id = id.clone();
            // One transaction per job: the owner may complete or cancel it meanwhile, and each
            // job is re-checked where it is changed.
            if store
                .write(move |tx| store::complete_if_due(tx, &id, grace, now))
                .await?
            {
                completed += 1;
                progressed = true;
            }
        }
        // A full batch may hide more; a batch of jobs not yet due (ending within the second)
        // waits for the next tick.
        if due.len() < BATCH || !progressed {
            return Ok(completed);
        }
    }
}
