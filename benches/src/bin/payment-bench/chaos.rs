//! `chaos`: `OPERATIONS` random operations by `CONCURRENCY` tasks against a server this tool
//! starts, SIGKILLed `KILLS` times in the middle (evenly spread over the operations, while
//! operations are in flight) and started again on the same data. The operations: pay for a new
//! job (post it, create the order, check out, confirm), confirm a known payment again twice at
//! once, cancel a payment, delete a paid job, complete a paid job after hiring workers, and
//! withdraw three times at once from one worker's balance (one in ten to an account the sandbox
//! bank refuses). An operation cut off by a kill is counted and not retried.
//!
//! Then, once the queues and the bus are quiet, `audit.rs` checks every won.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

use crate::api::{Account, Answer, Api, run_id};
use crate::audit;

#[derive(clap::Args)]
pub struct Args {
    /// The `onetime` binary.
    #[arg(long)]
    bin: PathBuf,
    /// An empty data directory for the server.
    #[arg(long)]
    data_dir: PathBuf,
    /// Below the ephemeral range (32768–60999 on Linux), where test servers on port 0 land.
    #[arg(long, default_value_t = 28410)]
    port: u16,
    #[arg(long, default_value_t = 10_000)]
    operations: u64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// SIGKILLs of the server during the run.
    #[arg(long, default_value_t = 3)]
    kills: u64,
    #[arg(long, default_value_t = 8)]
    employers: usize,
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Seed of the random choices (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
}

/// An order this tool learnt the id of and tried to pay.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub order_id: String,
    pub job_id: String,
    pub employer: usize,
    pub headcount: u32,
    pub payment_key: String,
    pub amount: i64,
    /// A confirm of it was answered 200.
    pub confirmed: bool,
    /// A completion of its job was answered 200.
    pub completed: bool,
}

/// What the tasks share.
pub struct World {
    pub api: Api,
    pub employers: Vec<Account>,
    pub workers: Vec<Account>,
    pub orders: Mutex<Vec<Tracked>>,
    /// Answers by operation and status (`cut` when a kill cut it off).
    outcomes: Mutex<BTreeMap<(&'static str, String), u64>>,
}

#[derive(Debug, Clone, Copy)]
enum Operation {
    Pay,
    ConfirmAgain,
    Cancel,
    DeleteJob,
    Complete,
    Withdraw,
}

impl Operation {
    /// Weighted by how often the platform sees each.
    fn pick(rng: &mut StdRng) -> Self {
        match rng.random_range(0..100) {
            0..35 => Self::Pay,
            35..50 => Self::ConfirmAgain,
            50..58 => Self::Cancel,
            58..63 => Self::DeleteJob,
            63..80 => Self::Complete,
            _ => Self::Withdraw,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::ConfirmAgain => "confirm again",
            Self::Cancel => "cancel",
            Self::DeleteJob => "delete job",
            Self::Complete => "complete",
            Self::Withdraw => "withdraw",
        }
    }
}

/// The server under test, SIGKILLed and started again on the same data.
struct Server {
    args: Args,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.args.data_dir.with_extension("log"))?;
        let child = Command::new(&self.args.bin)
            .arg("serve")
            .env("ONETIME_DATA_DIR", &self.args.data_dir)
            .env("ONETIME_SERVER__ADDR", format!("127.0.0.1:{}", self.args.port))
            .env("ONETIME_LOG__LEVEL", "warn")
            .env("ONETIME_GATEWAY__RATE_LIMIT__ENABLED", "false")
            .env("ONETIME_USERS__REQUIRE_VERIFIED_EMAIL", "false")
            .env("ONETIME_PAYMENTS__SANDBOX_PAYOUT_DELAY_SECONDS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.args.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Fails when the server exited (say, its port was taken): whatever answers there then is
    /// not the server under test.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        let child = self.child.as_mut().context("not started")?;
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "the server exited ({status}); see {}",
                self.args.data_dir.with_extension("log").display()
            );
        }
        Ok(())
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    let (operations, concurrency, kills) = (args.operations, args.concurrency, args.kills);
    let url = format!("http://127.0.0.1:{}", args.port);
    let api = Api::new(&url)?;
    let mut server = Server { args, child: None };
    server.start()?;
    api.wait_ready(Duration::from_secs(30)).await?;
    server.check_alive()?;

    let run = run_id();
    let mut employers = Vec::new();
    for i in 0..server.args.employers {
        employers.push(
            api.register(&format!("chaos-{run}-e{i}@example.com"), "employer")
                .await?,
        );
    }
    let mut workers = Vec::new();
    for i in 0..server.args.workers {
        workers.push(api.register(&format!("chaos-{run}-w{i}@example.com"), "worker").await?);
    }
    let world = Arc::new(World {
        api: api.clone(),
        employers,
        workers,
        orders: Mutex::default(),
        outcomes: Mutex::default(),
    });
    println!("seed {seed}: {operations} operations, {concurrency} at a time, {kills} SIGKILLs");

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..concurrency as u64)
        .map(|task| {
            let (world, next) = (world.clone(), next.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed ^ task.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                while next.fetch_add(1, Ordering::Relaxed) < operations {
                    let operation = Operation::pick(&mut rng);
                    let outcome = perform(&world, operation, &mut rng).await;
                    let status = match outcome {
                        Ok(status) => status,
                        Err(_) => {
                            // Cut off by a kill: wait for the server to be back.
                            let _ = world.api.wait_ready(Duration::from_secs(60)).await;
                            "cut".to_owned()
                        }
                    };
                    *world
                        .outcomes
                        .lock()
                        .unwrap()
                        .entry((operation.name(), status))
                        .or_default() += 1;
                }
            })
        })
        .collect();

    for k in 1..=kills {
        let at = operations * k / (kills + 1);
        while next.load(Ordering::Relaxed) < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill();
        let down = Instant::now();
        server.start()?;
        api.wait_ready(Duration::from_secs(60)).await?;
        server.check_alive()?;
        println!(
            "SIGKILL {k} after {at} operations; ready again in {:.2} s",
            down.elapsed().as_secs_f64()
        );
    }
    for task in tasks {
        task.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{operations} operations in {seconds:.1} s ({:.0}/s, kills and restarts included)",
        operations as f64 / seconds
    );
    for ((operation, status), count) in world.outcomes.lock().unwrap().iter() {
        println!("  {operation}: {status} × {count}");
    }

    let clean = audit::audit(&world, &server.args.bin, &server.args.data_dir).await?;
    server.kill();
    anyhow::ensure!(clean, "the audit found money unaccounted for");
    Ok(())
}

/// One operation; the status it ended with (the last request's), `Err` when a kill cut it off.
async fn perform(world: &World, operation: Operation, rng: &mut StdRng) -> reqwest::Result<String> {
    let api = &world.api;
    let answer = match operation {
        Operation::Pay => {
            let employer = rng.random_range(0..world.employers.len());
            let headcount = rng.random_range(1..=3);
            pay(world, employer, headcount).await?
        }
        Operation::ConfirmAgain => {
            let Some(order) = pick(world, rng, |_| true) else {
                return Ok("none".to_owned());
            };
            let token = &world.employers[order.employer].token;
            let body = json!({ "paymentKey": order.payment_key, "orderId": order.order_id, "amount": order.amount });
            let (a, b) = tokio::join!(
                api.post("/payments/confirm", token, &body),
                api.post("/payments/confirm", token, &body)
            );
            let (a, b) = (a?, b?);
            if a.status == 200 || b.status == 200 {
                mark(world, &order.order_id, |o| o.confirmed = true);
            }
            if a.status == 200 { b } else { a }
        }
        Operation::Cancel => {
            let Some(order) = pick(world, rng, |o| o.confirmed) else {
                return Ok("none".to_owned());
            };
            let body = json!({ "orderId": order.order_id, "cancelReason": "chaos" });
            api.post("/payments/cancel", &world.employers[order.employer].token, &body)
                .await?
        }
        Operation::DeleteJob => {
            let Some(order) = pick(world, rng, |o| o.confirmed) else {
                return Ok("none".to_owned());
            };
            let path = format!("/jobs/{}", order.job_id);
            api.send(
                Method::DELETE,
                &path,
                Some(&world.employers[order.employer].token),
                None,
            )
            .await?
        }
        Operation::Complete => {
            let Some(order) = pick(world, rng, |o| o.confirmed && !o.completed) else {
                return Ok("none".to_owned());
            };
            complete(world, &order, rng).await?
        }
        Operation::Withdraw => withdraw(world, rng).await?,
    };
    Ok(answer.status.to_string())
}

/// A random tracked order that `fits`.
fn pick(world: &World, rng: &mut StdRng, fits: impl Fn(&Tracked) -> bool) -> Option<Tracked> {
    let orders = world.orders.lock().unwrap();
    let fitting: Vec<&Tracked> = orders.iter().filter(|o| fits(o)).collect();
    (!fitting.is_empty()).then(|| fitting[rng.random_range(0..fitting.len())].clone())
}

fn mark(world: &World, order_id: &str, change: impl Fn(&mut Tracked)) {
    if let Some(order) = world.orders.lock().unwrap().iter_mut().find(|o| o.order_id == order_id) {
        change(order);
    }
}

/// Posts a job, makes its order, checks it out and confirms; the order is tracked from the
/// moment its payment key is known, before the confirm is sent.
async fn pay(world: &World, employer: usize, headcount: u32) -> reqwest::Result<Answer> {
    let (api, token) = (&world.api, &world.employers[employer].token);
    let at = |h: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    };
    let job = json!({
        "title": "물류센터 상하차", "description": "주간 근무", "category": "logistics",
        "wage": { "type": "daily", "amount": crate::api::PAY },
        "location": { "address": "경기 이천시", "lat": 37.2, "lng": 127.4 },
        "startsAt": at(-1), "endsAt": at(8), "headcount": headcount,
    });
    let posted = api.post("/jobs", token, &job).await?;
    let Ok(job_id) = posted.text("id") else {
        return Ok(posted);
    };
    let order = api.post("/payments/create", token, &json!({ "jobId": job_id })).await?;
    let Ok(order_id) = order.text("orderId") else {
        return Ok(order);
    };
    let checkout = api
        .post("/payments/sandbox/checkout", token, &json!({ "orderId": order_id }))
        .await?;
    let Ok(payment_key) = checkout.text("paymentKey") else {
        return Ok(checkout);
    };
    let amount = order.body["amount"].as_i64().unwrap_or_default();
    world.orders.lock().unwrap().push(Tracked {
        order_id: order_id.clone(),
        job_id,
        employer,
        headcount,
        payment_key: payment_key.clone(),
        amount,
        confirmed: false,
        completed: false,
    });
    let body = json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount });
    let confirmed = api.post("/payments/confirm", token, &body).await?;
    if confirmed.status == 200 {
        mark(world, &order_id, |o| o.confirmed = true);
    }
    Ok(confirmed)
}

/// Hires one to `headcount` random workers for the order's job and completes it.
async fn complete(world: &World, order: &Tracked, rng: &mut StdRng) -> reqwest::Result<Answer> {
    let api = &world.api;
    let employer = &world.employers[order.employer].token;
    let hires = rng.random_range(1..=order.headcount as usize);
    let mut workers: Vec<usize> = (0..world.workers.len()).collect();
    for i in 0..hires {
        let j = rng.random_range(i..workers.len());
        workers.swap(i, j);
        let worker = &world.workers[workers[i]];
        let applied = api
            .post(&format!("/jobs/{}/apply", order.job_id), &worker.token, &json!({}))
            .await?;
        if let Ok(application) = applied.text("id") {
            let path = format!("/jobs/{}/applications/{application}", order.job_id);
            api.send(
                Method::PUT,
                &path,
                Some(employer),
                Some(&json!({ "status": "accepted" })),
            )
            .await?;
        }
    }
    let completed = api
        .post(&format!("/jobs/{}/complete", order.job_id), employer, &json!({}))
        .await?;
    if completed.status == 200 {
        mark(world, &order.order_id, |o| o.completed = true);
    }
    Ok(completed)
}

/// Three withdrawals at once from one worker's balance, each of half of it (at least the
/// minimum): at most two can win.
async fn withdraw(world: &World, rng: &mut StdRng) -> reqwest::Result<Answer> {
    let worker = &world.workers[rng.random_range(0..world.workers.len())];
    let wallet = world.api.get("/payments/wallet", &worker.token).await?;
    let amount = (wallet.body["balance"].as_i64().unwrap_or_default() / 2).max(10_000);
    let body = |refused: bool| {
        let number = if refused { "110-123-450000" } else { "110-123-456789" };
        json!({ "amount": amount, "bank": { "code": "088", "accountNumber": number, "holderName": "김원데" } })
    };
    let bodies = [body(rng.random_ratio(1, 10)), body(false), body(false)];
    let requests = bodies
        .iter()
        .map(|b| world.api.post("/payments/withdraw", &worker.token, b));
    let mut last = None;
    for answer in futures::future::join_all(requests).await {
        last = Some(answer?);
    }
    Ok(last.expect("three answers"))
}
