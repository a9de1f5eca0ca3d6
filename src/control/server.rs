//! The running instance's end of the control socket: it answers requests while serving.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use onetime_common::service::{Background, Sections};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::protocol::{CONTROL_SOCKET, Reply, Request};
use crate::services::Stores;
use crate::{admin, backup, compact, ledger, refunds};

/// What the running instance answers requests with.
pub struct Instance {
    pub data_dir: PathBuf,
    pub stores: Stores,
    /// The services' config sections (user creation hashes with `[users]`' parameters).
    pub sections: Sections,
}

/// The running instance's end of the control socket.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
    /// One task per connection; shutdown waits for them, since a command holds the stores.
    connections: Background,
}

impl ControlSocket {
    /// Listens in `instance.data_dir`. Any socket file already there is stale: the caller holds
    /// the data directory's lock.
    pub fn start(instance: Instance) -> anyhow::Result<Self> {
        let path = instance.data_dir.join(CONTROL_SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
        // Whoever can connect can create an administrator: the owner only, whatever the umask.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
        let instance = Arc::new(instance);
        let connections = Background::default();
        let accepting = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let instance = instance.clone();
                let stopping = accepting.stopping();
                accepting.spawn(async move {
                    if let Err(error) = answer(stream, &instance, stopping).await {
                        tracing::warn!(%error, "control request failed");
                    }
                });
            }
        });
        Ok(Self {
            path,
            task,
            connections,
        })
    }

    /// Stops listening and waits until every command under way has finished and let go of the
    /// stores.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.connections.stop().await;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one request and answers it. A connection still silent when shutdown begins is dropped;
/// a command already read runs to its end.
async fn answer(stream: UnixStream, instance: &Instance, stopping: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    tokio::select! {
        read = reader.read_line(&mut line) => read?,
        () = stopping => return Ok(()),
    };
    let outcome = match serde_json::from_str::<Request>(&line) {
        Ok(request) => handle(request, instance).await,
        Err(e) => Err(anyhow::anyhow!("bad control request: {e}")),
    };
    let reply = match outcome {
        Ok(result) => Reply {
            result: Some(result),
            error: None,
        },
        Err(e) => Reply {
            result: None,
            error: Some(format!("{e:#}")),
        },
    };
    let mut bytes = serde_json::to_vec(&reply)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    Ok(())
}

async fn handle(request: Request, instance: &Instance) -> anyhow::Result<serde_json::Value> {
    match request {
        Request::Backup { dir } => {
            tracing::info!(dir = %dir.display(), "backup requested");
            let (stores, data_dir) = (instance.stores.all(), instance.data_dir.clone());
            let files = tokio::task::spawn_blocking(move || backup::backup(&stores, &data_dir, &dir)).await??;
            Ok(serde_json::to_value(files)?)
        }
        Request::Compact => {
            tracing::info!("compaction requested");
            let compacted = compact::compact(instance.stores.clone()).await?;
            Ok(serde_json::to_value(compacted)?)
        }
        Request::CreateAdmin { email, password, name } => {
            tracing::info!(%email, "administrator creation requested");
            let admin = onetime_user::NewAdmin { email, password, name };
            let created = admin::create_in(&instance.stores, &instance.sections, admin).await?;
            Ok(serde_json::to_value(created)?)
        }
        Request::LedgerCheck => {
            tracing::info!("ledger check requested");
            Ok(serde_json::to_value(ledger::check_in(&instance.stores).await?)?)
        }
        Request::RefundsList => Ok(serde_json::to_value(refunds::list_in(&instance.stores).await?)?),
        Request::RefundRetry { id } => {
            tracing::info!(refund_id = id, "refund retry requested");
            Ok(serde_json::to_value(refunds::retry_in(&instance.stores, id).await?)?)
        }
        Request::RefundRecordOutside { id, note } => {
            tracing::info!(refund_id = id, "refund recorded outside requested");
            Ok(serde_json::to_value(
                refunds::record_outside_in(&instance.stores, id, note).await?,
            )?)
        }
    }
}
