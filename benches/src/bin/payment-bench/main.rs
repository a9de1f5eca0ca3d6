//! `payment-bench`: the payment benchmarks of issue 11, over HTTP against `onetime serve`
//! (`benches/payments.sh` runs both; `benches/README.md` says what they measure).
//!
//! * `paid-orders`: sandbox create → checkout → confirm at a fixed number of connections, each
//!   connection paying its own seeded jobs: paid orders/s and the latency of the whole flow and
//!   of each step.
//! * `chaos`: a random concurrent workload (payments, duplicate confirms, cancels, job
//!   deletions, completions, withdrawals racing for one balance) against a server this tool
//!   starts and SIGKILLs in the middle, then `onetime ledger check` and an account of every won.

mod api;
mod audit;
mod chaos;
mod paid_orders;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Payment benchmarks of onetime (issue 11)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Paid orders/s and latency of create → checkout → confirm.
    PaidOrders(paid_orders::Args),
    /// A random workload with SIGKILL restarts, then the ledger and every won checked.
    Chaos(chaos::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::PaidOrders(args) => paid_orders::run(args).await,
        Command::Chaos(args) => chaos::run(args).await,
    }
}
