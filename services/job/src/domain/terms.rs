//! What a worker is paid for what: the schedule, the unpaid break inside it (휴게시간), the wage,
//! and the law's two rules on them, the break a shift needs (Labor Standards Act art. 54) and
//! the minimum wage, both judged on the paid time.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::WageKind;

/// The longest a job may last: this is a day-job platform; longer work is posted as several jobs.
pub const MAX_JOB_LENGTH: Duration = Duration::hours(24);
/// The most a wage may be, in won per hour or per day: far above any real day job, and low
/// enough that no pay computation can overflow.
pub const MAX_WAGE: i64 = 10_000_000;

/// When the work happens: it ends after it starts, at most [`MAX_JOB_LENGTH`] later, and (when
/// set) in the future.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
}

impl Schedule {
    pub fn parse(starts_at: OffsetDateTime, ends_at: OffsetDateTime, now: OffsetDateTime) -> Result<Self, String> {
        if ends_at <= starts_at {
            return Err("must be after startsAt".to_owned());
        }
        if ends_at - starts_at > MAX_JOB_LENGTH {
            return Err(format!(
                "must be at most {} hours after startsAt",
                MAX_JOB_LENGTH.whole_hours()
            ));
        }
        if ends_at <= now {
            return Err("must be in the future".to_owned());
        }
        Ok(Self {
            starts_at: starts_at.to_offset(time::UtcOffset::UTC),
            ends_at: ends_at.to_offset(time::UtcOffset::UTC),
        })
    }

    pub fn starts_at(&self) -> OffsetDateTime {
        self.starts_at
    }

    pub fn ends_at(&self) -> OffsetDateTime {
        self.ends_at
    }

    /// The span `endsAt − startsAt`, in seconds: at most a day's.
    fn seconds(&self) -> i64 {
        (self.ends_at - self.starts_at).whole_seconds()
    }
}

/// A wage amount in won, 1 to [`MAX_WAGE`], per hour or per day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wage {
    pub(super) kind: WageKind,
    pub(super) amount: i64,
}

impl Wage {
    pub fn parse(kind: WageKind, amount: i64) -> Result<Self, String> {
        if (1..=MAX_WAGE).contains(&amount) {
            Ok(Self { kind, amount })
        } else {
            Err(format!("amount must be 1 to {MAX_WAGE} won"))
        }
    }
}

/// The legal minimum hourly wage, in won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumWage(pub i64);

/// A break length as a client gives it: a whole number of minutes, 0 or more. Whether it suits
/// the shift is [`Terms::new`]'s to judge.
pub fn parse_break_minutes(raw: i64) -> Result<u32, String> {
    u32::try_from(raw).map_err(|_| "must be a whole number of minutes, 0 or more".to_owned())
}

/// Why terms are not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error(
        "{} of paid time needs a break of at least {required} minutes (Labor Standards Act art. 54)",
        hours_and_minutes(*.paid_minutes)
    )]
    BreakTooShort { required: u32, paid_minutes: i64 },
    #[error("the break may be at most half of the shift: {most} minutes")]
    BreakTooLong { most: i64 },
    #[error("{}", below_minimum(*.kind, *.required))]
    BelowMinimumWage {
        kind: WageKind,
        /// The lowest acceptable amount, in won.
        required: i64,
    },
}

fn below_minimum(kind: WageKind, required: i64) -> String {
    let required = won(required);
    match kind {
        WageKind::Hourly => format!("the hourly wage must be at least the legal minimum wage of {required} won"),
        WageKind::Daily => {
            format!("the daily wage must be at least the legal minimum wage times the job's paid hours: {required} won")
        }
    }
}

/// `82560` → `82,560`.
fn won(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `450` → `7 h 30 min`.
fn hours_and_minutes(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (hours, 0) => format!("{hours} h"),
        (0, minutes) => format!("{minutes} min"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

/// The break the law requires for `paid_seconds` of paid time, in minutes: 30 from 4 hours, 60
/// from 8 hours.
fn required_break(paid_seconds: i64) -> u32 {
    match paid_seconds {
        s if s >= 8 * 3600 => 60,
        s if s >= 4 * 3600 => 30,
        _ => 0,
    }
}

/// Checks a break of `minutes` in a shift of `span_seconds`: at most half the shift (a longer
/// one is a split shift, not a break), and at least what the law requires for the time left.
fn check_break(span_seconds: i64, minutes: u32) -> Result<(), TermsError> {
    let break_seconds = i64::from(minutes) * 60;
    if break_seconds * 2 > span_seconds {
        return Err(TermsError::BreakTooLong {
            most: span_seconds / 2 / 60,
        });
    }
    let paid_seconds = span_seconds - break_seconds;
    let required = required_break(paid_seconds);
    if minutes < required {
        return Err(TermsError::BreakTooShort {
            required,
            paid_minutes: paid_seconds / 60,
        });
    }
    Ok(())
}

/// The break used when the employer names none: the smallest of 0, 30 and 60 minutes that keeps
/// the rule. By span that is 0 under 4 h, 30 up to 8 h 30, and 60 from there.
fn default_break(span_seconds: i64) -> u32 {
    // For every span up to MAX_JOB_LENGTH one of the three keeps the rule (60 minutes is legal
    // from 2 h of span, 0 below 4 h); the unit tests walk the spans minute by minute.
    [0, 30, 60]
        .into_iter()
        .find(|&minutes| check_break(span_seconds, minutes).is_ok())
        .unwrap_or(60)
}

/// What a worker is paid for what: a wage, a schedule and the unpaid break inside it, with the
/// break at least what the law requires and the wage at or above the minimum for the paid time
/// when agreed. Paid time and pay follow from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    wage: Wage,
    schedule: Schedule,
    /// Unpaid minutes inside the schedule. Jobs stored before breaks existed read 0 (the job
    /// store's schema migration 2 wrote it).
    break_minutes: u32,
}

impl Terms {
    /// Agrees on terms; without `break_minutes` the default for the schedule's span is taken.
    pub fn new(
        wage: Wage,
        schedule: Schedule,
        break_minutes: Option<u32>,
        minimum: MinimumWage,
    ) -> Result<Self, TermsError> {
        let span = schedule.seconds();
        let break_minutes = match break_minutes {
            Some(minutes) => {
                check_break(span, minutes)?;
                minutes
            }
            None => default_break(span),
        };
        let terms = Self {
            wage,
            schedule,
            break_minutes,
        };
        let paid = terms.paid_seconds();
        let below = match terms.wage.kind {
            WageKind::Hourly => (terms.wage.amount < minimum.0).then_some(minimum.0),
            // Compared exactly (amount / paid hours < minimum), then reported rounded up to the won.
            WageKind::Daily => (i128::from(terms.wage.amount) * 3600 < i128::from(minimum.0) * i128::from(paid))
                .then(|| (minimum.0 * paid + 3599) / 3600),
        };
        match below {
            Some(required) => Err(TermsError::BelowMinimumWage {
                kind: terms.wage.kind,
                required,
            }),
            None => Ok(terms),
        }
    }

    pub fn wage(&self) -> &Wage {
        &self.wage
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    pub fn break_minutes(&self) -> u32 {
        self.break_minutes
    }

    fn paid_seconds(&self) -> i64 {
        self.schedule.seconds() - i64::from(self.break_minutes) * 60
    }

    /// The paid time in whole minutes: the span less the break.
    pub fn paid_minutes(&self) -> u32 {
        // At most a day's minutes, never negative (the break is at most half the span).
        u32::try_from(self.paid_seconds() / 60).unwrap_or(0)
    }

    /// The hourly wage times the paid time, rounded down to the won; or the daily wage.
    pub fn pay_per_worker(&self) -> i64 {
        match self.wage.kind {
            // At most MAX_WAGE × 86,400 s: far inside i64.
            WageKind::Hourly => self.wage.amount * self.paid_seconds() / 3600,
            WageKind::Daily => self.wage.amount,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const MINIMUM: MinimumWage = MinimumWage(10_320);
    const NOW: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);

    /// A schedule of `minutes` starting at `start` (today, UTC).
    fn shift(start: time::Time, minutes: i64) -> Schedule {
        let starts_at = NOW.replace_time(start) + Duration::days(1);
        Schedule::parse(starts_at, starts_at + Duration::minutes(minutes), NOW).unwrap()
    }

    fn span(minutes: i64) -> Schedule {
        shift(time::macros::time!(9:00), minutes)
    }

    fn hourly(amount: i64, schedule: Schedule, break_minutes: Option<u32>) -> Result<Terms, TermsError> {
        Terms::new(
            Wage::parse(WageKind::Hourly, amount).unwrap(),
            schedule,
            break_minutes,
            MINIMUM,
        )
    }

    fn daily(amount: i64, schedule: Schedule, break_minutes: Option<u32>) -> Result<Terms, TermsError> {
        Terms::new(
            Wage::parse(WageKind::Daily, amount).unwrap(),
            schedule,
            break_minutes,
            MINIMUM,
        )
    }

    #[test]
    fn the_worked_examples_of_the_contract() {
        use time::macros::time;
        // 09:00–18:00 at 12,000/h → break 60, paid 480 min, pay 96,000.
        let nine_to_six = hourly(12_000, shift(time!(9:00), 9 * 60), None).unwrap();
        assert_eq!(
            (
                nine_to_six.break_minutes(),
                nine_to_six.paid_minutes(),
                nine_to_six.pay_per_worker()
            ),
            (60, 480, 96_000)
        );
        // 09:00–16:30 at 10,333/h → break 30, paid 420 min, pay 72,331.
        let to_half_past_four = hourly(10_333, shift(time!(9:00), 7 * 60 + 30), None).unwrap();
        assert_eq!(
            (
                to_half_past_four.break_minutes(),
                to_half_past_four.paid_minutes(),
                to_half_past_four.pay_per_worker()
            ),
            (30, 420, 72_331)
        );
        // 10:00–13:00 at 12,000/h → break 0, pay 36,000.
        let morning = hourly(12_000, shift(time!(10:00), 3 * 60), None).unwrap();
        assert_eq!(
            (
                morning.break_minutes(),
                morning.paid_minutes(),
                morning.pay_per_worker()
            ),
            (0, 180, 36_000)
        );
    }

    #[test]
    fn the_default_break_by_span() {
        for (minutes, expected) in [
            (60, 0),
            (3 * 60 + 59, 0),
            (4 * 60, 30),
            (8 * 60, 30),
            (8 * 60 + 29, 30),
            (8 * 60 + 30, 60),
            (24 * 60, 60),
        ] {
            assert_eq!(
                hourly(12_000, span(minutes), None).unwrap().break_minutes(),
                expected,
                "{minutes}"
            );
        }
        // Every span up to a day has a default, and it is the by-span rule of the contract.
        for minutes in 1..=24 * 60 {
            let expected = match minutes {
                m if m < 4 * 60 => 0,
                m if m < 8 * 60 + 30 => 30,
                _ => 60,
            };
            assert_eq!(default_break(minutes * 60), expected, "{minutes}");
        }
    }

    #[test]
    fn the_laws_rule_is_on_paid_time() {
        // 4 h with a 29-minute break is 3 h 31 paid: under 4 h, so no break is owed.
        assert_eq!(hourly(12_000, span(4 * 60), Some(29)).unwrap().paid_minutes(), 211);
        // 4 h with none is 4 h paid: 30 minutes owed.
        assert_eq!(
            hourly(12_000, span(4 * 60), Some(0)).unwrap_err(),
            TermsError::BreakTooShort {
                required: 30,
                paid_minutes: 240
            }
        );
        // 8 h 30 with 30 is 8 h paid: 60 owed. 8 h 29 with 30 is 7 h 59: 30 is enough.
        assert_eq!(
            hourly(12_000, span(8 * 60 + 30), Some(30)).unwrap_err(),
            TermsError::BreakTooShort {
                required: 60,
                paid_minutes: 480
            }
        );
        assert!(hourly(12_000, span(8 * 60 + 29), Some(30)).is_ok());
        // 9 h with 59 is 8 h 1 paid: 60 owed.
        assert!(matches!(
            hourly(12_000, span(9 * 60), Some(59)),
            Err(TermsError::BreakTooShort { required: 60, .. })
        ));
        // More break than owed is the employer's choice, up to half the span.
        assert!(hourly(12_000, span(3 * 60), Some(90)).is_ok());
        assert_eq!(
            hourly(12_000, span(3 * 60), Some(91)).unwrap_err(),
            TermsError::BreakTooLong { most: 90 }
        );
        assert!(matches!(
            hourly(12_000, span(60), Some(u32::MAX)),
            Err(TermsError::BreakTooLong { most: 30 })
        ));
        let message = hourly(12_000, span(4 * 60), Some(0)).unwrap_err().to_string();
        assert!(
            message.contains("4 h of paid time") && message.contains("30 minutes"),
            "{message}"
        );
    }

    #[test]
    fn hourly_wages_below_the_minimum_are_refused() {
        assert!(hourly(10_320, span(8 * 60), None).is_ok());
        let below = hourly(10_319, span(8 * 60), None).unwrap_err();
        assert!(matches!(below, TermsError::BelowMinimumWage { required: 10_320, .. }));
        assert!(below.to_string().contains("10,320 won"), "{below}");
    }

    #[test]
    fn daily_wages_must_cover_the_minimum_for_the_paid_hours() {
        // 8 h 30 span with its 30-minute default break: 8 h paid × 10,320 = 82,560.
        assert!(
            daily(82_560, span(8 * 60 + 30), Some(30)).is_err(),
            "8 h paid owes 60 minutes"
        );
        // 9 h span, 60 break: 8 h paid.
        assert!(daily(82_560, span(9 * 60), None).is_ok());
        assert!(matches!(
            daily(82_559, span(9 * 60), None),
            Err(TermsError::BelowMinimumWage { required: 82_560, .. })
        ));
        // 8 h span, 30 break: 7 h 30 paid × 10,320 = 77,400.
        assert!(daily(77_400, span(8 * 60), None).is_ok());
        // An odd paid time rounds the requirement up to the won: 7 s × 10,320 / 3,600 = 20.07.
        let seconds = Schedule::parse(
            NOW + Duration::hours(1),
            NOW + Duration::hours(1) + Duration::seconds(7),
            NOW,
        );
        assert!(matches!(
            daily(1, seconds.unwrap(), None),
            Err(TermsError::BelowMinimumWage { required: 21, .. })
        ));
    }

    #[test]
    fn pay_is_on_paid_time_rounded_down_or_the_daily_wage() {
        // 2 h 20 min at 10,321 won, no break: 24,082.33… → 24,082.
        assert_eq!(hourly(10_321, span(140), None).unwrap().pay_per_worker(), 24_082);
        assert_eq!(daily(100_000, span(6 * 60), None).unwrap().pay_per_worker(), 100_000);
        // A day at the highest wage: 23 h paid.
        let longest = hourly(MAX_WAGE, span(24 * 60), None).unwrap();
        assert_eq!(longest.pay_per_worker(), MAX_WAGE * 23);
        // A longer break than owed lowers the pay.
        assert_eq!(hourly(12_000, span(4 * 60), Some(60)).unwrap().pay_per_worker(), 36_000);
    }

    #[test]
    fn wages_and_breaks_parse_only_when_valid() {
        assert!(Wage::parse(WageKind::Hourly, 0).is_err());
        assert!(Wage::parse(WageKind::Hourly, MAX_WAGE + 1).is_err());
        assert_eq!(parse_break_minutes(0), Ok(0));
        assert!(parse_break_minutes(-1).is_err());
    }

    #[test]
    fn schedules_end_after_they_start_within_a_day_and_in_the_future() {
        let start = NOW + Duration::hours(1);
        assert!(Schedule::parse(start, start, NOW).is_err());
        assert!(Schedule::parse(start, start - Duration::minutes(1), NOW).is_err());
        assert!(Schedule::parse(start, start + Duration::hours(24), NOW).is_ok());
        assert!(Schedule::parse(start, start + Duration::hours(24) + Duration::SECOND, NOW).is_err());
        // Already running is fine; already over is not.
        assert!(Schedule::parse(NOW - Duration::hours(2), NOW + Duration::hours(1), NOW).is_ok());
        assert!(Schedule::parse(NOW - Duration::hours(2), NOW, NOW).is_err());
    }

    #[test]
    fn won_amounts_are_grouped_by_thousands_and_times_read_humanely() {
        assert_eq!(won(82_560), "82,560");
        assert_eq!(won(100), "100");
        assert_eq!(won(10_000_000), "10,000,000");
        assert_eq!(hours_and_minutes(450), "7 h 30 min");
        assert_eq!(hours_and_minutes(480), "8 h");
        assert_eq!(hours_and_minutes(29), "29 min");
    }
}
