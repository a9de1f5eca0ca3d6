//! The notification service's HTTP and WebSocket handlers and their OpenAPI description. Each
//! one extracts, calls [`Inbox`], and shapes the answer.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::{Json as JsonBody, Router};
use onetime_common::ApiError;
use onetime_common::auth::{Authorized, Principal, roles};
use onetime_common::error::Problem;
use onetime_common::extract::{Json, Query};
use onetime_common::paging::PageQuery;
use utoipa::OpenApi;

use crate::api::{
    DeviceBody, DeviceRequest, ListQuery, NotificationBody, NotificationList, Platform, PreferencesBody,
    PreferencesUpdate, SendRequest, SendResponse,
};
use crate::domain::{Channel, Kind, QuietHoursText, Switches};
use crate::inbox::Inbox;
use crate::socket::{BUFFER_BYTES, Hub, MAX_FRAME_BYTES};

#[derive(Clone)]
struct AppState {
    inbox: Arc<Inbox>,
    hub: Arc<Hub>,
}

pub fn router(inbox: Arc<Inbox>, hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/{id}/read", put(read))
        .route("/notifications/read-all", put(read_all))
        .route("/notifications/send", post(send))
        .route("/notifications/preferences", get(preferences).put(update_preferences))
        .route("/notifications/devices", post(register_device))
        .route("/notifications/devices/{token}", delete(remove_device))
        .route("/notifications/socket", get(socket))
        .with_state(AppState { inbox, hub })
}

#[derive(OpenApi)]
#[openapi(
    paths(list, read, read_all, send, preferences, update_preferences, register_device, remove_device, socket),
    components(schemas(
        NotificationBody,
        NotificationList,
        Kind,
        Channel,
        SendRequest,
        SendResponse,
        PreferencesBody,
        PreferencesUpdate,
        Switches,
        QuietHoursText,
        DeviceRequest,
        DeviceBody,
        Platform
    )),
    tags((name = "notification", description = "In-app notifications, their socket, preferences, devices and announcements"))
)]
pub struct NotificationDoc;

/// The caller's notifications, newest first; `unreadCount` counts all unread ones.
#[utoipa::path(get, path = "/notifications", tag = "notification", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page", body = NotificationList),
    (status = 400, description = "`invalid_query`: bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<JsonBody<NotificationList>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let unread_only = query.unread_only.unwrap_or(false);
    let (page, unread_count) = state.inbox.list(&principal.user_id, unread_only, page).await?;
    let page = page.map(NotificationBody::from);
    Ok(JsonBody(NotificationList {
        items: page.items,
        next_cursor: page.next_cursor,
        unread_count,
    }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(put, path = "/notifications/{id}/read", tag = "notification", params(("id" = String, Path, description = "The notification's id")), security(("bearer" = [])), responses(
    (status = 200, description = "The notification, read", body = NotificationBody),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such notification of the caller's", body = Problem, content_type = "application/problem+json"),
))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<JsonBody<NotificationBody>, ApiError> {
    Ok(JsonBody(state.inbox.read(&principal.user_id, &id).await?.into()))
}

/// Marks all of the caller's notifications read.
#[utoipa::path(put, path = "/notifications/read-all", tag = "notification", security(("bearer" = [])), responses(
    (status = 204, description = "All read"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn read_all(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    state.inbox.read_all(&principal.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends an announcement (kind `announcement`) to the named users: in-app always, and on the
/// other channels named as far as each user's preferences for announcements allow.
#[utoipa::path(post, path = "/notifications/send", tag = "notification", request_body = SendRequest, security(("bearer" = [])), responses(
    (status = 202, description = "Stored; mail, SMS and push follow", body = SendResponse),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: no or unknown users, empty title or body, unknown channel", body = Problem, content_type = "application/problem+json"),
))]
async fn send(
    State(state): State<AppState>,
    _admin: Authorized<roles::Admin>,
    Json(request): Json<SendRequest>,
) -> Result<(StatusCode, JsonBody<SendResponse>), ApiError> {
    let notification_ids = state.inbox.announce(request.parse()?).await?;
    Ok((StatusCode::ACCEPTED, JsonBody(SendResponse { notification_ids })))
}

/// The caller's preferences: every kind with its channels, and quiet hours.
#[utoipa::path(get, path = "/notifications/preferences", tag = "notification", security(("bearer" = [])), responses(
    (status = 200, description = "The preferences", body = PreferencesBody),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn preferences(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<JsonBody<PreferencesBody>, ApiError> {
    Ok(JsonBody(state.inbox.preferences(&principal.user_id).await?.into()))
}

/// Changes the kinds and channels named (and quiet hours, when present; `null` turns them off).
#[utoipa::path(put, path = "/notifications/preferences", tag = "notification", request_body = PreferencesUpdate, security(("bearer" = [])), responses(
    (status = 200, description = "The whole preferences after the change", body = PreferencesBody),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: unknown kind or channel, bad quiet hours; nothing changed", body = Problem, content_type = "application/problem+json"),
))]
async fn update_preferences(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<PreferencesUpdate>,
) -> Result<JsonBody<PreferencesBody>, ApiError> {
    let changes = request.parse()?;
    let preferences = state.inbox.update_preferences(&principal.user_id, changes).await?;
    Ok(JsonBody(preferences.into()))
}

/// Registers a device for push. A token FCM calls `UNREGISTERED` is removed by itself.
#[utoipa::path(post, path = "/notifications/devices", tag = "notification", request_body = DeviceRequest, security(("bearer" = [])), responses(
    (status = 201, description = "Registered", body = DeviceBody),
    (status = 200, description = "Registered already", body = DeviceBody),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: bad token or platform", body = Problem, content_type = "application/problem+json"),
))]
async fn register_device(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<DeviceRequest>,
) -> Result<(StatusCode, JsonBody<DeviceBody>), ApiError> {
    let (token, platform) = request.parse()?;
    let (created, device) = state.inbox.register_device(&principal.user_id, token, platform).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        JsonBody(DeviceBody {
            token: device.token,
            platform: device.platform,
        }),
    ))
}

/// Removes one of the caller's devices.
#[utoipa::path(delete, path = "/notifications/devices/{token}", tag = "notification", params(("token" = String, Path, description = "The device's FCM token")), security(("bearer" = [])), responses(
    (status = 204, description = "Removed"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such device of the caller's", body = Problem, content_type = "application/problem+json"),
))]
async fn remove_device(
    State(state): State<AppState>,
    principal: Principal,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inbox.remove_device(&principal.user_id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live notifications (WebSocket; browsers pass the token as `?token=`).
///
/// Server frames: `{ "type": "unread", "count": 3 }` on connecting and whenever the count
/// changes; `{ "type": "notification", "notification": { ... } }` as each is stored (followed by
/// the new count). Client frame: `{ "type": "ping" }`, answered `{ "type": "pong" }`. The server
/// pings; a socket silent past the idle timeout is closed (1008), one that cannot keep up with
/// its frames is closed with 1013 (reconnect and catch up with `GET /notifications`).
#[utoipa::path(get, path = "/notifications/socket", tag = "notification", security(("bearer" = [])), responses(
    (status = 101, description = "Switching to the WebSocket protocol"),
    (status = 400, description = "`websocket_expected`: not a WebSocket upgrade", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "No or an invalid token, refused before the upgrade", body = Problem, content_type = "application/problem+json"),
))]
async fn socket(
    State(state): State<AppState>,
    principal: Principal,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade =
        upgrade.map_err(|refused| ApiError::new(refused.status(), "websocket_expected", refused.body_text()))?;
    let AppState { inbox, hub } = state;
    let upgrade = upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let user = principal.user_id;
        let unread = {
            let (inbox, user) = (inbox.clone(), user.clone());
            async move { inbox.unread_count(&user).await.ok() }
        };
        hub.serve(socket, user, unread).await;
    }))
}
