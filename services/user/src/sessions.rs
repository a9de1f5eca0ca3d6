//! The user service's answer to the question the gateway asks on every authenticated request
//! ([`SessionDirectory`]): does this access token still speak for its account?
//!
//! Answered from the store, not from a copy in memory: sessions end in this service's
//! transactions (logout, password reset or change, a reused refresh token, the sweep) and
//! accounts are also created from outside it (`onetime admin create` over the control socket),
//! so the store is the one place that is never behind, and a restart rebuilds nothing. It costs
//! one snapshot and two point reads of cached pages per request, on the calling thread.

use onetime_common::auth::Principal;
use onetime_common::directory::{DirectoryError, SessionDirectory};
use onetime_storage::{StorageError, Store};

use crate::store;

pub struct CurrentSessions {
    store: Store,
}

impl CurrentSessions {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl SessionDirectory for CurrentSessions {
    /// A token without a session was not issued by this service (it issues every token for a
    /// login session), so it is not current either.
    fn is_current(&self, principal: &Principal) -> Result<bool, DirectoryError> {
        let Some(session_id) = principal.session_id.as_deref() else {
            return Ok(false);
        };
        self.store
            .read_blocking(|tx| store::is_current(tx, session_id, &principal.user_id, principal.role))
            .map_err(|error: StorageError| DirectoryError::Unavailable {
                service: "user",
                reason: error.to_string(),
            })
    }
}
