//! The id of the request being handled, for errors and logs.
//!
//! The gateway sets it for the whole handling of a request; an error response built anywhere
//! inside reads it without every handler having to pass it along.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The current request id, if inside a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
