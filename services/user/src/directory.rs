//! [`UserDirectory`] on the user store: what other services may read of an account.

use onetime_common::directory::{DirectoryError, UserContact, UserDirectory};
use onetime_storage::{StorageError, Store};

use crate::store;

/// In-process reads of `users.redb` for other services.
pub(crate) struct Directory {
    pub store: Store,
    /// `users.require_verified_email`.
    pub require_verified_email: bool,
}

fn unavailable(error: StorageError) -> DirectoryError {
    DirectoryError::Unavailable {
        service: crate::NAME,
        reason: error.to_string(),
    }
}

impl UserDirectory for Directory {
    fn contact(&self, id: &str) -> Result<Option<UserContact>, DirectoryError> {
        let user = self
            .store
            .read_blocking(|tx| store::user(tx, id))
            .map_err(unavailable)?;
        Ok(user.map(|user| UserContact {
            email_verified: user.email_verified_at.is_some(),
            id: user.id,
            name: user.name,
            email: user.email,
            phone: user.phone,
            role: user.role,
        }))
    }

    fn may_transact(&self, id: &str) -> Result<bool, DirectoryError> {
        Ok(match self.contact(id)? {
            Some(contact) => contact.email_verified || !self.require_verified_email,
            None => false,
        })
    }
}
