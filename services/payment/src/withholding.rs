//! What the payer must withhold from a worker's pay, as pure functions of the gross pay.
//!
//! `daily_worker` is the law for day labour (일용근로소득, Income Tax Act art. 134): a daily
//! deduction of 150,000 won, 6 % on the rest less the 55 % tax credit, nothing when the income
//! tax comes to under 1,000 won (소액부징수), local income tax of a tenth of it, and the
//! worker's 0.9 % share of employment insurance. `business_3_3` is the 3.3 % of freelance
//! (business) income; `none` withholds nothing. Every tax is truncated to 10 won, as the tax
//! office computes it.

use serde::{Deserialize, Serialize};

/// The withholding policy of `[payments] withholding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Withholding {
    #[default]
    DailyWorker,
    #[serde(rename = "business_3_3")]
    Business33,
    None,
}

/// The taxes withheld from one payment, in won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxBreakdown {
    pub income_tax: i64,
    pub local_income_tax: i64,
    pub employment_insurance: i64,
}

impl TaxBreakdown {
    pub fn total(&self) -> i64 {
        self.income_tax + self.local_income_tax + self.employment_insurance
    }
}

/// The daily deduction of day labour income.
const DAILY_DEDUCTION: i64 = 150_000;
/// Income tax below this is not collected (소액부징수).
const SMALL_AMOUNT: i64 = 1_000;

/// Rounds down to a multiple of 10 won.
fn truncate_to_10(won: i64) -> i64 {
    won / 10 * 10
}

/// `won × numerator ÷ denominator`, rounded down, without overflow.
fn share(won: i64, numerator: i64, denominator: i64) -> i64 {
    (i128::from(won) * i128::from(numerator) / i128::from(denominator)) as i64
}

impl Withholding {
    /// What to withhold from `gross` won of pay.
    pub fn withhold(self, gross: i64) -> TaxBreakdown {
        match self {
            Self::DailyWorker => daily_worker(gross),
            Self::Business33 => TaxBreakdown {
                income_tax: truncate_to_10(share(gross, 3, 100)),
                local_income_tax: truncate_to_10(share(gross, 3, 1_000)),
                employment_insurance: 0,
            },
            Self::None => TaxBreakdown::default(),
        }
    }
}

fn daily_worker(gross: i64) -> TaxBreakdown {
    let taxable = (gross - DAILY_DEDUCTION).max(0);
    // 6 % less the 55 % credit: 2.7 %.
    let income_tax = truncate_to_10(share(taxable, 27, 1_000));
    let income_tax = if income_tax < SMALL_AMOUNT { 0 } else { income_tax };
    TaxBreakdown {
        income_tax,
        local_income_tax: truncate_to_10(income_tax / 10),
        employment_insurance: truncate_to_10(share(gross, 9, 1_000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxes(policy: Withholding, gross: i64) -> (i64, i64, i64) {
        let t = policy.withhold(gross);
        (t.income_tax, t.local_income_tax, t.employment_insurance)
    }

    #[test]
    fn daily_worker_follows_the_worked_examples_and_the_boundaries() {
        let table = [
            // API.md's worked examples.
            (96_000, (0, 0, 860)),
            (200_000, (1_350, 130, 1_800)),
            (180_000, (0, 0, 1_620)),
            // The daily deduction: nothing taxable up to 150,000.
            (149_999, (0, 0, 1_340)),
            (150_000, (0, 0, 1_350)),
            (150_001, (0, 0, 1_350)),
            // Income tax of 990 is under 1,000 won and not collected; 1,000 is.
            (187_037, (0, 0, 1_680)),
            (187_038, (1_000, 100, 1_680)),
            // Truncation to 10 won: 2.7 % of 50,370 is 1,359.99.
            (200_370, (1_350, 130, 1_800)),
            (0, (0, 0, 0)),
        ];
        for (gross, expected) in table {
            assert_eq!(taxes(Withholding::DailyWorker, gross), expected, "gross {gross}");
        }
        assert_eq!(Withholding::DailyWorker.withhold(96_000).total(), 860);
        assert_eq!(Withholding::DailyWorker.withhold(200_000).total(), 3_280);
    }

    #[test]
    fn business_3_3_and_none() {
        assert_eq!(taxes(Withholding::Business33, 96_000), (2_880, 280, 0));
        assert_eq!(taxes(Withholding::Business33, 72_331), (2_160, 210, 0));
        assert_eq!(taxes(Withholding::None, 200_000), (0, 0, 0));
    }

    #[test]
    fn policies_have_their_config_names() {
        let parse = |name: &str| serde_json::from_value::<Withholding>(serde_json::json!(name)).unwrap();
        assert_eq!(parse("daily_worker"), Withholding::DailyWorker);
        assert_eq!(parse("business_3_3"), Withholding::Business33);
        assert_eq!(parse("none"), Withholding::None);
    }
}
