//! The login benchmark of the user service (issue 3 targets), driven by `benches/logins.sh`
//! against a running onetime:
//!
//! 1. Raw argon2id: how many verifications per second this machine does with the configured
//!    parameters, one thread per CPU, outside onetime; measured before and after the bursts, and
//!    logins are held against the better figure (on a shared machine, the load of others can
//!    only lower it).
//! 2. Bursts of `--burst` concurrent logins (one per account, so the per-account throttle stays
//!    out of it) while `/health` is probed every `--probe-ms`: logins per second against the raw
//!    figure (target ratio >= 0.8), and `/health` latency during the bursts (target p99 < 20 ms).
//! 3. What a failed login costs: wrong password against unknown address (they should match).
//!
//! ```text
//! login-bench --url http://127.0.0.1:38110 [--burst 200] [--rounds 3] [--memory-kib 19456 --iterations 2 --parallelism 1]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::task::JoinSet;

const PASSWORD: &str = "bench password 1";

#[derive(Parser)]
#[command(about = "Login throughput and /health latency under a login burst")]
struct Args {
    /// The running onetime (with gateway rate limits off).
    #[arg(long)]
    url: String,
    /// Concurrent logins per burst; also the number of accounts.
    #[arg(long, default_value_t = 200)]
    burst: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Interval of the `/health` probe during the bursts.
    #[arg(long, default_value_t = 5)]
    probe_ms: u64,
    /// The argon2 parameters onetime runs with (`users.argon2`).
    #[arg(long, default_value_t = 19_456)]
    memory_kib: u32,
    #[arg(long, default_value_t = 2)]
    iterations: u32,
    #[arg(long, default_value_t = 1)]
    parallelism: u32,
    /// How long the raw argon2 measurement runs.
    #[arg(long, default_value_t = 5)]
    raw_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let params = Params::new(args.memory_kib, args.iterations, args.parallelism, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

    println!(
        "== raw argon2id (m={} KiB, t={}, p={}) on {cpus} threads ==",
        args.memory_kib, args.iterations, args.parallelism
    );
    let raw_span = Duration::from_secs(args.raw_seconds);
    let measure = move || raw_verifications(params.clone(), cpus, raw_span);
    let raw_before = tokio::task::spawn_blocking(measure.clone()).await??;
    println!("raw verifications/s: {raw_before:.1}");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.burst)
        .timeout(Duration::from_secs(120))
        .build()?;
    let run = std::process::id();
    let emails: Vec<String> = (0..args.burst)
        .map(|i| format!("bench-{run}-{i}@example.com"))
        .collect();
    println!("== registering {} accounts ==", emails.len());
    let started = Instant::now();
    for chunk in emails.chunks(cpus * 4) {
        let mut registrations = JoinSet::new();
        for email in chunk {
            let (client, url, email) = (client.clone(), args.url.clone(), email.clone());
            registrations.spawn(async move {
                let body = json!({ "email": email, "password": PASSWORD, "name": "벤치", "role": "worker" });
                let response = client.post(format!("{url}/auth/register")).json(&body).send().await?;
                ensure!(response.status() == 201, "register {email}: {}", response.status());
                anyhow::Ok(())
            });
        }
        while let Some(done) = registrations.join_next().await {
            done??;
        }
    }
    println!("registered in {:.1} s", started.elapsed().as_secs_f64());

    // The probe gets a client of its own, so it never waits for a pooled connection.
    let probing = Arc::new(AtomicBool::new(true));
    let probe = tokio::spawn(probe_health(
        reqwest::Client::new(),
        args.url.clone(),
        Duration::from_millis(args.probe_ms),
        probing.clone(),
    ));

    println!("== {} bursts of {} concurrent logins ==", args.rounds, args.burst);
    let mut login_latency = histogram();
    let mut busy = Duration::ZERO;
    for round in 1..=args.rounds {
        let started = Instant::now();
        let mut logins = JoinSet::new();
        for email in &emails {
            let (client, url, email) = (client.clone(), args.url.clone(), email.clone());
            logins.spawn(async move {
                let sent = Instant::now();
                let response = client
                    .post(format!("{url}/auth/login"))
                    .json(&json!({ "email": email, "password": PASSWORD }))
                    .send()
                    .await?;
                ensure!(response.status() == 200, "login {email}: {}", response.status());
                anyhow::Ok(sent.elapsed())
            });
        }
        while let Some(done) = logins.join_next().await {
            login_latency.record(micros(done??))?;
        }
        let took = started.elapsed();
        busy += took;
        println!(
            "round {round}: {} logins in {:.2} s = {:.1} logins/s",
            args.burst,
            took.as_secs_f64(),
            args.burst as f64 / took.as_secs_f64()
        );
    }
    probing.store(false, Ordering::Relaxed);
    let health = probe.await??;

    let logins_per_second = (args.burst * args.rounds) as f64 / busy.as_secs_f64();
    println!("== raw argon2id again ==");
    let raw_after = tokio::task::spawn_blocking(measure).await??;
    println!("raw verifications/s: {raw_after:.1}");
    let raw = raw_before.max(raw_after);
    println!("== failed logins (one each per account: the throttle stays out of it) ==");
    let wrong = mean_login(&client, &args.url, &emails[..10], "wrong password 9").await?;
    let unknown_emails: Vec<String> = (0..10).map(|i| format!("nobody-{run}-{i}@example.com")).collect();
    let unknown = mean_login(&client, &args.url, &unknown_emails, PASSWORD).await?;

    println!();
    println!("== results ==");
    println!("raw argon2id verifications/s ({cpus} threads): {raw:.1} (before {raw_before:.1}, after {raw_after:.1})");
    println!(
        "logins/s under bursts of {}:             {logins_per_second:.1} (ratio {:.2}, target >= 0.80)",
        args.burst,
        logins_per_second / raw
    );
    println!(
        "login latency in a burst:                p50 {:.0} ms, p99 {:.0} ms",
        ms(login_latency.value_at_quantile(0.5)),
        ms(login_latency.value_at_quantile(0.99))
    );
    println!(
        "/health during the bursts ({} probes):   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 20 ms)",
        health.len(),
        ms(health.value_at_quantile(0.5)),
        ms(health.value_at_quantile(0.99)),
        ms(health.max())
    );
    println!(
        "failed login, mean of 10 sequential:     wrong password {:.1} ms, unknown address {:.1} ms",
        wrong.as_secs_f64() * 1e3,
        unknown.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Verifications per second of one password against its hash, on `threads` threads for `span`.
fn raw_verifications(params: Params, threads: usize, span: Duration) -> anyhow::Result<f64> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"bench-salt-bytes").map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = argon2
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (argon2, hash) = (argon2.clone(), &hash);
                scope.spawn(move || {
                    let parsed = PasswordHash::new(hash).expect("our own hash parses");
                    let mut done = 0;
                    while started.elapsed() < span {
                        assert!(argon2.verify_password(PASSWORD.as_bytes(), &parsed).is_ok());
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a worker")).collect()
    });
    Ok(counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64())
}

/// GETs `/health` every `every` until `probing` goes false; the latencies in µs.
async fn probe_health(
    client: reqwest::Client,
    url: String,
    every: Duration,
    probing: Arc<AtomicBool>,
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = histogram();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while probing.load(Ordering::Relaxed) {
        ticks.tick().await;
        let sent = Instant::now();
        let response = client.get(format!("{url}/health")).send().await?;
        let status = response.status();
        response.bytes().await?;
        if status != 200 {
            bail!("/health answered {status}");
        }
        latencies.record(micros(sent.elapsed()))?;
    }
    Ok(latencies)
}

/// The mean time of failed logins, one after another, each with another address.
async fn mean_login(
    client: &reqwest::Client,
    url: &str,
    emails: &[String],
    password: &str,
) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for email in emails {
        let sent = Instant::now();
        let response = client
            .post(format!("{url}/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?;
        total += sent.elapsed();
        let body: Value = response.json().await.context("a problem body")?;
        ensure!(body["code"] == "invalid_credentials", "{email}: {body}");
    }
    Ok(total / emails.len() as u32)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

fn micros(elapsed: Duration) -> u64 {
    elapsed.as_micros().clamp(1, 600_000_000) as u64
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1e3
}
