//! The chat service's HTTP handlers and the WebSocket upgrade, with their OpenAPI description.
//! Each one extracts, calls [`Rooms`](crate::rooms::Rooms) or
//! [`Messages`](crate::messages::Messages), and shapes the answer.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json as JsonBody, Router};
use onetime_common::ApiError;
use onetime_common::auth::Principal;
use onetime_common::error::Problem;
use onetime_common::extract::{Json, Query};
use onetime_common::paging::{Page, PageQuery};
use utoipa::OpenApi;

use crate::Chat;
use crate::api::{
    ClientFrame, HistoryQuery, MessageView, OpenRoomRequest, Outgoing, ReadRequest, RoomView, SendMessageRequest,
    ServerFrame, read_mark,
};
use crate::socket::{self, BUFFER_BYTES, MAX_FRAME_BYTES};

type Created<T> = Result<(StatusCode, JsonBody<T>), ApiError>;

pub fn router(chat: Arc<Chat>) -> Router {
    Router::new()
        .route("/chat/rooms", post(open_room).get(list_rooms))
        .route("/chat/rooms/{id}/messages", get(history).post(send_message))
        .route("/chat/rooms/{id}/read", put(mark_read))
        .route("/chat/socket", get(upgrade))
        .with_state(chat)
}

#[derive(OpenApi)]
#[openapi(
    paths(open_room, list_rooms, history, send_message, mark_read, upgrade),
    components(schemas(
        OpenRoomRequest,
        SendMessageRequest,
        ReadRequest,
        RoomView,
        MessageView,
        Page<RoomView>,
        Page<MessageView>,
        ClientFrame,
        ServerFrame
    )),
    tags((name = "chat", description = "Rooms between a job's owner and an applicant, messages, and the live socket"))
)]
pub struct ChatDoc;

/// 201 for a new room, 200 for the pair's existing one.
fn created_or_found(created: bool) -> StatusCode {
    if created { StatusCode::CREATED } else { StatusCode::OK }
}

/// Opens the room of the caller and `participantId` on `jobId`: one is the job's owner, the
/// other applied to it (in any status). The same pair and job always give the same room.
#[utoipa::path(post, path = "/chat/rooms", tag = "chat", request_body = OpenRoomRequest, security(("bearer" = [])), responses(
    (status = 201, description = "Opened", body = RoomView),
    (status = 200, description = "The room the two have already", body = RoomView),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "`not_related`: not the job's owner and an applicant of it", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such job or user", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: `participantId` is the caller", body = Problem, content_type = "application/problem+json"),
))]
async fn open_room(
    State(chat): State<Arc<Chat>>,
    caller: Principal,
    Json(request): Json<OpenRoomRequest>,
) -> Created<RoomView> {
    let opened = chat
        .rooms
        .open(&caller.user_id, &request.job_id, &request.participant_id)
        .await?;
    let room = RoomView::of(opened.room, &caller.user_id);
    Ok((created_or_found(opened.created), JsonBody(room)))
}

/// The caller's rooms, most recent activity first.
#[utoipa::path(get, path = "/chat/rooms", tag = "chat", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of rooms", body = Page<RoomView>),
    (status = 400, description = "`invalid_query`: a bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
))]
async fn list_rooms(
    State(chat): State<Arc<Chat>>,
    caller: Principal,
    Query(page): Query<PageQuery>,
) -> Result<JsonBody<Page<RoomView>>, ApiError> {
    let rooms = chat.rooms.list(&caller.user_id, page.parse()?).await?;
    Ok(JsonBody(rooms.map(|room| RoomView::of(room, &caller.user_id))))
}

/// Older messages of a room, newest first: those with a seq below `before` (or the page's
/// `cursor`), all from the newest without either.
#[utoipa::path(get, path = "/chat/rooms/{id}/messages", tag = "chat", params(("id" = String, Path, description = "The room"), HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of messages", body = Page<MessageView>),
    (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such room, or the caller is not in it", body = Problem, content_type = "application/problem+json"),
))]
async fn history(
    State(chat): State<Arc<Chat>>,
    caller: Principal,
    Path(room_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<JsonBody<Page<MessageView>>, ApiError> {
    let messages = chat.messages.history(&caller.user_id, &room_id, query.parse()?).await?;
    Ok(JsonBody(messages.map(MessageView::from)))
}

/// Sends a message; it reaches both participants' open sockets. Sending a `clientMsgId` again
/// answers 200 with the first message and stores and sends nothing.
#[utoipa::path(post, path = "/chat/rooms/{id}/messages", tag = "chat", params(("id" = String, Path, description = "The room")), request_body = SendMessageRequest, security(("bearer" = [])), responses(
    (status = 201, description = "Stored", body = MessageView),
    (status = 200, description = "Sent before with this `clientMsgId`: the first message", body = MessageView),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such room, or the caller is not in it", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: a bad `text` or `clientMsgId`", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "`rate_limited`: more than 20 messages a second (bursts of 50), REST and socket together; with `Retry-After`", body = Problem, content_type = "application/problem+json"),
))]
async fn send_message(
    State(chat): State<Arc<Chat>>,
    caller: Principal,
    Path(room_id): Path<String>,
    Json(request): Json<SendMessageRequest>,
) -> Created<MessageView> {
    let outgoing = Outgoing::parse(&request.text, &request.client_msg_id)?;
    let sent = chat.messages.send(&caller.user_id, &room_id, outgoing, None).await?;
    Ok((created_or_found(sent.created), JsonBody(sent.message.into())))
}

/// Marks the room read up to `seq`. Marks only move forward: an older `seq` changes nothing.
#[utoipa::path(put, path = "/chat/rooms/{id}/read", tag = "chat", params(("id" = String, Path, description = "The room")), request_body = ReadRequest, security(("bearer" = [])), responses(
    (status = 204, description = "Marked (or already marked further)"),
    (status = 401, description = "No or an invalid access token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such room, or the caller is not in it", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`validation_failed`: `seq` is 0 or past the newest message", body = Problem, content_type = "application/problem+json"),
))]
async fn mark_read(
    State(chat): State<Arc<Chat>>,
    caller: Principal,
    Path(room_id): Path<String>,
    Json(request): Json<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    let mark = read_mark(request.seq)?;
    chat.messages.mark_read(&caller.user_id, &room_id, mark, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The live chat socket (JSON text frames).
///
/// Client → server (`ClientFrame`): `send` { roomId, text, clientMsgId }, `typing` { roomId },
/// `read` { roomId, seq }, `ping`. Server → client (`ServerFrame`): `ack` { clientMsgId,
/// message } to the sending connection once the message is durably stored; `message` { message }
/// to every other connection of both participants; `typing` { roomId, userId } to the other
/// participant; `read` { roomId, userId, seq } to the other participant and the reader's other
/// connections; `pong`; `error` { code, detail, clientMsgId? } with `bad_frame`,
/// `not_participant`, `invalid_text` or `rate_limited`, after which the connection stays open.
///
/// The server pings every 30 s and closes a connection silent for 90 s. A connection whose send
/// queue is full is closed with 1013; reconnect and read what was missed over REST.
#[utoipa::path(get, path = "/chat/socket", tag = "chat", params(("token" = Option<String>, Query, description = "The access token, for clients that cannot set `Authorization` (browsers)")), security(("bearer" = [])), responses(
    (status = 101, description = "Switched to the WebSocket protocol: `ClientFrame`s in, `ServerFrame`s out"),
    (status = 401, description = "A bad or missing token, before the upgrade", body = Problem, content_type = "application/problem+json"),
))]
async fn upgrade(State(chat): State<Arc<Chat>>, caller: Principal, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |ws| async move {
            // On the background task set, so that shutdown waits until every socket has closed
            // and let go of the stores.
            let background = chat.background.clone();
            background.spawn(socket::serve(ws, caller.user_id, chat));
        })
}
