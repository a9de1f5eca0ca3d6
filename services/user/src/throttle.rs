//! Login throttling, so that passwords cannot be guessed, without handing strangers a way to
//! lock owners out.
//!
//! Failures are counted per (account, client address) first: after `max_failures` of them that
//! address must wait before its next attempt on that account, and every further failure doubles
//! the wait (`first_wait`, then twice as long, … up to `forget_after`). Someone guessing from one
//! address gets a handful of tries an hour; the owner, logging in from elsewhere, is not
//! affected. Only when failures for the account from all addresses together reach
//! `account_max_failures` (a distributed attack) does the whole account wait, by the same rule.
//! A key's failures are forgotten once it has been quiet for `forget_after` (after its last wait
//! ended), so the waits keep growing for as long as the guessing goes on; a successful login
//! forgives its address's failures, never the account-wide count (the attackers' addresses go
//! on failing).
//!
//! Accounts are keyed by the email address as typed (normalised), whether or not an account
//! has it: throttling only real accounts would tell an attacker which ones exist. Attempts still
//! being checked count as failures until they settle, so a burst of parallel guesses gets no
//! more tries than a sequence of them. The state is in memory: a restart forgives, which costs an
//! attacker a restart they cannot cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::ThrottleConfig;

/// Both counts of a login: per (account, address) and per account.
#[derive(Clone)]
pub struct LoginThrottle {
    by_address: Throttle,
    by_account: Throttle,
}

impl LoginThrottle {
    pub fn new(config: &ThrottleConfig) -> Self {
        let rule = |max_failures| Rule {
            max_failures,
            first_wait: Duration::from_secs(config.first_wait_seconds),
            forget_after: Duration::from_secs(config.window_seconds),
        };
        Self {
            by_address: Throttle::new(rule(config.max_failures)),
            by_account: Throttle::new(rule(config.account_max_failures)),
        }
    }

    /// Starts an attempt on `account` from `client` (unknown for in-process callers: then the
    /// account alone is the key), or says how long to wait first.
    pub fn begin(&self, account: &str, client: Option<IpAddr>) -> Result<Attempt, Duration> {
        let here = match client {
            Some(address) => format!("{account} {address}"),
            None => account.to_owned(),
        };
        let here = self.by_address.begin(here)?;
        let anywhere = self.by_account.begin(account.to_owned())?;
        Ok(Attempt { here, anywhere })
    }
}

/// One attempt under way. Say how it ended with [`Attempt::failed`] or [`Attempt::succeeded`];
/// an attempt dropped without either (the client went away) counts as neither.
pub struct Attempt {
    here: Counted,
    anywhere: Counted,
}

impl Attempt {
    pub fn failed(self) {
        self.here.failed();
        self.anywhere.failed();
    }

    /// Forgives the address's failures on the account; the account-wide count stays.
    pub fn succeeded(self) {
        self.here.succeeded();
    }
}

/// How many failures a key is allowed and how long it then waits.
#[derive(Clone, Copy)]
struct Rule {
    max_failures: u32,
    first_wait: Duration,
    forget_after: Duration,
}

impl Rule {
    /// The wait after the `failures`-th failure: none before `max_failures`, then doubling.
    fn wait_after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.max_failures)?;
        let doubled = self.first_wait.saturating_mul(1 << beyond.min(20));
        Some(doubled.min(self.forget_after))
    }
}

/// Failure counts by key, under one rule.
#[derive(Clone)]
struct Throttle {
    inner: Arc<Inner>,
}

struct Inner {
    rule: Rule,
    keys: Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    by_key: HashMap<String, Attempts>,
    /// Forgotten keys are swept once the map has grown to this size.
    sweep_at: usize,
}

#[derive(Default)]
struct Attempts {
    failures: u32,
    last_failure: Option<Instant>,
    locked_until: Option<Instant>,
    in_flight: u32,
}

impl Attempts {
    /// Forgets the failures once the key has been quiet for `forget_after`: since its last
    /// wait ended, or since its last failure when that imposed none.
    fn forget_if_old(&mut self, now: Instant, forget_after: Duration) {
        let quiet_since = self.locked_until.or(self.last_failure);
        if quiet_since.is_some_and(|at| now.duration_since(at) >= forget_after) {
            *self = Attempts {
                in_flight: self.in_flight,
                ..Attempts::default()
            };
        }
    }

    fn is_idle(&self) -> bool {
        self.in_flight == 0 && self.failures == 0
    }
}

/// One attempt counted against one key.
struct Counted {
    throttle: Arc<Inner>,
    key: String,
}

const MIN_SWEEP: usize = 1024;

impl Throttle {
    fn new(rule: Rule) -> Self {
        Self {
            inner: Arc::new(Inner {
                rule,
                keys: Mutex::new(Keys {
                    sweep_at: MIN_SWEEP,
                    ..Default::default()
                }),
            }),
        }
    }

    fn begin(&self, key: String) -> Result<Counted, Duration> {
        let (now, rule) = (Instant::now(), self.inner.rule);
        let mut keys = self.inner.lock();
        if keys.by_key.len() >= keys.sweep_at {
            keys.by_key.retain(|_, attempts| {
                attempts.forget_if_old(now, rule.forget_after);
                !attempts.is_idle()
            });
            keys.sweep_at = MIN_SWEEP.max(keys.by_key.len() * 2);
        }
        let attempts = keys.by_key.entry(key.clone()).or_default();
        attempts.forget_if_old(now, rule.forget_after);
        if let Some(until) = attempts.locked_until.filter(|&until| until > now) {
            return Err(until - now);
        }
        // Attempts in flight count as failures; once the failures alone have used up the
        // allowance, one attempt at a time after each wait.
        if attempts.in_flight > 0 && attempts.failures + attempts.in_flight >= rule.max_failures {
            return Err(Duration::from_secs(1));
        }
        attempts.in_flight += 1;
        Ok(Counted {
            throttle: self.inner.clone(),
            key,
        })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Counted {
    fn failed(&self) {
        let now = Instant::now();
        let rule = self.throttle.rule;
        let mut keys = self.throttle.lock();
        if let Some(attempts) = keys.by_key.get_mut(&self.key) {
            attempts.failures += 1;
            attempts.last_failure = Some(now);
            attempts.locked_until = rule.wait_after(attempts.failures).map(|wait| now + wait);
        }
    }

    fn succeeded(&self) {
        let mut keys = self.throttle.lock();
        if let Some(attempts) = keys.by_key.get_mut(&self.key) {
            *attempts = Attempts {
                in_flight: attempts.in_flight,
                ..Attempts::default()
            };
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut keys = self.throttle.lock();
        if let Some(attempts) = keys.by_key.get_mut(&self.key) {
            attempts.in_flight -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_failures: u32, account_max_failures: u32, first_wait: u64, window: u64) -> ThrottleConfig {
        ThrottleConfig {
            max_failures,
            account_max_failures,
            first_wait_seconds: first_wait,
            window_seconds: window,
        }
    }

    fn address(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn one_address_waits_longer_after_each_failure_and_others_do_not() {
        let throttle = LoginThrottle::new(&config(3, 100, 60, 900));
        for _ in 0..3 {
            throttle.begin("kim@example.com", address(1)).unwrap().failed();
        }
        let wait = throttle.begin("kim@example.com", address(1)).err().expect("waits");
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(
            throttle.begin("kim@example.com", address(2)).is_ok(),
            "the owner elsewhere is not affected"
        );

        let rule = throttle.by_address.inner.rule;
        let waits: Vec<u64> = (3..9).map(|n| rule.wait_after(n).unwrap().as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 900, 900], "doubling up to the window");
        assert_eq!(rule.wait_after(2), None);
    }

    #[test]
    fn failures_from_many_addresses_lock_the_whole_account() {
        let throttle = LoginThrottle::new(&config(5, 6, 60, 900));
        for n in 0..6 {
            throttle.begin("kim@example.com", address(n)).unwrap().failed();
        }
        assert!(
            throttle.begin("kim@example.com", address(99)).is_err(),
            "distributed attack"
        );
        assert!(throttle.begin("lee@example.com", address(99)).is_ok());
    }

    #[test]
    fn a_wait_ends_and_a_success_forgives_its_address() {
        let throttle = LoginThrottle::new(&config(2, 100, 1, 60));
        for _ in 0..2 {
            throttle.begin("a", address(1)).unwrap().failed();
        }
        assert!(throttle.begin("a", address(1)).is_err());
        std::thread::sleep(Duration::from_millis(1100));
        throttle.begin("a", address(1)).unwrap().failed();
        let wait = throttle
            .begin("a", address(1))
            .err()
            .expect("remembered: a longer wait");
        assert!(wait > Duration::from_millis(1500), "{wait:?}");
        std::thread::sleep(wait);
        throttle.begin("a", address(1)).unwrap().succeeded();
        throttle.begin("a", address(1)).unwrap().failed();
        assert!(throttle.begin("a", address(1)).is_ok(), "one failure since the success");
    }

    #[test]
    fn parallel_attempts_count_until_they_settle() {
        let throttle = LoginThrottle::new(&config(2, 100, 60, 900));
        let first = throttle.begin("a", address(1)).unwrap();
        let second = throttle.begin("a", address(1)).unwrap();
        assert!(throttle.begin("a", address(1)).is_err(), "two guesses are under way");
        first.failed();
        second.succeeded();
        drop(throttle.begin("a", address(1)).unwrap());
    }

    #[test]
    fn forgotten_keys_are_swept() {
        let throttle = Throttle::new(Rule {
            max_failures: 1,
            first_wait: Duration::from_millis(1),
            forget_after: Duration::from_millis(1),
        });
        for n in 0..MIN_SWEEP {
            throttle.begin(n.to_string()).unwrap().failed();
        }
        std::thread::sleep(Duration::from_millis(5));
        drop(throttle.begin("trigger".to_owned()).unwrap());
        assert!(throttle.inner.lock().by_key.len() <= 1);
    }
}
