//! Running it: the metrics listener, JSON logs that carry request ids, and a SIGTERM that
//! finishes the requests in flight.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::*;

fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn metrics_listen_serves_metrics_apart_from_the_public_listener() {
    let metrics = free_address();
    let idp = TestIdp::start_with(&[("IDP_METRICS_LISTEN", metrics.as_str())]).await;
    let public = reqwest::get(format!("{}/metrics", idp.issuer))
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        StatusCode::NOT_FOUND,
        "not on the public listener"
    );
    let response = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for gauge in ["idp_hash_queue_depth 0", "idp_hash_running 0"] {
        assert!(text.contains(gauge), "{gauge} missing from:\n{text}");
    }
    assert!(text.contains("idp_http_request_duration_seconds_count{route=\"/metrics\""));
    let other = reqwest::get(format!("http://{metrics}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "nothing else there");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_that_the_response_names() {
    let mut idp = TestIdp::start_with(&[
        ("IDP_LOG_FORMAT", "json"),
        ("IDP_LOG", "info,idp_server::web::request_id=debug"),
    ])
    .await;
    let http = reqwest::Client::new();
    let given = http
        .get(format!("{}/healthz", idp.issuer))
        .header("x-request-id", "lb-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "lb-7f3a.42");
    let forged = http
        .get(format!("{}/healthz", idp.issuer))
        .header("x-request-id", "x\"} {\"level\":\"ERROR")
        .send()
        .await
        .unwrap();
    let made = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        made.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert!(!made.contains("ERROR"), "a forged id is replaced");

    let (status, logs) = idp.terminate();
    assert!(status.success(), "{logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = |id: &str| {
        lines.iter().any(|l| {
            l["span"]["request_id"] == id
                && l["fields"]["message"] == "answered"
                && l["span"]["path"] == "/healthz"
        })
    };
    assert!(answered("lb-7f3a.42"), "{logs}");
    assert!(answered(&made), "{logs}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "stopped"));
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits() {
    let mut idp = TestIdp::start().await;
    let address = idp.issuer.trim_start_matches("http://").to_owned();
    // A request whose body is still on its way when the signal comes.
    let body = "grant_type=client_credentials";
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = idp.pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    // It no longer takes new connections...
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ...but answers the one it was reading.
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("invalid_client"), "{response}");
    let (status, logs) = idp.terminate_wait();
    assert!(status.success(), "{logs}");
}
