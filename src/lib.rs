//! The onetime binary's library: configuration, the wiring of stores, bus and services into one
//! application, serving, shutdown, and the operator commands.

pub mod admin;
pub mod backup;
pub mod compact;
pub mod config;
pub mod control;
pub mod health_check;
pub mod ledger;
mod platform_health;
pub mod refunds;
mod secrets;
mod services;
pub mod startup;
pub mod telemetry;
