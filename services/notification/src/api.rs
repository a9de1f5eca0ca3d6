//! The notification service's request and response bodies (and socket frames), with their
//! OpenAPI schemas, and their translation to and from the domain. Requests parse field by field
//! and report every invalid field at once.

use std::collections::BTreeMap;

use onetime_common::error::FieldErrors;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::NotificationError;
use crate::domain::{
    Channel, Kind, Notification, PreferenceChanges, Preferences, QuietHours, QuietHoursText, SwitchChanges, Switches,
};

/// A notification as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationBody {
    pub id: String,
    pub kind: Kind,
    /// Korean.
    #[schema(example = "채용이 확정되었습니다")]
    pub title: String,
    pub body: String,
    /// The ids that lead to what it is about: `jobId`, `applicationId`, `orderId`, `roomId`,
    /// `withdrawalId`, as they apply.
    pub data: BTreeMap<String, String>,
    pub read: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Notification> for NotificationBody {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            data: n.data,
            read: n.read_at.is_some(),
            created_at: n.created_at,
        }
    }
}

/// One page of the caller's notifications.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationList {
    pub items: Vec<NotificationBody>,
    pub next_cursor: Option<String>,
    /// All of the caller's unread notifications, whatever the filter.
    pub unread_count: u64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only unread notifications.
    pub unread_only: Option<bool>,
    /// Most items to return: 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// An announcement from the platform's administrators.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    /// 1 to 1000 users.
    pub user_ids: Vec<String>,
    /// 1 to 100 characters.
    pub title: String,
    /// 1 to 1000 characters.
    pub body: String,
    /// `inapp` is always on; the others follow each recipient's preferences for `announcement`.
    pub channels: Vec<Channel>,
}

pub const MAX_RECIPIENTS: usize = 1000;

/// A checked [`SendRequest`].
pub struct Announcement {
    pub user_ids: Vec<String>,
    pub title: String,
    pub body: String,
    pub channels: Vec<Channel>,
}

fn text(field: &str, value: &str, max: usize, errors: &mut FieldErrors) -> String {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        errors.add(field, format!("must be 1 to {max} characters"));
    }
    value.to_owned()
}

impl SendRequest {
    pub fn parse(self) -> Result<Announcement, NotificationError> {
        let mut errors = FieldErrors::default();
        let mut user_ids = self.user_ids;
        user_ids.sort();
        user_ids.dedup();
        if user_ids.is_empty() || user_ids.len() > MAX_RECIPIENTS {
            errors.add("userIds", format!("must name 1 to {MAX_RECIPIENTS} users"));
        }
        let title = text("title", &self.title, 100, &mut errors);
        let body = text("body", &self.body, 1000, &mut errors);
        if !errors.is_empty() {
            return Err(NotificationError::Invalid(errors));
        }
        Ok(Announcement {
            user_ids,
            title,
            body,
            channels: self.channels,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    pub notification_ids: Vec<String>,
}

/// A user's preferences, every kind present.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesBody {
    /// By kind (`welcome`, `application.accepted`, ...): whether email, SMS and push are on.
    pub kinds: BTreeMap<String, Switches>,
    /// Korea time; `null` when off.
    pub quiet_hours: Option<QuietHoursText>,
}

impl From<Preferences> for PreferencesBody {
    fn from(preferences: Preferences) -> Self {
        Self {
            kinds: Kind::ALL
                .into_iter()
                .map(|kind| (kind.as_str().to_owned(), preferences.switches(kind)))
                .collect(),
            quiet_hours: preferences.quiet_hours.map(Into::into),
        }
    }
}

/// A partial preferences document: the kinds and channels named change, the rest stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesUpdate {
    /// E.g. `{ "chat.message": { "push": false } }`; channels are `email`, `sms`, `push`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub kinds: BTreeMap<String, BTreeMap<String, bool>>,
    /// `{ "start": "22:00", "end": "08:00" }` (Korea time), or `null` to turn them off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<QuietHoursText>)]
    pub quiet_hours: Option<Option<QuietHoursText>>,
}

/// Tells a field that is `null` (`Some(None)`) from one that is absent (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl PreferencesUpdate {
    pub fn parse(self) -> Result<PreferenceChanges, NotificationError> {
        let mut errors = FieldErrors::default();
        let mut changes = PreferenceChanges::default();
        for (name, switches) in self.kinds {
            let Some(kind) = Kind::parse(&name) else {
                errors.add(&format!("kinds.{name}"), "is not a kind of notification");
                continue;
            };
            let mut change = SwitchChanges::default();
            for (channel, on) in switches {
                let slot = match channel.as_str() {
                    "email" => &mut change.email,
                    "sms" => &mut change.sms,
                    "push" => &mut change.push,
                    _ => {
                        errors.add(
                            &format!("kinds.{name}.{channel}"),
                            "is not a channel that can be switched (email, sms, push)",
                        );
                        continue;
                    }
                };
                *slot = Some(on);
            }
            changes.kinds.insert(kind, change);
        }
        if let Some(quiet_hours) = self.quiet_hours {
            let parsed = quiet_hours
                .map(|text| QuietHours::parse(&text.start, &text.end))
                .transpose();
            changes.quiet_hours = errors.check("quietHours", parsed);
        }
        if !errors.is_empty() {
            return Err(NotificationError::Invalid(errors));
        }
        Ok(changes)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
        }
    }
}

/// A device to push to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRequest {
    /// The FCM registration token of the app on the device.
    pub token: String,
    pub platform: Platform,
}

pub const MAX_TOKEN_LENGTH: usize = 4096;

impl DeviceRequest {
    pub fn parse(self) -> Result<(String, Platform), NotificationError> {
        let token = self.token.trim();
        let printable = token.chars().all(|c| c.is_ascii_graphic() && c != '/');
        if token.is_empty() || token.len() > MAX_TOKEN_LENGTH || !printable {
            return Err(NotificationError::invalid(
                "token",
                format!("must be 1 to {MAX_TOKEN_LENGTH} printable ASCII characters, without '/'"),
            ));
        }
        Ok((token.to_owned(), self.platform))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceBody {
    pub token: String,
    pub platform: String,
}

/// What the server sends on `/notifications/socket`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    Notification { notification: &'a NotificationBody },
    Unread { count: u64 },
    Pong,
}

/// What a client may send on `/notifications/socket`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientFrame {
    Ping,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Result<PreferenceChanges, NotificationError> {
        serde_json::from_str::<PreferencesUpdate>(json).unwrap().parse()
    }

    #[test]
    fn preference_updates_name_every_unknown_kind_and_channel() {
        let Err(NotificationError::Invalid(errors)) =
            update(r#"{"kinds": {"job.created": {"email": true}, "welcome": {"fax": true}}}"#)
        else {
            panic!("refused")
        };
        let errors = onetime_common::ApiError::from(errors);
        let fields: Vec<_> = errors.errors.as_ref().unwrap().keys().cloned().collect();
        assert_eq!(fields, ["kinds.job.created", "kinds.welcome.fax"]);
    }

    #[test]
    fn quiet_hours_absent_null_or_set() {
        assert_eq!(update("{}").unwrap().quiet_hours, None);
        assert_eq!(update(r#"{"quietHours": null}"#).unwrap().quiet_hours, Some(None));
        let set = update(r#"{"quietHours": {"start": "22:00", "end": "08:00"}}"#).unwrap();
        assert!(matches!(set.quiet_hours, Some(Some(_))));
        assert!(update(r#"{"quietHours": {"start": "25:00", "end": "08:00"}}"#).is_err());
    }

    #[test]
    fn frames_are_tagged_by_type() {
        let frame = serde_json::to_value(ServerFrame::Unread { count: 3 }).unwrap();
        assert_eq!(frame, serde_json::json!({ "type": "unread", "count": 3 }));
        assert!(matches!(
            serde_json::from_str(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        ));
    }
}
