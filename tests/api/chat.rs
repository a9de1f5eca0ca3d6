//! The chat service over real HTTP and real WebSockets: who may open a room, rooms opened by an
//! acceptance, one room per pair under races, ordered dense seqs under concurrent senders,
//! idempotent resends, history paging, read marks and unread counts, fan-out to every device,
//! error frames, the send rate limit, a slow reader closed with 1013, and a restart.
//!
//! These apps run without the gateway's rate limits (its per-IP limit on registration would stop
//! the sign-ups); the chat service's own send limit is what `sends_are_limited_per_user` tests.

use std::time::Duration;

use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{Account, TestApp, WebSocket, pings_until_close, problem, spawn_app_with, start, until_none_left};

/// How long a test waits for a frame it expects.
const FRAME_WAIT: Duration = Duration::from_secs(10);

async fn spawn_chat_app() -> TestApp {
    spawn_chat_app_with(json!({})).await
}

/// An app with the `[chat]` keys of `chat` over the defaults.
async fn spawn_chat_app_with(chat: Value) -> TestApp {
    spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        for (key, value) in chat.as_object().unwrap() {
            c.set(&format!("chat.{key}"), value);
        }
    })
    .await
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

fn seqs(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect()
}

/// A job of `employer`'s that `worker` applied to.
struct Applied {
    employer: Account,
    worker: Account,
    job_id: String,
    application_id: String,
}

async fn post_job(app: &TestApp, employer: &Account) -> String {
    let at = |hours: i64| {
        (OffsetDateTime::now_utc() + time::Duration::hours(hours))
            .format(&Rfc3339)
            .unwrap()
    };
    let job = json!({
        "title": "주말 카페 바리스타",
        "description": "에스프레소 머신 경험자 우대",
        "category": "food-cafe",
        "wage": { "type": "hourly", "amount": 12_000 },
        "location": { "address": "서울 마포구 양화로 45", "lat": 37.5563, "lng": 126.9236 },
        "startsAt": at(24),
        "endsAt": at(32),
        "headcount": 2,
    });
    id_of(&json_of(app.post_json_as("/jobs", &employer.token, &job).await, 201).await)
}

async fn apply(app: &TestApp, worker: &Account, job_id: &str) -> String {
    let path = format!("/jobs/{job_id}/apply");
    id_of(&json_of(app.post_json_as(&path, &worker.token, &json!({})).await, 201).await)
}

async fn applied(app: &TestApp) -> Applied {
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let job_id = post_job(app, &employer).await;
    let application_id = apply(app, &worker, &job_id).await;
    Applied {
        employer,
        worker,
        job_id,
        application_id,
    }
}

async fn open_room(app: &TestApp, caller: &Account, job_id: &str, other: &str) -> reqwest::Response {
    let body = json!({ "jobId": job_id, "participantId": other });
    app.post_json_as("/chat/rooms", &caller.token, &body).await
}

/// The room of `applied`'s pair, opened by the worker.
async fn room_of(app: &TestApp, applied: &Applied) -> String {
    let response = open_room(app, &applied.worker, &applied.job_id, &applied.employer.id).await;
    id_of(&json_of(response, 201).await)
}

async fn send(app: &TestApp, sender: &Account, room: &str, text: &str, client_msg_id: &str) -> reqwest::Response {
    let body = json!({ "text": text, "clientMsgId": client_msg_id });
    app.post_json_as(&format!("/chat/rooms/{room}/messages"), &sender.token, &body)
        .await
}

async fn history(app: &TestApp, reader: &Account, room: &str, query: &str) -> Value {
    let path = format!("/chat/rooms/{room}/messages{query}");
    json_of(app.get_as(&path, &reader.token).await, 200).await
}

async fn rooms(app: &TestApp, account: &Account) -> Value {
    json_of(app.get_as("/chat/rooms", &account.token).await, 200).await
}

async fn socket(app: &TestApp, account: &Account) -> WebSocket {
    app.websocket("/chat/socket", Some(&account.token))
        .await
        .expect("the socket opens")
}

async fn send_frame(ws: &mut WebSocket, frame: Value) {
    ws.send(Frame::text(frame.to_string())).await.expect("frame sent");
}

/// The next JSON frame (pings and pongs of the protocol skipped), within [`FRAME_WAIT`].
async fn next_frame(ws: &mut WebSocket) -> Value {
    loop {
        let frame = tokio::time::timeout(FRAME_WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a readable frame");
        match frame {
            Frame::Text(text) => return serde_json::from_str(text.as_str()).expect("a JSON frame"),
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Asserts that nothing but protocol pings arrives for a moment: a frame that should not come
/// would arrive well within it, as the ones that should do.
async fn assert_quiet(ws: &mut WebSocket) {
    let waited = tokio::time::timeout(Duration::from_millis(300), next_frame(ws)).await;
    assert!(waited.is_err(), "unexpected frame: {:?}", waited.ok());
}

#[tokio::test]
async fn only_a_jobs_owner_and_its_applicants_share_a_room() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let (employer, worker) = (&applied.employer, &applied.worker);
    let stranger = app.signup("worker").await;
    let job = &applied.job_id;

    let refused = open_room(&app, &stranger, job, &employer.id).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(problem(refused).await["code"], "not_related");
    let refused = open_room(&app, employer, job, &stranger.id).await;
    assert_eq!(
        problem(refused).await["code"],
        "not_related",
        "the owner cannot pull in a non-applicant"
    );
    let refused = open_room(&app, worker, job, &stranger.id).await;
    assert_eq!(
        problem(refused).await["code"],
        "not_related",
        "two workers share no room"
    );

    let unknown_job = open_room(&app, worker, "0190aaaa-0000-7000-8000-000000000000", &employer.id).await;
    assert_eq!(unknown_job.status(), 404);
    problem(unknown_job).await;
    let unknown_user = open_room(&app, employer, job, "0190aaaa-0000-7000-8000-000000000000").await;
    assert_eq!(unknown_user.status(), 404);
    let oneself = open_room(&app, employer, job, &employer.id).await;
    assert_eq!(oneself.status(), 422);
    assert!(problem(oneself).await["errors"]["participantId"].is_array());

    let room = json_of(open_room(&app, employer, job, &worker.id).await, 201).await;
    assert_eq!(room["jobId"], job.as_str());
    assert_eq!(room["participants"], json!([employer.id, worker.id]));
    assert_eq!(
        (room["unreadCount"].clone(), room["lastMessage"].clone()),
        (json!(0), Value::Null)
    );
    let again = json_of(open_room(&app, worker, job, &employer.id).await, 200).await;
    assert_eq!(again["id"], room["id"], "either side opens the same room");

    // Outsiders do not learn that the room exists.
    let path = format!("/chat/rooms/{}/messages", id_of(&room));
    assert_eq!(app.get_as(&path, &stranger.token).await.status(), 404);
    assert_eq!(send(&app, &stranger, &id_of(&room), "hi", "c1").await.status(), 404);
    let read = app
        .put_json_as(
            &format!("/chat/rooms/{}/read", id_of(&room)),
            &stranger.token,
            &json!({ "seq": 1 }),
        )
        .await;
    assert_eq!(read.status(), 404);
    assert_eq!(rooms(&app, &stranger).await["items"], json!([]));
    assert_eq!(app.get("/chat/rooms").await.status(), 401);
}

#[tokio::test]
async fn accepting_an_application_opens_the_room() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let path = format!("/jobs/{}/applications/{}", applied.job_id, applied.application_id);
    let decided = app
        .put_json_as(&path, &applied.employer.token, &json!({ "status": "accepted" }))
        .await;
    assert_eq!(decided.status(), 200);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let room = loop {
        let listed = rooms(&app, &applied.worker).await;
        if let Some(room) = listed["items"].as_array().unwrap().first() {
            break room.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no room after the acceptance");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(room["jobId"], applied.job_id.as_str());
    assert_eq!(room["participants"], json!([applied.employer.id, applied.worker.id]));
    let opened = open_room(&app, &applied.employer, &applied.job_id, &applied.worker.id).await;
    assert_eq!(
        json_of(opened, 200).await["id"],
        room["id"],
        "the room is there already"
    );
}

#[tokio::test]
async fn simultaneous_opens_of_one_pair_make_one_room() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let opens = (0..20).map(|n| {
        let (caller, other) = if n % 2 == 0 {
            (&applied.employer, &applied.worker.id)
        } else {
            (&applied.worker, &applied.employer.id)
        };
        open_room(&app, caller, &applied.job_id, other)
    });
    let answers = join_all(opens).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 19, "{statuses:?}");
    let mut ids = Vec::new();
    for answer in answers {
        ids.push(id_of(&answer.json::<Value>().await.unwrap()));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        rooms(&app, &applied.employer).await["items"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn concurrent_senders_get_dense_seqs_and_every_socket_sees_them_in_order() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let mut watcher = socket(&app, &applied.employer).await;

    let sends = (0..40).map(|n| {
        let sender = if n % 2 == 0 { &applied.employer } else { &applied.worker };
        let room = room.clone();
        let app = &app;
        async move { send(app, sender, &room, &format!("message {n}"), &format!("c-{n}")).await }
    });
    for answer in join_all(sends).await {
        assert_eq!(answer.status(), 201);
    }

    let stored = history(&app, &applied.worker, &room, "?limit=100").await;
    assert_eq!(seqs(&stored), (1..=40).rev().collect::<Vec<_>>(), "dense, newest first");
    let mut texts: Vec<String> = stored["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 40, "each message stored once");

    // REST-sent messages reach open sockets too, each once and in seq order.
    let mut delivered = Vec::new();
    while delivered.len() < 40 {
        let frame = next_frame(&mut watcher).await;
        assert_eq!(frame["type"], "message", "{frame}");
        delivered.push(frame["message"]["seq"].as_u64().unwrap());
    }
    assert_eq!(delivered, (1..=40).collect::<Vec<_>>());
    assert_quiet(&mut watcher).await;
}

#[tokio::test]
async fn resending_a_client_message_id_stores_and_delivers_nothing_new() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let mut employer_ws = socket(&app, &applied.employer).await;

    let first = json_of(send(&app, &applied.worker, &room, "곧 도착해요", "same").await, 201).await;
    let again = json_of(send(&app, &applied.worker, &room, "다른 내용", "same").await, 200).await;
    assert_eq!(again, first, "the first message, as it was");
    assert_eq!(next_frame(&mut employer_ws).await["message"], first);
    // The same id from the other participant is another message.
    let theirs = json_of(send(&app, &applied.employer, &room, "네", "same").await, 201).await;
    assert_eq!(theirs["seq"], 2);
    assert_eq!(next_frame(&mut employer_ws).await["message"], theirs);

    // Over the socket: the resend is acked with the first message and reaches nobody.
    let mut worker_ws = socket(&app, &applied.worker).await;
    let frame = json!({ "type": "send", "roomId": room, "text": "주차 어디에 하나요?", "clientMsgId": "ws-1" });
    send_frame(&mut worker_ws, frame.clone()).await;
    let ack = next_frame(&mut worker_ws).await;
    assert_eq!(
        (ack["type"].as_str(), ack["clientMsgId"].as_str()),
        (Some("ack"), Some("ws-1"))
    );
    assert_eq!(ack["message"]["seq"], 3);
    assert_eq!(next_frame(&mut employer_ws).await["message"], ack["message"]);
    send_frame(&mut worker_ws, frame).await;
    let second_ack = next_frame(&mut worker_ws).await;
    assert_eq!(second_ack, ack);
    assert_quiet(&mut employer_ws).await;
    let resent_over_rest = json_of(send(&app, &applied.worker, &room, "x", "ws-1").await, 200).await;
    assert_eq!(resent_over_rest, ack["message"]);
    assert_eq!(seqs(&history(&app, &applied.employer, &room, "").await), [3, 2, 1]);
}

#[tokio::test]
async fn history_pages_backwards_from_the_newest() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    for n in 1..=25 {
        json_of(
            send(&app, &applied.employer, &room, &format!("{n}번째"), &format!("c{n}")).await,
            201,
        )
        .await;
    }
    let first = history(&app, &applied.worker, &room, "?limit=10").await;
    assert_eq!(seqs(&first), (16..=25).rev().collect::<Vec<_>>());
    assert_eq!(first["items"][0]["text"], "25번째");
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = history(&app, &applied.worker, &room, &format!("?limit=10&cursor={cursor}")).await;
    assert_eq!(seqs(&second), (6..=15).rev().collect::<Vec<_>>());
    let cursor = second["nextCursor"].as_str().unwrap();
    let last = history(&app, &applied.worker, &room, &format!("?limit=10&cursor={cursor}")).await;
    assert_eq!(seqs(&last), [5, 4, 3, 2, 1]);
    assert_eq!(last["nextCursor"], Value::Null);

    assert_eq!(seqs(&history(&app, &applied.worker, &room, "?before=3").await), [2, 1]);
    assert_eq!(
        seqs(&history(&app, &applied.worker, &room, "?before=1").await),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(&history(&app, &applied.worker, &room, "").await).len(),
        20,
        "20 by default"
    );
    for bad in [
        "?limit=0",
        "?limit=101",
        "?before=x",
        "?cursor=nonsense!",
        "?before=3&cursor=MTA",
    ] {
        let path = format!("/chat/rooms/{room}/messages{bad}");
        let answer = app.get_as(&path, &applied.worker.token).await;
        assert_eq!(answer.status(), 400, "{bad}");
        assert_eq!(problem(answer).await["code"], "invalid_query", "{bad}");
    }
}

#[tokio::test]
async fn read_marks_move_forward_and_unread_counts_follow() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let (employer, worker) = (&applied.employer, &applied.worker);
    let room = room_of(&app, &applied).await;
    let mut employer_ws = socket(&app, employer).await;
    for n in 1..=3 {
        json_of(
            send(&app, employer, &room, "확인 부탁드려요", &format!("c{n}")).await,
            201,
        )
        .await;
        next_frame(&mut employer_ws).await;
    }
    json_of(send(&app, worker, &room, "네", "w1").await, 201).await;
    next_frame(&mut employer_ws).await;
    let unread = |listed: Value| listed["items"][0]["unreadCount"].clone();
    assert_eq!(
        unread(rooms(&app, worker).await),
        3,
        "the worker's own message is not unread"
    );
    assert_eq!(unread(rooms(&app, employer).await), 1);

    let read_path = format!("/chat/rooms/{room}/read");
    let mark = async |seq: u64| app.put_json_as(&read_path, &worker.token, &json!({ "seq": seq })).await;
    assert_eq!(mark(2).await.status(), 204);
    assert_eq!(unread(rooms(&app, worker).await), 1);
    let told = next_frame(&mut employer_ws).await;
    assert_eq!(
        told,
        json!({ "type": "read", "roomId": room, "userId": worker.id, "seq": 2 })
    );

    assert_eq!(mark(1).await.status(), 204, "an older mark is no error...");
    assert_eq!(unread(rooms(&app, worker).await), 1, "...and changes nothing");
    assert_quiet(&mut employer_ws).await;
    assert_eq!(mark(4).await.status(), 204);
    assert_eq!(unread(rooms(&app, worker).await), 0);
    assert_eq!(next_frame(&mut employer_ws).await["seq"], 4);
    for bad in [0, 5] {
        let answer = mark(bad).await;
        assert_eq!(answer.status(), 422, "seq {bad}");
        assert!(problem(answer).await["errors"]["seq"].is_array());
    }

    // Over the socket, the reader's other devices hear of it too.
    let mut employer_phone = socket(&app, employer).await;
    let mut worker_ws = socket(&app, worker).await;
    send_frame(&mut employer_ws, json!({ "type": "read", "roomId": room, "seq": 4 })).await;
    let expected = json!({ "type": "read", "roomId": room, "userId": employer.id, "seq": 4 });
    assert_eq!(next_frame(&mut worker_ws).await, expected);
    assert_eq!(next_frame(&mut employer_phone).await, expected);
    assert_quiet(&mut employer_ws).await;
    assert_eq!(unread(rooms(&app, employer).await), 0);
}

#[tokio::test]
async fn messages_reach_every_device_of_both_participants() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let mut phone = socket(&app, &applied.worker).await;
    let mut laptop = socket(&app, &applied.worker).await;
    let mut employer_ws = socket(&app, &applied.employer).await;

    send_frame(
        &mut phone,
        json!({ "type": "send", "roomId": room, "text": "  5분 늦어요  ", "clientMsgId": "late" }),
    )
    .await;
    let ack = next_frame(&mut phone).await;
    assert_eq!(ack["type"], "ack");
    let message = &ack["message"];
    assert_eq!(
        (message["text"].as_str(), message["seq"].as_u64()),
        (Some("5분 늦어요"), Some(1))
    );
    assert_eq!(message["senderId"], applied.worker.id.as_str());
    assert_eq!(message["roomId"], room.as_str());
    let expected = json!({ "type": "message", "message": message });
    assert_eq!(next_frame(&mut laptop).await, expected, "the sender's other device");
    assert_eq!(next_frame(&mut employer_ws).await, expected);
    assert_quiet(&mut phone).await;

    // Typing goes to the other participant only, and is never stored.
    send_frame(&mut laptop, json!({ "type": "typing", "roomId": room })).await;
    let typing = next_frame(&mut employer_ws).await;
    assert_eq!(
        typing,
        json!({ "type": "typing", "roomId": room, "userId": applied.worker.id })
    );
    assert_quiet(&mut phone).await;
    assert_eq!(seqs(&history(&app, &applied.employer, &room, "").await), [1]);
}

#[tokio::test]
async fn bad_frames_are_answered_with_errors_and_the_socket_stays_open() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let stranger = app.signup("employer").await;
    let mut ws = socket(&app, &applied.worker).await;

    let mut error_after = async |frame: Frame| {
        ws.send(frame).await.unwrap();
        let answer = next_frame(&mut ws).await;
        assert_eq!(answer["type"], "error", "{answer}");
        assert!(answer["detail"].is_string());
        answer
    };
    assert_eq!(error_after(Frame::text("not json")).await["code"], "bad_frame");
    assert_eq!(
        error_after(Frame::text(r#"{"type":"shout"}"#)).await["code"],
        "bad_frame"
    );
    assert_eq!(error_after(Frame::binary(vec![1, 2, 3])).await["code"], "bad_frame");
    let no_room = json!({ "type": "send", "roomId": "nope", "text": "hi", "clientMsgId": "c1" });
    let answer = error_after(Frame::text(no_room.to_string())).await;
    assert_eq!(
        (answer["code"].as_str(), answer["clientMsgId"].as_str()),
        (Some("not_participant"), Some("c1"))
    );
    let empty = json!({ "type": "send", "roomId": room, "text": "   ", "clientMsgId": "c2" });
    let answer = error_after(Frame::text(empty.to_string())).await;
    assert_eq!(
        (answer["code"].as_str(), answer["clientMsgId"].as_str()),
        (Some("invalid_text"), Some("c2"))
    );
    let long = json!({ "type": "send", "roomId": room, "text": "가".repeat(2001), "clientMsgId": "c3" });
    assert_eq!(error_after(Frame::text(long.to_string())).await["code"], "invalid_text");
    let bad_id = json!({ "type": "send", "roomId": room, "text": "hi", "clientMsgId": "x".repeat(65) });
    assert_eq!(error_after(Frame::text(bad_id.to_string())).await["code"], "bad_frame");
    let typing = json!({ "type": "typing", "roomId": room.clone() + "x" });
    assert_eq!(
        error_after(Frame::text(typing.to_string())).await["code"],
        "not_participant"
    );
    let read = json!({ "type": "read", "roomId": room, "seq": 7 });
    assert_eq!(error_after(Frame::text(read.to_string())).await["code"], "bad_frame");

    send_frame(&mut ws, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut ws).await, json!({ "type": "pong" }));
    let fine = json!({ "type": "send", "roomId": room, "text": "2000자까지", "clientMsgId": "c4" });
    send_frame(&mut ws, fine).await;
    assert_eq!(
        next_frame(&mut ws).await["message"]["seq"],
        1,
        "nothing invalid was stored"
    );

    // The stranger's socket is refused the room as well.
    let mut outsider = socket(&app, &stranger).await;
    send_frame(&mut outsider, json!({ "type": "read", "roomId": room, "seq": 1 })).await;
    assert_eq!(next_frame(&mut outsider).await["code"], "not_participant");
}

#[tokio::test]
async fn the_socket_refuses_a_bad_or_missing_token_before_the_upgrade() {
    use tokio_tungstenite::tungstenite::Error;
    let app = spawn_chat_app().await;
    for token in [None, Some("not-a-jwt")] {
        match app.websocket("/chat/socket", token).await {
            Err(Error::Http(answer)) => assert_eq!(answer.status(), 401, "{token:?}"),
            other => panic!("expected 401 for {token:?}, got {:?}", other.map(|_| "a socket")),
        }
    }
}

#[tokio::test]
async fn sends_are_limited_per_user_over_rest_and_socket_together() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let sends = (0..80).map(|n| {
        let (app, worker, room) = (&app, &applied.worker, &room);
        async move { send(app, worker, room, "빨리빨리", &format!("c{n}")).await }
    });
    let answers = join_all(sends).await;
    let accepted = answers.iter().filter(|a| a.status() == 201).count();
    // A burst of 50, plus what refilled at 20 a second while the burst was being stored.
    assert!((50..80).contains(&accepted), "{accepted} of 80 accepted");
    let limited = answers
        .into_iter()
        .find(|a| a.status() == 429)
        .expect("some were limited");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(problem(limited).await["code"], "rate_limited");

    // The socket draws on the same bucket: exhaust it and the frame is refused.
    let mut ws = socket(&app, &applied.worker).await;
    let mut code = None;
    for n in 0..60 {
        let frame = json!({ "type": "send", "roomId": room, "text": "또", "clientMsgId": format!("ws{n}") });
        send_frame(&mut ws, frame).await;
        let answer = next_frame(&mut ws).await;
        if answer["type"] == "error" {
            assert_eq!(answer["clientMsgId"], format!("ws{n}"));
            code = Some(answer["code"].clone());
            break;
        }
    }
    assert_eq!(code, Some(json!("rate_limited")));
    // The other participant's bucket is untouched.
    assert_eq!(
        send(&app, &applied.employer, &room, "천천히요", "e1").await.status(),
        201
    );
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_closed_with_1013_and_delays_nobody() {
    let app =
        spawn_chat_app_with(json!({ "send_queue_frames": 4, "send_per_second": 100000, "send_burst": 100000 })).await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    let mut slow = socket(&app, &applied.employer).await;
    let mut fast = socket(&app, &applied.employer).await;
    let mut sender = socket(&app, &applied.worker).await;

    let slow_closed = async || {
        let health: Value = app.get("/health").await.json().await.unwrap();
        health["services"]["chat"]["slowClientsClosed"].as_u64().unwrap()
    };
    let text = "느".repeat(2000);
    let mut sent = 0u64;
    while slow_closed().await == 0 {
        assert!(sent < 5000, "the reader that never reads was never closed");
        for _ in 0..20 {
            sent += 1;
            let frame = json!({ "type": "send", "roomId": room, "text": text, "clientMsgId": format!("c{sent}") });
            send_frame(&mut sender, frame).await;
            assert_eq!(next_frame(&mut sender).await["type"], "ack");
            let delivered = next_frame(&mut fast).await;
            assert_eq!(delivered["message"]["seq"], sent, "the fast reader keeps up, in order");
        }
    }

    // The slow reader gets what was already on its way, then the close.
    let close = loop {
        match tokio::time::timeout(FRAME_WAIT, slow.next())
            .await
            .expect("the close in time")
        {
            Some(Ok(Frame::Close(close))) => break close,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.expect("a close code").code, CloseCode::Again);
    // Everything stayed stored, for the reconnected client to read over REST.
    let newest = history(&app, &applied.employer, &room, "?limit=1").await;
    assert_eq!(seqs(&newest), [sent]);
}

#[tokio::test]
async fn the_server_pings_and_closes_a_silent_socket() {
    let app = spawn_chat_app_with(json!({ "ping_interval_seconds": 1, "idle_timeout_seconds": 2 })).await;
    let account = app.signup("worker").await;
    // Not read from, this client answers no pings: to the server it is silent.
    let mut silent = socket(&app, &account).await;
    let connections = async || {
        let health: Value = app.get("/health").await.json().await.unwrap();
        health["services"]["chat"]["connections"].as_u64().unwrap()
    };
    assert_eq!(connections().await, 1);
    until_none_left(
        "the silent socket was never closed",
        Duration::from_secs(10),
        connections,
    )
    .await;
    let (pings, close) = pings_until_close(&mut silent, FRAME_WAIT).await;
    assert!(pings >= 1, "the server pinged before giving up");
    assert_eq!(close, Some(CloseCode::Normal));
}

#[tokio::test]
async fn rooms_messages_and_read_marks_survive_a_restart() {
    let app = spawn_chat_app().await;
    let applied = applied(&app).await;
    let room = room_of(&app, &applied).await;
    for n in 1..=3 {
        json_of(
            send(&app, &applied.employer, &room, &format!("{n}"), &format!("c{n}")).await,
            201,
        )
        .await;
    }
    let read = app
        .put_json_as(
            &format!("/chat/rooms/{room}/read"),
            &applied.worker.token,
            &json!({ "seq": 2 }),
        )
        .await;
    assert_eq!(read.status(), 204);
    let listed = rooms(&app, &applied.worker).await;
    let stored = history(&app, &applied.worker, &room, "").await;
    let _open_socket = socket(&app, &applied.worker).await;

    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;

    assert_eq!(rooms(&app, &applied.worker).await, listed);
    assert_eq!(listed["items"][0]["unreadCount"], 1);
    assert_eq!(history(&app, &applied.worker, &room, "").await, stored);
    let resent = json_of(send(&app, &applied.employer, &room, "다시", "c3").await, 200).await;
    assert_eq!(resent["seq"], 3, "resends are still recognised");
    let next = json_of(send(&app, &applied.employer, &room, "4", "c4").await, 201).await;
    assert_eq!(next["seq"], 4, "seq goes on where it was");
}

#[tokio::test]
async fn rooms_list_by_latest_activity_with_unread_counts_and_paging() {
    let app = spawn_chat_app().await;
    let employer = app.signup("employer").await;
    let job_id = post_job(&app, &employer).await;
    let mut workers = Vec::new();
    let mut room_ids = Vec::new();
    for _ in 0..3 {
        let worker = app.signup("worker").await;
        apply(&app, &worker, &job_id).await;
        let opened = open_room(&app, &employer, &job_id, &worker.id).await;
        room_ids.push(id_of(&json_of(opened, 201).await));
        workers.push(worker);
    }
    let listed_ids = |page: &Value| page["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>();
    let listed = rooms(&app, &employer).await;
    assert_eq!(
        listed_ids(&listed),
        [room_ids[2].clone(), room_ids[1].clone(), room_ids[0].clone()]
    );

    let message = json_of(send(&app, &workers[0], &room_ids[0], "저 먼저요", "w").await, 201).await;
    let listed = rooms(&app, &employer).await;
    assert_eq!(listed_ids(&listed)[0], room_ids[0], "the active room comes first");
    assert_eq!(listed["items"][0]["lastMessage"], message);
    assert_eq!(listed["items"][0]["unreadCount"], 1);

    let first = json_of(app.get_as("/chat/rooms?limit=2", &employer.token).await, 200).await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = json_of(
        app.get_as(&format!("/chat/rooms?limit=2&cursor={cursor}"), &employer.token)
            .await,
        200,
    )
    .await;
    assert_eq!(listed_ids(&rest), [room_ids[1].clone()]);
    assert_eq!(rest["nextCursor"], Value::Null);
}

#[tokio::test]
async fn the_openapi_document_covers_every_chat_endpoint() {
    let app = spawn_chat_app().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = &spec["paths"];
    for (path, method) in [
        ("/chat/rooms", "post"),
        ("/chat/rooms", "get"),
        ("/chat/rooms/{id}/messages", "get"),
        ("/chat/rooms/{id}/messages", "post"),
        ("/chat/rooms/{id}/read", "put"),
        ("/chat/socket", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} is documented");
    }
    let schemas = &spec["components"]["schemas"];
    for schema in ["RoomView", "MessageView", "ClientFrame", "ServerFrame"] {
        assert!(schemas[schema].is_object(), "{schema} is documented");
    }
}
