//! Events of the user service. Subscribe with `bus.subscribe(user::SOURCE, ...)`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::Role;

/// The publishing service: the envelope's `source` and the bus source name.
pub const SOURCE: &str = "user";

/// An account was created, over HTTP or by an operator (`onetime admin create`).
pub const REGISTERED: &str = "user.registered";
/// An account's email address was confirmed; the notification service sends the welcome mail.
pub const VERIFIED: &str = "user.verified";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Accounts created by an operator start verified; self-registered ones do not.
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserVerified {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
}
