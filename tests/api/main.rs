//! Black-box tests: the whole platform, started in-process on port 0 with a temporary data
//! directory, driven over real HTTP and WebSocket; and the real binary for the CLI.
//!
//! One test binary with a module per area, so the platform is linked once.

mod chat;
mod cli;
mod gateway;
mod helpers;
mod job;
mod notification;
mod payment;
mod process;
mod search;
mod security;
mod tls;
mod user;
