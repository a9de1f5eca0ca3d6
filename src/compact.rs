//! `onetime compact`: gives every store file's free space back to the file system, done by the
//! running instance (over the control socket; writes pause per store meanwhile) or on a stopped
//! data directory.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::control::protocol::Request;
use crate::control::reach::{Reached, reach};
use crate::services::Stores;

/// One store file's size before and after compaction, in bytes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Compacted {
    pub store: String,
    pub before: u64,
    pub after: u64,
}

/// Compacts the stores of the instance of `config`.
pub async fn run(config: &Config) -> anyhow::Result<Vec<Compacted>> {
    match reach(config, &Request::Compact).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { stores, .. } => compact(stores).await,
    }
}

/// Compacts each of `stores` in turn, off the reactor.
pub async fn compact(stores: Stores) -> anyhow::Result<Vec<Compacted>> {
    tokio::task::spawn_blocking(move || {
        let mut compacted = Vec::new();
        for store in stores.all() {
            let (before, after) = store.compact()?;
            tracing::info!(store = store.name(), before, after, "compacted");
            compacted.push(Compacted {
                store: store.name().to_owned(),
                before,
                after,
            });
        }
        Ok(compacted)
    })
    .await?
}
