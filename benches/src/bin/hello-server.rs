//! The baseline of the gateway benchmark: a bare axum "hello" handler with no layers at all.
//!
//! It runs on the same tokio runtime shape as `onetime` (the multi-threaded runtime with one
//! worker per core) so that the difference between the two is what the gateway adds.
//!
//! ```text
//! hello-server [--addr 127.0.0.1:38081]
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Bare axum hello handler: the baseline for the gateway benchmark")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:38081")]
    addr: SocketAddr,
}

async fn hello() -> &'static str {
    "Hello, World!"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Router::new().route("/", get(hello));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    eprintln!("hello-server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
