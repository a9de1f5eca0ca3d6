//! What every onetime service shares: the event envelope and the durable bus, authentication
//! (JWT claims and the principal a handler sees), problem+json errors and the request id they
//! carry, outgoing mail, and the face a service shows the gateway.

pub mod auth;
pub mod bus;
pub mod directory;
pub mod due;
pub mod error;
pub mod events;
pub mod extract;
pub mod mail;
pub mod paging;
pub mod request_id;
pub mod service;

pub use error::ApiError;
