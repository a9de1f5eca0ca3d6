//! `paid-orders`: `CONNECTIONS` employers, one connection each, first post their share of
//! `ORDERS` jobs (the seeding, timed apart), then pay for them one after the other: `POST
//! /payments/create` → `POST /payments/sandbox/checkout` → `POST /payments/confirm`, for at most
//! `DURATION` seconds. A paid order is the whole flow; its latency is the three requests'.

use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::api::{Account, Api, run_id};

#[derive(clap::Args)]
pub struct Args {
    /// The instance's base URL.
    #[arg(long, default_value = "http://127.0.0.1:28400")]
    url: String,
    /// Concurrent employers, one connection each.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Jobs seeded (and so orders paid at most).
    #[arg(long, default_value_t = 60_000)]
    orders: usize,
    /// The paying phase's limit, in seconds.
    #[arg(long, default_value_t = 30)]
    duration: u64,
}

/// What one connection measured.
struct Measured {
    flow: Histogram<u64>,
    steps: [Histogram<u64>; 3],
    paid: u64,
    failures: Vec<String>,
}

const STEPS: [&str; 3] = ["create", "checkout", "confirm"];

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let run = run_id();
    let mut employers = Vec::new();
    for i in 0..args.connections {
        // Separate clients: each employer keeps its own connection.
        let api = Api::new(&args.url)?;
        let employer = api.register(&format!("pay-{run}-{i}@example.com"), "employer").await?;
        employers.push((api, employer));
    }

    let per_connection = args.orders / args.connections;
    println!(
        "seeding {} jobs over {} connections",
        per_connection * args.connections,
        args.connections
    );
    let started = Instant::now();
    let seeding = employers.iter().map(|(api, employer)| {
        let (api, employer) = (api.clone(), employer.clone());
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(per_connection);
            for _ in 0..per_connection {
                jobs.push(api.post_job(&employer, 1).await?);
            }
            anyhow::Ok(jobs)
        })
    });
    let mut seeded = Vec::new();
    for jobs in futures::future::join_all(seeding).await {
        seeded.push(jobs??);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {} jobs in {seconds:.1} s ({:.0} jobs/s)",
        per_connection * args.connections,
        (per_connection * args.connections) as f64 / seconds
    );

    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let paying = employers
        .into_iter()
        .zip(seeded)
        .map(|((api, employer), jobs)| tokio::spawn(async move { pay_all(&api, &employer, jobs, deadline).await }));
    let mut total = Measured {
        flow: histogram(),
        steps: [histogram(), histogram(), histogram()],
        paid: 0,
        failures: Vec::new(),
    };
    for measured in futures::future::join_all(paying).await {
        let measured = measured??;
        total.flow.add(&measured.flow)?;
        for (sum, step) in total.steps.iter_mut().zip(&measured.steps) {
            sum.add(step)?;
        }
        total.paid += measured.paid;
        total.failures.extend(measured.failures);
    }
    let seconds = started.elapsed().as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "paid orders: {} in {seconds:.1} s = {:.0}/s at {} connections; flow p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total.paid,
        total.paid as f64 / seconds,
        args.connections,
        ms(&total.flow, 0.5),
        ms(&total.flow, 0.99),
        total.flow.max() as f64 / 1_000.0
    );
    for (name, step) in STEPS.iter().zip(&total.steps) {
        println!(
            "  {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(step, 0.5),
            ms(step, 0.99),
            step.max() as f64 / 1_000.0
        );
    }
    println!("failures: {}", total.failures.len());
    for failure in total.failures.iter().take(5) {
        println!("  {failure}");
    }
    Ok(())
}

/// Pays for `jobs` one after the other until they are all paid or `deadline` passes.
async fn pay_all(api: &Api, employer: &Account, jobs: Vec<String>, deadline: Instant) -> anyhow::Result<Measured> {
    let mut measured = Measured {
        flow: histogram(),
        steps: [histogram(), histogram(), histogram()],
        paid: 0,
        failures: Vec::new(),
    };
    for job_id in jobs {
        if Instant::now() > deadline {
            break;
        }
        let started = Instant::now();
        match pay(api, employer, &job_id, &mut measured.steps).await {
            Ok(()) => {
                measured.flow.record(started.elapsed().as_micros() as u64)?;
                measured.paid += 1;
            }
            Err(error) => measured.failures.push(format!("{job_id}: {error:#}")),
        }
    }
    Ok(measured)
}

async fn pay(api: &Api, employer: &Account, job_id: &str, steps: &mut [Histogram<u64>; 3]) -> anyhow::Result<()> {
    let token = &employer.token;
    let timed = Instant::now();
    let order = api
        .post("/payments/create", token, &json!({ "jobId": job_id }))
        .await?
        .expect(201)?;
    steps[0].record(timed.elapsed().as_micros() as u64)?;
    let order_id = order["orderId"].as_str().context("orderId")?;

    let timed = Instant::now();
    let checkout = api
        .post("/payments/sandbox/checkout", token, &json!({ "orderId": order_id }))
        .await?
        .expect(200)?;
    steps[1].record(timed.elapsed().as_micros() as u64)?;

    let timed = Instant::now();
    let confirm = json!({ "paymentKey": checkout["paymentKey"], "orderId": order_id, "amount": order["amount"] });
    api.post("/payments/confirm", token, &confirm).await?.expect(200)?;
    steps[2].record(timed.elapsed().as_micros() as u64)?;
    Ok(())
}
