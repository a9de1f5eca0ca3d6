//! The id of the request being handled, for errors and logs.
//!
//! The gateway sets it for the whole handling of a request; an error response built anywhere
//! inside reads it without every handler having to pass it along.

use std::future::Future;

use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `future` with `id` as the current request id.
pub fn scope<F: Future>(id: String, future: F) -> TaskLocalFuture<String, F> {
    REQUEST_ID.scope(id, future)
}

/// Runs `f` with `id` as the current request id: for work a middleware does before it returns
/// the future that [`scope`] then wraps.
pub fn sync_scope<R>(id: String, f: impl FnOnce() -> R) -> R {
    REQUEST_ID.sync_scope(id, f)
}

/// The current request id, if inside a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
