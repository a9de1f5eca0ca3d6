//! `spawn_app()` and the typed helpers tests drive the platform with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onetime::config::Config;
use onetime::startup::Application;
use onetime_common::auth::{JwtKeys, Role};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

/// A WebSocket client connection to the platform.
pub type WebSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The JWT secret test apps run with, so tests can mint tokens of their own.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub addr: SocketAddr,
    /// Per-service listeners, when configured.
    pub service_addrs: std::collections::BTreeMap<&'static str, SocketAddr>,
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The platform on the embedded default configuration, on port 0, in a temp data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&data_dir);
    adjust(&mut config);
    start(config, data_dir).await
}

/// The configuration test apps start from.
pub fn test_config(data_dir: &TempDir) -> Config {
    let mut config = Config::load(None).expect("the embedded configuration loads");
    config.data_dir = data_dir.path().to_owned();
    config.server.addr = "127.0.0.1:0".parse().unwrap();
    config.auth.jwt_secret = TEST_JWT_SECRET.to_owned();
    config.server.shutdown_grace_seconds = 5;
    config
}

/// Starts `config` with `data_dir` (kept alive by the returned app).
pub async fn start(config: Config, data_dir: TempDir) -> TestApp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = Application::build(config.clone())
        .await
        .expect("the application builds");
    let addr = app.addr();
    let service_addrs = ["user", "job", "payment", "search", "notification", "chat"]
        .into_iter()
        .filter_map(|name| Some((name, app.service_addr(name)?)))
        .collect();
    let (shutdown, stopped) = oneshot::channel();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let app = TestApp {
        addr,
        service_addrs,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        data_dir,
        config,
        shutdown: Some(shutdown),
        task: Some(task),
    };
    // The helpers' client speaks plain HTTP; a TLS test checks readiness itself.
    if app.config.server.tls.files().is_none() {
        app.wait_until_ready().await;
    }
    app
}

impl TestApp {
    /// Waits (10 s at most) for `/ready`: every service started and its event backlog replayed.
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.get("/ready").await.status() != 200 {
            assert!(std::time::Instant::now() < deadline, "the platform never became ready");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body, anonymously.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).json(body);
        request.send().await.expect("request sent")
    }

    /// `POST path` with a JSON body, as the holder of `token`.
    pub async fn post_json_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).bearer_auth(token).json(body);
        request.send().await.expect("request sent")
    }

    /// `PUT path` with a JSON body, as the holder of `token`.
    pub async fn put_json_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        let request = self.client.put(self.url(path)).bearer_auth(token).json(body);
        request.send().await.expect("request sent")
    }

    /// `DELETE path` as the holder of `token`.
    pub async fn delete_as(&self, path: &str, token: &str) -> reqwest::Response {
        let request = self.client.delete(self.url(path)).bearer_auth(token);
        request.send().await.expect("request sent")
    }

    /// Opens a WebSocket on `path` the way a browser does, with the access token (if any) in
    /// the `token` query parameter. A refused upgrade is `Err(Http(answer))`.
    pub async fn websocket(&self, path: &str, token: Option<&str>) -> Result<WebSocket, tungstenite::Error> {
        let mut url = format!("ws://{}{path}", self.addr);
        if let Some(token) = token {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str("token=");
            url.push_str(token);
        }
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(socket)
    }

    /// An access token for a made-up user, signed as the platform would sign it.
    pub fn token_for(&self, user_id: &str, role: Role) -> String {
        let auth = &self.config.auth;
        let keys = JwtKeys::new(
            auth.jwt_secret.as_bytes(),
            &auth.issuer,
            &auth.audience,
            Duration::from_secs(auth.access_token_ttl_seconds),
        );
        keys.issue(user_id, role).0
    }

    /// Stops the platform the way SIGTERM would and waits until it has shut down; gives back
    /// the data directory for a restart.
    pub async fn stop(mut self) -> (Config, TempDir) {
        self.shutdown.take().map(|s| s.send(()));
        let task = self.task.take().expect("running");
        task.await
            .expect("the app task ends")
            .expect("the app shuts down cleanly");
        (self.config.clone(), self.data_dir)
    }
}

/// Reads a problem+json answer, checking its content type and shape.
pub async fn problem(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "a problem+json answer"
    );
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["status"], status, "status in the body: {body}");
    for field in ["title", "detail", "code", "requestId"] {
        assert!(body[field].is_string(), "problem field {field} in {body}");
    }
    body
}

/// The token of the `page` link in a mail (a full RFC 5322 message).
pub fn link_token(mail: &[u8], page: &str) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(mail)?;
    let text = message.body_text(0)?;
    let marker = format!("/{page}?token=");
    let start = text.find(&marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect(),
    )
}

pub fn mail_dir(app: &TestApp) -> PathBuf {
    app.data_dir.path().join("mail")
}

/// The `.eml` files in `dir` whose mail links to `page`, waiting up to 10 s for `count` of them.
pub async fn mailed_tokens(dir: &Path, page: &str, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let tokens: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .filter_map(|path| link_token(&std::fs::read(path).ok()?, page))
            .collect();
        if tokens.len() >= count || tokio::time::Instant::now() > deadline {
            return tokens;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A registered account whose email is verified, with its tokens.
pub struct Account {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

/// The password of every [`TestApp::signup`] account.
pub const ACCOUNT_PASSWORD: &str = "correct horse 7";

impl TestApp {
    /// Registers a `role` ("worker", "employer") account with a fresh address and verifies its
    /// email through the mailed link, as a person would.
    pub async fn signup(&self, role: &str) -> Account {
        let account = self.register(role).await;
        self.verify_email(&account.email).await;
        account
    }

    /// An administrator, created as an operator creates one (`onetime admin create`, through
    /// the running instance's control socket), logged in.
    pub async fn admin(&self) -> Account {
        let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
        let admin = onetime_user::NewAdmin {
            email: email.clone(),
            password: ACCOUNT_PASSWORD.to_owned(),
            name: None,
        };
        let created = onetime::admin::create(&self.config, admin)
            .await
            .expect("administrator created");
        let login = self
            .post_json("/auth/login", &json!({ "email": email, "password": ACCOUNT_PASSWORD }))
            .await;
        assert_eq!(login.status(), 200, "administrator {email} logged in");
        let body: Value = login.json().await.unwrap();
        Account {
            id: created.id,
            email,
            token: body["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers a `role` account with a fresh address, its email not verified yet.
    pub async fn register(&self, role: &str) -> Account {
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let response = self
            .post_json(
                "/auth/register",
                &json!({ "email": email, "password": ACCOUNT_PASSWORD, "name": "김원데", "role": role }),
            )
            .await;
        assert_eq!(response.status(), 201, "registered {email}");
        let body: Value = response.json().await.unwrap();
        Account {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            email,
            token: body["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: body["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Verifies `address` through the link of the first verification mail to it.
    pub async fn verify_email(&self, address: &str) {
        let verification = self.mailed_token_to(address, "verify-email").await;
        let verified = self
            .post_json("/auth/verify-email", &json!({ "token": verification }))
            .await;
        assert_eq!(verified.status(), 200, "verified {address}");
    }

    /// The token of the `page` link in the first mail to `address`, waiting up to 10 s for it.
    pub async fn mailed_token_to(&self, address: &str, page: &str) -> String {
        let dir = mail_dir(self);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| std::fs::read(entry.path()).ok())
                .filter(|mail| {
                    mail_parser::MessageParser::default()
                        .parse(mail.as_slice())
                        .and_then(|m| m.to()?.first()?.address().map(|a| a == address))
                        .unwrap_or(false)
                })
                .find_map(|mail| link_token(&mail, page));
            if let Some(token) = found {
                return token;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {page} mail to {address}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// RFC 3339, as the API writes times.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A valid `POST /jobs` body: a café job starting at `starts` and lasting `span`, at 12,000 won
/// an hour, for two. Change it with [`with`].
pub fn job_posting(starts: time::OffsetDateTime, span: time::Duration) -> Value {
    json!({
        "title": "주말 카페 바리스타",
        "description": "에스프레소 머신 경험자 우대",
        "category": "food-cafe",
        "wage": { "type": "hourly", "amount": 12_000 },
        "location": { "address": "서울 마포구 양화로 45", "lat": 37.5563, "lng": 126.9236 },
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(starts + span),
        "headcount": 2,
    })
}

/// `body` with the top-level fields of `changes` put over it.
pub fn with(mut body: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().expect("changes are an object") {
        body[key] = value.clone();
    }
    body
}

/// The platform serving HTTPS with a fresh self-signed certificate for `localhost`, and a client
/// that trusts it (the helpers' own client speaks plain HTTP and does not).
pub async fn spawn_tls_app() -> (TestApp, reqwest::Client) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let app = spawn_app_with(|c| {
        let (cert, key) = (c.data_dir.join("cert.pem"), c.data_dir.join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        c.server.tls.cert = cert;
        c.server.tls.key = key;
    })
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    (app, client)
}

/// Polls `count` every 50 ms until it is 0; fails the test, naming `what`, after `patience`.
pub async fn until_none_left(what: &str, patience: Duration, mut count: impl AsyncFnMut() -> u64) {
    let deadline = tokio::time::Instant::now() + patience;
    while count().await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads a client that answers nothing until the server gives up on it: how many pings it was
/// sent before, and the close code (text frames in between are skipped).
pub async fn pings_until_close(
    socket: &mut WebSocket,
    patience: Duration,
) -> (usize, Option<tungstenite::protocol::frame::coding::CloseCode>) {
    use futures::StreamExt;
    use tungstenite::Message;
    let mut pings = 0;
    loop {
        match tokio::time::timeout(patience, socket.next())
            .await
            .expect("the close in time")
        {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Text(_))) => {}
            Some(Ok(Message::Close(close))) => return (pings, close.map(|close| close.code)),
            other => panic!("expected pings, then the close; got {other:?}"),
        }
    }
}
