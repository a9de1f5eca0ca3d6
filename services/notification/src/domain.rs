//! The notification service's domain: the kinds of notification and the channels they go out
//! on, a user's preferences (per kind and channel, with API.md's defaults) and quiet hours in
//! Korea time, the stored notification, and how Korean carriers count an SMS. Pure functions,
//! unit-tested here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, UtcOffset};

/// What a notification is about; each comes from one event (or an administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Kind {
    #[serde(rename = "welcome")]
    Welcome,
    #[serde(rename = "application.submitted")]
    ApplicationSubmitted,
    #[serde(rename = "application.accepted")]
    ApplicationAccepted,
    #[serde(rename = "application.rejected")]
    ApplicationRejected,
    #[serde(rename = "job.cancelled")]
    JobCancelled,
    #[serde(rename = "payment.completed")]
    PaymentCompleted,
    #[serde(rename = "settlement.created")]
    SettlementCreated,
    #[serde(rename = "withdrawal.completed")]
    WithdrawalCompleted,
    #[serde(rename = "withdrawal.failed")]
    WithdrawalFailed,
    #[serde(rename = "chat.message")]
    ChatMessage,
    #[serde(rename = "announcement")]
    Announcement,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Welcome,
        Kind::ApplicationSubmitted,
        Kind::ApplicationAccepted,
        Kind::ApplicationRejected,
        Kind::JobCancelled,
        Kind::PaymentCompleted,
        Kind::SettlementCreated,
        Kind::WithdrawalCompleted,
        Kind::WithdrawalFailed,
        Kind::ChatMessage,
        Kind::Announcement,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Welcome => "welcome",
            Kind::ApplicationSubmitted => "application.submitted",
            Kind::ApplicationAccepted => "application.accepted",
            Kind::ApplicationRejected => "application.rejected",
            Kind::JobCancelled => "job.cancelled",
            Kind::PaymentCompleted => "payment.completed",
            Kind::SettlementCreated => "settlement.created",
            Kind::WithdrawalCompleted => "withdrawal.completed",
            Kind::WithdrawalFailed => "withdrawal.failed",
            Kind::ChatMessage => "chat.message",
            Kind::Announcement => "announcement",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// API.md's defaults: email for every kind but chat messages (a chat is answered in the
    /// app, not in a mailbox), push for every kind, SMS only for a hire (it is the one a worker
    /// must not miss: work starts soon).
    pub fn default_switches(self) -> Switches {
        Switches {
            email: self != Kind::ChatMessage,
            sms: self == Kind::ApplicationAccepted,
            push: true,
        }
    }
}

/// The channels besides in-app, which is always on (stored, listed, sent to open sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Inapp,
    Email,
    Sms,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Inapp => "inapp",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }
}

/// One kind's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Switches {
    pub email: bool,
    pub sms: bool,
    pub push: bool,
}

impl Switches {
    pub fn allows(&self, channel: Channel) -> bool {
        match channel {
            Channel::Inapp => true,
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
        }
    }
}

/// A partial [`Switches`]: what a user changed, the rest following the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<bool>,
}

impl SwitchChanges {
    fn over(self, base: Switches) -> Switches {
        Switches {
            email: self.email.unwrap_or(base.email),
            sms: self.sms.unwrap_or(base.sms),
            push: self.push.unwrap_or(base.push),
        }
    }

    fn then(self, later: SwitchChanges) -> SwitchChanges {
        SwitchChanges {
            email: later.email.or(self.email),
            sms: later.sms.or(self.sms),
            push: later.push.or(self.push),
        }
    }
}

/// A user's preferences as stored: only what they changed, so that defaults stay defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    pub kinds: BTreeMap<Kind, SwitchChanges>,
    pub quiet_hours: Option<QuietHours>,
}

/// A change to [`Preferences`]: `quiet_hours` is `Some(None)` to turn them off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferenceChanges {
    pub kinds: BTreeMap<Kind, SwitchChanges>,
    pub quiet_hours: Option<Option<QuietHours>>,
}

impl Preferences {
    pub fn switches(&self, kind: Kind) -> Switches {
        let base = kind.default_switches();
        self.kinds.get(&kind).map_or(base, |changes| changes.over(base))
    }

    pub fn apply(&mut self, changes: PreferenceChanges) {
        for (kind, change) in changes.kinds {
            let merged = self.kinds.get(&kind).copied().unwrap_or_default().then(change);
            self.kinds.insert(kind, merged);
        }
        if let Some(quiet_hours) = changes.quiet_hours {
            self.quiet_hours = quiet_hours;
        }
    }
}

/// Korea Standard Time: UTC+9 all year (Korea keeps no daylight saving time).
pub const KOREA: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+9 is an offset"),
};

/// A daily span of Korea time in which SMS and push wait; it may cross midnight (22:00–08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QuietHoursText", into = "QuietHoursText")]
pub struct QuietHours {
    start: Time,
    end: Time,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuietHoursText {
    /// `HH:MM`, Korea time.
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "08:00")]
    pub end: String,
}

impl TryFrom<QuietHoursText> for QuietHours {
    type Error = String;

    fn try_from(text: QuietHoursText) -> Result<Self, String> {
        QuietHours::parse(&text.start, &text.end)
    }
}

impl From<QuietHours> for QuietHoursText {
    fn from(hours: QuietHours) -> Self {
        let show = |t: Time| format!("{:02}:{:02}", t.hour(), t.minute());
        QuietHoursText {
            start: show(hours.start),
            end: show(hours.end),
        }
    }
}

fn parse_clock(text: &str) -> Option<Time> {
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    Time::from_hms(hours.parse().ok()?, minutes.parse().ok()?, 0).ok()
}

impl QuietHours {
    pub fn parse(start: &str, end: &str) -> Result<Self, String> {
        let clock =
            |text: &str| parse_clock(text).ok_or_else(|| format!("`{text}` is not a time of day like \"22:00\""));
        let (start, end) = (clock(start)?, clock(end)?);
        if start == end {
            return Err("start and end must differ".to_owned());
        }
        Ok(Self { start, end })
    }

    /// When the quiet span that `now` falls in ends, or `None` when `now` is not quiet.
    pub fn end_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = now.to_offset(KOREA);
        let clock = local.time();
        let ends_today = local.replace_time(self.end);
        if self.start < self.end {
            (self.start <= clock && clock < self.end).then_some(ends_today)
        } else if clock >= self.start {
            Some(ends_today + Duration::days(1))
        } else if clock < self.end {
            Some(ends_today)
        } else {
            None
        }
        .map(|end| end.to_offset(UtcOffset::UTC))
    }
}

/// A notification as stored and as the API shows it (less `user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// The ids a client needs to open what it is about (`jobId`, `applicationId`, ...).
    pub data: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a notification says, before it is addressed to anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub data: BTreeMap<String, String>,
}

impl Draft {
    pub fn new(kind: Kind, title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            body: body.into(),
            data: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }
}

/// The two kinds of text message Korean carriers bill: an SMS holds 90 bytes of EUC-KR (45
/// Hangul syllables), anything longer is an LMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextKind {
    #[serde(rename = "SMS")]
    Sms,
    #[serde(rename = "LMS")]
    Lms,
}

pub const SMS_MAX_BYTES: usize = 90;

impl TextKind {
    pub fn of(text: &str) -> TextKind {
        let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
        if bytes.len() <= SMS_MAX_BYTES {
            TextKind::Sms
        } else {
            TextKind::Lms
        }
    }
}

/// A Korean mobile number as carriers dial it: `+821012345678` → `01012345678`.
pub fn domestic_number(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("82") {
        Some(rest) if e164.starts_with('+') => format!("0{rest}"),
        _ => digits,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn kinds_round_trip_their_wire_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(Kind::parse("job.created"), None);
    }

    #[test]
    fn defaults_follow_the_contract_and_changes_layer_over_them() {
        let mut preferences = Preferences::default();
        assert_eq!(
            preferences.switches(Kind::ApplicationAccepted),
            Switches {
                email: true,
                sms: true,
                push: true
            }
        );
        assert!(!preferences.switches(Kind::ChatMessage).email);
        assert!(!preferences.switches(Kind::Welcome).sms);

        let mut changes = PreferenceChanges::default();
        changes.kinds.insert(
            Kind::Welcome,
            SwitchChanges {
                sms: Some(true),
                ..Default::default()
            },
        );
        preferences.apply(changes.clone());
        changes.kinds.insert(
            Kind::Welcome,
            SwitchChanges {
                email: Some(false),
                ..Default::default()
            },
        );
        preferences.apply(changes);
        let welcome = preferences.switches(Kind::Welcome);
        assert!(welcome.sms && !welcome.email && welcome.push, "{welcome:?}");
    }

    #[test]
    fn quiet_hours_cross_midnight_in_korea_time() {
        let night = QuietHours::parse("22:00", "08:00").unwrap();
        // 23:30 KST = 14:30 UTC: quiet until 08:00 KST the next day = 23:00 UTC.
        assert_eq!(
            night.end_after(datetime!(2026-03-02 14:30 UTC)),
            Some(datetime!(2026-03-02 23:00 UTC))
        );
        // 07:59 KST: quiet until 08:00.
        assert_eq!(
            night.end_after(datetime!(2026-03-02 22:59 UTC)),
            Some(datetime!(2026-03-02 23:00 UTC))
        );
        // 08:00 and 12:00 KST are not quiet.
        assert_eq!(night.end_after(datetime!(2026-03-02 23:00 UTC)), None);
        assert_eq!(night.end_after(datetime!(2026-03-02 03:00 UTC)), None);

        let lunch = QuietHours::parse("12:00", "13:30").unwrap();
        assert_eq!(
            lunch.end_after(datetime!(2026-03-02 03:15 UTC)),
            Some(datetime!(2026-03-02 04:30 UTC))
        );
        assert_eq!(lunch.end_after(datetime!(2026-03-02 04:30 UTC)), None);
    }

    #[test]
    fn quiet_hours_parse_strictly() {
        for (start, end) in [
            ("22:00", "22:00"),
            ("24:00", "08:00"),
            ("7:00", "08:00"),
            ("aa:bb", "08:00"),
        ] {
            assert!(QuietHours::parse(start, end).is_err(), "{start}-{end}");
        }
        let text: QuietHoursText = QuietHours::parse("22:05", "07:00").unwrap().into();
        assert_eq!((text.start.as_str(), text.end.as_str()), ("22:05", "07:00"));
    }

    #[test]
    fn texts_over_90_euc_kr_bytes_are_lms() {
        assert_eq!(TextKind::of(&"가".repeat(45)), TextKind::Sms);
        assert_eq!(TextKind::of(&"가".repeat(46)), TextKind::Lms);
        assert_eq!(TextKind::of(&"a".repeat(90)), TextKind::Sms);
        assert_eq!(TextKind::of(&"a".repeat(91)), TextKind::Lms);
    }

    #[test]
    fn numbers_are_dialled_domestically() {
        assert_eq!(domestic_number("+821012345678"), "01012345678");
        assert_eq!(domestic_number("01012345678"), "01012345678");
    }
}
