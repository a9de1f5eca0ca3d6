//! Login throttling per account: after `max_failures` failed attempts within `window`, further
//! attempts are refused, whatever the password, until the oldest of those failures leaves the
//! window.
//!
//! Accounts are keyed by the email address as typed (normalised), whether or not an account
//! has it: throttling only real accounts would tell an attacker which ones exist. Attempts still
//! being checked count as failures until they succeed, so a burst of parallel guesses gets no
//! more tries than a sequence of them. An attempt held back only by attempts still in flight is
//! not refused as if they had failed: it waits for them to settle (a hash's time each), up to
//! [`IN_FLIGHT_PATIENCE`], and is then judged on how they ended. So 32 parallel logins with the
//! right password all get in, and 32 parallel guesses still get `max_failures` tries. The state
//! is in memory: a restart forgives, which costs an attacker a restart they cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long an attempt waits for the attempts in flight ahead of it before it is refused with
/// [`Refusal::Busy`]: long enough for a queue of hashes under load, short for a person.
pub const IN_FLIGHT_PATIENCE: Duration = Duration::from_secs(10);

/// Why an attempt may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many recent failures: wait this long for the oldest to leave the window.
    TooManyFailures(Duration),
    /// Other attempts for the account were still being checked after [`IN_FLIGHT_PATIENCE`].
    Busy,
}

#[derive(Clone)]
pub struct LoginThrottle {
    inner: Arc<Inner>,
}

struct Inner {
    max_failures: usize,
    window: Duration,
    patience: Duration,
    accounts: Mutex<Accounts>,
    /// Woken whenever an attempt settles, for the attempts waiting on those in flight.
    settled: Notify,
}

#[derive(Default)]
struct Accounts {
    by_key: HashMap<String, Attempts>,
    /// Forgotten accounts are swept once the map has grown to this size.
    sweep_at: usize,
}

#[derive(Default)]
struct Attempts {
    failures: VecDeque<Instant>,
    in_flight: usize,
}

impl Attempts {
    fn forget_before(&mut self, horizon: Option<Instant>) {
        while self.failures.front().is_some_and(|&at| Some(at) <= horizon) {
            self.failures.pop_front();
        }
    }
}

/// One attempt under way. Say how it ended with [`Attempt::failed`] or [`Attempt::succeeded`];
/// an attempt dropped without either (the client went away) counts as neither.
pub struct Attempt {
    throttle: Arc<Inner>,
    key: String,
}

const MIN_SWEEP: usize = 1024;

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self::with_patience(max_failures, window, IN_FLIGHT_PATIENCE)
    }

    fn with_patience(max_failures: u32, window: Duration, patience: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_failures: max_failures as usize,
                window,
                patience,
                accounts: Mutex::new(Accounts {
                    sweep_at: MIN_SWEEP,
                    ..Default::default()
                }),
                settled: Notify::new(),
            }),
        }
    }

    /// Starts an attempt for `key`, waiting for the attempts in flight ahead of it when only
    /// they stand in the way.
    pub async fn begin(&self, key: &str) -> Result<Attempt, Refusal> {
        let deadline = tokio::time::Instant::now() + self.inner.patience;
        loop {
            // Registered before looking, so that a settling between the look and the wait
            // still wakes this attempt.
            let settled = self.inner.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match self.try_begin(key) {
                Ok(attempt) => return Ok(attempt),
                Err(Blocked::Failures(wait)) => return Err(Refusal::TooManyFailures(wait)),
                Err(Blocked::InFlight) => {
                    if tokio::time::timeout_at(deadline, settled).await.is_err() {
                        return Err(Refusal::Busy);
                    }
                }
            }
        }
    }

    /// Starts an attempt for `key` if nothing stands in the way now.
    fn try_begin(&self, key: &str) -> Result<Attempt, Blocked> {
        let now = Instant::now();
        let horizon = now.checked_sub(self.inner.window);
        let mut accounts = self.inner.lock();
        if accounts.by_key.len() >= accounts.sweep_at {
            accounts.by_key.retain(|_, attempts| {
                attempts.forget_before(horizon);
                attempts.in_flight > 0 || !attempts.failures.is_empty()
            });
            accounts.sweep_at = MIN_SWEEP.max(accounts.by_key.len() * 2);
        }
        let attempts = accounts.by_key.entry(key.to_owned()).or_default();
        attempts.forget_before(horizon);
        if let Some(excess) = attempts.failures.len().checked_sub(self.inner.max_failures) {
            // Until the oldest failure that counts leaves the window.
            let wait = self.inner.window.saturating_sub(now - attempts.failures[excess]);
            return Err(Blocked::Failures(wait));
        }
        if attempts.failures.len() + attempts.in_flight >= self.inner.max_failures {
            return Err(Blocked::InFlight);
        }
        attempts.in_flight += 1;
        Ok(Attempt {
            throttle: self.inner.clone(),
            key: key.to_owned(),
        })
    }
}

/// What stands in the way of an attempt now.
enum Blocked {
    Failures(Duration),
    InFlight,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Attempt {
    pub fn failed(self) {
        let mut accounts = self.throttle.lock();
        if let Some(attempts) = accounts.by_key.get_mut(&self.key) {
            attempts.failures.push_back(Instant::now());
        }
    }

    /// A success forgives the account's earlier failures.
    pub fn succeeded(self) {
        let mut accounts = self.throttle.lock();
        if let Some(attempts) = accounts.by_key.get_mut(&self.key) {
            attempts.failures.clear();
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let mut accounts = self.throttle.lock();
        if let Some(attempts) = accounts.by_key.get_mut(&self.key) {
            attempts.in_flight -= 1;
        }
        drop(accounts);
        self.throttle.settled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_lock_an_account_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            throttle.begin("kim@example.com").await.unwrap().failed();
        }
        let Err(Refusal::TooManyFailures(wait)) = throttle.begin("kim@example.com").await else {
            panic!("locked");
        };
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
        assert!(
            throttle.begin("lee@example.com").await.is_ok(),
            "other accounts are not affected"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(throttle.begin("kim@example.com").await.is_ok());
    }

    #[tokio::test]
    async fn an_attempt_behind_attempts_in_flight_waits_for_them_and_is_judged_on_their_outcome() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let first = throttle.begin("a").await.unwrap();
        let second = throttle.begin("a").await.unwrap();
        let waiting = tokio::spawn({
            let throttle = throttle.clone();
            async move { throttle.begin("a").await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "two attempts are under way");
        // One of them succeeds: the one waiting gets its turn.
        first.failed();
        second.succeeded();
        assert_eq!(waiting.await.unwrap(), Ok(()));
        throttle.begin("a").await.unwrap().failed();
        assert!(throttle.begin("a").await.is_ok(), "one failure since the success");
    }

    #[tokio::test]
    async fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let (first, second) = (throttle.begin("a").await.unwrap(), throttle.begin("a").await.unwrap());
        let waiting = tokio::spawn({
            let throttle = throttle.clone();
            async move { throttle.begin("a").await.map(drop) }
        });
        tokio::task::yield_now().await;
        first.failed();
        second.failed();
        assert!(matches!(waiting.await.unwrap(), Err(Refusal::TooManyFailures(_))));
    }

    #[tokio::test]
    async fn an_attempt_waits_only_so_long_for_those_in_flight() {
        let throttle = LoginThrottle::with_patience(1, Duration::from_secs(60), Duration::from_millis(20));
        let _slow = throttle.begin("a").await.unwrap();
        assert_eq!(throttle.begin("a").await.err(), Some(Refusal::Busy));
    }

    #[tokio::test]
    async fn forgotten_accounts_are_swept() {
        let throttle = LoginThrottle::new(1, Duration::from_millis(1));
        for n in 0..MIN_SWEEP {
            throttle.begin(&n.to_string()).await.unwrap().failed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(throttle.begin("trigger").await.unwrap());
        assert!(throttle.inner.lock().by_key.len() <= 1);
    }
}
