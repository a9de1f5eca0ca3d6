//! The holes of the security review (issue 15), each shown closed from outside: slow and
//! silent connections, metric labels, file modes, revoked sessions, reset mail, request ids,
//! security headers, tokens of gone accounts, lockout by strangers.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use onetime_common::auth::{Claims, JwtKeys, Role};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{
    ACCOUNT_PASSWORD, TestApp, link_token, mail_dir, problem, spawn_app, spawn_app_with, spawn_tls_app,
};
use crate::process::{Server, onetime, run, text};

#[tokio::test]
async fn invented_methods_share_one_metric_label() {
    let app = spawn_app().await;
    let invent = |n: usize| format!("{}{n}", "X".repeat(4096));
    let send = |method: String| {
        let request = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url("/health"));
        async move { request.send().await.unwrap().status() }
    };
    // The first invented method may add the `other` series; later ones must add nothing.
    send(invent(0)).await;
    let before = app.get("/metrics").await.text().await.unwrap();
    for n in 1..=20 {
        assert_eq!(send(invent(n)).await, 405);
    }
    let after = app.get("/metrics").await.text().await.unwrap();
    assert!(!after.contains("XXXX"), "no label takes a method as sent");
    assert!(
        after
            .lines()
            .any(|line| line.contains(r#"method="other""#) && line.contains(r#"status="405""#)),
        "invented methods are `other`"
    );
    // Other tests share the process's recorder and may add a few series meanwhile; twenty new
    // series of 4 KiB labels would add well over a megabyte.
    let grown = after.len().saturating_sub(before.len());
    assert!(grown < 64 * 1024, "/metrics grew by {grown} bytes");
}

#[tokio::test]
async fn request_ids_are_taken_only_short_and_plain() {
    let app = spawn_app().await;
    let answer = |id: String| {
        let request = app.client.get(app.url("/nowhere")).header("x-request-id", id);
        async move { request.send().await.unwrap() }
    };

    let plain = "edge-7f3a:0012.retry_1".to_owned();
    let echoed = answer(plain.clone()).await;
    assert_eq!(echoed.headers()["x-request-id"], plain.as_str());
    assert_eq!(problem(echoed).await["requestId"], plain.as_str());
    let longest = "a".repeat(128);
    assert_eq!(
        answer(longest.clone()).await.headers()["x-request-id"],
        longest.as_str()
    );

    for unsafe_id in [
        "a".repeat(129),
        "a".repeat(100 * 1024),
        r#"x","admin":"true"#.to_owned(),
        "two words".to_owned(),
    ] {
        let replaced = answer(unsafe_id.clone()).await;
        let id = replaced.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, unsafe_id);
        assert_eq!(
            uuid::Uuid::parse_str(&id).unwrap().get_version_num(),
            7,
            "a new id: {id}"
        );
        assert_eq!(
            problem(replaced).await["requestId"],
            id.as_str(),
            "the new id in the body too"
        );
    }
}

/// The headers every answer carries, whatever its kind.
fn assert_careful_headers(response: &reqwest::Response) {
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{}", response.url());
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_web_ui_forbids_inline_script_and_framing() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert_careful_headers(&page);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(
        !page.headers().contains_key("strict-transport-security"),
        "HSTS only over TLS"
    );
    let html = page.text().await.unwrap();
    for tag in html.split("<script").skip(1) {
        assert!(tag.trim_start().starts_with("src="), "no inline script: <script{tag}");
    }
    assert!(!html.contains("<style"), "no inline style");
    for file in ["/app.js", "/app.css"] {
        let asset = app.get(file).await;
        assert_eq!(asset.status(), 200, "{file} is served");
        assert!(asset.headers().contains_key("content-security-policy"));
    }

    let api = app.get("/health").await;
    assert_careful_headers(&api);
    let refused = app.get_as("/users/profile", "forged").await;
    assert_eq!(refused.status(), 401);
    assert_careful_headers(&refused);
}

#[tokio::test]
async fn over_tls_answers_keep_browsers_on_https() {
    let (app, client) = spawn_tls_app().await;
    let page = client
        .get(format!("https://localhost:{}/", app.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_careful_headers(&page);
    let hsts = page.headers()["strict-transport-security"].to_str().unwrap();
    let max_age: u64 = hsts.trim_start_matches("max-age=").parse().unwrap();
    assert!(max_age >= 180 * 86_400, "{hsts}");
}

/// `command` run with umask 000, as a careless service manager might start it.
fn with_umask_000(command: &Command) -> Command {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(r#"umask 000 && exec "$0" "$@""#)
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::null());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// Every directory under `root` (itself included) that is not 0700 and every other entry that
/// is not 0600, with its mode.
fn not_private(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mode = std::fs::symlink_metadata(root).unwrap().permissions().mode() & 0o777;
    if mode != 0o700 {
        found.push(format!("{} {mode:o}", root.display()));
    }
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            found.extend(not_private(&path));
            continue;
        }
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        if mode != 0o600 {
            found.push(format!("{} {mode:o}", path.display()));
        }
    }
    found
}

#[tokio::test]
async fn data_mail_backups_and_the_control_socket_are_private_whatever_the_umask() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut server = Server::start(&mut with_umask_000(&onetime(&data)));

    let client = reqwest::Client::new();
    let email = "private@example.com";
    let registered = client
        .post(format!("{}/auth/register", server.url))
        .json(&json!({ "email": email, "password": "correct horse 7", "name": "김원데", "role": "worker" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let forgot = client
        .post(format!("{}/auth/password/forgot", server.url))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(forgot.status(), 202);
    // The verification mail and the reset mail: what a local snoop would be after.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mails = || std::fs::read_dir(data.join("mail")).map_or(0, |dir| dir.count());
    while mails() < 2 {
        assert!(Instant::now() < deadline, "two mails were written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup = parent.path().join("backup");
    let backed_up = run(with_umask_000(&onetime(&data)).arg("backup").arg(&backup));
    assert!(backed_up.status.success(), "{}", text(&backed_up.stderr));

    let socket = data.join("onetime.sock");
    assert!(socket.exists(), "the control socket is there while serving");
    let open = not_private(&data);
    assert!(open.is_empty(), "not private in the data directory: {open:?}");
    let open = not_private(&backup);
    assert!(open.is_empty(), "not private in the backup: {open:?}");
    assert!(server.terminate().success());
}

/// A login for `email` as sent from `client` (the platform trusts `X-Forwarded-For` in these
/// tests, as behind a proxy).
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_guesser_waits_longer_and_longer_while_the_owner_logs_in() {
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.gateway.trust_forwarded_for = true;
        c.set("users.login_throttle.first_wait_seconds", 1);
        c.set("users.login_throttle.account_max_failures", 8);
    })
    .await;
    let owner = app.signup("worker").await;
    let guesser = "203.0.113.7";
    for _ in 0..5 {
        let guess = login_from(&app, guesser, &owner.email, "wrong guess 1").await;
        assert_eq!(guess.status(), 401);
    }
    let refused = login_from(&app, guesser, &owner.email, ACCOUNT_PASSWORD).await;
    assert_eq!(
        refused.status(),
        429,
        "the guesser's address waits, even with the password"
    );
    let first_wait = retry_after(&refused);
    assert_eq!(problem(refused).await["code"], "too_many_attempts");

    let at_home = login_from(&app, "198.51.100.1", &owner.email, ACCOUNT_PASSWORD).await;
    assert_eq!(at_home.status(), 200, "the owner is not locked out by a stranger");

    // Once the wait is over, the next failure imposes a longer one.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let guess = login_from(&app, guesser, &owner.email, "wrong guess 2").await;
        if guess.status() == 401 {
            break;
        }
        assert_eq!(guess.status(), 429);
        assert!(Instant::now() < deadline, "the first wait ends");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = login_from(&app, guesser, &owner.email, "wrong guess 3").await;
    assert_eq!(refused.status(), 429);
    assert!(
        retry_after(&refused) > first_wait,
        "{} after {first_wait}",
        retry_after(&refused)
    );

    // Many addresses together lock the account as a whole: 6 failures so far, 2 more.
    for n in 1..=2 {
        let guess = login_from(&app, &format!("192.0.2.{n}"), &owner.email, "wrong guess 4").await;
        assert_eq!(guess.status(), 401);
    }
    let under_attack = login_from(&app, "198.51.100.1", &owner.email, ACCOUNT_PASSWORD).await;
    assert_eq!(under_attack.status(), 429, "a distributed attack locks the account");
}

/// How many mails to `address` link to `page`.
fn mails_to(dir: &Path, address: &str, page: &str) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter(|mail| link_token(mail, page).is_some())
        .filter(|mail| {
            mail_parser::MessageParser::default()
                .parse(mail.as_slice())
                .and_then(|m| m.to()?.first()?.address().map(|a| a == address))
                .unwrap_or(false)
        })
        .count()
}

#[tokio::test]
async fn reset_mail_to_one_account_is_paced_whoever_asks() {
    let app = spawn_app_with(|c| {
        c.gateway.rate_limit.enabled = false;
        c.gateway.trust_forwarded_for = true;
    })
    .await;
    let victim = app.signup("worker").await;
    let witness = app.signup("employer").await;
    for n in 0..10 {
        let forgot = app
            .client
            .post(app.url("/auth/password/forgot"))
            .header("x-forwarded-for", format!("192.0.2.{n}"))
            .json(&json!({ "email": victim.email }))
            .send()
            .await
            .unwrap();
        assert_eq!(forgot.status(), 202, "the answer never changes");
    }
    // Asked for last: once its mail is out, the victim's requests have all been handled.
    assert_eq!(
        app.post_json("/auth/password/forgot", &json!({ "email": witness.email }))
            .await
            .status(),
        202
    );
    app.mailed_token_to(&witness.email, "reset-password").await;
    assert_eq!(mails_to(&mail_dir(&app), &victim.email, "reset-password"), 1);
}

/// `GET /users/profile` as the holder of `token`: 200, or the refusal's status and code.
async fn profile_with(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app.get_as("/users/profile", token).await;
    match response.status().as_u16() {
        200 => (200, Value::Null),
        status => (status, problem(response).await["code"].clone()),
    }
}

const ENDED: (u16, &str) = (401, "session_ended");

fn ended(answer: (u16, Value)) -> bool {
    answer.0 == ENDED.0 && answer.1 == ENDED.1
}

#[tokio::test]
async fn an_access_token_dies_with_its_session_at_once() {
    let app = spawn_app_with(|c| c.gateway.rate_limit.enabled = false).await;

    // Logout.
    let account = app.signup("worker").await;
    assert_eq!(profile_with(&app, &account.token).await.0, 200);
    let logout = app
        .post_json_as(
            "/auth/logout",
            &account.token,
            &json!({ "refreshToken": account.refresh_token }),
        )
        .await;
    assert_eq!(logout.status(), 204);
    assert!(ended(profile_with(&app, &account.token).await), "logged out");

    // A reused refresh token ends its session: the thief's access token and the owner's alike.
    let account = app.signup("employer").await;
    let refreshed: Value = app
        .post_json("/auth/refresh", &json!({ "refreshToken": account.refresh_token }))
        .await
        .json()
        .await
        .unwrap();
    let newer = refreshed["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(profile_with(&app, &newer).await.0, 200);
    let replayed = app
        .post_json("/auth/refresh", &json!({ "refreshToken": account.refresh_token }))
        .await;
    assert_eq!(replayed.status(), 401);
    assert!(ended(profile_with(&app, &newer).await), "the family was revoked");
    assert!(ended(profile_with(&app, &account.token).await));

    // A password reset ends every session.
    let account = app.signup("worker").await;
    let forgot = app
        .post_json("/auth/password/forgot", &json!({ "email": account.email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let reset = app.mailed_token_to(&account.email, "reset-password").await;
    let answer = app
        .post_json(
            "/auth/password/reset",
            &json!({ "token": reset, "newPassword": "a new password 9" }),
        )
        .await;
    assert_eq!(answer.status(), 204);
    assert!(ended(profile_with(&app, &account.token).await), "reset");
}

#[tokio::test]
async fn a_token_is_refused_when_its_account_is_gone_or_its_role_is_not_the_accounts() {
    let app = spawn_app().await;
    let auth = &app.config.auth;
    let keys = JwtKeys::new(
        auth.jwt_secret.as_bytes(),
        &auth.issuer,
        &auth.audience,
        Duration::from_secs(auth.access_token_ttl_seconds),
    );
    let job = json!({
        "title": "물류센터 상하차", "description": "주간 근무", "category": "logistics",
        "region": "서울", "address": "서울시 강서구", "wageType": "hourly", "wage": 12000,
        "headcount": 1, "startsAt": "2030-01-01T09:00:00+09:00", "endsAt": "2030-01-01T18:00:00+09:00"
    });

    // Signed with the platform's key, for an account that does not exist.
    let (ghost, _) = keys.issue_for_session("no-such-account", Role::Employer, "no-such-session");
    let refused = app.post_json_as("/jobs", &ghost, &job).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(problem(refused).await["code"], "session_ended");

    // A real worker's session, claiming to be an employer.
    let worker = app.signup("worker").await;
    let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&worker.token).unwrap().claims;
    let (promoted, _) = keys.issue_for_session(&claims.sub, Role::Employer, claims.sid.as_deref().unwrap());
    assert!(
        ended(profile_with(&app, &promoted).await),
        "a role the account does not have"
    );
    let (as_is, _) = keys.issue_for_session(&claims.sub, Role::Worker, claims.sid.as_deref().unwrap());
    assert_eq!(profile_with(&app, &as_is).await.0, 200, "the same claims are current");
}

/// A TCP connection to the app from `source`: any 127.0.0.0/8 address reaches it on Linux, so
/// tests can be different clients.
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(app.addr).await.unwrap()
}

/// Everything the server sends until it closes `stream`, which it must within `within`.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut received = Vec::new();
    let reading = async {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buffer).await {
            received.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(within, reading)
        .await
        .expect("the server closed the connection in time");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_silent_and_idle_connections_are_closed() {
    let app = spawn_app_with(|c| c.gateway.connections.header_read_timeout_seconds = 1).await;
    let started = Instant::now();
    let mut slow = connect_from(&app, "127.0.0.1").await;
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: onetime\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = connect_from(&app, "127.0.0.1").await;
    until_closed(&mut slow, Duration::from_secs(5)).await;
    until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );

    let mut kept_alive = connect_from(&app, "127.0.0.1").await;
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: onetime\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut kept_alive, Duration::from_secs(5)).await;
    assert!(
        answered.starts_with("HTTP/1.1 200"),
        "answered, then closed when idle: {answered}"
    );
}

#[tokio::test]
async fn connections_past_a_cap_are_refused_while_others_are_answered() {
    let app = spawn_app_with(|c| {
        c.gateway.connections.max_connections_per_client = 3;
        c.gateway.connections.max_connections = 8;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(&app, "127.0.0.9").await);
    }
    let mut one_too_many = connect_from(&app, "127.0.0.9").await;
    let refusal = until_closed(&mut one_too_many, Duration::from_secs(5)).await;
    assert!(refusal.starts_with("HTTP/1.1 503"), "{refusal}");
    assert!(
        refusal.contains("too_many_connections") && refusal.contains("this address"),
        "{refusal}"
    );
    assert_eq!(
        app.get("/health").await.status(),
        200,
        "other clients are still answered"
    );

    // One connection from each further address, until the total is reached. An accepted
    // connection stays silent (it was asked nothing); a refused one is answered at once.
    let mut refused = None;
    for n in 10..30 {
        let mut connection = connect_from(&app, &format!("127.0.0.{n}")).await;
        let mut first = [0u8; 1];
        let answered = tokio::time::timeout(Duration::from_millis(300), connection.read(&mut first)).await;
        match answered {
            Err(_) => held.push(connection),
            Ok(_) => {
                refused = Some(until_closed(&mut connection, Duration::from_secs(5)).await);
                break;
            }
        }
    }
    let refusal = refused.expect("the total cap refused a connection");
    assert!(refusal.contains("the server has too many"), "{refusal}");
    assert!(held.len() <= 8, "{} held", held.len());

    // A place given back is taken again.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut connection = connect_from(&app, "127.0.0.99").await;
        connection
            .write_all(b"GET /health HTTP/1.1\r\nHost: onetime\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        if until_closed(&mut connection, Duration::from_secs(5))
            .await
            .starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the freed place was never taken again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
