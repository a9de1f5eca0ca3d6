//! HTTPS with rustls when a certificate and key are configured.

use crate::helpers::{spawn_tls_app, test_config};

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let (app, client) = spawn_tls_app().await;
    let url = format!("https://localhost:{}/health", app.addr.port());
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let plain = app
        .client
        .get(format!("http://localhost:{}/health", app.addr.port()))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );
}

#[tokio::test]
async fn a_missing_certificate_stops_start_up_with_its_name() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&data_dir);
    config.server.tls.cert = "/nonexistent/cert.pem".into();
    config.server.tls.key = "/nonexistent/key.pem".into();
    let error = onetime::startup::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(format!("{error:#}").contains("/nonexistent/cert.pem"), "{error:#}");
}
