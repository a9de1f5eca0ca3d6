//! The user service, through the gateway: registration, mail (over a real SMTP server and as
//! `.eml` files), sessions, passwords, throttling, profiles, bad input, restarts, and the
//! `admin create` command.

use std::path::Path;
use std::time::Duration;

use onetime::config::Config;
use onetime_common::events::Envelope;
use onetime_common::mail::{SmtpSecurity, TransportKind};
use onetime_storage::{Store, outbox};
use serde_json::{Value, json};

use crate::helpers::{TestApp, link_token, mail_dir, mailed_tokens, problem, spawn_app_with, start, test_config};
use crate::process::{onetime, text};

const PASSWORD: &str = "correct horse 7";

/// Cheap argon2 and no gateway rate limits: these tests log in a lot, on purpose.
fn fast(config: &mut Config) {
    config.set("users.argon2.memory_kib", 64);
    config.set("users.argon2.iterations", 1);
    config.gateway.rate_limit.enabled = false;
}

async fn users_app() -> TestApp {
    users_app_with(|_| {}).await
}

async fn users_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|config| {
        fast(config);
        adjust(config);
    })
    .await
}

fn signup(email: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "name": "김원데", "role": "worker" })
}

/// Registers `email` as a worker; the answer's body.
async fn register(app: &TestApp, email: &str) -> Value {
    let response = app.post_json("/auth/register", &signup(email)).await;
    assert_eq!(response.status(), 201, "registered {email}");
    response.json().await.unwrap()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json("/auth/login", &json!({ "email": email, "password": password }))
        .await
}

async fn refresh(app: &TestApp, refresh_token: &Value) -> reqwest::Response {
    app.post_json("/auth/refresh", &json!({ "refreshToken": refresh_token }))
        .await
}

fn token(body: &Value, which: &str) -> String {
    body[which]
        .as_str()
        .unwrap_or_else(|| panic!("{which} in {body}"))
        .to_owned()
}

/// A small but real SMTP server on loopback, speaking the protocol over TCP as a mail relay
/// would. It can refuse the first deliveries with `451`, as a busy server does.
mod smtp {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    pub struct Received {
        pub from: String,
        pub to: Vec<String>,
        pub data: Vec<u8>,
    }

    pub struct Server {
        pub port: u16,
        /// Every message offered with DATA, accepted or not.
        pub offered: Arc<AtomicUsize>,
        /// Every `RCPT TO` of the mailbox that does not exist.
        pub unknown_recipient: Arc<AtomicUsize>,
        accepted: mpsc::UnboundedReceiver<Received>,
    }

    /// The mailbox this server answers `550 no such mailbox` for.
    pub const UNKNOWN_MAILBOX: &str = "gone@example.com";

    impl Server {
        pub async fn start(refuse_first: usize) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (sender, accepted) = mpsc::unbounded_channel();
            let counters = Counters {
                offered: Arc::new(AtomicUsize::new(0)),
                unknown_recipient: Arc::new(AtomicUsize::new(0)),
                refuse_first,
            };
            let (offered, unknown_recipient) = (counters.offered.clone(), counters.unknown_recipient.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (sender, counters) = (sender.clone(), counters.clone());
                    tokio::spawn(async move {
                        let _ = session(stream, sender, counters).await;
                    });
                }
            });
            Self {
                port,
                offered,
                unknown_recipient,
                accepted,
            }
        }

        pub async fn next(&mut self) -> Received {
            tokio::time::timeout(Duration::from_secs(15), self.accepted.recv())
                .await
                .expect("a mail arrives within 15 s")
                .expect("the server runs")
        }
    }

    fn address(argument: &str) -> String {
        let start = argument.find('<').map_or(0, |at| at + 1);
        let end = argument.find('>').unwrap_or(argument.len());
        argument[start..end].to_owned()
    }

    #[derive(Clone)]
    struct Counters {
        offered: Arc<AtomicUsize>,
        unknown_recipient: Arc<AtomicUsize>,
        refuse_first: usize,
    }

    async fn session(
        stream: TcpStream,
        accepted: mpsc::UnboundedSender<Received>,
        counters: Counters,
    ) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 localhost ESMTP test\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-localhost\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n",
                "HELO" | "NOOP" => b"250 OK\r\n",
                "MAIL" => {
                    from = address(&command);
                    b"250 OK\r\n"
                }
                "RCPT" if address(&command) == UNKNOWN_MAILBOX => {
                    counters.unknown_recipient.fetch_add(1, Ordering::SeqCst);
                    b"550 5.1.1 no such mailbox\r\n"
                }
                "RCPT" => {
                    to.push(address(&command));
                    b"250 OK\r\n"
                }
                "RSET" => {
                    (from, to) = (String::new(), Vec::new());
                    b"250 OK\r\n"
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut data = Vec::new();
                    loop {
                        let mut line = String::new();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        // Dot-stuffing: a line starting with a dot was sent with one more.
                        data.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
                    }
                    if counters.offered.fetch_add(1, Ordering::SeqCst) < counters.refuse_first {
                        b"451 4.3.0 busy, try again later\r\n"
                    } else {
                        let mail = Received {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                        };
                        let _ = accepted.send(mail);
                        b"250 2.0.0 queued\r\n"
                    }
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 5.5.2 command not recognised\r\n",
            };
            write.write_all(reply).await?;
        }
    }
}

/// The events the user store's outbox holds (the app must be stopped).
fn published(data_dir: &Path) -> Vec<Envelope> {
    let store = Store::open(data_dir, &onetime_user::STORE).unwrap();
    store
        .read_blocking(|tx| outbox::read_range(tx, 0, u64::MAX, 100))
        .unwrap()
}

#[tokio::test]
async fn the_whole_journey_with_mail_through_a_real_smtp_server() {
    // The server refuses the first delivery: the mail must come anyway, by retry.
    let mut smtp = smtp::Server::start(1).await;
    let app = users_app_with(|c| {
        c.mail.transport = TransportKind::Smtp;
        c.mail.smtp.host = "127.0.0.1".to_owned();
        c.mail.smtp.port = smtp.port;
        c.mail.smtp.security = SmtpSecurity::None;
        c.set("users.public_base_url", "https://oneday.example/");
        // Keep the outbox rows (nothing subscribes to them yet) to look at them afterwards.
        c.bus.prune_interval_seconds = 3600;
    })
    .await;

    let mut request = signup("Journey@Example.com");
    request["phone"] = json!("010-1234-5678");
    let response = app.post_json("/auth/register", &request).await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    let user = &registered["user"];
    assert_eq!(user["email"], "journey@example.com");
    assert_eq!(user["phone"], "+821012345678");
    assert_eq!(user["role"], "worker");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["skills"], json!([]));
    assert!(user.get("passwordHash").is_none(), "{user}");

    let mail = smtp.next().await;
    assert_eq!(mail.to, ["journey@example.com"]);
    assert_eq!(mail.from, "no-reply@oneday.local");
    assert_eq!(
        smtp.offered.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "refused once, then retried"
    );
    let parsed = mail_parser::MessageParser::default().parse(&mail.data).unwrap();
    assert_eq!(parsed.subject(), Some("[원데이] 이메일 주소를 인증해 주세요"));
    let body = parsed.body_text(0).unwrap();
    assert!(body.contains("https://oneday.example/verify-email?token="), "{body}");
    assert!(parsed.body_html(0).unwrap().contains("이메일 인증하기"));
    let verification = link_token(&mail.data, "verify-email").unwrap();

    let verified = app
        .post_json("/auth/verify-email", &json!({ "token": verification }))
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.json::<Value>().await.unwrap()["emailVerified"], true);
    let again = app
        .post_json("/auth/verify-email", &json!({ "token": verification }))
        .await;
    assert_eq!(again.status(), 400, "single use");
    assert_eq!(problem(again).await["code"], "invalid_verification_token");
    let profile: Value = app
        .get_as("/users/profile", &token(&registered, "accessToken"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["emailVerified"], true);

    let response = login(&app, "JOURNEY@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["id"], user["id"]);

    let response = refresh(&app, &session["refreshToken"]).await;
    assert_eq!(response.status(), 200);
    let renewed: Value = response.json().await.unwrap();
    assert_ne!(renewed["refreshToken"], session["refreshToken"]);
    assert_ne!(renewed["accessToken"], session["accessToken"]);

    let logout = app
        .post_json_as(
            "/auth/logout",
            &token(&renewed, "accessToken"),
            &json!({ "refreshToken": renewed["refreshToken"] }),
        )
        .await;
    assert_eq!(logout.status(), 204);
    let response = refresh(&app, &renewed["refreshToken"]).await;
    assert_eq!(response.status(), 401);
    assert_eq!(problem(response).await["code"], "invalid_refresh_token");
    let response = refresh(&app, &registered["refreshToken"]).await;
    assert_eq!(response.status(), 200, "the registration's session is another one");

    let (_, data_dir) = app.stop().await;
    let events = published(data_dir.path());
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["user.registered", "user.verified"]);
    assert!(events.iter().all(|e| e.source == "user"));
    let registered: onetime_common::events::user::UserRegistered = events[0].payload().unwrap();
    assert_eq!(registered.email, "journey@example.com");
    assert!(!registered.email_verified);
    let verified: onetime_common::events::user::UserVerified = events[1].payload().unwrap();
    assert_eq!(verified.user_id, registered.user_id);
}

#[tokio::test]
async fn a_mail_refused_for_good_is_set_aside_and_holds_up_nothing() {
    let mut smtp = smtp::Server::start(0).await;
    let app = users_app_with(|c| {
        c.mail.transport = TransportKind::Smtp;
        c.mail.smtp.host = "127.0.0.1".to_owned();
        c.mail.smtp.port = smtp.port;
        c.mail.smtp.security = SmtpSecurity::None;
    })
    .await;
    register(&app, smtp::UNKNOWN_MAILBOX).await;
    register(&app, "present@example.com").await;
    assert_eq!(smtp.next().await.to, ["present@example.com"]);
    // A retry would come a second after the refusal; a permanent one gets none.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.unknown_recipient.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_mailed_link() {
    let app = users_app().await;
    let registered = register(&app, "forgetful@example.com").await;
    let verification = mailed_tokens(&mail_dir(&app), "verify-email", 1).await;
    assert_eq!(
        verification.len(),
        1,
        "the file transport wrote the verification mail as .eml"
    );
    let other_device: Value = login(&app, "forgetful@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    for email in ["Forgetful@Example.com", "nobody@example.com"] {
        let response = app.post_json("/auth/password/forgot", &json!({ "email": email })).await;
        assert_eq!(response.status(), 202, "{email}");
    }
    let bad = app
        .post_json("/auth/password/forgot", &json!({ "email": "not an address" }))
        .await;
    assert_eq!(bad.status(), 422);
    let tokens = mailed_tokens(&mail_dir(&app), "reset-password", 1).await;
    let [reset] = tokens.as_slice() else {
        panic!("one reset mail, none for the unknown address: {tokens:?}");
    };

    let weak = app
        .post_json(
            "/auth/password/reset",
            &json!({ "token": reset, "newPassword": "password" }),
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert!(problem(weak).await["errors"]["newPassword"].is_array());
    let new_password = "새 비밀번호 2026";
    let reset_answer = app
        .post_json(
            "/auth/password/reset",
            &json!({ "token": reset, "newPassword": new_password }),
        )
        .await;
    assert_eq!(reset_answer.status(), 204, "a refused password did not use the link up");
    let again = app
        .post_json(
            "/auth/password/reset",
            &json!({ "token": reset, "newPassword": "another one 3" }),
        )
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(problem(again).await["code"], "invalid_reset_token");

    assert_eq!(login(&app, "forgetful@example.com", PASSWORD).await.status(), 401);
    assert_eq!(login(&app, "forgetful@example.com", new_password).await.status(), 200);
    for old in [&registered, &other_device] {
        let response = refresh(&app, &old["refreshToken"]).await;
        assert_eq!(response.status(), 401, "every earlier session ended");
    }
}

#[tokio::test]
async fn a_reused_refresh_token_ends_its_whole_session() {
    let app = users_app().await;
    let registered = register(&app, "reuse@example.com").await;
    let session: Value = login(&app, "reuse@example.com", PASSWORD).await.json().await.unwrap();
    let first = session["refreshToken"].clone();
    let second: Value = refresh(&app, &first).await.json().await.unwrap();

    let replayed = refresh(&app, &first).await;
    assert_eq!(replayed.status(), 401);
    assert_eq!(problem(replayed).await["code"], "refresh_token_reused");
    let successor = refresh(&app, &second["refreshToken"]).await;
    assert_eq!(
        successor.status(),
        401,
        "the thief's (or the owner's) newer token died too"
    );

    let unrelated = refresh(&app, &registered["refreshToken"]).await;
    assert_eq!(unrelated.status(), 200, "other sessions go on");
    let garbage = refresh(&app, &json!("not-a-token")).await;
    assert_eq!(garbage.status(), 401);
}

#[tokio::test]
async fn five_failures_lock_an_account_whatever_the_password() {
    let app = users_app_with(|c| c.set("users.login_throttle.window_seconds", 2)).await;
    register(&app, "target@example.com").await;
    register(&app, "bystander@example.com").await;

    for _ in 0..5 {
        let response = login(&app, "target@example.com", "wrong password 1").await;
        assert_eq!(response.status(), 401);
        assert_eq!(problem(response).await["code"], "invalid_credentials");
    }
    let locked = login(&app, "Target@Example.com", PASSWORD).await;
    assert_eq!(locked.status(), 429, "even with the right password");
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(locked).await["code"], "too_many_attempts");
    assert_eq!(login(&app, "bystander@example.com", PASSWORD).await.status(), 200);

    // Unknown addresses lock alike, so the lock tells nobody which accounts exist.
    for _ in 0..5 {
        assert_eq!(login(&app, "ghost@example.com", PASSWORD).await.status(), 401);
    }
    assert_eq!(login(&app, "ghost@example.com", PASSWORD).await.status(), 429);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(login(&app, "target@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn parallel_logins_with_the_right_password_all_get_in_and_parallel_guesses_get_five_tries() {
    let app = users_app().await;
    register(&app, "busy@example.com").await;
    register(&app, "target@example.com").await;

    // 32 at once with the right password: those behind the five in flight wait for them.
    let logins = futures::future::join_all((0..32).map(|_| login(&app, "busy@example.com", PASSWORD))).await;
    let statuses: Vec<u16> = logins.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    // 32 guesses at once get no more tries than 32 in a row: five are checked, the rest refused
    // for those failures, in words that say so.
    let guesses =
        futures::future::join_all((0..32).map(|_| login(&app, "target@example.com", "wrong password 1"))).await;
    let mut refused = Vec::new();
    let mut checked = 0;
    for guess in guesses {
        match guess.status().as_u16() {
            401 => checked += 1,
            429 => refused.push(problem(guess).await),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((checked, refused.len()), (5, 27));
    for body in refused {
        assert_eq!(body["code"], "too_many_attempts", "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("too many failed attempts"),
            "{body}"
        );
    }
}

/// The argon2 hash stored for `email` (the app must be stopped).
fn stored_hash(data_dir: &Path, email: &str) -> String {
    // Read untyped: the user record is the service's own business; its hash is what is checked.
    const USERS: onetime_storage::Table<String, Value> = onetime_storage::Table::new("users");
    let store = Store::open(data_dir, &onetime_user::STORE).unwrap();
    let users = store
        .read_blocking(|tx| USERS.range(tx, .., onetime_storage::Direction::Forward, 100))
        .unwrap();
    let (_, user) = users.into_iter().find(|(_, user)| user["email"] == email).unwrap();
    user["passwordHash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn raised_argon2_parameters_rehash_a_password_at_the_next_login() {
    let app = users_app().await;
    register(&app, "kept@example.com").await;
    let (mut config, data_dir) = app.stop().await;
    let old = stored_hash(data_dir.path(), "kept@example.com");
    assert!(old.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{old}");

    config.set("users.argon2.memory_kib", 128);
    config.set("users.argon2.iterations", 2);
    let app = start(config, data_dir).await;
    assert_eq!(login(&app, "kept@example.com", "wrong password 1").await.status(), 401);
    let (config, data_dir) = app.stop().await;
    assert_eq!(
        stored_hash(data_dir.path(), "kept@example.com"),
        old,
        "a wrong password changes nothing"
    );

    let app = start(config, data_dir).await;
    assert_eq!(login(&app, "kept@example.com", PASSWORD).await.status(), 200);
    let (config, data_dir) = app.stop().await;
    let new = stored_hash(data_dir.path(), "kept@example.com");
    assert!(new.starts_with("$argon2id$v=19$m=128,t=2,p=1$"), "{new}");

    // The password is the same: it still logs in, and the hash stays as it is now.
    let app = start(config, data_dir).await;
    assert_eq!(login(&app, "kept@example.com", PASSWORD).await.status(), 200);
    let (_, data_dir) = app.stop().await;
    assert_eq!(stored_hash(data_dir.path(), "kept@example.com"), new);
}

/// `POST /auth/verify-email/resend` as the holder of `access`.
async fn resend(app: &TestApp, access: &str) -> reqwest::Response {
    app.post_json_as("/auth/verify-email/resend", access, &json!({})).await
}

#[tokio::test]
async fn a_verification_mail_is_resent_at_most_once_a_minute_and_not_once_verified() {
    let app = users_app().await;
    let registered = register(&app, "later@example.com").await;
    let access = token(&registered, "accessToken");
    assert_eq!(
        app.post_json("/auth/verify-email/resend", &json!({})).await.status(),
        401
    );

    // The registration mail counts: a resend right after it is too soon.
    let soon = resend(&app, &access).await;
    assert_eq!(soon.status(), 429);
    let retry_after: u64 = soon.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(soon).await["code"], "rate_limited");
    assert_eq!(mailed_tokens(&mail_dir(&app), "verify-email", 1).await.len(), 1);
}

#[tokio::test]
async fn a_resent_link_verifies_and_earlier_links_stay_valid() {
    let app = users_app_with(|c| c.set("users.verification_mail_interval_seconds", 1)).await;
    let registered = register(&app, "twice@example.com").await;
    let access = token(&registered, "accessToken");
    let first = mailed_tokens(&mail_dir(&app), "verify-email", 1).await;

    // Polling the limit rather than sleeping through it: the answer says when it lifts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let accepted = loop {
        let response = resend(&app, &access).await;
        if response.status() != 429 {
            break response;
        }
        assert!(tokio::time::Instant::now() < deadline, "the limit never lifted");
        let wait = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(200).min(Duration::from_secs(wait))).await;
    };
    assert_eq!(accepted.status(), 202);
    assert_eq!(resend(&app, &access).await.status(), 429, "one a second here");
    let both = mailed_tokens(&mail_dir(&app), "verify-email", 2).await;
    assert_eq!(both.len(), 2);
    let second = both.iter().find(|t| !first.contains(t)).unwrap();

    // The first link still works; then the address is verified, and nothing more is sent.
    let verified = app.post_json("/auth/verify-email", &json!({ "token": first[0] })).await;
    assert_eq!(verified.status(), 200);
    let again = app.post_json("/auth/verify-email", &json!({ "token": second })).await;
    assert_eq!(again.status(), 200, "the second link is good until it expires");
    let done = resend(&app, &access).await;
    assert_eq!(done.status(), 409);
    assert_eq!(problem(done).await["code"], "already_verified");
}

#[tokio::test]
async fn the_pages_that_mails_link_to_are_served_and_call_the_api() {
    let app = users_app().await;
    for (page, form) in [
        ("/verify-email", "data-page=\"verify-email\""),
        ("/reset-password", "id=\"new-password\""),
    ] {
        let response = app.get(&format!("{page}?token=abc_DEF-123")).await;
        assert_eq!(response.status(), 200, "{page}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{page}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(form), "{page}: {html}");
        assert!(html.contains("<script src=\"/mail-links.js\""), "{page}");
        assert!(!html.contains("<script>"), "no inline script in {page}");
    }
    let script = app.get("/mail-links.js").await;
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let script = script.text().await.unwrap();
    for call in ["\"/auth/verify-email\"", "\"/auth/password/reset\"", "newPassword"] {
        assert!(script.contains(call), "the script calls {call}");
    }
    assert_eq!(app.get("/mail-links.css").await.status(), 200);
    assert_eq!(app.get("/no-such-page").await.status(), 404);
}

#[tokio::test]
async fn an_email_address_is_taken_in_any_case() {
    let app = users_app().await;
    register(&app, "kim@example.com").await;
    for variant in ["kim@example.com", "KIM@Example.COM", "  Kim@example.com "] {
        let response = app.post_json("/auth/register", &signup(variant)).await;
        assert_eq!(response.status(), 409, "{variant}");
        assert_eq!(problem(response).await["code"], "email_taken");
    }
}

#[tokio::test]
async fn nobody_registers_as_admin_over_http() {
    let app = users_app().await;
    let mut request = signup("climber@example.com");
    request["role"] = json!("admin");
    let response = app.post_json("/auth/register", &request).await;
    assert_eq!(response.status(), 422);
    assert!(problem(response).await["errors"]["role"].is_array());
    assert_eq!(login(&app, "climber@example.com", PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_leaves_no_account_behind() {
    let app = users_app().await;
    let email = "careful@example.com";
    let valid = signup(email);
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body.to_string()
    };
    let huge_name = "가".repeat(300_000); // 900 kB of UTF-8: under the body limit.
    let oversized = "a".repeat(1_100_000);
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("missing email", without("email"), 422, Some("email")),
        ("missing password", without("password"), 422, Some("password")),
        ("missing name", without("name"), 422, Some("name")),
        ("missing role", without("role"), 422, Some("role")),
        ("number email", with("email", json!(5)), 422, Some("email")),
        ("unknown role", with("role", json!("owner")), 422, Some("role")),
        ("number role", with("role", json!(7)), 422, Some("role")),
        ("boolean phone", with("phone", json!(true)), 422, Some("phone")),
        ("array name", with("name", json!(["김"])), 422, Some("name")),
        ("null body", "null".to_owned(), 422, None),
        ("array body", "[]".to_owned(), 422, None),
        (
            "truncated JSON",
            r#"{"email": "careful@example.com""#.to_owned(),
            400,
            None,
        ),
        ("not JSON", "email=careful@example.com".to_owned(), 400, None),
        ("trailing comma", valid.to_string().replace('}', ",}"), 400, None),
        ("trailing data", format!("{valid} {valid}"), 400, None),
        ("empty body", String::new(), 400, None),
        (
            "lone surrogate",
            with("name", json!("x")).replace("\"x\"", r#""\ud800""#),
            400,
            None,
        ),
        (
            "bidi override",
            with("name", json!("\u{202E}gnp.exe")),
            422,
            Some("name"),
        ),
        ("hangul filler", with("name", json!("\u{3164}")), 422, Some("name")),
        ("zero width", with("name", json!("\u{200B}")), 422, Some("name")),
        ("NUL in name", with("name", json!("김\u{0}")), 422, Some("name")),
        ("blank name", with("name", json!("   ")), 422, Some("name")),
        (
            "fullwidth at",
            with("email", json!("careful＠example.com")),
            422,
            Some("email"),
        ),
        ("no domain", with("email", json!("careful@")), 422, Some("email")),
        (
            "control in email",
            with("email", json!("care\u{1}ful@example.com")),
            422,
            Some("email"),
        ),
        ("short password", with("password", json!("Ab1!")), 422, Some("password")),
        (
            "one-class password",
            with("password", json!("aaaaaaaaaaaa")),
            422,
            Some("password"),
        ),
        (
            "password is email",
            with("password", json!(email)),
            422,
            Some("password"),
        ),
        ("landline", with("phone", json!("02-123-4567")), 422, Some("phone")),
        ("900 kB name", with("name", json!(huge_name)), 422, Some("name")),
        ("1.1 MB name", with("name", json!(oversized)), 413, None),
    ];
    for (case, body, status, field) in cases {
        let response = app
            .client
            .post(app.url("/auth/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let answer = problem(response).await;
        if let Some(field) = field {
            assert!(answer["errors"][field].is_array(), "{case}: {answer}");
        }
    }

    let every_field_at_once =
        json!({ "email": "nope", "password": "short", "name": "", "phone": "1", "role": "worker" });
    let answer = problem(app.post_json("/auth/register", &every_field_at_once).await).await;
    for field in ["email", "password", "name", "phone"] {
        assert!(answer["errors"][field].is_array(), "{field}: {answer}");
    }
    let form = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "text/plain")
        .body(valid.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    problem(form).await;

    assert_eq!(login(&app, email, PASSWORD).await.status(), 401, "no account was made");
    register(&app, email).await;
    assert_eq!(login(&app, email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn profiles_are_read_updated_and_shown_to_others_without_contact_details() {
    let app = users_app().await;
    let kim = register(&app, "kim@example.com").await;
    let lee = register(&app, "lee@example.com").await;
    let kim_token = token(&kim, "accessToken");

    let anonymous = app.get("/users/profile").await;
    assert_eq!(anonymous.status(), 401);
    problem(anonymous).await;

    let changes = json!({
        "name": "  김  원데 ",
        "phone": "+82 10 9876 5432",
        "bio": "성실하게 일합니다.\n주말 가능",
        "skills": ["바리스타", "서빙", "바리스타"],
        "region": "서울 강남구",
    });
    let response = app.put_json_as("/users/profile", &kim_token, &changes).await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["name"], "김 원데");
    assert_eq!(profile["phone"], "+821098765432");
    assert_eq!(profile["skills"], json!(["바리스타", "서빙"]));
    assert_eq!(profile["email"], "kim@example.com");

    let cleared: Value = app
        .put_json_as("/users/profile", &kim_token, &json!({ "phone": null }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["region"], "서울 강남구", "absent fields stay");

    let refused = app
        .put_json_as(
            "/users/profile",
            &kim_token,
            &json!({ "name": "새 이름", "phone": "12345" }),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let unchanged: Value = app.get_as("/users/profile", &kim_token).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "김 원데", "a refused update changes nothing");

    let public: Value = app
        .get_as(
            &format!("/users/{}", kim["user"]["id"].as_str().unwrap()),
            &token(&lee, "accessToken"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["name"], "김 원데");
    assert_eq!(public["region"], "서울 강남구");
    assert!(
        public.get("email").is_none() && public.get("phone").is_none(),
        "{public}"
    );
    let unknown = app.get_as("/users/0190-no-such-user", &kim_token).await;
    assert_eq!(unknown.status(), 404);
    problem(unknown).await;
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = users_app().await;
    let here = register(&app, "mover@example.com").await;
    let elsewhere: Value = login(&app, "mover@example.com", PASSWORD).await.json().await.unwrap();
    let access = token(&here, "accessToken");
    let change = |current: &str, new: &str| json!({ "currentPassword": current, "newPassword": new });

    let wrong = app
        .put_json_as("/users/password", &access, &change("guess 123", "new password 9"))
        .await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(problem(wrong).await["code"], "wrong_password");
    let weak = app
        .put_json_as("/users/password", &access, &change(PASSWORD, "newpassword"))
        .await;
    assert_eq!(weak.status(), 422);
    let done = app
        .put_json_as("/users/password", &access, &change(PASSWORD, "new password 9"))
        .await;
    assert_eq!(done.status(), 204);

    assert_eq!(refresh(&app, &elsewhere["refreshToken"]).await.status(), 401);
    assert_eq!(
        refresh(&app, &here["refreshToken"]).await.status(),
        200,
        "this session goes on"
    );
    assert_eq!(login(&app, "mover@example.com", PASSWORD).await.status(), 401);
    assert_eq!(login(&app, "mover@example.com", "new password 9").await.status(), 200);
}

#[tokio::test]
async fn accounts_and_sessions_survive_a_restart() {
    let app = users_app().await;
    let registered = register(&app, "durable@example.com").await;
    let access = token(&registered, "accessToken");
    let updated = app
        .put_json_as("/users/profile", &access, &json!({ "region": "부산" }))
        .await;
    assert_eq!(updated.status(), 200);

    let (config, data_dir) = app.stop().await;
    let app = start(config, data_dir).await;
    let session: Value = login(&app, "durable@example.com", PASSWORD).await.json().await.unwrap();
    assert_eq!(session["user"]["region"], "부산");
    assert_eq!(session["user"]["id"], registered["user"]["id"]);
    assert_eq!(refresh(&app, &registered["refreshToken"]).await.status(), 200);
    let taken = app.post_json("/auth/register", &signup("durable@example.com")).await;
    assert_eq!(taken.status(), 409);
}

/// `onetime admin create ARGS` on `data_dir`, with `stdin` as its input. The child is waited for
/// on the blocking pool: the instance it may talk to serves on this test's runtime.
async fn admin_create(data_dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = onetime(data_dir);
    command
        .args(["admin", "create"])
        .args(args)
        .env("ONETIME_USERS__ARGON2__MEMORY_KIB", "64")
        .env("ONETIME_USERS__ARGON2__ITERATIONS", "1")
        .stdin(std::process::Stdio::piped());
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn admins_are_created_from_the_command_line_offline_and_while_serving() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = admin_create(
        data_dir.path(),
        &["--email", "Root@Example.com", "--password", "admin password 1"],
        "",
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("created administrator root@example.com"));

    let mut config = test_config(&data_dir);
    fast(&mut config);
    let app = start(config, data_dir).await;
    let session: Value = login(&app, "root@example.com", "admin password 1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["role"], "admin");
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(session["user"]["name"], "관리자");

    // While the instance serves, the command goes through its control socket.
    let args = ["--email", "ops@example.com", "--password", "-", "--name", "운영팀"];
    let output = admin_create(app.data_dir.path(), &args, "ops password 2\n").await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let session: Value = login(&app, "ops@example.com", "ops password 2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["role"], "admin");
    assert_eq!(session["user"]["name"], "운영팀");

    let args = ["--email", "OPS@example.com", "--password", "ops password 2"];
    let output = admin_create(app.data_dir.path(), &args, "").await;
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("exists already"),
        "{}",
        text(&output.stderr)
    );

    let args = ["--email", "weak@example.com", "--password", "password"];
    let output = admin_create(app.data_dir.path(), &args, "").await;
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("password:"), "{}", text(&output.stderr));
}

#[tokio::test]
async fn the_user_api_is_documented() {
    let app = users_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/auth/register", "post"),
        ("/auth/login", "post"),
        ("/auth/logout", "post"),
        ("/auth/refresh", "post"),
        ("/auth/verify-email", "post"),
        ("/auth/password/forgot", "post"),
        ("/auth/password/reset", "post"),
        ("/users/profile", "get"),
        ("/users/profile", "put"),
        ("/users/password", "put"),
        ("/users/{id}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    assert!(doc["components"]["schemas"]["AuthResponse"].is_object());
}

#[tokio::test]
async fn health_shows_the_user_store() {
    let app = users_app().await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    let user = &health["services"]["user"];
    assert_eq!(user["status"], "ok");
    assert!(
        user["store"]["file"].as_str().unwrap().ends_with("users.redb"),
        "{health}"
    );
}

#[tokio::test]
async fn an_account_verified_through_the_mailed_link_says_so_in_its_profile() {
    let app = users_app().await;
    let account = app.signup("employer").await;
    let profile = app.get_as("/users/profile", &account.token).await;
    assert_eq!(profile.status(), 200);
    let profile: Value = profile.json().await.unwrap();
    assert_eq!(profile["id"], account.id.as_str());
    assert_eq!(profile["role"], "employer");
    assert_eq!(profile["emailVerified"], true);
    let login = login(&app, &account.email, crate::helpers::ACCOUNT_PASSWORD).await;
    assert_eq!(login.status(), 200, "its password is the helpers' one");
    assert_eq!(refresh(&app, &json!(account.refresh_token)).await.status(), 200);
}
