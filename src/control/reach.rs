//! How an operator command reaches the instance: the running one answers over its control
//! socket; when none answers, the command locks the stopped data directory and opens the stores
//! itself (migrated exactly as serving would; no service starts).

use onetime_storage::DataDir;
use serde::de::DeserializeOwned;

use super::protocol::{Request, ask};
use crate::config::Config;
use crate::services::Stores;

/// Where a command's work happens.
pub enum Reached<T> {
    /// The running instance did it; its answer.
    Running(anyhow::Result<T>),
    /// Nothing runs: the data directory, locked for as long as this lives, and its stores.
    Stopped { data_dir: DataDir, stores: Stores },
}

/// Sends `request` to the instance of `config`, or opens its data directory when none runs.
pub async fn reach<T: DeserializeOwned>(config: &Config, request: &Request) -> anyhow::Result<Reached<T>> {
    if let Some(answer) = ask(&config.data_dir, request).await {
        return Ok(Reached::Running(answer));
    }
    let data_dir = DataDir::lock(&config.data_dir)?;
    let stores = Stores::open(data_dir.path(), config.storage.store_options())?;
    Ok(Reached::Stopped { data_dir, stores })
}
