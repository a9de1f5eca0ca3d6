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
//! more tries than a sequence of them. An attempt held back only by attempts still in flight is
//! not refused as if they had failed: it waits for them to settle (a hash's time each), up to
//! [`IN_FLIGHT_PATIENCE`], and is then judged on how they ended. So 32 parallel logins with the
//! right password all get in, and 32 parallel guesses still get `max_failures` tries. The state
//! is in memory: a restart forgives, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::ThrottleConfig;

/// How long an attempt waits for the attempts in flight ahead of it before it is refused with
/// [`Refusal::Busy`]: long enough for a queue of hashes under load, short for a person.
pub const IN_FLIGHT_PATIENCE: Duration = Duration::from_secs(10);

/// Why an attempt may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: wait this long.
    TooManyFailures(Duration),
    /// Other attempts for the account were still being checked after [`IN_FLIGHT_PATIENCE`].
    Busy,
}

/// Both counts of a login: per (account, address) and per account.
#[derive(Clone)]
pub struct LoginThrottle {
    by_address: Throttle,
    by_account: Throttle,
}

impl LoginThrottle {
    pub fn new(config: &ThrottleConfig) -> Self {
        Self::with_patience(config, IN_FLIGHT_PATIENCE)
    }

    fn with_patience(config: &ThrottleConfig, patience: Duration) -> Self {
        let rule = |max_failures| Rule {
            max_failures,
            first_wait: Duration::from_secs(config.first_wait_seconds),
            forget_after: Duration::from_secs(config.window_seconds),
        };
        Self {
            by_address: Throttle::new(rule(config.max_failures), patience),
            by_account: Throttle::new(rule(config.account_max_failures), patience),
        }
    }

    /// Starts an attempt on `account` from `client` (unknown for in-process callers: then the
    /// account alone is the key), waiting for the attempts in flight ahead of it when only they
    /// stand in the way.
    pub async fn begin(&self, account: &str, client: Option<IpAddr>) -> Result<Attempt, Refusal> {
        let here = match client {
            Some(address) => format!("{account} {address}"),
            None => account.to_owned(),
        };
        let here = self.by_address.begin(here).await?;
        let anywhere = self.by_account.begin(account.to_owned()).await?;
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
    patience: Duration,
    keys: Mutex<Keys>,
    /// Woken whenever an attempt settles, for the attempts waiting on those in flight.
    settled: Notify,
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
            self.forgive();
        }
    }

    fn forgive(&mut self) {
        *self = Attempts {
            in_flight: self.in_flight,
            ..Attempts::default()
        };
    }

    fn is_idle(&self) -> bool {
        self.in_flight == 0 && self.failures == 0
    }
}

/// What stands in the way of an attempt now.
enum Blocked {
    Failures(Duration),
    InFlight,
}

/// One attempt counted against one key.
struct Counted {
    throttle: Arc<Inner>,
    key: String,
}

const MIN_SWEEP: usize = 1024;

impl Throttle {
    fn new(rule: Rule, patience: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                rule,
                patience,
                keys: Mutex::new(Keys {
                    sweep_at: MIN_SWEEP,
                    ..Default::default()
                }),
                settled: Notify::new(),
            }),
        }
    }

    async fn begin(&self, key: String) -> Result<Counted, Refusal> {
        let deadline = tokio::time::Instant::now() + self.inner.patience;
        loop {
            // Registered before looking, so that a settling between the look and the wait
            // still wakes this attempt.
            let settled = self.inner.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match self.try_begin(&key) {
                Ok(counted) => return Ok(counted),
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
    fn try_begin(&self, key: &str) -> Result<Counted, Blocked> {
        let (now, rule) = (Instant::now(), self.inner.rule);
        let mut keys = self.inner.lock();
        if keys.by_key.len() >= keys.sweep_at {
            keys.by_key.retain(|_, attempts| {
                attempts.forget_if_old(now, rule.forget_after);
                !attempts.is_idle()
            });
            keys.sweep_at = MIN_SWEEP.max(keys.by_key.len() * 2);
        }
        let attempts = keys.by_key.entry(key.to_owned()).or_default();
        attempts.forget_if_old(now, rule.forget_after);
        if let Some(until) = attempts.locked_until.filter(|&until| until > now) {
            return Err(Blocked::Failures(until - now));
        }
        // Attempts in flight count as failures; once the failures alone have used up the
        // allowance, one attempt at a time after each wait.
        if attempts.in_flight > 0 && attempts.failures + attempts.in_flight >= rule.max_failures {
            return Err(Blocked::InFlight);
        }
        attempts.in_flight += 1;
        Ok(Counted {
            throttle: self.inner.clone(),
            key: key.to_owned(),
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
            attempts.forgive();
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut keys = self.throttle.lock();
        if let Some(attempts) = keys.by_key.get_mut(&self.key) {
            attempts.in_flight -= 1;
        }
        drop(keys);
        self.throttle.settled.notify_waiters();
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

    #[tokio::test]
    async fn one_address_waits_longer_after_each_failure_and_others_do_not() {
        let throttle = LoginThrottle::new(&config(3, 100, 60, 900));
        for _ in 0..3 {
            throttle.begin("kim@example.com", address(1)).await.unwrap().failed();
        }
        let Err(Refusal::TooManyFailures(wait)) = throttle.begin("kim@example.com", address(1)).await else {
            panic!("waits");
        };
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(
            throttle.begin("kim@example.com", address(2)).await.is_ok(),
            "the owner elsewhere is not affected"
        );

        let rule = throttle.by_address.inner.rule;
        let waits: Vec<u64> = (3..9).map(|n| rule.wait_after(n).unwrap().as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 900, 900], "doubling up to the window");
        assert_eq!(rule.wait_after(2), None);
    }

    #[tokio::test]
    async fn failures_from_many_addresses_lock_the_whole_account() {
        let throttle = LoginThrottle::new(&config(5, 6, 60, 900));
        for n in 0..6 {
            throttle.begin("kim@example.com", address(n)).await.unwrap().failed();
        }
        assert!(
            throttle.begin("kim@example.com", address(99)).await.is_err(),
            "distributed attack"
        );
        assert!(throttle.begin("lee@example.com", address(99)).await.is_ok());
    }

    #[tokio::test]
    async fn waits_end_grow_while_remembered_and_a_success_forgives_its_address() {
        let throttle = LoginThrottle::new(&config(2, 100, 1, 60));
        for _ in 0..2 {
            throttle.begin("a", address(1)).await.unwrap().failed();
        }
        assert!(throttle.begin("a", address(1)).await.is_err());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        throttle.begin("a", address(1)).await.unwrap().failed();
        let Err(Refusal::TooManyFailures(wait)) = throttle.begin("a", address(1)).await else {
            panic!("remembered: a longer wait");
        };
        assert!(wait > Duration::from_millis(1500), "{wait:?}");
        tokio::time::sleep(wait).await;
        throttle.begin("a", address(1)).await.unwrap().succeeded();
        throttle.begin("a", address(1)).await.unwrap().failed();
        assert!(
            throttle.begin("a", address(1)).await.is_ok(),
            "one failure since the success"
        );
    }

    #[tokio::test]
    async fn an_attempt_behind_attempts_in_flight_waits_for_them_and_is_judged_on_their_outcome() {
        let throttle = LoginThrottle::new(&config(2, 100, 60, 900));
        let first = throttle.begin("a", address(1)).await.unwrap();
        let second = throttle.begin("a", address(1)).await.unwrap();
        let waiting = tokio::spawn({
            let throttle = throttle.clone();
            async move { throttle.begin("a", address(1)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "two attempts are under way");
        // One of them succeeds: the one waiting gets its turn.
        first.failed();
        second.succeeded();
        assert_eq!(waiting.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
        let throttle = LoginThrottle::new(&config(2, 100, 60, 900));
        let (first, second) = (
            throttle.begin("a", address(1)).await.unwrap(),
            throttle.begin("a", address(1)).await.unwrap(),
        );
        let waiting = tokio::spawn({
            let throttle = throttle.clone();
            async move { throttle.begin("a", address(1)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        first.failed();
        second.failed();
        assert!(matches!(waiting.await.unwrap(), Err(Refusal::TooManyFailures(_))));
    }

    #[tokio::test]
    async fn an_attempt_waits_only_so_long_for_those_in_flight() {
        let throttle = LoginThrottle::with_patience(&config(1, 100, 60, 900), Duration::from_millis(20));
        let _slow = throttle.begin("a", address(1)).await.unwrap();
        assert_eq!(throttle.begin("a", address(1)).await.err(), Some(Refusal::Busy));
    }

    #[tokio::test]
    async fn forgotten_keys_are_swept() {
        let throttle = Throttle::new(
            Rule {
                max_failures: 1,
                first_wait: Duration::from_millis(1),
                forget_after: Duration::from_millis(1),
            },
            IN_FLIGHT_PATIENCE,
        );
        for n in 0..MIN_SWEEP {
            throttle.begin(n.to_string()).await.unwrap().failed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(throttle.begin("trigger".to_owned()).await.unwrap());
        assert!(throttle.inner.lock().by_key.len() <= 1);
    }
}
