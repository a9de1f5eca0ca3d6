//! The control protocol and its client: one JSON request line, one JSON reply line.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

pub const CONTROL_SOCKET: &str = "onetime.sock";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    Backup {
        dir: PathBuf,
    },
    Compact,
    CreateAdmin {
        email: String,
        password: String,
        name: Option<String>,
    },
    LedgerCheck,
    RefundsList,
    RefundRetry {
        id: String,
    },
    RefundRecordOutside {
        id: String,
        note: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

/// Sends `request` to the instance running on `data_dir`; `None` when no instance answers there.
pub async fn ask<T: DeserializeOwned>(data_dir: &Path, request: &Request) -> Option<anyhow::Result<T>> {
    let stream = UnixStream::connect(data_dir.join(CONTROL_SOCKET)).await.ok()?;
    Some(
        async move {
            let (read, mut write) = stream.into_split();
            let mut bytes = serde_json::to_vec(request)?;
            bytes.push(b'\n');
            write.write_all(&bytes).await?;
            let mut line = String::new();
            BufReader::new(read).read_line(&mut line).await?;
            let reply: Reply = serde_json::from_str(&line).context("the running instance gave no answer")?;
            match (reply.result, reply.error) {
                (_, Some(error)) => bail!(error),
                (Some(result), None) => Ok(serde_json::from_value(result)?),
                (None, None) => bail!("the running instance gave an empty answer"),
            }
        }
        .await,
    )
}
