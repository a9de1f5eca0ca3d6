//! The notification service over real HTTP and WebSocket: each kind reaches the right users
//! in-app, on their sockets and by mail; lists, unread counts, reads and announcements;
//! preferences and quiet hours; several sockets per user; a restart; and the real SMS (Solapi)
//! and push (FCM) clients against local fakes.

use std::path::Path;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    Account, TestApp, WebSocket, mail_dir, pings_until_close, problem, spawn_app_with, start, until_none_left,
};

async fn spawn_notification_app() -> TestApp {
    spawn_app_with(|c| c.gateway.rate_limit.enabled = false).await
}

const PATIENCE: Duration = Duration::from_secs(10);

/// The next JSON frame of `socket` (pings and pongs of the protocol are skipped).
async fn next_frame(socket: &mut WebSocket) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .expect("a readable frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("a JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next `notification` frame of `kind`, skipping others (a welcome may still be on its way).
async fn next_notification(socket: &mut WebSocket, kind: &str) -> Value {
    loop {
        let frame = next_frame(socket).await;
        if frame["type"] == "notification" && frame["notification"]["kind"] == kind {
            return frame["notification"].clone();
        }
    }
}

async fn open_socket(app: &TestApp, token: &str) -> WebSocket {
    let mut socket = app
        .websocket("/notifications/socket", Some(token))
        .await
        .expect("the socket opens");
    let first = next_frame(&mut socket).await;
    assert_eq!(first["type"], "unread", "the count comes first: {first}");
    socket
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get_as(&format!("/notifications{query}"), token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `token`'s notifications of `kind`, waiting up to 10 s for `count` of them.
async fn wait_for(app: &TestApp, token: &str, kind: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let page = list(app, token, "?limit=100").await;
        let found: Vec<Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == kind)
            .cloned()
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {kind} notification: {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The subjects of the mails to `address` in the `.eml` files of `dir`.
fn subjects_to(dir: &Path, address: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|raw| {
            let message = mail_parser::MessageParser::default().parse(raw.as_slice())?;
            let to = message.to()?.first()?.address()?.to_owned();
            (to == address).then(|| message.subject().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Waits up to 10 s for a mail to `address` with `subject`; returns how many there are.
async fn mailed(app: &TestApp, address: &str, subject: &str) -> usize {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let count = subjects_to(&mail_dir(app), address)
            .iter()
            .filter(|s| s.as_str() == subject)
            .count();
        if count > 0 {
            return count;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail '{subject}' to {address}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Mails an announcement to `account` and waits for it: mail goes out in the order it was
/// queued, so once it is on disk, any mail queued before it (a duplicate included) is too.
async fn mail_barrier(app: &TestApp, account: &Account) {
    assert_eq!(announce(app, &[account], json!(["inapp", "email"])).await.status(), 202);
    mailed(app, &account.email, "[원데이] 서비스 점검 안내").await;
}

fn at(offset: time::Duration) -> String {
    (OffsetDateTime::now_utc() + offset).format(&Rfc3339).unwrap()
}

async fn post_job(app: &TestApp, employer: &Account) -> String {
    let body = json!({
        "title": "주말 카페 바리스타",
        "description": "에스프레소 머신 경험자 우대",
        "category": "food-cafe",
        "wage": { "type": "hourly", "amount": 12_000 },
        "location": { "address": "서울 마포구 양화로 45", "lat": 37.5563, "lng": 126.9236 },
        "startsAt": at(time::Duration::hours(24)),
        "endsAt": at(time::Duration::hours(32)),
        "headcount": 2,
    });
    let response = app.post_json_as("/jobs", &employer.token, &body).await;
    assert_eq!(response.status(), 201);
    let job: Value = response.json().await.unwrap();
    job["id"].as_str().unwrap().to_owned()
}

async fn apply(app: &TestApp, worker: &Account, job: &str) -> String {
    let response = app
        .post_json_as(&format!("/jobs/{job}/apply"), &worker.token, &json!({}))
        .await;
    assert_eq!(response.status(), 201);
    let application: Value = response.json().await.unwrap();
    application["id"].as_str().unwrap().to_owned()
}

async fn decide(app: &TestApp, employer: &Account, job: &str, application: &str, status: &str) {
    let path = format!("/jobs/{job}/applications/{application}");
    let response = app
        .put_json_as(&path, &employer.token, &json!({ "status": status }))
        .await;
    assert_eq!(response.status(), 200, "{status}");
}

async fn announce(app: &TestApp, to: &[&Account], channels: Value) -> reqwest::Response {
    let admin = app.admin().await.token;
    let ids: Vec<&str> = to.iter().map(|a| a.id.as_str()).collect();
    app.post_json_as(
        "/notifications/send",
        &admin,
        &json!({ "userIds": ids, "title": "서비스 점검 안내", "body": "오늘 밤 2시부터 점검합니다.", "channels": channels }),
    )
    .await
}

#[tokio::test]
async fn job_events_reach_the_employer_and_the_worker_in_app_on_sockets_and_by_mail() {
    let app = spawn_notification_app().await;
    let (employer, worker, bystander) = (
        app.signup("employer").await,
        app.signup("worker").await,
        app.signup("worker").await,
    );
    let mut worker_socket = open_socket(&app, &worker.token).await;

    let job = post_job(&app, &employer).await;
    let application = apply(&app, &worker, &job).await;
    let submitted = wait_for(&app, &employer.token, "application.submitted", 1).await;
    assert_eq!(submitted[0]["data"]["jobId"], job.as_str());
    assert_eq!(submitted[0]["data"]["applicationId"], application.as_str());
    assert_eq!(submitted[0]["read"], false);
    assert!(submitted[0]["body"].as_str().unwrap().contains("주말 카페 바리스타"));
    assert_eq!(mailed(&app, &employer.email, "[원데이] 새 지원자가 있습니다").await, 1);

    decide(&app, &employer, &job, &application, "accepted").await;
    let accepted = next_notification(&mut worker_socket, "application.accepted").await;
    assert_eq!(accepted["title"], "채용이 확정되었습니다");
    assert_eq!(accepted["data"]["applicationId"], application.as_str());
    let count = next_frame(&mut worker_socket).await;
    assert_eq!(count["type"], "unread", "the count follows the notification");
    let listed = list(&app, &worker.token, "").await;
    assert_eq!(count["count"], listed["unreadCount"]);
    assert_eq!(mailed(&app, &worker.email, "[원데이] 채용이 확정되었습니다").await, 1);

    let cancelled = app.delete_as(&format!("/jobs/{job}"), &employer.token).await;
    assert_eq!(cancelled.status(), 204);
    let cancellation = next_notification(&mut worker_socket, "job.cancelled").await;
    assert_eq!(cancellation["data"]["jobId"], job.as_str());

    // Nobody else heard of any of it; the employer got nothing meant for the worker.
    let others = list(&app, &bystander.token, "").await;
    let kinds: Vec<&Value> = others["items"].as_array().unwrap().iter().map(|n| &n["kind"]).collect();
    assert!(kinds.iter().all(|k| *k == "welcome"), "{kinds:?}");
    let employer_list = list(&app, &employer.token, "?limit=100").await;
    let employer_kinds: Vec<&Value> = employer_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["kind"])
        .collect();
    assert!(
        !employer_kinds.contains(&&json!("application.accepted")),
        "{employer_kinds:?}"
    );
}

#[tokio::test]
async fn a_rejection_reaches_the_worker_only() {
    let app = spawn_notification_app().await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let job = post_job(&app, &employer).await;
    let application = apply(&app, &worker, &job).await;
    decide(&app, &employer, &job, &application, "rejected").await;
    let rejected = wait_for(&app, &worker.token, "application.rejected", 1).await;
    assert_eq!(rejected[0]["title"], "지원 결과 안내");
    assert_eq!(rejected[0]["data"]["jobId"], job.as_str());
}

#[tokio::test]
async fn verifying_an_address_welcomes_once_also_across_a_restart() {
    let app = spawn_notification_app().await;
    let worker = app.signup("worker").await;
    let welcome = wait_for(&app, &worker.token, "welcome", 1).await;
    assert_eq!(welcome[0]["title"], "원데이에 오신 것을 환영합니다");
    let subject = "[원데이] 김원데님, 환영합니다!";
    assert_eq!(mailed(&app, &worker.email, subject).await, 1);

    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;
    let token = worker.token.clone();
    // The restarted platform has replayed its backlog (it is ready): nothing was made again.
    mail_barrier(&app, &worker).await;
    assert_eq!(wait_for(&app, &token, "welcome", 1).await.len(), 1);
    assert_eq!(mailed(&app, &worker.email, subject).await, 1, "no second welcome mail");
}

#[tokio::test]
async fn lists_page_count_unread_and_mark_read() {
    let app = spawn_notification_app().await;
    let (worker, other) = (app.signup("worker").await, app.signup("worker").await);
    wait_for(&app, &worker.token, "welcome", 1).await;
    for _ in 0..3 {
        assert_eq!(announce(&app, &[&worker], json!(["inapp"])).await.status(), 202);
    }
    let page = list(&app, &worker.token, "?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["unreadCount"], 4);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = list(&app, &worker.token, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest["nextCursor"], Value::Null);
    assert_eq!(
        rest["items"][1]["kind"], "welcome",
        "newest first: the welcome is the oldest"
    );

    let first = page["items"][0]["id"].as_str().unwrap().to_owned();
    let theirs = app
        .put_json_as(&format!("/notifications/{first}/read"), &other.token, &json!({}))
        .await;
    assert_eq!(problem(theirs).await["status"], 404, "another user's is not found");
    let read = app
        .put_json_as(&format!("/notifications/{first}/read"), &worker.token, &json!({}))
        .await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<Value>().await.unwrap()["read"], true);

    let unread = list(&app, &worker.token, "?unreadOnly=true").await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 3);
    assert!(
        unread["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != first.as_str())
    );
    assert_eq!(unread["unreadCount"], 3);

    let mut socket = open_socket(&app, &worker.token).await;
    let all = app
        .put_json_as("/notifications/read-all", &worker.token, &json!({}))
        .await;
    assert_eq!(all.status(), 204);
    assert_eq!(next_frame(&mut socket).await, json!({ "type": "unread", "count": 0 }));
    assert_eq!(list(&app, &worker.token, "").await["unreadCount"], 0);
    assert_eq!(
        list(&app, &other.token, "").await["unreadCount"],
        1,
        "the other's welcome"
    );

    let bad = app.get_as("/notifications?limit=0", &worker.token).await;
    assert_eq!(problem(bad).await["code"], "invalid_query");
    assert_eq!(app.get("/notifications").await.status(), 401);
}

#[tokio::test]
async fn admins_announce_to_the_named_users_on_the_channels_named() {
    let app = spawn_notification_app().await;
    let (a, b, c) = (
        app.signup("worker").await,
        app.signup("employer").await,
        app.signup("worker").await,
    );
    let response = announce(&app, &[&a, &b], json!(["inapp", "email"])).await;
    assert_eq!(response.status(), 202);
    let ids = response.json::<Value>().await.unwrap()["notificationIds"].clone();
    assert_eq!(ids.as_array().unwrap().len(), 2);
    for account in [&a, &b] {
        let got = wait_for(&app, &account.token, "announcement", 1).await;
        assert_eq!(got[0]["title"], "서비스 점검 안내");
        assert_eq!(mailed(&app, &account.email, "[원데이] 서비스 점검 안내").await, 1);
    }
    assert!(
        list(&app, &c.token, "").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "announcement")
    );

    let inapp_only = announce(&app, &[&c], json!(["inapp"])).await;
    assert_eq!(inapp_only.status(), 202);
    wait_for(&app, &c.token, "announcement", 1).await;
    assert!(
        subjects_to(&mail_dir(&app), &c.email)
            .iter()
            .all(|s| !s.contains("점검")),
        "no mail asked for"
    );

    let worker_tries = app
        .post_json_as(
            "/notifications/send",
            &a.token,
            &json!({ "userIds": [a.id], "title": "t", "body": "b", "channels": [] }),
        )
        .await;
    assert_eq!(problem(worker_tries).await["status"], 403);
    let admin = app.admin().await.token;
    let unknown = app
        .post_json_as(
            "/notifications/send",
            &admin,
            &json!({ "userIds": ["nobody"], "title": "t", "body": "b", "channels": ["inapp"] }),
        )
        .await;
    assert!(problem(unknown).await["errors"]["userIds"].is_array());
    let bad_channel = app
        .post_json_as(
            "/notifications/send",
            &admin,
            &json!({ "userIds": [a.id], "title": "t", "body": "b", "channels": ["fax"] }),
        )
        .await;
    assert_eq!(problem(bad_channel).await["status"], 422);
}

#[tokio::test]
async fn every_socket_of_a_user_hears_and_no_one_else_does() {
    let app = spawn_notification_app().await;
    let (a, b) = (app.signup("worker").await, app.signup("worker").await);
    wait_for(&app, &a.token, "welcome", 1).await;
    wait_for(&app, &b.token, "welcome", 1).await;
    let mut phone = open_socket(&app, &a.token).await;
    let mut laptop = open_socket(&app, &a.token).await;
    let mut theirs = open_socket(&app, &b.token).await;

    assert_eq!(announce(&app, &[&a], json!(["inapp"])).await.status(), 202);
    for socket in [&mut phone, &mut laptop] {
        let frame = next_frame(socket).await;
        assert_eq!(frame["type"], "notification");
        assert_eq!(frame["notification"]["kind"], "announcement");
        assert_eq!(next_frame(socket).await, json!({ "type": "unread", "count": 2 }));
    }
    // b's first frame is about b's own announcement, not a's.
    let admin = app.admin().await.token;
    let for_b = app
        .post_json_as(
            "/notifications/send",
            &admin,
            &json!({ "userIds": [b.id], "title": "b에게", "body": "안녕하세요", "channels": ["inapp"] }),
        )
        .await;
    assert_eq!(for_b.status(), 202);
    let frame = next_frame(&mut theirs).await;
    assert_eq!(frame["notification"]["title"], "b에게");

    phone.send(Message::Text(r#"{"type":"ping"}"#.into())).await.unwrap();
    assert_eq!(next_frame(&mut phone).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn sockets_refuse_bad_tokens_before_the_upgrade() {
    let app = spawn_notification_app().await;
    for token in [None, Some("not-a-jwt")] {
        match app.websocket("/notifications/socket", token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(answer)) => assert_eq!(answer.status(), 401),
            other => panic!("expected a 401 answer, got {:?}", other.map(|_| "a socket")),
        }
    }
}

#[tokio::test]
async fn the_openapi_document_covers_every_notification_endpoint() {
    let app = spawn_notification_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/notifications", "get"),
        ("/notifications/{id}/read", "put"),
        ("/notifications/read-all", "put"),
        ("/notifications/send", "post"),
        ("/notifications/preferences", "get"),
        ("/notifications/preferences", "put"),
        ("/notifications/devices", "post"),
        ("/notifications/devices/{token}", "delete"),
        ("/notifications/socket", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let socket = doc["paths"]["/notifications/socket"]["get"]["description"]
        .as_str()
        .unwrap();
    assert!(
        socket.contains(r#""type": "unread""#),
        "the frames are described: {socket}"
    );
}

/// `HH:MM` in Korea time, `offset` from now.
fn korean_clock(offset: time::Duration) -> String {
    let local = (OffsetDateTime::now_utc() + offset).to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    format!("{:02}:{:02}", local.hour(), local.minute())
}

#[tokio::test]
async fn preferences_start_from_the_defaults_and_change_the_channels() {
    let app = spawn_notification_app().await;
    let worker = app.signup("worker").await;
    let defaults: Value = app
        .get_as("/notifications/preferences", &worker.token)
        .await
        .json()
        .await
        .unwrap();
    let kinds = defaults["kinds"].as_object().unwrap();
    assert_eq!(kinds.len(), 11, "every kind: {defaults}");
    assert_eq!(
        kinds["application.accepted"],
        json!({ "email": true, "sms": true, "push": true })
    );
    assert_eq!(
        kinds["chat.message"],
        json!({ "email": false, "sms": false, "push": true })
    );
    assert_eq!(kinds["welcome"]["sms"], false);
    assert_eq!(defaults["quietHours"], Value::Null);

    let changed = app
        .put_json_as(
            "/notifications/preferences",
            &worker.token,
            &json!({ "kinds": { "announcement": { "email": false } }, "quietHours": { "start": "22:00", "end": "08:00" } }),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(
        changed["kinds"]["announcement"],
        json!({ "email": false, "sms": false, "push": true })
    );
    assert_eq!(changed["kinds"]["welcome"]["email"], true, "the rest stays");
    assert_eq!(changed["quietHours"], json!({ "start": "22:00", "end": "08:00" }));

    // Email for announcements is off now: an announcement offered by mail is not mailed.
    assert_eq!(
        announce(&app, &[&worker], json!(["inapp", "email"])).await.status(),
        202
    );
    wait_for(&app, &worker.token, "announcement", 1).await;
    assert!(
        subjects_to(&mail_dir(&app), &worker.email)
            .iter()
            .all(|s| !s.contains("점검"))
    );

    for bad in [
        json!({ "kinds": { "job.created": { "email": true } } }),
        json!({ "kinds": { "welcome": { "fax": true } } }),
        json!({ "quietHours": { "start": "25:00", "end": "08:00" } }),
    ] {
        let refused = app.put_json_as("/notifications/preferences", &worker.token, &bad).await;
        assert_eq!(problem(refused).await["code"], "validation_failed", "{bad}");
    }
    let off = app
        .put_json_as(
            "/notifications/preferences",
            &worker.token,
            &json!({ "quietHours": null }),
        )
        .await;
    assert_eq!(off.json::<Value>().await.unwrap()["quietHours"], Value::Null);
}

/// Sets `account`'s phone number through the user service.
async fn give_phone(app: &TestApp, account: &Account) {
    let response = app
        .put_json_as("/users/profile", &account.token, &json!({ "phone": "010-1234-5678" }))
        .await;
    assert_eq!(response.status(), 200);
}

/// The JSON files of the `file` SMS provider.
fn texts(app: &TestApp) -> Vec<Value> {
    std::fs::read_dir(app.data_dir.path().join("sms"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok())
        .collect()
}

#[tokio::test]
async fn quiet_hours_hold_sms_back_while_mail_goes_at_once() {
    let app = spawn_notification_app().await;
    let (employer, quiet, awake) = (
        app.signup("employer").await,
        app.signup("worker").await,
        app.signup("worker").await,
    );
    for worker in [&quiet, &awake] {
        give_phone(&app, worker).await;
    }
    // Quiet now, in Korea, for an hour either way.
    let quiet_hours = json!({ "quietHours": {
        "start": korean_clock(time::Duration::hours(-1)), "end": korean_clock(time::Duration::hours(1)) } });
    let set = app
        .put_json_as("/notifications/preferences", &quiet.token, &quiet_hours)
        .await;
    assert_eq!(set.status(), 200);

    let job = post_job(&app, &employer).await;
    for worker in [&quiet, &awake] {
        let application = apply(&app, worker, &job).await;
        decide(&app, &employer, &job, &application, "accepted").await;
    }
    for worker in [&quiet, &awake] {
        wait_for(&app, &worker.token, "application.accepted", 1).await;
        assert_eq!(mailed(&app, &worker.email, "[원데이] 채용이 확정되었습니다").await, 1);
    }
    // The awake worker's text is written; the quiet one's waits in the queue.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while texts(&app).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no SMS written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = texts(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["to"], "01012345678");
    // Over 90 EUC-KR bytes: an LMS, its title as the subject.
    assert_eq!(sent[0]["type"], "LMS");
    assert_eq!(sent[0]["subject"], "[원데이] 채용이 확정되었습니다");
    assert!(sent[0]["text"].as_str().unwrap().contains("주말 카페 바리스타"));
    // Its text waits in the queue, which /health shows once the sender has settled the other.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let health: Value = app.get("/health").await.json().await.unwrap();
        if health["services"]["notification"]["deliveryQueue"]["sms"]["depth"] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "one held text: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(texts(&app).len(), 1);
}

#[tokio::test]
async fn a_restart_loses_no_notification_and_sends_no_mail_twice() {
    let app = spawn_notification_app().await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    let job = post_job(&app, &employer).await;
    let application = apply(&app, &worker, &job).await;
    decide(&app, &employer, &job, &application, "accepted").await;
    // Stop at once: the notification may still be on the bus or in the mail queue.
    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;
    let token = worker.token.clone();
    let accepted = wait_for(&app, &token, "application.accepted", 1).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(mailed(&app, &worker.email, "[원데이] 채용이 확정되었습니다").await, 1);
    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;
    mail_barrier(&app, &worker).await;
    assert_eq!(wait_for(&app, &token, "application.accepted", 1).await.len(), 1);
    assert_eq!(mailed(&app, &worker.email, "[원데이] 채용이 확정되었습니다").await, 1);
}

/// A local stand-in for Solapi's messages API: it checks each request's HMAC-SHA256 signature
/// with the secret, refuses the first request with 503 to make the client retry, and keeps the
/// messages it accepted.
mod solapi {
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::{Json, Router};
    use hmac::{Hmac, Mac};
    use serde_json::{Value, json};
    use sha2::Sha256;

    pub const KEY: &str = "NCSTESTKEY";
    pub const SECRET: &str = "test-secret-of-solapi";

    #[derive(Clone, Default)]
    pub struct Fake {
        pub accepted: Arc<Mutex<Vec<Value>>>,
        pub refused: Arc<Mutex<Vec<String>>>,
        pub calls: Arc<Mutex<u32>>,
    }

    fn signed(headers: &HeaderMap) -> Result<(), String> {
        let header = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or("no Authorization")?;
        let fields = header.strip_prefix("HMAC-SHA256 ").ok_or("not HMAC-SHA256")?;
        let field = |name: &str| {
            fields
                .split(", ")
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .ok_or(format!("no {name}"))
        };
        if field("apiKey")? != KEY {
            return Err("wrong apiKey".into());
        }
        let (date, salt) = (field("date")?, field("salt")?);
        let date = time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("date: {e}"))?;
        if (time::OffsetDateTime::now_utc() - date).abs() > time::Duration::minutes(15) {
            return Err("stale date".into());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(field("date")?.as_bytes());
        mac.update(salt.as_bytes());
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        if field("signature")? != expected {
            return Err("bad signature".into());
        }
        Ok(())
    }

    async fn send(State(fake): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
        if let Err(why) = signed(&headers) {
            fake.refused.lock().unwrap().push(why.clone());
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "errorCode": "SignatureDoesNotMatch", "errorMessage": why })),
            );
        }
        let first = {
            let mut calls = fake.calls.lock().unwrap();
            *calls += 1;
            *calls == 1
        };
        if first {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "errorCode": "Unavailable" })),
            );
        }
        fake.accepted.lock().unwrap().push(body["message"].clone());
        (
            StatusCode::OK,
            Json(json!({ "groupId": "G1", "messageId": "M1", "statusCode": "2000", "statusMessage": "정상 접수" })),
        )
    }

    /// Starts the fake; returns its base URL.
    pub async fn start(fake: Fake) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/messages/v4/send", post(send)).with_state(fake);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
}

/// A local stand-in for Google's OAuth token endpoint and FCM's HTTP v1 send API: it checks the
/// assertion's RS256 signature with the service account's public key, wants the access token it
/// gave on every send, answers `UNREGISTERED` for a stale device and 429 with `Retry-After` the
/// first time a busy device is sent to.
mod fcm {
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Form, Json, Router};
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{Value, json};

    pub const PROJECT: &str = "oneday-test";
    pub const CLIENT_EMAIL: &str = "push@oneday-test.iam.gserviceaccount.com";
    const ACCESS_TOKEN: &str = "ya29.fake-access-token";

    #[derive(Clone)]
    pub struct Fake {
        pub public_key_der: Arc<Vec<u8>>,
        pub token_url: Arc<Mutex<String>>,
        pub tokens_issued: Arc<Mutex<u32>>,
        /// (device token, title) of every message accepted.
        pub delivered: Arc<Mutex<Vec<(String, String)>>>,
        pub busy_refused: Arc<Mutex<bool>>,
    }

    #[derive(serde::Deserialize)]
    struct Grant {
        grant_type: String,
        assertion: String,
    }

    #[derive(serde::Deserialize)]
    struct Assertion {
        scope: String,
    }

    async fn token(State(fake): State<Fake>, Form(grant): Form<Grant>) -> Response {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[fake.token_url.lock().unwrap().clone()]);
        validation.set_issuer(&[CLIENT_EMAIL]);
        let key = DecodingKey::from_rsa_der(&fake.public_key_der);
        let checked = jsonwebtoken::decode::<Assertion>(&grant.assertion, &key, &validation);
        match checked {
            Ok(data)
                if grant.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer"
                    && data.claims.scope == "https://www.googleapis.com/auth/firebase.messaging" =>
            {
                *fake.tokens_issued.lock().unwrap() += 1;
                Json(json!({ "access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer" }))
                    .into_response()
            }
            other => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "invalid_grant", "error_description": format!("{:?}", other.err()) })),
            )
                .into_response(),
        }
    }

    fn fcm_error(status: StatusCode, code: &str) -> Response {
        let body = json!({ "error": { "code": status.as_u16(), "status": code, "message": code,
            "details": [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code }] } });
        (status, Json(body)).into_response()
    }

    async fn send(State(fake): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {ACCESS_TOKEN}")) {
            return fcm_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        }
        let device = body["message"]["token"].as_str().unwrap_or_default().to_owned();
        match device.as_str() {
            "stale-device" => return fcm_error(StatusCode::NOT_FOUND, "UNREGISTERED"),
            "busy-device" if !std::mem::replace(&mut *fake.busy_refused.lock().unwrap(), true) => {
                let mut answer = fcm_error(StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED");
                answer.headers_mut().insert("retry-after", "1".parse().unwrap());
                return answer;
            }
            _ => {}
        }
        let title = body["message"]["notification"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        fake.delivered.lock().unwrap().push((device, title));
        Json(json!({ "name": format!("projects/{PROJECT}/messages/1") })).into_response()
    }

    /// Starts the fake; returns its base URL (the token endpoint is `{base}/token`).
    pub async fn start(fake: Fake) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *fake.token_url.lock().unwrap() = format!("{base}/token");
        let app = Router::new()
            .route("/token", post(token))
            .route(&format!("/v1/projects/{PROJECT}/messages:send"), post(send))
            .with_state(fake);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }
}

/// Polls `check` for up to 10 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sms_goes_through_solapi_signed_and_retried() {
    let fake = solapi::Fake::default();
    let base_url = solapi::start(fake.clone()).await;
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.set(
            "sms",
            json!({ "provider": "solapi", "from": "0212345678",
                "solapi": { "base_url": base_url, "api_key": solapi::KEY, "api_secret": solapi::SECRET } }),
        );
        c.set("notifications.retry_max_backoff_seconds", 1);
    })
    .await;
    let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
    give_phone(&app, &worker).await;
    let job = post_job(&app, &employer).await;
    let application = apply(&app, &worker, &job).await;
    decide(&app, &employer, &job, &application, "accepted").await;

    eventually("Solapi accepted the text", || !fake.accepted.lock().unwrap().is_empty()).await;
    let accepted = fake.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1, "sent once after the 503: {accepted:?}");
    assert_eq!(accepted[0]["to"], "01012345678");
    assert_eq!(accepted[0]["from"], "0212345678");
    assert_eq!(accepted[0]["type"], "LMS");
    assert_eq!(accepted[0]["subject"], "[원데이] 채용이 확정되었습니다");
    assert!(accepted[0]["text"].as_str().unwrap().contains("주말 카페 바리스타"));
    assert!(
        fake.refused.lock().unwrap().is_empty(),
        "every request was signed right"
    );
    assert_eq!(*fake.calls.lock().unwrap(), 2);

    // /metrics counts attempts per channel and outcome.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let counted = |result: &str| {
            metrics.contains(&format!(
                r#"onetime_notification_deliveries_total{{channel="sms",result="{result}"}}"#
            ))
        };
        if counted("retried") && counted("sent") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn push_goes_through_fcm_and_stale_devices_are_removed() {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let public_der = rsa::RsaPublicKey::from(&private).to_pkcs1_der().unwrap();
    let fake = fcm::Fake {
        public_key_der: std::sync::Arc::new(public_der.as_bytes().to_vec()),
        token_url: Default::default(),
        tokens_issued: Default::default(),
        delivered: Default::default(),
        busy_refused: Default::default(),
    };
    let base_url = fcm::start(fake.clone()).await;
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("service-account.json");
    let key = json!({
        "type": "service_account",
        "project_id": fcm::PROJECT,
        "private_key": private.to_pkcs8_pem(LineEnding::LF).unwrap().as_str(),
        "client_email": fcm::CLIENT_EMAIL,
        "token_uri": format!("{base_url}/token"),
    });
    std::fs::write(&key_file, key.to_string()).unwrap();
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.set(
            "push",
            json!({ "provider": "fcm", "fcm": { "service_account_file": key_file, "base_url": base_url } }),
        );
    })
    .await;
    let worker = app.signup("worker").await;
    for device in ["good-device", "stale-device", "busy-device"] {
        let body = json!({ "token": device, "platform": "android" });
        let registered = app.post_json_as("/notifications/devices", &worker.token, &body).await;
        assert_eq!(registered.status(), 201, "{device}");
    }
    let again = app
        .post_json_as(
            "/notifications/devices",
            &worker.token,
            &json!({ "token": "good-device", "platform": "android" }),
        )
        .await;
    assert_eq!(again.status(), 200, "registered already");

    assert_eq!(announce(&app, &[&worker], json!(["inapp", "push"])).await.status(), 202);
    eventually("the busy device got it after its Retry-After", || {
        fake.delivered
            .lock()
            .unwrap()
            .iter()
            .any(|(device, _)| device == "busy-device")
    })
    .await;
    // The welcome may reach the first device too, when the signup's notification is handled
    // after it was registered; only the announcement is counted.
    let delivered = fake.delivered.lock().unwrap().clone();
    let to = |device: &str| {
        delivered
            .iter()
            .filter(|(d, title)| d == device && title == "서비스 점검 안내")
            .count()
    };
    assert_eq!(
        (to("good-device"), to("busy-device"), to("stale-device")),
        (1, 1, 0),
        "{delivered:?}"
    );
    assert_eq!(*fake.tokens_issued.lock().unwrap(), 1, "the access token is cached");

    // FCM called the stale token UNREGISTERED: the device is gone.
    let stale = app
        .delete_as("/notifications/devices/stale-device", &worker.token)
        .await;
    assert_eq!(problem(stale).await["status"], 404);
    let good = app.delete_as("/notifications/devices/good-device", &worker.token).await;
    assert_eq!(good.status(), 204);
}

// ---- Every kind end to end; the mail queue in /health and /metrics (notify branch) ----

/// Every kind of API.md's table that the blocks above do not drive: the payment kinds through
/// the sandbox provider's real flow, and chat messages through the chat service, each to the
/// users it concerns and to no one else.
mod every_kind {
    use futures::SinkExt;
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    use super::{list, mail_barrier, mailed, next_frame, next_notification, open_socket, subjects_to, wait_for};
    use crate::helpers::{Account, TestApp, mail_dir, spawn_app_with};
    use crate::payment::{complete_and_settle, eventually, hire, json_of, paid_job, text, withdraw_body};

    /// Payouts take 50 ms instead of 2 s.
    async fn spawn_payments_app() -> TestApp {
        spawn_app_with(|c| {
            c.gateway.rate_limit.enabled = false;
            c.set("payments.sandbox_payout_delay_seconds", 1);
        })
        .await
    }

    /// `account`'s notification kinds, sorted.
    async fn kinds(app: &TestApp, account: &Account) -> Vec<String> {
        let page = list(app, &account.token, "?limit=100").await;
        let mut kinds: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds
    }

    /// A withdrawal of 10,000 won to `account_number`; answers its id.
    async fn withdraw(app: &TestApp, worker: &Account, account_number: &str) -> String {
        let body = withdraw_body(10_000, account_number);
        let accepted = json_of(app.post_json_as("/payments/withdraw", &worker.token, &body).await, 202).await;
        text(&accepted, "withdrawalId")
    }

    #[tokio::test]
    async fn payment_events_reach_the_employer_and_the_worker_they_concern() {
        let app = spawn_payments_app().await;
        let (employer, worker, bystander) = (
            app.signup("employer").await,
            app.signup("worker").await,
            app.signup("worker").await,
        );
        let mut employer_socket = open_socket(&app, &employer.token).await;
        let mut worker_socket = open_socket(&app, &worker.token).await;

        // payment.completed: the employer, on the socket, in the list and by mail.
        let (job_id, order) = paid_job(&app, &employer, 1).await;
        let order_id = text(&order, "orderId");
        let paid = next_notification(&mut employer_socket, "payment.completed").await;
        assert_eq!(paid["title"], "결제가 완료되었습니다");
        assert_eq!(paid["data"], json!({ "orderId": order_id, "jobId": job_id }));
        assert!(paid["body"].as_str().unwrap().contains("100,800원"), "{paid}");
        assert_eq!(mailed(&app, &employer.email, "[원데이] 결제가 완료되었습니다").await, 1);

        // settlement.created: the hired worker.
        hire(&app, &employer, &worker, &job_id).await;
        complete_and_settle(&app, &employer, &job_id, &order_id).await;
        let settled = next_notification(&mut worker_socket, "settlement.created").await;
        let settlements = json_of(app.get_as("/payments/settlements", &worker.token).await, 200).await;
        assert_eq!(
            settled["data"],
            json!({ "jobId": job_id, "settlementId": settlements["items"][0]["id"] })
        );
        assert!(settled["body"].as_str().unwrap().contains("95,140원"), "{settled}");
        assert_eq!(mailed(&app, &worker.email, "[원데이] 급여가 정산되었습니다").await, 1);

        // A cancelled payment has no kind in the table: nobody hears of it. Its event comes
        // before the withdrawals' on the payment lane, so once they are heard, it was handled.
        let (_, cancelled) = paid_job(&app, &employer, 1).await;
        let cancel = json!({ "orderId": cancelled["orderId"], "cancelReason": "일정 변경" });
        json_of(
            app.post_json_as("/payments/cancel", &employer.token, &cancel).await,
            200,
        )
        .await;

        // withdrawal.completed and .failed (an account ending in 0000): the worker.
        let completed = withdraw(&app, &worker, "110-123-456789").await;
        let heard = next_notification(&mut worker_socket, "withdrawal.completed").await;
        assert_eq!(heard["data"], json!({ "withdrawalId": completed }));
        assert!(heard["body"].as_str().unwrap().contains("10,000원"), "{heard}");
        let failed = withdraw(&app, &worker, "110-123-450000").await;
        let heard = next_notification(&mut worker_socket, "withdrawal.failed").await;
        assert_eq!(heard["data"], json!({ "withdrawalId": failed }));
        eventually(&app, "/payments/wallet", &worker.token, |w| w["balance"] == 85_140).await;
        for subject in ["[원데이] 출금이 완료되었습니다", "[원데이] 출금에 실패했습니다"] {
            assert_eq!(mailed(&app, &worker.email, subject).await, 1, "{subject}");
        }

        assert_eq!(
            kinds(&app, &employer).await,
            [
                "application.submitted",
                "payment.completed",
                "payment.completed",
                "welcome"
            ]
        );
        assert_eq!(
            kinds(&app, &worker).await,
            [
                "application.accepted",
                "settlement.created",
                "welcome",
                "withdrawal.completed",
                "withdrawal.failed"
            ]
        );
        assert_eq!(kinds(&app, &bystander).await, ["welcome"]);
        let employer_mail = subjects_to(&mail_dir(&app), &employer.email);
        assert!(
            employer_mail.iter().all(|s| !s.contains("정산") && !s.contains("출금")),
            "{employer_mail:?}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_job_tells_its_accepted_workers_and_no_one_else() {
        let app = super::spawn_notification_app().await;
        let (employer, hired, pending) = (
            app.signup("employer").await,
            app.signup("worker").await,
            app.signup("worker").await,
        );
        let job = super::post_job(&app, &employer).await;
        let application = super::apply(&app, &hired, &job).await;
        super::apply(&app, &pending, &job).await;
        super::decide(&app, &employer, &job, &application, "accepted").await;
        let deleted = app.delete_as(&format!("/jobs/{job}"), &employer.token).await;
        assert_eq!(deleted.status(), 204);

        let cancelled = wait_for(&app, &hired.token, "job.cancelled", 1).await;
        assert_eq!(cancelled[0]["data"], json!({ "jobId": job }));
        assert_eq!(mailed(&app, &hired.email, "[원데이] 근무가 취소되었습니다").await, 1);
        // The pending applicant is rejected for the cancellation instead; `job.deleted` made
        // the hired worker's notification, so it has been handled for everyone.
        let rejected = wait_for(&app, &pending.token, "application.rejected", 1).await;
        assert!(
            rejected[0]["body"].as_str().unwrap().contains("공고가 취소되어"),
            "{rejected:?}"
        );
        assert_eq!(kinds(&app, &pending).await, ["application.rejected", "welcome"]);
        assert_eq!(
            kinds(&app, &employer).await,
            ["application.submitted", "application.submitted", "welcome"]
        );
    }

    /// `sender` writes `text` to `room` over REST; answers the message.
    async fn say(app: &TestApp, sender: &Account, room: &str, text: &str, client_msg_id: &str) -> Value {
        let body = json!({ "text": text, "clientMsgId": client_msg_id });
        json_of(
            app.post_json_as(&format!("/chat/rooms/{room}/messages"), &sender.token, &body)
                .await,
            201,
        )
        .await
    }

    #[tokio::test]
    async fn a_chat_message_notifies_a_recipient_only_while_they_have_no_chat_socket_open() {
        let app = super::spawn_notification_app().await;
        let (employer, worker) = (app.signup("employer").await, app.signup("worker").await);
        let job_id = super::post_job(&app, &employer).await;
        super::apply(&app, &worker, &job_id).await;
        let opened = app
            .post_json_as(
                "/chat/rooms",
                &worker.token,
                &json!({ "jobId": job_id, "participantId": employer.id }),
            )
            .await;
        let room = text(&json_of(opened, 201).await, "id");

        // The employer is in the chat: a pong means the chat service counts the socket.
        let mut chat = app
            .websocket("/chat/socket", Some(&employer.token))
            .await
            .expect("the chat socket opens");
        chat.send(Message::Text(r#"{"type":"ping"}"#.into())).await.unwrap();
        assert_eq!(next_frame(&mut chat).await, json!({ "type": "pong" }));
        let mut worker_socket = open_socket(&app, &worker.token).await;

        say(&app, &worker, &room, "내일 몇 시까지 가면 될까요?", "w-1").await;
        let answer = say(&app, &employer, &room, "8시 50분까지 와 주세요.", "e-1").await;

        // The worker has no chat socket: notified, on the notification socket, without mail.
        let heard = next_notification(&mut worker_socket, "chat.message").await;
        assert_eq!(heard["title"], "새 메시지가 도착했습니다");
        assert_eq!(heard["body"], "8시 50분까지 와 주세요.");
        assert_eq!(
            heard["data"],
            json!({ "roomId": room, "jobId": job_id, "messageId": answer["id"] })
        );
        mail_barrier(&app, &worker).await;
        assert!(
            subjects_to(&mail_dir(&app), &worker.email)
                .iter()
                .all(|s| !s.contains("메시지")),
            "chat messages are not mailed by default"
        );

        // The worker's message came first on the chat lane, so it has been handled: the employer,
        // chatting, got no notification of it, and neither sender of their own message.
        assert_eq!(wait_for(&app, &worker.token, "chat.message", 1).await.len(), 1);
        let employer_kinds = kinds(&app, &employer).await;
        assert!(
            !employer_kinds.contains(&"chat.message".to_owned()),
            "{employer_kinds:?}"
        );
        drop(chat);
    }

    /// The notification service's `/health` entry for the email queue.
    async fn email_queue(app: &TestApp) -> Value {
        let health = json_of(app.get("/health").await, 200).await;
        health["services"]["notification"]["deliveryQueue"]["email"].clone()
    }

    /// Waits up to 10 s for `/metrics` to hold `line` (a metric with its labels).
    async fn metric_appears(app: &TestApp, line: &str) {
        let deadline = tokio::time::Instant::now() + super::PATIENCE;
        while !app.get("/metrics").await.text().await.unwrap().contains(line) {
            assert!(tokio::time::Instant::now() < deadline, "no {line} in /metrics");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits up to 10 s for the email queue's `/health` entry to satisfy `done`.
    async fn email_queue_until(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + super::PATIENCE;
        loop {
            let queue = email_queue(app).await;
            if done(&queue) {
                return queue;
            }
            assert!(tokio::time::Instant::now() < deadline, "email queue: {queue}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn the_mail_queue_shows_in_health_and_metrics_like_the_other_channels() {
        let app = spawn_app_with(|c| {
            c.gateway.rate_limit.enabled = false;
            c.set("mail.retry_max_backoff_seconds", 1);
        })
        .await;
        let worker = app.signup("worker").await;
        mailed(&app, &worker.email, "[원데이] 김원데님, 환영합니다!").await;
        let idle = email_queue_until(&app, |q| q["depth"] == 0).await;
        assert_eq!(idle, json!({ "depth": 0, "oldestWaitingSeconds": 0.0 }));
        metric_appears(
            &app,
            r#"onetime_notification_deliveries_total{channel="email",result="sent"}"#,
        )
        .await;

        // The mail directory becomes a file: the `file` transport fails, the mail waits.
        let dir = mail_dir(&app);
        let away = dir.with_extension("away");
        std::fs::rename(&dir, &away).unwrap();
        std::fs::write(&dir, "not a directory").unwrap();
        let announced = super::announce(&app, &[&worker], json!(["inapp", "email"])).await;
        assert_eq!(announced.status(), 202);
        let waiting = email_queue_until(&app, |q| q["depth"] == 1).await;
        assert!(waiting["oldestWaitingSeconds"].as_f64().unwrap() >= 0.0, "{waiting}");
        metric_appears(
            &app,
            r#"onetime_notification_deliveries_total{channel="email",result="retried"}"#,
        )
        .await;
        metric_appears(&app, r#"onetime_notification_queue_depth{channel="email"}"#).await;

        // Back in order: the retry delivers it and the queue empties.
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&away, &dir).unwrap();
        assert_eq!(mailed(&app, &worker.email, "[원데이] 서비스 점검 안내").await, 1);
        email_queue_until(&app, |q| q["depth"] == 0).await;
    }
}

// ---- The socket's limits: a reader that falls behind, a silent client (sockets branch) ----

mod socket_limits {
    use tokio_tungstenite::MaybeTlsStream;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    /// An app with the `[notifications]` socket keys of `sockets` over the defaults.
    async fn spawn_app_with_sockets(sockets: Value) -> TestApp {
        spawn_app_with(|c| {
            c.gateway.rate_limit.enabled = false;
            for (key, value) in sockets.as_object().unwrap() {
                c.set(&format!("notifications.{key}"), value);
            }
        })
        .await
    }

    /// Open notification sockets, as `/health` counts them.
    async fn open_sockets(app: &TestApp) -> u64 {
        let health: Value = app.get("/health").await.json().await.unwrap();
        health["services"]["notification"]["sockets"].as_u64().unwrap()
    }

    /// A socket through a 4 KiB receive buffer, so that a client that stops reading holds up
    /// the server after kilobytes rather than after the megabytes of kernel buffers loopback
    /// grows to.
    async fn small_buffered_socket(app: &TestApp, token: &str) -> WebSocket {
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(app.addr).await.unwrap();
        let url = format!("ws://{}/notifications/socket?token={token}", app.addr);
        let (socket, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("the socket opens");
        socket
    }

    /// Reads `socket` until the server's close frame; skips everything before it.
    async fn close_code(socket: &mut WebSocket) -> CloseCode {
        loop {
            match tokio::time::timeout(PATIENCE, socket.next())
                .await
                .expect("the close in time")
            {
                Some(Ok(Message::Close(close))) => return close.expect("a close code").code,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_socket_that_falls_behind_is_closed_with_1013_and_delays_nobody() {
        let app = spawn_app_with_sockets(json!({ "socket_send_queue": 4 })).await;
        let (reader, admin) = (app.signup("worker").await, app.admin().await.token);
        wait_for(&app, &reader.token, "welcome", 1).await;
        let mut slow = small_buffered_socket(&app, &reader.token).await;
        let mut fast = open_socket(&app, &reader.token).await;
        assert_eq!(open_sockets(&app).await, 2);

        let body = "느".repeat(1000);
        let mut sent = 0;
        while open_sockets(&app).await == 2 {
            assert!(sent < 2000, "the socket that never reads was never closed");
            sent += 1;
            let title = format!("공지 {sent}");
            let announced = app
                .post_json_as(
                    "/notifications/send",
                    &admin,
                    &json!({ "userIds": [reader.id], "title": title, "body": body, "channels": ["inapp"] }),
                )
                .await;
            assert_eq!(announced.status(), 202);
            let frame = next_notification(&mut fast, "announcement").await;
            assert_eq!(
                frame["title"], title,
                "the reader that keeps up gets every one, in order"
            );
        }
        // The one that kept up stays open and still hears.
        assert_eq!(open_sockets(&app).await, 1);
        assert_eq!(announce(&app, &[&reader], json!(["inapp"])).await.status(), 202);
        assert_eq!(
            next_notification(&mut fast, "announcement").await["title"],
            "서비스 점검 안내"
        );

        assert_eq!(close_code(&mut slow).await, CloseCode::Again, "1013: try again later");
        // Nothing was lost: the list has every one, for the reconnected client to catch up.
        let listed = list(&app, &reader.token, "?limit=1").await;
        assert_eq!(
            listed["unreadCount"],
            sent + 2,
            "the welcome, {sent} announcements and the last one"
        );
    }

    #[tokio::test]
    async fn the_server_pings_and_closes_a_silent_socket() {
        let app =
            spawn_app_with_sockets(json!({ "socket_ping_interval_seconds": 1, "socket_idle_timeout_seconds": 2 }))
                .await;
        let account = app.signup("worker").await;
        // Not read from, this client answers no pings: to the server it is silent.
        let mut silent = app
            .websocket("/notifications/socket", Some(&account.token))
            .await
            .expect("the socket opens");
        assert_eq!(open_sockets(&app).await, 1);
        until_none_left("the silent socket was never closed", PATIENCE, async || {
            open_sockets(&app).await
        })
        .await;
        let (pings, close) = pings_until_close(&mut silent, PATIENCE).await;
        assert!(pings >= 1, "the server pinged before giving up");
        assert_eq!(
            close,
            Some(CloseCode::Policy),
            "1008, as the socket's documentation says"
        );
    }
}
