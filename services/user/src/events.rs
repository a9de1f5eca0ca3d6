//! The events the user service publishes, in the transaction of the change they report.
//! Their payloads live in the shared catalogue (`onetime_common::events::user`); the service
//! consumes no events.

use onetime_common::bus::publish;
use onetime_common::events::user::{REGISTERED, SOURCE, UserRegistered, UserVerified, VERIFIED};
use onetime_storage::{StorageError, WriteTx};

use crate::domain::User;

pub fn registered(tx: &WriteTx, user: &User) -> Result<(), StorageError> {
    let payload = UserRegistered {
        user_id: user.id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role,
        email_verified: user.email_verified_at.is_some(),
        registered_at: user.created_at,
    };
    publish(tx, SOURCE, REGISTERED, &payload).map(drop)
}

/// Call once, when `user`'s address has just been verified.
pub fn verified(tx: &WriteTx, user: &User) -> Result<(), StorageError> {
    let payload = UserVerified {
        user_id: user.id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role,
        verified_at: user.email_verified_at.unwrap_or(user.updated_at),
    };
    publish(tx, SOURCE, VERIFIED, &payload).map(drop)
}
