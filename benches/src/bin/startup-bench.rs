//! Start-up time and idle memory of the `onetime` binary.
//!
//! Each run starts `onetime serve` on a fresh, empty data directory and measures the time from
//! just before the process is spawned until `GET /ready` first answers 200, polling every
//! `--poll-ms` milliseconds over plain HTTP/1.1. It then leaves the process idle for
//! `--idle-seconds` and reads its resident memory (`VmRSS`, and the peak `VmHWM`) from
//! `/proc/<pid>/status`, and stops it with SIGTERM.
//!
//! Lines starting with `result ` are `key=value` figures for scripts.
//!
//! ```text
//! startup-bench --bin target/release/onetime [--runs 5] [--addr 127.0.0.1:38090]
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Start-up time (spawn until /ready is 200) and idle RSS of onetime")]
struct Args {
    /// The onetime binary.
    #[arg(long, default_value = "target/release/onetime")]
    bin: PathBuf,
    /// How many fresh starts.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Address onetime listens on (`ONETIME_SERVER__ADDR`).
    #[arg(long, default_value = "127.0.0.1:38090")]
    addr: SocketAddr,
    /// Milliseconds between two polls of /ready.
    #[arg(long, default_value_t = 2)]
    poll_ms: u64,
    /// Seconds to stay idle before reading the memory.
    #[arg(long, default_value_t = 2)]
    idle_seconds: u64,
    /// Give up on a start after this many seconds.
    #[arg(long, default_value_t = 10)]
    timeout_seconds: u64,
    /// Directory for the temporary data directories (default: the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The status code of `GET /ready`, or `None` when nothing answers yet.
fn ready_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// SIGTERM, then SIGKILL if it is still there after 15 s.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

struct Run {
    startup: Duration,
    rss_kib: u64,
    hwm_kib: u64,
}

fn run_once(args: &Args, data_dir: &std::path::Path) -> anyhow::Result<Run> {
    if ready_status(args.addr).is_some() {
        bail!("something already answers on {}", args.addr);
    }
    let log = std::fs::File::create(data_dir.with_extension("log"))?;
    let started = Instant::now();
    let mut child = Command::new(&args.bin)
        .arg("serve")
        .env("ONETIME_DATA_DIR", data_dir)
        .env("ONETIME_SERVER__ADDR", args.addr.to_string())
        .env("ONETIME_LOG__LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", args.bin.display()))?;
    let deadline = started + Duration::from_secs(args.timeout_seconds);
    let startup = loop {
        if ready_status(args.addr) == Some(200) {
            break started.elapsed();
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("onetime exited with {status} before it was ready");
        }
        if Instant::now() > deadline {
            stop(&mut child);
            bail!("onetime was not ready within {} s", args.timeout_seconds);
        }
        std::thread::sleep(Duration::from_millis(args.poll_ms));
    };
    std::thread::sleep(Duration::from_secs(args.idle_seconds));
    let memory = memory_kib(child.id());
    stop(&mut child);
    let (rss_kib, hwm_kib) = memory?;
    Ok(Run {
        startup,
        rss_kib,
        hwm_kib,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("onetime-startup-bench")
        .tempdir_in(base)?;
    println!(
        "== start-up: spawn until GET /ready answers 200 (polled every {} ms), empty data dir, {} runs ==",
        args.poll_ms, args.runs
    );
    let mut runs = Vec::new();
    for i in 0..args.runs {
        let data_dir = scratch.path().join(format!("run-{i}"));
        let run = run_once(&args, &data_dir).with_context(|| format!("run {}", i + 1))?;
        println!(
            "run {}: ready after {:.1} ms; after {} s idle: VmRSS {:.1} MiB (peak VmHWM {:.1} MiB)",
            i + 1,
            run.startup.as_secs_f64() * 1000.0,
            args.idle_seconds,
            run.rss_kib as f64 / 1024.0,
            run.hwm_kib as f64 / 1024.0
        );
        runs.push(run);
    }
    let startup: Vec<f64> = runs.iter().map(|r| r.startup.as_secs_f64() * 1000.0).collect();
    let rss: Vec<f64> = runs.iter().map(|r| r.rss_kib as f64 / 1024.0).collect();
    let all = startup
        .iter()
        .map(|ms| format!("{ms:.1}"))
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "start-up median {:.1} ms (runs: {all} ms); idle VmRSS median {:.1} MiB",
        median(startup.clone()),
        median(rss.clone())
    );
    println!("result startup_ms_median={:.1}", median(startup));
    println!("result startup_ms_runs={all}");
    println!("result idle_rss_mib_median={:.1}", median(rss));
    Ok(())
}
