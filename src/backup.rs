//! `onetime backup <dir>`: a consistent copy of every store and the JWT secret.
//!
//! A running instance holds its data directory exclusively, so the command asks it over the
//! control socket in the data directory (reachable only by who may read the data anyway) and
//! the instance copies its stores while serving. With no instance running, the command opens
//! the data directory itself.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onetime_storage::Store;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::secrets::JWT_SECRET_FILE;

pub const CONTROL_SOCKET: &str = "onetime.sock";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "lowercase")]
enum Request {
    Backup { dir: PathBuf },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    files: Vec<PathBuf>,
    error: Option<String>,
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
    let secret = data_dir.join(JWT_SECRET_FILE);
    if secret.exists() {
        let copy = target.join(JWT_SECRET_FILE);
        std::fs::copy(&secret, &copy).with_context(|| format!("cannot copy {}", secret.display()))?;
        files.push(copy);
    }
    Ok(files)
}

/// The running instance's end of the control socket.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Listens in `data_dir`. Any socket file already there is stale: the caller holds the
    /// data directory's lock.
    pub fn start(data_dir: &Path, stores: Vec<Store>) -> anyhow::Result<Self> {
        let path = data_dir.join(CONTROL_SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
        let data_dir = data_dir.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (stores, data_dir) = (stores.clone(), data_dir.clone());
                tokio::spawn(async move {
                    if let Err(error) = answer(stream, stores, data_dir).await {
                        tracing::warn!(%error, "control request failed");
                    }
                });
            }
        });
        Ok(Self { path, task })
    }

    pub fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn answer(stream: UnixStream, stores: Vec<Store>, data_dir: PathBuf) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Backup { dir }) => {
            tracing::info!(dir = %dir.display(), "backup requested");
            match tokio::task::spawn_blocking(move || backup(&stores, &data_dir, &dir)).await? {
                Ok(files) => Reply { files, error: None },
                Err(e) => Reply {
                    files: Vec::new(),
                    error: Some(format!("{e:#}")),
                },
            }
        }
        Err(e) => Reply {
            files: Vec::new(),
            error: Some(format!("bad control request: {e}")),
        },
    };
    let mut bytes = serde_json::to_vec(&reply)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    Ok(())
}

/// Asks the instance running on `data_dir` for a backup into `target`; `None` when no instance
/// answers there.
pub async fn request_backup(data_dir: &Path, target: &Path) -> Option<anyhow::Result<Vec<PathBuf>>> {
    let stream = UnixStream::connect(data_dir.join(CONTROL_SOCKET)).await.ok()?;
    Some(
        async move {
            let (read, mut write) = stream.into_split();
            let target = std::path::absolute(target)?;
            let mut request = serde_json::to_vec(&Request::Backup { dir: target })?;
            request.push(b'\n');
            write.write_all(&request).await?;
            let mut line = String::new();
            BufReader::new(read).read_line(&mut line).await?;
            let reply: Reply = serde_json::from_str(&line).context("the running instance gave no answer")?;
            match reply.error {
                Some(error) => bail!(error),
                None => Ok(reply.files),
            }
        }
        .await,
    )
}

/// Backs up a data directory no instance is running on.
pub async fn offline(config: &crate::config::Config, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let data_dir = onetime_storage::DataDir::lock(&config.data_dir)?;
    // Wiring opens (and migrates) the stores exactly as serving would; the bus never starts.
    let mut unstarted = onetime_common::bus::Bus::new(config.bus.bus_config());
    let stores = crate::services::wire(data_dir.path(), &mut unstarted)?.stores;
    let target = target.to_owned();
    tokio::task::spawn_blocking(move || backup(&stores, data_dir.path(), &target)).await?
}
