//! `onetime health [url]`: exit 0 when the instance reports `ok`, 1 otherwise.

use std::time::Duration;

use crate::config::Config;

/// The health URL of the instance `config` describes.
pub fn default_url(config: &Config) -> String {
    let mut addr = config.server.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if config.server.tls.files().is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}/health")
}

/// Whether `url` answers 200 with `"status": "ok"`; the reason when not.
pub async fn check(url: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("{url}: not a health report: {e}"))?;
    match body.get("status").and_then(|s| s.as_str()) {
        Some("ok") if status.is_success() => Ok(()),
        reported => Err(format!(
            "{url}: HTTP {status}, status {}",
            reported.unwrap_or("missing")
        )),
    }
}
