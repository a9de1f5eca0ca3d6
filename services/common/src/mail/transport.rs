//! The way out: SMTP, or `.eml` files in a directory (the embedded default, so a development
//! instance sends nothing anywhere and its mail can be read on disk).

use std::path::Path;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::MailError;
use super::config::{MailConfig, SmtpSecurity, TransportKind};

/// A configured transport.
pub enum Mailer {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Why a delivery attempt failed.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Worth another try later: the server is away, busy, or said 4xx.
    Transient(String),
    /// The server refused for good (5xx), or the envelope is unusable: retrying cannot help.
    Permanent(String),
}

impl Mailer {
    /// The transport `config` describes. The `file` transport's directory is created here,
    /// private (0700, what is in it 0600) even outside the data directory: its mails hold
    /// password reset links.
    pub fn new(config: &MailConfig, data_dir: &Path) -> Result<Self, MailError> {
        match config.transport {
            TransportKind::File => {
                let dir = config.dir_in(data_dir);
                onetime_storage::create_private_dir(&dir).map_err(|source| MailError::Io {
                    context: format!("cannot create the mail directory {}", dir.display()),
                    source,
                })?;
                Ok(Self::File(AsyncFileTransport::new(dir)))
            }
            TransportKind::Smtp => {
                let smtp = &config.smtp;
                let builder = match smtp.security {
                    SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
                    SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                        .map_err(|e| MailError::Build(e.to_string()))?,
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| MailError::Build(e.to_string()))?,
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(smtp.username.clone(), smtp.password.clone()));
                }
                Ok(Self::Smtp(builder.build()))
            }
        }
    }

    pub(crate) async fn send(&self, from: &str, to: &[String], message: &[u8]) -> Result<(), SendError> {
        let unusable = |e: lettre::address::AddressError| SendError::Permanent(format!("bad envelope address: {e}"));
        let recipients = to
            .iter()
            .map(|address| address.parse().map_err(unusable))
            .collect::<Result<_, _>>()?;
        let envelope = Envelope::new(Some(from.parse().map_err(unusable)?), recipients)
            .map_err(|e| SendError::Permanent(format!("bad envelope: {e}")))?;
        match self {
            Self::File(files) => files
                .send_raw(&envelope, message)
                .await
                .map(drop)
                .map_err(|e| SendError::Transient(e.to_string())),
            Self::Smtp(smtp) => smtp.send_raw(&envelope, message).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
        }
    }
}
