//! How soon a new job is searchable: the whole platform in-process (job service → outbox →
//! bus → search index), driven over HTTP. Each round posts a job with a word of its own, then
//! polls `/search/jobs` for that word every 2 ms; the time from the POST's answer to the first
//! hit is recorded. Jobs are posted at a steady rate, one at a time.
//!
//! `cargo run --release -p onetime-benches --bin index-latency -- [jobs] [per-second] [base-url]`
//!
//! With a base URL it probes that running instance instead (`benches/writes.sh` does, while its
//! create load runs); the instance must not require verified addresses.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use onetime::config::Config;
use onetime::startup::Application;
use serde_json::{Value, json};

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// A word of Latin letters of its own for job `n` ("probe" + n in base 26, each letter followed
/// by a vowel): the analyser keeps it whole, where digits would be cut off, and no letter comes
/// three times in a row, which query normalisation would collapse as a phone-typing slip.
fn letters(mut n: usize) -> String {
    let mut word = String::from("probe");
    loop {
        let letter = (b'a' + (n % 26) as u8) as char;
        word.push(letter);
        word.push(if letter == 'o' { 'u' } else { 'o' });
        n /= 26;
        if n == 0 {
            return word;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(300);
    let per_second: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20);

    let platform = match args.next() {
        Some(base) => Platform::Running(base),
        None => Platform::start().await?,
    };
    let base = platform.base().to_owned();

    // Posting needs an account; this one's address stays unverified, which the requirement
    // being off allows. The address is new on every run, so a running instance takes it.
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{base}/auth/register"))
        .json(&json!({
            "email": format!("index-latency-{}@example.com", std::process::id()), "password": "correct horse 7", "name": "김원데",
            "role": "employer",
        }))
        .send()
        .await?
        .json()
        .await?;
    let employer = registered["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("registration failed: {registered}"))?
        .to_owned();
    let mut latencies = Histogram::<u64>::new(3)?;
    let interval = Duration::from_millis(1000 / per_second.max(1));
    for n in 0..jobs {
        let round = Instant::now();
        let word = letters(n);
        let starts = time::OffsetDateTime::now_utc() + time::Duration::days(2);
        let body = json!({
            "title": format!("카페 바리스타 {word}"), "description": "커피 제조", "category": "food-cafe",
            "wage": { "type": "hourly", "amount": 12000 },
            "location": { "address": "서울특별시 강남구 강남대로 396", "lat": 37.4979, "lng": 127.0276 },
            "startsAt": rfc3339(starts), "endsAt": rfc3339(starts + time::Duration::hours(4)), "headcount": 1,
        });
        let response = client
            .post(format!("{base}/jobs"))
            .bearer_auth(&employer)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 201, "POST /jobs: {}", response.status());
        let posted = Instant::now();
        let id = response.json::<Value>().await?["id"].clone();
        loop {
            let found: Value = client
                .get(format!("{base}/search/jobs?q={word}"))
                .send()
                .await?
                .json()
                .await?;
            // Near misses (probea for probeb) match too: look for this job's id.
            if found["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|item| item["id"] == id))
            {
                break;
            }
            anyhow::ensure!(
                posted.elapsed() < Duration::from_secs(10),
                "job {n} never became searchable"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.record(posted.elapsed().as_micros() as u64)?;
        if let Some(rest) = interval.checked_sub(round.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "created → searchable: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        latencies.len(),
        ms(latencies.value_at_quantile(0.5)),
        ms(latencies.value_at_quantile(0.99)),
        ms(latencies.max())
    );
    platform.stop().await
}

/// The instance probed: started here, or one already running at a base URL.
enum Platform {
    Running(String),
    Started {
        base: String,
        stop: tokio::sync::oneshot::Sender<()>,
        server: tokio::task::JoinHandle<anyhow::Result<()>>,
        _data: tempfile::TempDir,
    },
}

impl Platform {
    /// The whole platform in-process on an empty temp data directory.
    async fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut config = Config::load(None)?;
        config.data_dir = data.path().to_owned();
        config.server.addr = "127.0.0.1:0".parse()?;
        config.log.level = "warn".to_owned();
        // The polling below would exhaust a client's bucket; rate limits are measured elsewhere.
        config.gateway.rate_limit.enabled = false;
        config.set("users.require_verified_email", false);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let app = Application::build(config.clone()).await?;
        let base = format!("http://{}", app.addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(Self::Started {
            base,
            stop,
            server,
            _data: data,
        })
    }

    fn base(&self) -> &str {
        match self {
            Self::Running(base) | Self::Started { base, .. } => base,
        }
    }

    async fn stop(self) -> anyhow::Result<()> {
        if let Self::Started { stop, server, .. } = self {
            let _ = stop.send(());
            server.await??;
        }
        Ok(())
    }
}
