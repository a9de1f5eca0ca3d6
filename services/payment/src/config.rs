//! The `[payments]` section of the configuration. Every key has the default that `onetime.toml`
//! documents, so a missing section runs the offline sandbox.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::BasisPoints;
use crate::withholding::Withholding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// In-process simulation of the Toss contract, for development, demos and tests.
    Sandbox,
    /// The real Toss Payments API.
    Toss,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    pub provider: ProviderKind,
    /// The client key the checkout page in the browser uses; given out with every order.
    pub client_key: String,
    /// The Toss secret key (`toss` only). Keep it out of files in production:
    /// `ONETIME_PAYMENTS__SECRET_KEY`.
    pub secret_key: String,
    pub toss_base_url: String,
    /// How long one call to the provider may take before its outcome counts as unknown.
    pub timeout_seconds: u64,
    /// Further attempts of a call whose outcome stayed unknown (after a lookup found nothing).
    pub retries: u32,
    /// The employer's fee on top of the pay, in basis points.
    pub employer_fee_bps: BasisPoints,
    /// The fee taken from each worker's pay, in basis points.
    pub worker_fee_bps: BasisPoints,
    pub withholding: Withholding,
    /// The smallest withdrawal, in won.
    pub min_withdrawal: i64,
    /// How long the sandbox payout provider takes to pay out.
    pub sandbox_payout_delay_seconds: u64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Sandbox,
            client_key: "test_ck_onetime_sandbox".to_owned(),
            secret_key: String::new(),
            toss_base_url: "https://api.tosspayments.com".to_owned(),
            timeout_seconds: 10,
            retries: 2,
            employer_fee_bps: BasisPoints::parse(500).expect("500 bps is a rate"),
            worker_fee_bps: BasisPoints::parse(0).expect("0 bps is a rate"),
            withholding: Withholding::DailyWorker,
            min_withdrawal: 10_000,
            sandbox_payout_delay_seconds: 2,
        }
    }
}

impl PaymentsConfig {
    /// Checks what the types cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.provider == ProviderKind::Toss && self.secret_key.trim().is_empty() {
            return Err("`payments.secret_key` is required with `provider = \"toss\"` \
                        (set ONETIME_PAYMENTS__SECRET_KEY)"
                .to_owned());
        }
        if !(self.toss_base_url.starts_with("https://") || self.toss_base_url.starts_with("http://")) {
            return Err("`payments.toss_base_url` must be an http(s) URL".to_owned());
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return Err("`payments.timeout_seconds` must be 1 to 120".to_owned());
        }
        // Withheld taxes stay under 5 % of the pay, so up to half as a fee leaves a positive net.
        if u32::from(self.worker_fee_bps) > 5_000 {
            return Err("`payments.worker_fee_bps` must be at most 5000".to_owned());
        }
        if self.retries > 10 {
            return Err("`payments.retries` must be at most 10".to_owned());
        }
        if !(1..=crate::domain::MAX_AMOUNT).contains(&self.min_withdrawal) {
            return Err("`payments.min_withdrawal` must be a positive number of won".to_owned());
        }
        if self.sandbox_payout_delay_seconds > 3_600 {
            return Err("`payments.sandbox_payout_delay_seconds` must be at most an hour".to_owned());
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    pub fn sandbox_payout_delay(&self) -> Duration {
        Duration::from_secs(self.sandbox_payout_delay_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_is_the_sandbox_with_the_documented_defaults() {
        let config: PaymentsConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(config.provider, ProviderKind::Sandbox);
        assert_eq!(u32::from(config.employer_fee_bps), 500);
        assert_eq!(config.min_withdrawal, 10_000);
        config.check().unwrap();
    }

    #[test]
    fn toss_needs_a_secret_key_and_bad_rates_do_not_parse() {
        let config: PaymentsConfig = serde_json::from_value(serde_json::json!({ "provider": "toss" })).unwrap();
        assert!(config.check().unwrap_err().contains("payments.secret_key"));
        let bad = serde_json::from_value::<PaymentsConfig>(serde_json::json!({ "employer_fee_bps": 20_000 }));
        assert!(bad.is_err());
    }
}
