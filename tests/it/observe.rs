//! What an operator watches: the request id (header and access log), the log formats, and the
//! metrics besides the request counts, scraped from `/metrics` of the production application
//! after requests whose effect is known.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test as atest;

use careband::data::load::DataSource;
use careband::geocoder::config::ApiKey;
use careband::geocoder::{Geocoder, ManualClock};
use careband::server::config::{GeocoderConfig, GeocoderKind, ServeConfig};
use careband::server::{self, AppState};

use crate::common::DATASET;
use crate::common::http::{send, state};
use crate::common::log::Captured;

/// The value of the series `name` (with its labels, as written) in a scrape, if there.
fn series(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `GET /metrics` from `app`: the scrape.
macro_rules! scrape {
    ($app:expr) => {{
        let r = send($app, atest::TestRequest::get().uri("/metrics").to_request()).await;
        assert_eq!(r.status, StatusCode::OK);
        r.text()
    }};
}

#[actix_web::test]
async fn build_dataset_in_flight_and_process_metrics_are_scraped() {
    let before = chrono::Utc::now().timestamp_millis();
    let state = state();
    let after = chrono::Utc::now().timestamp_millis();
    let app = atest::init_service(server::app(state)).await;
    let text = scrape!(&app);
    let build = format!(
        r#"careband_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(series(&text, &build), Some(1.0), "{text}");
    // Loaded when the state was made: between the two clock readings around it.
    let loaded = series(&text, "careband_dataset_loaded_timestamp_seconds").expect(&text);
    #[expect(clippy::cast_precision_loss, reason = "milliseconds since 1970 fit")]
    let (low, high) = (before as f64 / 1000.0, after as f64 / 1000.0);
    assert!(
        low <= loaded && loaded <= high,
        "{low} <= {loaded} <= {high}"
    );
    // The scrape itself is the one request being handled.
    assert_eq!(
        series(&text, "careband_http_requests_in_flight"),
        Some(1.0),
        "{text}"
    );
    // After it, none: the next scrape counts only itself again.
    let text = scrape!(&app);
    assert_eq!(series(&text, "careband_http_requests_in_flight"), Some(1.0));
    #[cfg(target_os = "linux")]
    for name in ["process_resident_memory_bytes", "process_open_fds"] {
        assert!(
            series(&text, name).is_some_and(|v| v > 0.0),
            "{name}: {text}"
        );
    }
}

#[actix_web::test]
async fn batch_rows_are_counted_by_status() {
    // Classified by hand from the batch rules (docs/batch.md): three known postcodes, one
    // well-formed but unknown, one with a character no postcode has, one blank line.
    let csv = "postcode\nNR1 1AA\nBS1 5TR\nnr11aa\nNR1 1XX\nNR1!1AA\n\n";
    let expected = [
        ("answered", 3_u32),
        ("not_found", 1),
        ("outside_coverage", 0),
        ("bad_input", 1),
        ("blank", 1),
    ];
    let app = atest::init_service(server::app(state())).await;
    let r = send(
        &app,
        atest::TestRequest::post()
            .uri("/v1/batch?date=2019-06-01")
            .insert_header((header::CONTENT_TYPE, "text/csv"))
            .set_payload(csv)
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The response's own status column agrees with the hand classification.
    let mut rows = csv::Reader::from_reader(&r.body[..]);
    let column = rows
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "status")
        .unwrap();
    let statuses: Vec<String> = rows
        .records()
        .map(|row| row.unwrap()[column].to_string())
        .collect();
    for (status, n) in expected {
        assert_eq!(
            statuses.iter().filter(|s| *s == status).count(),
            usize::try_from(n).unwrap(),
            "{status} in {statuses:?}"
        );
    }
    // The summary-only form counts its rows too, so each count doubles.
    let r = send(
        &app,
        atest::TestRequest::post()
            .uri("/v1/batch?date=2019-06-01&summary=true")
            .insert_header((header::CONTENT_TYPE, "text/csv"))
            .set_payload(csv)
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = scrape!(&app);
    for (status, n) in expected {
        let name = format!(r#"careband_batch_rows_total{{status="{status}"}}"#);
        assert_eq!(
            series(&text, &name),
            Some(f64::from(n * 2)),
            "{name}: {text}"
        );
    }
}

/// A state asking a geocoder at `url` that opens its breaker after one failure.
fn geocoder_state(url: String) -> AppState {
    let mut c = GeocoderConfig::new(GeocoderKind::Nominatim, url);
    c.timeout_ms = 500;
    c.retries = 0;
    c.failure_threshold = 1;
    let g = Geocoder::with_clock(&c, Some(ApiKey::new("k")), Arc::new(ManualClock::new())).unwrap();
    AppState::with_geocoder(
        Arc::clone(&DATASET),
        DataSource::Embedded,
        ServeConfig::default(),
        Some(Arc::new(g)),
    )
}

#[actix_web::test]
async fn geocoder_calls_are_counted_by_outcome_with_the_breaker_state() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([{
            "lat": "52.793314", "lon": "1.249363", "place_rank": 30, "addresstype": "building",
            "display_name": "14, Mill Road, Aylsham, Broadland, Norfolk, England, NR11 6DU, United Kingdom"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let app = atest::init_service(server::app(geocoder_state(server.uri()))).await;
    // The same address twice: one request to the service, then the cache.
    for _ in 0..2 {
        let r = send(
            &app,
            atest::TestRequest::get()
                .uri("/v1/lookup?q=14%20Mill%20Road&date=2019-06-01")
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let text = scrape!(&app);
    for (outcome, n) in [
        ("ok", 1.0),
        ("cached", 1.0),
        ("connect", 0.0),
        ("breaker_open", 0.0),
    ] {
        let name = format!(r#"careband_geocoder_calls_total{{outcome="{outcome}"}}"#);
        assert_eq!(series(&text, &name), Some(n), "{name}: {text}");
    }
    assert_eq!(
        series(&text, r#"careband_geocoder_breaker_state{state="closed"}"#),
        Some(1.0)
    );
    assert_eq!(
        series(&text, r#"careband_geocoder_breaker_state{state="open"}"#),
        Some(0.0)
    );
    // A service that is not there: the first call fails to connect and opens the breaker
    // (threshold 1); the second is not sent.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = atest::init_service(server::app(geocoder_state(format!(
        "http://127.0.0.1:{port}/"
    ))))
    .await;
    for q in ["14%20Mill%20Road", "16%20Mill%20Road"] {
        send(
            &app,
            atest::TestRequest::get()
                .uri(&format!("/v1/lookup?q={q}&date=2019-06-01"))
                .to_request(),
        )
        .await;
    }
    let text = scrape!(&app);
    for (outcome, n) in [("connect", 1.0), ("breaker_open", 1.0), ("ok", 0.0)] {
        let name = format!(r#"careband_geocoder_calls_total{{outcome="{outcome}"}}"#);
        assert_eq!(series(&text, &name), Some(n), "{name}: {text}");
    }
    assert_eq!(
        series(&text, r#"careband_geocoder_breaker_state{state="open"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("Mill"), "{text}");
}

#[actix_web::test]
async fn every_answer_has_a_request_id_and_its_access_log_line_too() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = atest::init_service(server::app(state())).await;
    let get = |id: Option<&str>, uri: &str| {
        let mut req = atest::TestRequest::get().uri(uri);
        if let Some(id) = id {
            req = req.insert_header(("X-Request-Id", id));
        }
        req.to_request()
    };
    // A safe client id is kept, on an answer and on an error alike.
    let r = send(&app, get(Some("trace-42.a_b:c"), "/healthz")).await;
    assert_eq!(r.header("x-request-id"), "trace-42.a_b:c");
    let r = send(&app, get(Some("req-404"), "/no/such/route")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("x-request-id"), "req-404");
    let r = send(&app, get(Some("req-400"), "/v1/lookup?postcode=NR1!1AA")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.header("x-request-id"), "req-400");
    // None, or one that is too long or has other characters: a fresh one, 16 hex digits.
    let long = "x".repeat(65);
    let mut fresh = Vec::new();
    for id in [None, Some("NR1 1AA"), Some("<script>"), Some(long.as_str())] {
        let r = send(&app, get(id, "/healthz")).await;
        let given = r.header("x-request-id").to_string();
        assert!(
            given.len() == 16 && given.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id:?} -> {given}"
        );
        fresh.push(given);
    }
    fresh.sort();
    fresh.dedup();
    assert_eq!(fresh.len(), 4, "fresh ids repeat: {fresh:?}");
    let text = log.text();
    for id in ["trace-42.a_b:c", "req-404", "req-400"]
        .iter()
        .chain(fresh.iter().map(String::as_str).collect::<Vec<_>>().iter())
    {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("request_id=\"{id}\""))
                    || l.contains(&format!("request_id={id}"))),
            "no access log line for {id}:\n{text}"
        );
    }
    for unsafe_text in ["NR1 1AA", "<script>", &long] {
        assert!(
            !text.contains(unsafe_text),
            "{unsafe_text} reached the log:\n{text}"
        );
    }
}

/// `careband serve --log-format json`: every line is a JSON object, and the access log line of
/// a request carries the id its answer sent back.
#[cfg(target_os = "linux")]
#[test]
fn json_logs_carry_the_request_id_of_each_answer() {
    use std::io::{Read as _, Write as _};
    let server = crate::common::server::Server::start(&["--log-format", "json"]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: careband.test\r\nX-Request-Id: json-check-1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: json-check-1\r\n"),
        "{answer}"
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let line = loop {
        if let Some(l) = server
            .log()
            .into_iter()
            .find(|l| l.contains("json-check-1"))
        {
            break l;
        }
        assert!(std::time::Instant::now() < until, "{:?}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let v: serde_json::Value = serde_json::from_str(&line).expect(&line);
    assert_eq!(v["fields"]["request_id"], "json-check-1", "{line}");
    assert_eq!(v["fields"]["route"], "/healthz", "{line}");
    assert_eq!(v["fields"]["status"], 200, "{line}");
    for l in server.log() {
        assert!(
            serde_json::from_str::<serde_json::Value>(&l).is_ok(),
            "not JSON: {l}"
        );
    }
    // No colour codes in either format when standard error is not a terminal.
    assert!(server.log().iter().all(|l| !l.contains('\u{1b}')));
}
