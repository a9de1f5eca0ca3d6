//! The real binary: start-up, configuration errors, operator commands, signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::process::{BIN, Server, onetime, run, text};

#[test]
fn version_prints_the_version() {
    let output = run(Command::new(BIN).arg("version"));
    assert!(output.status.success());
    assert_eq!(
        text(&output.stdout).trim(),
        format!("onetime {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_prints_the_effective_configuration_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_AUTH__JWT_SECRET", "a-very-secret-value-of-32-characters!")
        .env("ONETIME_GATEWAY__BODY_LIMIT_BYTES", "2048"));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("body_limit_bytes = 2048"),
        "environment overrides apply:\n{shown}"
    );
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("a-very-secret-value"));
    let parsed: toml::Value = toml::from_str(&shown).expect("the output is TOML");
    assert_eq!(parsed["profile"].as_str(), Some("development"));
}

#[test]
fn configuration_mistakes_exit_2_naming_the_key_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");

    std::fs::write(&file, "[server]\nadress = \"127.0.0.1:1\"\n").unwrap();
    let unknown = run(onetime(dir.path()).args(["--config", file.to_str().unwrap(), "check-config"]));
    assert_eq!(unknown.status.code(), Some(2));
    let said = text(&unknown.stderr);
    assert!(said.contains("adress") && said.contains("custom.toml"), "{said}");

    let bad_value = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_SERVER__ADDR", "port eighty"));
    assert_eq!(bad_value.status.code(), Some(2));
    let said = text(&bad_value.stderr).to_lowercase();
    assert!(said.contains("server.addr") && said.contains("onetime_"), "{said}");

    let bad_range = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_BUS__BATCH_SIZE", "0"));
    assert_eq!(bad_range.status.code(), Some(2));
    assert!(text(&bad_range.stderr).contains("bus.batch_size"));

    let missing = run(onetime(dir.path()).args(["--config", "/nonexistent/onetime.toml", "serve"]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/onetime.toml"));

    for output in [&unknown, &bad_value, &bad_range, &missing] {
        assert!(
            !text(&output.stderr).contains("panicked"),
            "no panic: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn production_needs_an_explicit_secret_and_real_cors_origins() {
    let dir = tempfile::tempdir().unwrap();
    let no_secret = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_PROFILE", "production"));
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(text(&no_secret.stderr).contains("auth.jwt_secret"));

    let default_cors = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_PROFILE", "production")
        .env("ONETIME_AUTH__JWT_SECRET", "a-very-secret-value-of-32-characters!"));
    assert_eq!(default_cors.status.code(), Some(2));
    assert!(text(&default_cors.stderr).contains("gateway.cors.allowed_origins"));

    let ready = run(onetime(dir.path())
        .arg("check-config")
        .env("ONETIME_PROFILE", "production")
        .env("ONETIME_AUTH__JWT_SECRET", "a-very-secret-value-of-32-characters!")
        .env("ONETIME_GATEWAY__CORS__ALLOWED_ORIGINS", "[\"https://oneday.example\"]"));
    assert!(ready.status.success(), "{}", text(&ready.stderr));
}

#[test]
fn serve_answers_health_probes_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&mut onetime(dir.path()));
    let health_url = format!("{}/health", server.url);

    let probe = run(onetime(dir.path()).args(["health", &health_url]));
    assert!(probe.status.success(), "{}", text(&probe.stderr));
    // The instance's base URL, as `--help` words it, with or without a trailing slash.
    for base in [server.url.clone(), format!("{}/", server.url)] {
        let probe = run(onetime(dir.path()).args(["health", &base]));
        assert!(probe.status.success(), "{base}: {}", text(&probe.stderr));
    }

    let secret = dir.path().join("jwt-secret");
    assert!(secret.exists(), "a JWT secret was generated in the data directory");

    let second = run(&mut onetime(dir.path()));
    assert!(!second.status.success());
    assert!(
        text(&second.stderr).contains("in use by another running onetime"),
        "{}",
        text(&second.stderr)
    );

    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let probe = run(onetime(dir.path()).args(["health", &health_url]));
    assert_eq!(probe.status.code(), Some(1), "nothing answers any more");
}

#[test]
fn a_closed_log_stream_does_not_break_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = onetime(dir.path());
    let mut child = command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains("listening on ")))
        .expect("listening");
    let url = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    drop(lines);
    for _ in 0..3 {
        assert!(
            request_id_of_health(&url).len() > 10,
            "still answering with stderr closed"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn backup_copies_the_data_of_a_running_instance_and_of_a_stopped_one() {
    let dir = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let mut server = Server::start(&mut onetime(dir.path()));

    let online = target.path().join("online");
    let output = run(onetime(dir.path()).arg("backup").arg(&online));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let secret = std::fs::read(dir.path().join("jwt-secret")).unwrap();
    assert_eq!(std::fs::read(online.join("jwt-secret")).unwrap(), secret);
    for file in ["users.redb", "jobs.redb", "search/CURRENT"] {
        assert!(online.join(file).exists(), "{file} is in the backup");
    }

    let again = run(onetime(dir.path()).arg("backup").arg(&online));
    assert!(!again.status.success(), "a backup never overwrites another");
    assert!(text(&again.stderr).contains("not empty"), "{}", text(&again.stderr));

    server.terminate();
    let offline = target.path().join("offline");
    let output = run(onetime(dir.path()).arg("backup").arg(&offline));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(std::fs::read(offline.join("jwt-secret")).unwrap(), secret);
}

#[test]
fn compact_runs_on_a_running_instance_and_on_a_stopped_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&mut onetime(dir.path()));
    let online = run(onetime(dir.path()).arg("compact"));
    assert!(online.status.success(), "{}", text(&online.stderr));
    let said = text(&online.stdout);
    assert!(said.contains("jobs: ") && said.contains("users: "), "{said}");

    server.terminate();
    let offline = run(onetime(dir.path()).arg("compact"));
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    let said = text(&offline.stdout);
    let sizes: Vec<u64> = said
        .lines()
        .find_map(|l| l.strip_prefix("jobs: "))
        .map(|l| l.split(' ').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    assert!(matches!(sizes[..], [before, after] if after <= before), "{said}");
}

#[test]
fn json_logs_are_one_object_per_line_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = onetime(dir.path());
    command.env("ONETIME_LOG__FORMAT", "json");
    let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server logs").unwrap();
        let event: serde_json::Value = serde_json::from_str(&line).expect("every line is JSON");
        if let Some(addr) = event["addr"].as_str() {
            break format!("http://{addr}");
        }
    };
    let request_id = request_id_of_health(&url);
    let logged = loop {
        let event: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if event["target"] == "onetime::access" {
            break event;
        }
    };
    assert_eq!(logged["request_id"], request_id);
    assert_eq!(logged["status"], 200);
    let _ = child.kill();
    let _ = child.wait();
}

/// GETs `/health` of `url` over a plain TCP stream; returns the request id the server gave.
fn request_id_of_health(url: &str) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let line = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-request-id:"))
        .unwrap();
    line.split_once(':').unwrap().1.trim().to_owned()
}
