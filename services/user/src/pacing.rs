//! How often a password reset link is mailed to one account: at most one per
//! `users.reset_mail.min_interval_seconds` and `max_per_hour` an hour, whoever asks and from
//! however many addresses. Past that, the request is answered as always (202) and nothing is
//! sent: the answer still tells nobody whether the account exists, and nobody can fill a
//! mailbox through this platform. The owner's newest link keeps working meanwhile.
//!
//! Counted in memory by account id; a restart forgets, which costs a flooder a restart they
//! cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ResetMailConfig;

const HOUR: Duration = Duration::from_secs(3600);

/// Accounts are swept of old sendings once this many are remembered.
const MIN_SWEEP: usize = 1024;

pub struct ResetMailPacing {
    min_interval: Duration,
    max_per_hour: usize,
    sent: Mutex<Sent>,
}

struct Sent {
    /// When reset mail went to each account within the last hour, oldest first.
    by_account: HashMap<String, VecDeque<Instant>>,
    sweep_at: usize,
}

impl ResetMailPacing {
    pub fn new(config: &ResetMailConfig) -> Self {
        Self {
            min_interval: Duration::from_secs(config.min_interval_seconds),
            max_per_hour: config.max_per_hour as usize,
            sent: Mutex::new(Sent {
                by_account: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }

    /// Whether a reset mail may go to `account_id` now; when it may, it is counted as sent.
    pub fn allow(&self, account_id: &str) -> bool {
        let now = Instant::now();
        let within_hour = |at: &Instant| now.duration_since(*at) < HOUR;
        let mut sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sent.by_account.len() >= sent.sweep_at {
            sent.by_account.retain(|_, times| times.back().is_some_and(within_hour));
            sent.sweep_at = MIN_SWEEP.max(sent.by_account.len() * 2);
        }
        let times = sent.by_account.entry(account_id.to_owned()).or_default();
        while times.front().is_some_and(|at| !within_hour(at)) {
            times.pop_front();
        }
        let too_soon = times
            .back()
            .is_some_and(|last| now.duration_since(*last) < self.min_interval);
        if too_soon || times.len() >= self.max_per_hour {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mail_per_interval_and_a_few_an_hour() {
        let pacing = ResetMailPacing::new(&ResetMailConfig {
            min_interval_seconds: 0,
            max_per_hour: 3,
        });
        assert_eq!((0..5).filter(|_| pacing.allow("u1")).count(), 3);
        assert!(pacing.allow("u2"), "other accounts are counted apart");

        let spaced = ResetMailPacing::new(&ResetMailConfig {
            min_interval_seconds: 60,
            max_per_hour: 5,
        });
        assert!(spaced.allow("u1"));
        assert!(!spaced.allow("u1"), "a minute has not passed");
    }
}
