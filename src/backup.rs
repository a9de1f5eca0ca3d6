//! `onetime backup <dir>`: a consistent copy of every store, the search index and the JWT secret, taken by the
//! running instance while it serves (over the control socket) or from a stopped data directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onetime_storage::Store;

use crate::config::Config;
use crate::control::protocol::Request;
use crate::control::reach::{Reached, reach};
use crate::secrets::JWT_SECRET_FILE;

/// Backs up the instance of `config` into `target`; returns the files written.
pub async fn run(config: &Config, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = std::path::absolute(target)?;
    match reach(config, &Request::Backup { dir: dir.clone() }).await? {
        Reached::Running(answer) => answer,
        Reached::Stopped { data_dir, stores } => {
            tokio::task::spawn_blocking(move || backup(&stores.all(), data_dir.path(), &dir)).await?
        }
    }
}

/// Copies every store of `stores` and the secret of `data_dir` into `target`, which must not
/// exist yet or be empty. Blocking.
pub fn backup(stores: &[Store], data_dir: &Path, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if target.exists() && target.read_dir().map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!(
            "{} already exists and is not empty; back up into a new directory",
            target.display()
        );
    }
    std::fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
    let mut files = Vec::new();
    for store in stores {
        files.push(
            store
                .backup_to(target)
                .with_context(|| format!("cannot back up the {} store", store.name()))?,
        );
    }
    let index = onetime_search::backup(&data_dir.join("search"), &target.join("search"))
        .context("cannot back up the search index")?;
    files.extend(index);
    let secret = data_dir.join(JWT_SECRET_FILE);
    if secret.exists() {
        let copy = target.join(JWT_SECRET_FILE);
        std::fs::copy(&secret, &copy).with_context(|| format!("cannot copy {}", secret.display()))?;
        files.push(copy);
    }
    Ok(files)
}
