//! Login throttling per account: after `max_failures` failed attempts within `window`, further
//! attempts are refused, whatever the password, until the oldest of those failures leaves the
//! window.
//!
//! Accounts are keyed by the email address as typed (normalised), whether or not an account
//! has it: throttling only real accounts would tell an attacker which ones exist. Attempts still
//! being checked count as failures until they succeed, so a burst of parallel guesses gets no
//! more tries than a sequence of them. The state is in memory: a restart forgives, which costs an
//! attacker a restart they cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct LoginThrottle {
    inner: Arc<Inner>,
}

struct Inner {
    max_failures: usize,
    window: Duration,
    accounts: Mutex<Accounts>,
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
        Self {
            inner: Arc::new(Inner {
                max_failures: max_failures as usize,
                window,
                accounts: Mutex::new(Accounts {
                    sweep_at: MIN_SWEEP,
                    ..Default::default()
                }),
            }),
        }
    }

    /// Starts an attempt for `key`, or says how long to wait first.
    pub fn begin(&self, key: &str) -> Result<Attempt, Duration> {
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
        if attempts.failures.len() + attempts.in_flight >= self.inner.max_failures {
            // Blocked by recorded failures: until the oldest leaves the window. Blocked only by
            // attempts in flight: they settle within a hash's time.
            let wait = match attempts.failures.len().checked_sub(self.inner.max_failures) {
                Some(excess) => self.inner.window.saturating_sub(now - attempts.failures[excess]),
                None => Duration::from_secs(1),
            };
            return Err(wait);
        }
        attempts.in_flight += 1;
        Ok(Attempt {
            throttle: self.inner.clone(),
            key: key.to_owned(),
        })
    }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_an_account_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            throttle.begin("kim@example.com").unwrap().failed();
        }
        let wait = throttle.begin("kim@example.com").err().expect("locked");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
        assert!(
            throttle.begin("lee@example.com").is_ok(),
            "other accounts are not affected"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert!(throttle.begin("kim@example.com").is_ok());
    }

    #[test]
    fn parallel_attempts_count_until_they_settle_and_success_forgives() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let first = throttle.begin("a").unwrap();
        let second = throttle.begin("a").unwrap();
        assert!(throttle.begin("a").is_err(), "two guesses are under way");
        first.failed();
        second.succeeded();
        let third = throttle.begin("a").unwrap();
        drop(third);
        throttle.begin("a").unwrap().failed();
        assert!(throttle.begin("a").is_ok(), "one failure since the success");
    }

    #[test]
    fn forgotten_accounts_are_swept() {
        let throttle = LoginThrottle::new(1, Duration::from_millis(1));
        for n in 0..MIN_SWEEP {
            throttle.begin(&n.to_string()).unwrap().failed();
        }
        std::thread::sleep(Duration::from_millis(5));
        drop(throttle.begin("trigger").unwrap());
        assert!(throttle.inner.lock().by_key.len() <= 1);
    }
}
