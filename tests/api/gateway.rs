//! The gateway's own endpoints and the layers every request passes.

use serde_json::Value;

use tokio_tungstenite::tungstenite;

use crate::helpers::{WebSocket, problem, spawn_app, spawn_app_with, start, test_config};

#[tokio::test]
async fn health_reports_ok_with_version_and_uptime() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptimeSeconds"].is_u64());
    assert_eq!(body["services"]["gateway"]["status"], "ok");
}

#[tokio::test]
async fn ready_answers_once_started() {
    let app = spawn_app().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let response = loop {
        let response = app.get("/ready").await;
        if response.status() == 200 || std::time::Instant::now() > deadline {
            break response;
        }
        assert_eq!(problem(response).await["code"], "not_ready");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["ready"], true);
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_a_clients_id_is_echoed() {
    let app = spawn_app().await;
    let generated = app.get("/health").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

    let echoed = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");
    assert_eq!(
        problem(echoed).await["requestId"],
        "client-chosen-42",
        "errors carry the id too"
    );
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_oversized_bodies_are_problems() {
    let app = spawn_app_with(|c| c.gateway.body_limit_bytes = 1024).await;

    let missing = app.get("/no/such/path").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["code"], "not_found");

    let wrong_method = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(problem(wrong_method).await["code"], "method_not_allowed");

    let oversized = app
        .client
        .post(app.url("/no/such/path"))
        .header("content-type", "application/json")
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert_eq!(problem(oversized).await["code"], "payload_too_large");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/ready").await;
    app.get("/definitely/unknown").await;
    app.get("/jobs/no-such-job").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"onetime_http_requests_total{method="GET",route="/ready",status="200"}"#),
        "{text}"
    );
    // Unknown paths are not labels of their own: that would let anyone create series at will.
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(!text.contains("definitely"), "{text}");
    // Routes with parameters are labelled by their template.
    assert!(text.contains(r#"route="/jobs/{id}",status="404""#), "{text}");
    assert!(!text.contains("no-such-job"), "{text}");
    // What is read rather than counted: store sizes and bus lag.
    assert!(text.contains(r#"onetime_store_size_bytes{store="job"}"#), "{text}");
    assert!(
        text.contains(r#"onetime_bus_lag_events{subscriber="search",source="job"}"#),
        "{text}"
    );
    assert!(text.contains(
        r#"onetime_http_request_duration_seconds_bucket{method="GET",route="/ready",status="200",le="0.005"}"#
    ));
}

#[tokio::test]
async fn the_api_is_documented() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/health",
        "/ready",
        "/metrics",
        "/users/profile",
        "/jobs",
        "/search/jobs",
        "/search/suggestions",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is documented");
    }
    for path in ["/auth/register", "/auth/login", "/jobs", "/search/reindex"] {
        assert!(doc["paths"][path]["post"].is_object(), "POST {path} is documented");
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"), "Swagger UI is served");
}

#[tokio::test]
async fn the_web_ui_is_served_at_the_root() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("원데이"));
}

#[tokio::test]
async fn clients_over_their_ip_quota_get_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        let default = c.gateway.rate_limit.groups.get_mut("default").unwrap();
        default.ip_burst = 3;
        default.ip_per_minute = 1;
    })
    .await;
    for remaining in [2, 1, 0] {
        let response = app.get("/openapi.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(
            response.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
    }
    let refused = app.get("/openapi.json").await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "one token per minute: {retry_after}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    assert_eq!(problem(refused).await["code"], "rate_limited");

    // Another group has buckets of its own.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn each_user_has_a_bucket_of_their_own() {
    let app = spawn_app_with(|c| {
        let default = c.gateway.rate_limit.groups.get_mut("default").unwrap();
        default.user_burst = 2;
        default.user_per_minute = 1;
    })
    .await;
    let alice = app.signup("worker").await.token;
    let bob = app.signup("employer").await.token;
    assert_eq!(app.get_as("/openapi.json", &alice).await.status(), 200);
    assert_eq!(app.get_as("/openapi.json", &alice).await.status(), 200);
    assert_eq!(app.get_as("/openapi.json", &alice).await.status(), 429);
    assert_eq!(
        app.get_as("/openapi.json", &bob).await.status(),
        200,
        "same IP, other user"
    );
    assert_eq!(
        app.get("/openapi.json").await.status(),
        200,
        "anonymous callers count per IP only"
    );
}

#[tokio::test]
async fn bad_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let garbage = app.get_as("/health", "not-a-jwt").await;
    assert_eq!(garbage.status(), 401);
    assert_eq!(problem(garbage).await["code"], "invalid_token");

    let basic = app
        .client
        .get(app.url("/health"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let claims = serde_json::json!({
        "sub": "alice", "role": "worker", "iat": 1_000_000_000, "exp": 1_000_000_900,
        "jti": "x", "iss": app.config.auth.issuer, "aud": app.config.auth.audience,
    });
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.config.auth.jwt_secret.as_bytes()),
    )
    .unwrap();
    let response = app.get_as("/health", &expired).await;
    assert_eq!(response.status(), 401);
    assert_eq!(problem(response).await["code"], "token_expired");

    let valid = app.signup("worker").await.token;
    assert_eq!(app.get_as("/health", &valid).await.status(), 200);
}

#[tokio::test]
async fn websocket_upgrades_carry_their_token_in_the_query() {
    let app = spawn_app().await;
    let answer_to = |result: Result<WebSocket, tungstenite::Error>| match result {
        Err(tungstenite::Error::Http(answer)) => answer,
        Err(other) => panic!("expected an HTTP answer, got {other}"),
        Ok(_) => panic!("no WebSocket route here yet: the upgrade should not succeed"),
    };
    let code = |answer: &tungstenite::http::Response<Option<Vec<u8>>>| {
        let body: Value = serde_json::from_slice(answer.body().as_deref().unwrap_or_default()).unwrap();
        body["code"].clone()
    };

    // The gateway refuses a bad token before any service sees the upgrade.
    let refused = answer_to(app.websocket("/users/profile", Some("not-a-jwt")).await);
    assert_eq!(refused.status(), 401);
    assert_eq!(code(&refused), "invalid_token");

    // Without a token the service itself refuses an anonymous caller...
    let anonymous = answer_to(app.websocket("/users/profile", None).await);
    assert_eq!(anonymous.status(), 401);
    assert_eq!(code(&anonymous), "unauthorized");

    // ...and with one, the principal reaches it: it reads the caller's profile.
    let token = app.signup("worker").await.token;
    let looked_up = answer_to(app.websocket("/users/profile", Some(&token)).await);
    assert_eq!(looked_up.status(), 200);
}

#[tokio::test]
async fn cors_admits_configured_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/health"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );

    let refused = preflight("http://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    // Caches must keep answers for different origins apart, preflights and plain requests alike.
    // (`/health` is compressed now that it reports seven services: compression adds a `Vary`
    // of its own, so read every one.)
    for response in [&allowed, &app.get("/health").await] {
        let vary = response
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(vary.contains("origin"), "{vary}");
        assert!(vary.contains("access-control-request-method"), "{vary}");
    }
}

#[tokio::test]
async fn answers_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let get = async |path: &str, encodings: &str| {
        raw.get(app.url(path))
            .header("accept-encoding", encodings)
            .send()
            .await
            .unwrap()
    };
    let response = get("/openapi.json", "gzip").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let small = get("/ready", "gzip, br").await;
    assert!(
        small.headers().get("content-encoding").is_none(),
        "tiny bodies are not worth it"
    );
    let health = get("/health", "gzip, br").await;
    assert!(
        health.headers().get("content-encoding").is_none(),
        "probes' answers are not compressed"
    );
    assert!(
        health.bytes().await.unwrap().len() > 1024,
        "though /health is over the threshold"
    );
}

#[tokio::test]
async fn a_data_directory_serves_one_instance_at_a_time_and_is_released_on_shutdown() {
    let app = spawn_app().await;
    let second = onetime::startup::Application::build(app.config.clone()).await;
    let error = format!("{:#}", second.err().expect("a second instance is refused"));
    assert!(error.contains("in use by another running onetime"), "{error}");

    let (config, data_dir) = app.stop().await;
    let restarted = start(config, data_dir).await;
    assert_eq!(restarted.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_silent_control_connection_does_not_hold_up_shutdown() {
    let app = spawn_app().await;
    let socket = app.data_dir.path().join(onetime::control::CONTROL_SOCKET);
    let _silent = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), app.stop()).await;
    let (_, data_dir) = stopped.expect("shutdown finished with an idle control connection open");
    assert!(!data_dir.path().join(onetime::control::CONTROL_SOCKET).exists());
}

#[tokio::test]
async fn each_service_can_have_a_listener_of_its_own() {
    let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let app = spawn_app_with(|c| {
        let own = &mut c.server.service_listeners;
        own.enabled = true;
        for addr in own.addrs.values_mut() {
            *addr = any_port;
        }
    })
    .await;
    let job = app.service_addrs["job"];
    assert_ne!(job, app.addr);
    let jobs = app.client.get(format!("http://{job}/jobs")).send().await.unwrap();
    assert_eq!(jobs.status(), 200, "the job service answers on its own port");
    assert!(jobs.headers().contains_key("x-request-id"), "through the same layers");
    let health = app.client.get(format!("http://{job}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let elsewhere = app
        .client
        .get(format!("http://{job}/users/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404, "only the job service's routes");

    let user = app.service_addrs["user"];
    let profile = app
        .client
        .get(format!("http://{user}/users/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 401, "the user service's routes, on its port");
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_accepts_no_more() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let token = app.signup("employer").await.token;
    let starts = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let body = crate::helpers::job_posting(starts, time::Duration::hours(4)).to_string();

    // Headers and half the body now; the rest once shutdown has begun.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let addr = app.addr;
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );

    stream.write_all(rest).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight completed: {answer}"
    );
    stopping.await.unwrap();
}

#[tokio::test]
async fn a_store_file_mostly_free_is_compacted_at_start_up_and_health_shows_its_free_share() {
    use onetime_storage::{Store, Table};
    const SCRATCH: Table<u64, String> = Table::new("scratch");

    // A job store that once held 8 MB it no longer needs (a drained backlog, say).
    let data_dir = tempfile::tempdir().unwrap();
    let spec = onetime_job::SERVICE.store.as_ref().unwrap();
    let jobs = Store::open(data_dir.path(), spec).unwrap();
    let row = "x".repeat(64 * 1024);
    for n in 0..128u64 {
        let row = row.clone();
        jobs.write(move |tx| SCRATCH.insert(tx, &n, &row).map(drop))
            .await
            .unwrap();
    }
    jobs.write(|tx| SCRATCH.remove_range(tx, ..).map(drop)).await.unwrap();
    let grown = std::fs::metadata(jobs.path()).unwrap().len();
    assert!(grown > 8 << 20, "{grown}");
    drop(jobs);

    let mut config = test_config(&data_dir);
    config.storage.compact_min_mib = 1;
    let app = start(config, data_dir).await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    let store = &health["services"]["job"]["store"];
    let size = store["sizeBytes"].as_u64().unwrap();
    assert!(size < grown / 4, "compacted at start-up: {grown} → {store}");
    // A file this small is mostly redb's fixed overhead; what matters is that it is measured.
    let free_share = store["freeShare"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&free_share), "{store}");
    assert!(store["allocatedBytes"].as_u64().unwrap() <= size, "{store}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"onetime_store_free_share{store="job"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"onetime_store_allocated_bytes{store="job"}"#),
        "{metrics}"
    );
}
