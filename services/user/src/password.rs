//! Password hashing: argon2id on the blocking pool, a bounded number at a time.
//!
//! One hash takes tens of milliseconds of CPU and `memory_kib` of memory by design. Run on the
//! reactor, it would stall every request on that worker; run unbounded, a burst of logins would
//! occupy hundreds of blocking threads and gigabytes. So at most `max_concurrent` hashes run at
//! once (by default one per CPU), each on `spawn_blocking`, and the rest wait their turn.
//!
//! A hash carries the parameters it was made with, so raising them in the config does not lock
//! anyone out: old hashes still verify, and a login that verifies one re-hashes the password
//! under the new parameters (the only moment the password is known).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::UserError;
use crate::config::Argon2Config;
use crate::domain::Password;
use crate::tokens::SecretToken;

#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random password with the configured parameters: logins for unknown emails
    /// verify against it, so they cost what a wrong password costs and reveal nothing.
    dummy: Arc<OnceLock<String>>,
}

impl Hasher {
    pub fn new(config: &Argon2Config) -> Result<Self, argon2::Error> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)?;
        let permits = match config.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(permits)),
            dummy: Arc::default(),
        })
    }

    /// The PHC string of `password` under a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<String, UserError> {
        self.run(move |argon2| hash_with(argon2, password.expose())).await?
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown account) the same work
    /// is done against the dummy hash and the answer is no.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<bool, UserError> {
        Ok(self.verify_and_upgrade(password, stored).await? != Verified::No)
    }

    /// Like [`Hasher::verify`]; when the password matches a hash made under other parameters
    /// than the configured ones, also hashes it anew under them.
    pub async fn verify_and_upgrade(&self, password: Password, stored: Option<String>) -> Result<Verified, UserError> {
        let dummy = self.dummy.clone();
        self.run(move |argon2| {
            let (hash, real) = match &stored {
                Some(stored) => (stored.as_str(), true),
                None => {
                    let dummy =
                        dummy.get_or_init(|| hash_with(argon2, SecretToken::generate().as_str()).unwrap_or_default());
                    (dummy.as_str(), false)
                }
            };
            let parsed = PasswordHash::new(hash)
                .map_err(|e| UserError::Hashing(format!("a stored hash does not parse: {e}")))?;
            // The stored hash carries its own parameters, so hashes made under older settings still verify.
            let matches = argon2.verify_password(password.expose().as_bytes(), &parsed).is_ok();
            if !(real && matches) {
                return Ok(Verified::No);
            }
            if made_under(argon2, &parsed) {
                return Ok(Verified::Yes);
            }
            hash_with(argon2, password.expose()).map(Verified::Rehashed)
        })
        .await?
    }

    /// Runs `work` on the blocking pool once a permit is free. The permit moves into the blocking
    /// task, so a request that gives up waiting does not free it before the work is done.
    async fn run<R: Send + 'static>(&self, work: impl FnOnce(&Argon2) -> R + Send + 'static) -> Result<R, UserError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| UserError::Hashing(e.to_string()))?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&argon2);
            drop(permit);
            result
        })
        .await
        .map_err(|e| UserError::Hashing(e.to_string()))
    }
}

/// How a password compared with a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// It matches a hash of other parameters: here is its hash under the configured ones.
    Rehashed(String),
}

/// Whether `hash` was made by `argon2` as configured: the same algorithm, version and costs.
fn made_under(argon2: &Argon2, hash: &PasswordHash) -> bool {
    let same_costs = Params::try_from(hash).is_ok_and(|params| {
        let configured = argon2.params();
        (params.m_cost(), params.t_cost(), params.p_cost())
            == (configured.m_cost(), configured.t_cost(), configured.p_cost())
    });
    hash.algorithm == Algorithm::Argon2id.ident() && hash.version == Some(Version::V0x13.into()) && same_costs
}

fn hash_with(argon2: &Argon2, password: &str) -> Result<String, UserError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| UserError::Hashing(e.to_string()))?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| UserError::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::new(&Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_only_the_same_password() {
        let hasher = fast();
        let hash = hasher.hash(Password::presented("correct horse 7")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        let again = hasher.hash(Password::presented("correct horse 7")).await.unwrap();
        assert_ne!(hash, again, "salted");
        assert!(
            hasher
                .verify(Password::presented("correct horse 7"), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Password::presented("correct horse 8"), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(Password::presented("anything"), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_match_under_other_parameters_is_rehashed_under_the_configured_ones() {
        let old = Hasher::new(&Argon2Config {
            memory_kib: 32,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap();
        let hash = old.hash(Password::presented("correct horse 7")).await.unwrap();
        let current = fast();
        let verified = current
            .verify_and_upgrade(Password::presented("correct horse 7"), Some(hash.clone()))
            .await
            .unwrap();
        let Verified::Rehashed(new) = verified else {
            panic!("{verified:?}");
        };
        assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{new}");
        let again = current
            .verify_and_upgrade(Password::presented("correct horse 7"), Some(new))
            .await
            .unwrap();
        assert_eq!(again, Verified::Yes, "up to date now");
        let wrong = current
            .verify_and_upgrade(Password::presented("wrong horse 7"), Some(hash))
            .await
            .unwrap();
        assert_eq!(wrong, Verified::No);
    }

    #[tokio::test]
    async fn hashes_made_under_other_parameters_still_verify() {
        let old = Hasher::new(&Argon2Config {
            memory_kib: 32,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap();
        let hash = old.hash(Password::presented("correct horse 7")).await.unwrap();
        assert!(
            fast()
                .verify(Password::presented("correct horse 7"), Some(hash))
                .await
                .unwrap()
        );
    }
}
