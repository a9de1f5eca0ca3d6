//! [`UserDirectory`] and [`SessionDirectory`] on the user store: what other services may read
//! of an account, and whether an access token still speaks for its account.
//!
//! Sessions are answered from the store, not from a copy in memory: they end in this service's
//! transactions (logout, password reset or change, a reused refresh token, the sweep) and
//! accounts are also created from outside it (`onetime admin create` over the control socket),
//! so the store is the one place that is never behind, and a restart rebuilds nothing. The
//! gateway asks on every authenticated request: one snapshot and two point reads of cached
//! pages, on the calling thread.

use onetime_common::auth::Principal;
use onetime_common::directory::{DirectoryError, SessionDirectory, UserContact, UserDirectory};
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

impl SessionDirectory for Directory {
    /// A token without a session was not issued by this service (it issues every token for a
    /// login session), so it is not current either.
    fn is_current(&self, principal: &Principal) -> Result<bool, DirectoryError> {
        let Some(session_id) = principal.session_id.as_deref() else {
            return Ok(false);
        };
        self.store
            .read_blocking(|tx| store::is_current(tx, session_id, &principal.user_id, principal.role))
            .map_err(unavailable)
    }
}
