//! The control socket: how operator commands (`onetime backup`, `onetime admin create`,
//! `onetime compact`, `onetime ledger check`, `onetime refunds`) reach a running instance.
//!
//! A running instance holds its data directory exclusively, so a command first asks the instance
//! over a Unix socket in that directory (reachable only by whoever may read the data anyway), and
//! the instance does the work while serving. When nothing answers, the command opens the data
//! directory itself.
//!
//! The protocol is one JSON request line and one JSON reply line:
//! `{"command": "backup", "dir": "/abs/path"}` or
//! `{"command": "create-admin", "email": …, "password": …, "name": …}`, `{"command": "compact"}`
//! `{"command": "ledger-check"}`, `{"command": "refunds-list"}`, `{"command": "refund-retry", "id": …}`
//! or `{"command": "refund-record-outside", "id": …, "note": …}`, answered by
//! `{"result": …}` or `{"error": "…"}`.

// Commands (`admin`, `backup`) use the protocol; the server uses the commands: two files, so
// that the imports run one way.
pub(crate) mod protocol;
pub(crate) mod reach;
mod server;

pub use protocol::CONTROL_SOCKET;
pub use server::{ControlSocket, Instance};
