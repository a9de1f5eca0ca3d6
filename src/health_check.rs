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

/// The health URL of the instance at `url`: a base URL (`http://127.0.0.1:3000`, what the
/// operator knows) gets `/health` appended; a URL with a path is taken as the health URL.
fn health_url(url: &str) -> String {
    let path_start = url.find("://").map_or(0, |scheme| scheme + 3);
    match url[path_start..].find('/') {
        Some(slash) if url.len() > path_start + slash + 1 => url.to_owned(),
        _ => format!("{}/health", url.trim_end_matches('/')),
    }
}

/// Whether the instance at `url` (base or health URL) answers 200 with `"status": "ok"`; the
/// reason when not.
pub async fn check(url: &str) -> Result<(), String> {
    let url = &health_url(url);
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

#[cfg(test)]
mod tests {
    use super::health_url;

    #[test]
    fn a_base_url_gets_the_health_path_and_a_full_one_is_kept() {
        assert_eq!(health_url("http://127.0.0.1:3000"), "http://127.0.0.1:3000/health");
        assert_eq!(health_url("http://127.0.0.1:3000/"), "http://127.0.0.1:3000/health");
        assert_eq!(health_url("https://h:1/health"), "https://h:1/health");
        assert_eq!(health_url("http://h/api/health"), "http://h/api/health");
    }
}
