//! The gateway's layers around routes of a test service, served as onetime serves them, over
//! real HTTP and WebSocket: what a service sees of the caller, what happens to slow, panicking
//! or oversized requests, and how many WebSockets a client may hold.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::Message;
use axum::routing::{get, post};
use futures::StreamExt;
use onetime_common::auth::{JwtKeys, Principal, Role};
use onetime_common::directory::{Clients, DirectoryError, SessionDirectory};
use onetime_common::extract::Json;
use onetime_common::service::ServiceRoutes;
use onetime_gateway::{
    ConnectionLimits, ConnectionsConfig, CorsConfig, Gateway, GatewayConfig, HealthReport, HealthSource, RateGroup,
    RateLimitConfig, Status,
};
use serde_json::{Value, json};

struct AlwaysOk;

impl HealthSource for AlwaysOk {
    fn report(&self) -> Pin<Box<dyn Future<Output = HealthReport> + Send + '_>> {
        Box::pin(async {
            HealthReport {
                status: Status::Ok,
                version: "test".into(),
                uptime_seconds: 0,
                services: BTreeMap::new(),
            }
        })
    }

    fn is_ready(&self) -> bool {
        true
    }
}

/// These tests are about the layers: every validly signed token's session goes on.
struct EverySessionGoesOn;

impl SessionDirectory for EverySessionGoesOn {
    fn is_current(&self, _principal: &Principal) -> Result<bool, DirectoryError> {
        Ok(true)
    }
}

fn keys() -> JwtKeys {
    JwtKeys::new(
        b"layers-test-secret-layers-test-secret",
        "onetime",
        "onetime",
        Duration::from_secs(60),
    )
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

/// Routes that show what the layers do.
fn test_service() -> ServiceRoutes {
    let router = Router::new()
        .route(
            "/whoami",
            get(|principal: Principal| async move { format!("{} {:?}", principal.user_id, principal.role) }),
        )
        .route(
            "/slow",
            get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }),
        )
        .route("/panic", get(panics))
        .route("/echo", post(|Json(body): Json<Value>| async move { axum::Json(body) }))
        .route(
            "/hold",
            get(|_principal: Principal, upgrade: WebSocketUpgrade| async move {
                upgrade.on_upgrade(|mut socket| async move { while let Some(Ok(_)) = socket.recv().await {} })
            }),
        )
        .route(
            "/socket",
            get(|principal: Principal, upgrade: WebSocketUpgrade| async move {
                upgrade.on_upgrade(move |mut socket| async move {
                    let _ = socket.send(Message::text(principal.user_id)).await;
                })
            }),
        );
    ServiceRoutes {
        name: "test",
        router,
        openapi: Default::default(),
    }
}

async fn serve() -> SocketAddr {
    serve_with(ConnectionsConfig::default()).await
}

async fn serve_with(connections: ConnectionsConfig) -> SocketAddr {
    let groups = BTreeMap::from([(
        "default".to_owned(),
        RateGroup {
            paths: vec![],
            ip_per_minute: 10_000,
            ip_burst: 1_000,
            user_per_minute: 10_000,
            user_burst: 1_000,
        },
    )]);
    let config = GatewayConfig {
        body_limit_bytes: 1024,
        request_timeout_seconds: 1,
        trust_forwarded_for: false,
        cors: CorsConfig {
            allowed_origins: vec!["*".into()],
            max_age_seconds: 60,
        },
        rate_limit: RateLimitConfig { enabled: true, groups },
        connections,
    };
    let limits = ConnectionLimits::new(&config.connections, false);
    let clients = Clients::default();
    clients.provide_sessions(Arc::new(EverySessionGoesOn));
    let gateway = Gateway {
        config,
        jwt: keys(),
        services: vec![test_service()],
        health: Arc::new(AlwaysOk),
        clients: Arc::new(clients),
        tls: false,
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { gateway.serve(listener, None, &limits, Default::default()).await });
    addr
}

async fn problem(response: reqwest::Response) -> Value {
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn services_receive_the_verified_principal() {
    let addr = serve().await;
    let client = reqwest::Client::new();
    let token = keys().issue("user-7", Role::Employer).0;
    let answer = client
        .get(format!("http://{addr}/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "user-7 Employer");

    let anonymous = client.get(format!("http://{addr}/whoami")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(problem(anonymous).await["code"], "unauthorized");
}

#[tokio::test]
async fn websockets_authenticate_with_a_token_query_parameter() {
    let addr = serve().await;
    let token = keys().issue("user-9", Role::Worker).0;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/socket?token={token}"))
        .await
        .unwrap();
    let first = socket.next().await.unwrap().unwrap();
    assert_eq!(first.into_text().unwrap().as_str(), "user-9");

    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/socket?token=forged")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a forged token must not upgrade: {other:?}"),
    }
    // A token in the query string of an ordinary request is ignored, not honoured: URLs end up
    // in logs, so tokens belong there only where browsers leave no choice.
    let plain = reqwest::get(format!("http://{addr}/whoami?token={token}"))
        .await
        .unwrap();
    assert_eq!(plain.status(), 401);
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem() {
    let addr = serve().await;
    let started = std::time::Instant::now();
    let response = reqwest::get(format!("http://{addr}/slow")).await.unwrap();
    assert_eq!(response.status(), 408);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(problem(response).await["code"], "timeout");
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_lives_on() {
    let addr = serve().await;
    let response = reqwest::get(format!("http://{addr}/panic")).await.unwrap();
    assert_eq!(response.status(), 500);
    let body = problem(response).await;
    assert_eq!(body["code"], "internal");
    assert!(
        !body["detail"].as_str().unwrap().contains("handler bug"),
        "internals stay in the log"
    );
    let token = keys().issue("u", Role::Admin).0;
    let next = reqwest::Client::new()
        .get(format!("http://{addr}/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
}

#[tokio::test]
async fn bodies_are_checked_for_type_syntax_and_size() {
    let addr = serve().await;
    let client = reqwest::Client::new();
    let post = |body: &'static str, content_type: &'static str| {
        client
            .post(format!("http://{addr}/echo"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let ok = post(r#"{"a": 1}"#, "application/json").await.unwrap();
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"a": 1}));

    let malformed = post(r#"{"a": "#, "application/json").await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "malformed_json");

    let not_json = post("a=1", "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(not_json.status(), 415);

    let big = client
        .post(format!("http://{addr}/echo"))
        .header("content-type", "application/json")
        .body(format!("\"{}\"", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(problem(big).await["code"], "payload_too_large");
}

#[tokio::test]
async fn websockets_have_a_cap_of_their_own() {
    let addr = serve_with(ConnectionsConfig {
        max_websockets_per_client: 1,
        ..ConnectionsConfig::default()
    })
    .await;
    let token = keys().issue("user-9", Role::Worker).0;
    let url = format!("ws://{addr}/hold?token={token}");
    let (mut held, _) = tokio_tungstenite::connect_async(&url).await.unwrap();

    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["code"], "too_many_connections");
        }
        other => panic!("a second WebSocket must be refused: {other:?}"),
    }
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200, "plain requests are counted apart");

    held.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio_tungstenite::connect_async(&url).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the closed WebSocket's place came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
