//! `onetime`: the OneDay day-job platform in one binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use onetime::config::Config;
use onetime::startup::{Application, shutdown_signal};
use onetime::{admin, backup, compact, health_check, ledger, refunds, telemetry};

/// jemalloc instead of the C library's allocator. glibc's malloc keeps one arena per thread that
/// has allocated (the blocking pool runs up to dozens) and rarely gives freed memory back: under a
/// steady write load the process held 400 MB and kept it after the load. jemalloc's background
/// thread returns pages unused for a second (see `MALLOC_CONF` below); measured in
/// `benches/writes.sh`.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts: purge dirty pages after 1 s, on a background thread,
/// rather than keeping them for reuse (10 s by default) or only when allocating again.
///
/// Thread caches keep allocations up to 8 MiB (32 KiB by default). Compressing an answer takes
/// zeroed buffers of up to a few MiB (brotli's window, gzip's hash tables); above the cache,
/// jemalloc zeroes a reused extent by giving its pages back to the kernel and faulting them in
/// again, with a TLB shootdown across threads each time. `/health` compressed at 1,440 answers
/// a second that way, and at 25,000 from the cache (`benches/run.sh`).
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,tcache_max:8388608\0";

#[derive(Parser)]
#[command(
    name = "onetime",
    version,
    about = "The OneDay (원데이) day-job platform: seven services in one binary"
)]
struct Cli {
    /// Configuration file, layered over the embedded default.
    #[arg(long, global = true, env = "ONETIME_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform (the default).
    Serve,
    /// Validate the configuration and print it, secrets redacted.
    CheckConfig,
    /// Write a consistent copy of every store into DIR, while the platform runs or not.
    Backup { dir: PathBuf },
    /// Give the store files' free space back to the file system, while the platform runs (its
    /// writes pause per store meanwhile) or not.
    Compact,
    /// Exit 0 when the instance at URL (a base URL such as http://127.0.0.1:3000, or its /health
    /// URL; default: the configured one) reports ok, 1 otherwise.
    Health { url: Option<String> },
    /// Manage administrator accounts, while the platform runs or not.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check the payment ledger: every entry sums to zero, every balance matches its postings,
    /// no account is below zero where it may not be. Exit 0 when clean, 1 otherwise.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Refunds the payment provider refused for good: their money waits in escrow for an
    /// operator (while the platform runs or not).
    Refunds {
        #[command(subcommand)]
        command: RefundsCommand,
    },
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum RefundsCommand {
    /// List them, one a line: refund id, order id, amount, the provider's code and message.
    List,
    /// Have the refund made again through the provider (under a new idempotency key).
    Retry { refund_id: String },
    /// Record the refund as made outside the platform (a bank transfer to the employer, say):
    /// escrow to refunds in the ledger, the order as the provider would have left it.
    RecordOutside {
        refund_id: String,
        /// How it was refunded, for the log.
        #[arg(long)]
        note: String,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every balance from the postings (while the platform runs or not).
    Check {
        /// Print the whole report as JSON (every account's balance), not the summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator, email address verified.
    Create {
        #[arg(long)]
        email: String,
        /// The password (8–128 characters, two kinds of characters at least); `-` reads it from
        /// standard input, which keeps it out of the process list.
        #[arg(long)]
        password: String,
        /// Display name [default: 관리자]
        #[arg(long)]
        name: Option<String>,
    },
}

/// Exit code for a configuration the operator must fix.
const BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Version = command {
        println!("onetime {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("onetime: {error}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("onetime: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve => serve(config).await,
            Command::CheckConfig => {
                print!("{}", config.redacted_toml());
                Ok(())
            }
            Command::Backup { dir } => run_backup(&config, &dir).await,
            Command::Compact => run_compact(&config).await,
            Command::Admin {
                command: AdminCommand::Create { email, password, name },
            } => create_admin(&config, email, password, name).await,
            Command::Ledger {
                command: LedgerCommand::Check { json },
            } => check_ledger(&config, json).await,
            Command::Refunds { command } => run_refunds(&config, command).await,
            Command::Health { url } => {
                let url = url.unwrap_or_else(|| health_check::default_url(&config));
                health_check::check(&url).await.map_err(anyhow::Error::msg)
            }
            Command::Version => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onetime: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    telemetry::init(&config.log);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn run_backup(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    for file in backup::run(config, dir).await? {
        println!("{}", file.display());
    }
    Ok(())
}

async fn run_compact(config: &Config) -> anyhow::Result<()> {
    for store in compact::run(config).await? {
        println!("{}: {} → {} bytes", store.store, store.before, store.after);
    }
    Ok(())
}

async fn check_ledger(config: &Config, json: bool) -> anyhow::Result<()> {
    let report = ledger::check(config).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    anyhow::ensure!(report.is_clean(), "the ledger is not clean");
    Ok(())
}

async fn run_refunds(config: &Config, command: RefundsCommand) -> anyhow::Result<()> {
    match command {
        RefundsCommand::List => {
            for refused in refunds::list(config).await? {
                let refund = refused.refund;
                println!(
                    "{} order {} {} won {}: {}",
                    refund.id, refund.order_id, refund.amount, refused.code, refused.message
                );
            }
        }
        RefundsCommand::Retry { refund_id } => {
            let refund = refunds::retry(config, refund_id).await?;
            println!("queued again as refund {} of order {}", refund.id, refund.order_id);
        }
        RefundsCommand::RecordOutside { refund_id, note } => {
            let order = refunds::record_outside(config, refund_id, note).await?;
            println!(
                "recorded: order {} refunded {} won in all",
                order.id, order.refunded_amount
            );
        }
    }
    Ok(())
}

async fn create_admin(config: &Config, email: String, password: String, name: Option<String>) -> anyhow::Result<()> {
    let password = if password == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        password
    };
    let created = admin::create(config, onetime_user::NewAdmin { email, password, name }).await?;
    println!("created administrator {} ({})", created.email, created.id);
    Ok(())
}
