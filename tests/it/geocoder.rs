//! The optional external geocoder against a local HTTP server on 127.0.0.1 (never the
//! internet): realistic Nominatim and OS Places answers, slow answers, errors, garbage, empty
//! answers, a point outside coverage, the cache, the circuit breaker, and the HTTP API with a
//! geocoder configured.
//!
//! The geocoded point is the position of postcode NR11 6DU (on Mill Road, Aylsham) in the
//! embedded postcode table, so the band the engine must give is known independently: it is the
//! answer to a lookup of that postcode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use careband::data::load::DataSource;
use careband::engine::answer::{Answer, AnswerSource, PointAnswer, Precision};
use careband::engine::lookup::{LookupError, lookup};
use careband::engine::query::Query;
use careband::geocoder::config::{ApiKey, GeocoderConfig, GeocoderKind};
use careband::geocoder::{BreakerState, Geocoder, ManualClock, refine};
use careband::server::AppState;
use careband::server::config::ServeConfig;

use crate::common::http::{self, get_with};
use crate::common::{DATASET, date};

/// The day every lookup here is made on.
const ON: &str = "2019-06-01";

/// NR11 6DU in `geodata/postcodes/postcodes.csv`: WGS84 and BNG.
const LAT: f64 = 52.793_314;
const LON: f64 = 1.249_363;
const EASTING: f64 = 619_178.0;
const NORTHING: f64 = 326_699.0;

/// A house the gazetteer cannot settle: there are 134 Mill Roads (see
/// `the_address_is_one_the_gazetteer_cannot_settle`). The geocoder's answer is the house on Mill
/// Road, Aylsham.
const ADDRESS: &str = "14 Mill Road";

/// An address-like text the gazetteer finds nothing for.
const UNKNOWN_ADDRESS: &str = "7 Quillet Loke, Nowhere Parva";

const KEY: &str = "s3cret-key-0123456789";

/// A `jsonv2` answer as Nominatim sends it for a house.
fn nominatim_house(lat: f64, lon: f64) -> Value {
    json!([{
        "place_id": 183_456_021,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way", "osm_id": 301_245_876,
        "lat": format!("{lat}"), "lon": format!("{lon}"),
        "category": "building", "type": "house", "place_rank": 30, "importance": 0.000_07,
        "addresstype": "building", "name": "",
        "display_name": "14, Mill Road, Aylsham, Broadland, Norfolk, England, NR11 6DU, United Kingdom",
        "address": {"house_number": "14", "road": "Mill Road", "town": "Aylsham",
                    "municipality": "Broadland", "county": "Norfolk", "ISO3166-2-lvl4": "GB-ENG",
                    "postcode": "NR11 6DU", "country": "United Kingdom", "country_code": "gb"},
        "boundingbox": ["52.7932", "52.7934", "1.2492", "1.2495"]
    }])
}

/// A `/find` answer as OS Places sends it (coordinates in British National Grid).
fn os_places_house() -> Value {
    json!({
        "header": {"uri": "https://api.example/search/places/v1/find?query=14%20Mill%20Road",
                   "query": "query=14 Mill Road", "offset": 0, "totalresults": 1,
                   "format": "JSON", "dataset": "DPA", "lr": "EN,CY", "maxresults": 3,
                   "matchprecision": 1, "epoch": "112", "output_srs": "EPSG:27700"},
        "results": [{"DPA": {
            "UPRN": "100090801234", "UDPRN": "23456789",
            "ADDRESS": "14, MILL ROAD, AYLSHAM, NORWICH, NR11 6DU",
            "BUILDING_NUMBER": "14", "THOROUGHFARE_NAME": "MILL ROAD", "POST_TOWN": "NORWICH",
            "POSTCODE": "NR11 6DU", "RPC": "1", "X_COORDINATE": EASTING, "Y_COORDINATE": NORTHING,
            "STATUS": "APPROVED", "LOGICAL_STATUS_CODE": "1", "CLASSIFICATION_CODE": "RD04",
            "CLASSIFICATION_CODE_DESCRIPTION": "Terraced", "LOCAL_CUSTODIAN_CODE": 2605,
            "LOCAL_CUSTODIAN_CODE_DESCRIPTION": "BROADLAND", "COUNTRY_CODE": "E",
            "LANGUAGE": "EN", "MATCH": 1.0, "MATCH_DESCRIPTION": "EXACT"
        }}]
    })
}

/// Settings for the stand-in at `server`: no retries, and a timeout long enough that a busy
/// test machine never turns a quick answer into a timeout (and a retry).
fn config(server: &MockServer, kind: GeocoderKind) -> GeocoderConfig {
    let mut c = GeocoderConfig::new(kind, server.uri());
    c.timeout_ms = 1000;
    c.retries = 0;
    c
}

fn geocoder(c: &GeocoderConfig, clock: &ManualClock) -> Geocoder {
    let g = Geocoder::with_clock(c, Some(ApiKey::new(KEY)), Arc::new(clock.clone())).unwrap();
    g.set_coverage(&DATASET);
    g
}

async fn answer(g: &Geocoder, text: &str) -> Result<Answer, LookupError> {
    let offline = lookup(&DATASET, &Query::Text(text.into()), date(ON));
    refine(&DATASET, g, text, offline, date(ON)).await
}

fn point(a: Result<Answer, LookupError>) -> PointAnswer {
    match a {
        Ok(Answer::Point(p)) => p,
        Ok(Answer::Places(p)) => panic!("expected a point answer, got candidates: {:?}", p.notes),
        other => panic!("expected a point answer, got {other:?}"),
    }
}

/// The notes of an offline answer (candidates or "no place").
fn offline_notes(a: &Result<Answer, LookupError>) -> Vec<String> {
    match a {
        Ok(Answer::Places(p)) => p.notes.clone(),
        Err(LookupError::NoPlace { notes, .. }) => notes.clone(),
        other => panic!("expected the offline answer, got {other:?}"),
    }
}

/// The scheme answers of postcode NR11 6DU, as JSON.
fn postcode_schemes() -> Value {
    let Ok(Answer::Point(p)) = lookup(&DATASET, &Query::Postcode("NR11 6DU".into()), date(ON))
    else {
        panic!("NR11 6DU is known")
    };
    serde_json::to_value(&p.resolution.schemes).unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

async fn serve(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(server)
        .await;
}

/// A Nominatim stand-in that answers every request with the house.
async fn house_server() -> MockServer {
    let server = MockServer::start().await;
    serve(
        &server,
        ResponseTemplate::new(200).set_body_json(nominatim_house(LAT, LON)),
    )
    .await;
    server
}

/// A Nominatim stand-in that answers `first` to the first request and the house to every
/// later one.
async fn house_after(first: ResponseTemplate) -> MockServer {
    let server = house_server().await;
    Mock::given(method("GET"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

#[test]
fn the_address_is_one_the_gazetteer_cannot_settle() {
    // Many roads match equally, so the house needs the geocoder.
    let offline = lookup(&DATASET, &Query::Text(ADDRESS.into()), date(ON));
    let Ok(Answer::Places(p)) = &offline else {
        panic!("expected candidates")
    };
    assert!(!p.clear);
    assert!(careband::geocoder::wants_geocoder(ADDRESS, &offline));
    // A road the gazetteer does not have, in a town it has: only the town's point offline.
    let text = "3 Quillet Loke, Aylsham";
    let offline = lookup(&DATASET, &Query::Text(text.into()), date(ON));
    let Ok(Answer::Places(p)) = &offline else {
        panic!("expected candidates")
    };
    assert_eq!(p.candidates[0].precision, Precision::PlaceCentre);
    assert!(careband::geocoder::wants_geocoder(text, &offline));
}

#[tokio::test]
async fn a_nominatim_house_is_resolved_by_the_engine_and_labelled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("q", ADDRESS))
        .and(query_param("format", "jsonv2"))
        .and(query_param("countrycodes", "gb"))
        .and(header_exists("user-agent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(nominatim_house(LAT, LON)))
        .expect(1)
        .mount(&server)
        .await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let p = point(answer(&g, ADDRESS).await);
    assert_eq!(p.source, "geocoder:nominatim");
    assert_eq!(p.precision, Precision::AddressPoint);
    let facts = p.geocoded.as_ref().unwrap();
    assert!(facts.address.starts_with("14, Mill Road, Aylsham"));
    assert!(facts.attribution.contains("OpenStreetMap"), "{facts:?}");
    assert!(p.resolution.covered);
    assert_eq!(
        serde_json::to_value(&p.resolution.schemes).unwrap(),
        postcode_schemes()
    );
    // The request asked for the loaded schemes' area.
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(
        sent.url.query().unwrap().contains("viewbox="),
        "{}",
        sent.url
    );
}

#[tokio::test]
async fn an_os_places_address_in_bng_resolves_like_its_postcode() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/find"))
        .and(query_param("query", ADDRESS))
        .and(query_param("key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(os_places_house()))
        .expect(1)
        .mount(&server)
        .await;
    let g = geocoder(
        &config(&server, GeocoderKind::OsPlaces),
        &ManualClock::new(),
    );
    let p = point(answer(&g, ADDRESS).await);
    assert_eq!(p.source, "geocoder:os-places");
    assert_eq!(p.precision, Precision::AddressPoint);
    assert_eq!(
        p.geocoded.as_ref().unwrap().postcode.as_deref(),
        Some("NR11 6DU")
    );
    // BNG -> WGS84 by PROJ lands within a metre or so of the postcode table's WGS84 point.
    assert!(
        (p.resolution.point.lat - LAT).abs() < 2e-5,
        "{:?}",
        p.resolution.point
    );
    assert!(
        (p.resolution.point.lon - LON).abs() < 3e-5,
        "{:?}",
        p.resolution.point
    );
    let band = |v: &Value| v[0]["banding"]["band"]["name"].clone();
    let schemes = serde_json::to_value(&p.resolution.schemes).unwrap();
    assert_eq!(band(&schemes), band(&postcode_schemes()));
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_offline_answer_says_so() {
    let server = MockServer::start().await;
    serve(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(nominatim_house(LAT, LON))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let started = Instant::now();
    let a = answer(&g, ADDRESS).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let notes = offline_notes(&a);
    assert!(
        notes.iter().any(|n| n
            == "external geocoder unavailable (timeout after 1000 ms): answered from the offline gazetteer"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_500_is_retried_and_the_retry_answers() {
    let server = house_after(ResponseTemplate::new(500)).await;
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.retries = 2;
    let g = geocoder(&c, &ManualClock::new());
    let p = point(answer(&g, ADDRESS).await);
    assert_eq!(p.source, "geocoder:nominatim");
    assert_eq!(requests(&server).await, 2);
    assert_eq!(g.requests_sent(), 2);
}

#[tokio::test]
async fn retries_stop_at_the_configured_number() {
    let server = MockServer::start().await;
    serve(&server, ResponseTemplate::new(503)).await;
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.retries = 2;
    let g = geocoder(&c, &ManualClock::new());
    let notes = offline_notes(&answer(&g, ADDRESS).await);
    assert_eq!(requests(&server).await, 3, "one request and two retries");
    assert!(notes[0].contains("HTTP 503"), "{notes:?}");
}

#[tokio::test]
async fn client_errors_and_garbage_are_not_retried() {
    for (template, expect) in [
        (ResponseTemplate::new(404), "HTTP 404"),
        (ResponseTemplate::new(400), "HTTP 400"),
        (
            ResponseTemplate::new(200).set_body_string("<html><body>Service busy</body></html>"),
            "unreadable answer: the response is not JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"error": "Unable to geocode"})),
            "unreadable answer",
        ),
    ] {
        let server = MockServer::start().await;
        serve(&server, template).await;
        let mut c = config(&server, GeocoderKind::Nominatim);
        c.retries = 3;
        let g = geocoder(&c, &ManualClock::new());
        let notes = offline_notes(&answer(&g, ADDRESS).await);
        assert_eq!(requests(&server).await, 1, "{expect}");
        assert!(notes.iter().any(|n| n.contains(expect)), "{notes:?}");
    }
}

#[tokio::test]
async fn a_429_is_retried_after_a_short_retry_after_but_not_a_long_one() {
    for (retry_after, expected) in [("1", 2), ("3600", 1)] {
        let server =
            house_after(ResponseTemplate::new(429).insert_header("retry-after", retry_after)).await;
        let mut c = config(&server, GeocoderKind::Nominatim);
        c.retries = 2;
        let g = geocoder(&c, &ManualClock::new());
        let a = answer(&g, ADDRESS).await;
        assert_eq!(
            requests(&server).await,
            expected,
            "Retry-After {retry_after}"
        );
        if expected == 1 {
            assert!(offline_notes(&a)[0].contains("HTTP 429"));
        } else {
            assert_eq!(point(a).source, "geocoder:nominatim");
        }
    }
}

#[tokio::test]
async fn no_results_keep_the_offline_answer_with_a_note() {
    let server = MockServer::start().await;
    serve(&server, ResponseTemplate::new(200).set_body_json(json!([]))).await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let notes = offline_notes(&answer(&g, ADDRESS).await);
    assert!(
        notes.iter().any(|n| n.contains("found no match")),
        "{notes:?}"
    );
    // Text the gazetteer does not know stays a "no place" error, with the note in its message.
    let e = answer(&g, UNKNOWN_ADDRESS).await.unwrap_err();
    assert!(e.to_string().contains("found no match"), "{e}");
}

#[tokio::test]
async fn a_point_outside_every_scheme_is_answered_as_outside_coverage() {
    let server = MockServer::start().await;
    // A house in central Manchester.
    serve(
        &server,
        ResponseTemplate::new(200).set_body_json(nominatim_house(53.4794, -2.2453)),
    )
    .await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let p = point(answer(&g, UNKNOWN_ADDRESS).await);
    assert_eq!(p.source, "geocoder:nominatim");
    assert!(!p.resolution.covered);
    assert!(p.resolution.outside_reason.is_some());
}

#[tokio::test]
async fn a_second_identical_query_is_answered_from_the_cache() {
    let server = house_server().await;
    let clock = ManualClock::new();
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.cache_ttl_s = 60;
    let g = geocoder(&c, &clock);
    let first = point(answer(&g, ADDRESS).await);
    let again = point(answer(&g, "14  MILL road.").await);
    assert_eq!(requests(&server).await, 1);
    assert!(again.notes.iter().any(|n| n.contains("cache")));
    assert_eq!(
        serde_json::to_value(&first.resolution).unwrap(),
        serde_json::to_value(&again.resolution).unwrap()
    );
    clock.advance(Duration::from_secs(60));
    point(answer(&g, ADDRESS).await);
    assert_eq!(
        requests(&server).await,
        2,
        "an expired entry is asked again"
    );
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_probes_after_the_cooldown() {
    let server = MockServer::start().await;
    serve(&server, ResponseTemplate::new(500)).await;
    let clock = ManualClock::new();
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.failure_threshold = 3;
    c.cooldown_s = 30;
    let g = geocoder(&c, &clock);
    for _ in 0..3 {
        answer(&g, ADDRESS).await.unwrap();
    }
    assert_eq!(requests(&server).await, 3);
    assert_eq!(g.breaker_state(), BreakerState::Open);
    // Open: nothing is sent, and the answer says why.
    let notes = offline_notes(&answer(&g, ADDRESS).await);
    assert_eq!(requests(&server).await, 3);
    assert!(
        notes[0].contains("paused after repeated failures"),
        "{notes:?}"
    );
    clock.advance(Duration::from_secs(29));
    answer(&g, ADDRESS).await.unwrap();
    assert_eq!(requests(&server).await, 3, "still cooling down");
    // After the cooldown one probe goes out; the service has recovered, so it closes.
    clock.advance(Duration::from_secs(1));
    server.reset().await;
    serve(
        &server,
        ResponseTemplate::new(200).set_body_json(nominatim_house(LAT, LON)),
    )
    .await;
    assert_eq!(g.breaker_state(), BreakerState::HalfOpen);
    let p = point(answer(&g, ADDRESS).await);
    assert_eq!(p.source, "geocoder:nominatim");
    assert_eq!(requests(&server).await, 1);
    assert_eq!(g.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let server = MockServer::start().await;
    serve(&server, ResponseTemplate::new(502)).await;
    let clock = ManualClock::new();
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.failure_threshold = 1;
    let g = geocoder(&c, &clock);
    answer(&g, ADDRESS).await.unwrap();
    clock.advance(Duration::from_secs(c.cooldown_s));
    answer(&g, ADDRESS).await.unwrap();
    assert_eq!(requests(&server).await, 2);
    assert_eq!(g.breaker_state(), BreakerState::Open);
    answer(&g, ADDRESS).await.unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn texts_settled_offline_are_never_sent() {
    let server = house_server().await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    for text in [
        "14 Mill Road, Aylsham, NR11 6DU", // a postcode wins
        "Aylsham",                         // a place, not an address
        "Mill Road",                       // roads without a house
        "14 Mill Road, Aylsham",           // one road, all of it in Band 1
    ] {
        let a = answer(&g, text).await;
        assert!(
            !matches!(&a, Ok(Answer::Point(p)) if matches!(p.source, AnswerSource::Geocoder(_))),
            "{text}: {a:?}"
        );
    }
    assert_eq!(requests(&server).await, 0);
}

#[tokio::test]
async fn the_key_never_appears_in_errors_or_debug_output() {
    // Nothing listens on this port once the server is dropped.
    let uri = {
        let server = MockServer::start().await;
        server.uri()
    };
    let mut c = GeocoderConfig::new(GeocoderKind::OsPlaces, uri);
    c.timeout_ms = 300;
    c.retries = 0;
    let g = Geocoder::with_clock(&c, Some(ApiKey::new(KEY)), Arc::new(ManualClock::new())).unwrap();
    let e = g.geocode(ADDRESS).await.unwrap_err();
    for text in [e.to_string(), format!("{e:?}"), format!("{g:?}")] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("Mill"), "{text}");
    }
}

/// `GET uri` from the application with `state`: the status and the JSON body.
async fn api_get(state: AppState, uri: &str) -> (u16, Value) {
    let r = get_with(state, uri).await;
    (r.status.as_u16(), r.json())
}

/// Application state over the embedded dataset that asks `g` for addresses.
fn state(g: Geocoder) -> AppState {
    AppState::with_geocoder(
        Arc::clone(&DATASET),
        DataSource::Embedded,
        ServeConfig::default(),
        Some(Arc::new(g)),
    )
}

#[actix_web::test]
async fn the_api_answers_an_address_from_the_geocoder_and_labels_it() {
    let server = house_server().await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let (status, body) = api_get(state(g), "/v1/lookup?q=14%20Mill%20Road&date=2019-06-01").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "point");
    assert_eq!(body["source"], "geocoder:nominatim");
    assert_eq!(body["precision"], "address_point");
    assert!(
        body["geocoded"]["attribution"]
            .as_str()
            .unwrap()
            .contains("OpenStreetMap")
    );
    assert_eq!(body["resolution"]["schemes"], postcode_schemes());
}

#[actix_web::test]
async fn the_api_falls_back_to_the_gazetteer_with_a_note_never_a_500() {
    let server = MockServer::start().await;
    serve(&server, ResponseTemplate::new(500)).await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let st = state(g);
    let (status, body) = api_get(st.clone(), "/v1/lookup?q=14%20Mill%20Road").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "places");
    assert_eq!(body["source"], "gazetteer");
    let notes = body["notes"].to_string();
    assert!(
        notes.contains("external geocoder unavailable (the service answered HTTP 500)"),
        "{notes}"
    );
    let (status, body) = api_get(st, "/v1/lookup?q=7%20Quillet%20Loke%2C%20Nowhere%20Parva").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("external geocoder unavailable")
    );
}

#[actix_web::test]
async fn the_api_without_a_geocoder_labels_offline_answers() {
    let st = http::state();
    let (_, body) = api_get(st.clone(), "/v1/lookup?q=14%20Mill%20Road%2C%20Aylsham").await;
    assert_eq!(body["source"], "gazetteer");
    let (_, body) = api_get(st, "/v1/lookup?postcode=NR11%206DU").await;
    assert_eq!(body["source"], "postcode");
}

#[tokio::test]
async fn a_town_point_does_not_replace_candidates_but_answers_when_there_are_none() {
    let server = MockServer::start().await;
    serve(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([{
            "lat": "52.7950", "lon": "1.2510", "place_rank": 16, "addresstype": "town",
            "display_name": "Aylsham, Broadland, Norfolk, England, United Kingdom"
        }])),
    )
    .await;
    let g = geocoder(
        &config(&server, GeocoderKind::Nominatim),
        &ManualClock::new(),
    );
    let notes = offline_notes(&answer(&g, ADDRESS).await);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("placed the text no more precisely")),
        "{notes:?}"
    );
    let p = point(answer(&g, UNKNOWN_ADDRESS).await);
    assert_eq!(p.precision, Precision::PlaceCentre);
    assert!(p.resolution.covered);
}

/// A broker's file: two addresses the gazetteer cannot settle, the postcode of the house the
/// geocoder stand-in finds (NR11 6DU, so the band those rows must get is that postcode's), and
/// a third address that comes after the run's geocoder limit of 2.
const ADDRESSES: &str = "client,address,postcode\n\
A,14 Mill Road,\n\
B,\"7 Quillet Loke, Nowhere Parva\",\n\
C,,NR11 6DU\n\
D,12 Mill Road,\n";

/// The rows of a CSV answer, each as header name -> value.
fn csv_rows(out: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(out);
    let names: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            names
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Checks the answers to [`ADDRESSES`] with a limit of 2 geocoded rows.
fn check_address_rows(out: &[u8]) {
    let rows = csv_rows(out);
    assert_eq!(rows.len(), 4);
    let by_postcode = &rows[2];
    assert_eq!(by_postcode["status"], "answered");
    assert!(by_postcode["band"].starts_with("Band"), "{by_postcode:?}");
    for geocoded in &rows[..2] {
        assert_eq!(geocoded["status"], "answered", "{geocoded:?}");
        assert_eq!(geocoded["precision"], "address_point");
        assert!(
            geocoded["query_used"].starts_with("14, Mill Road, Aylsham")
                && geocoded["query_used"].ends_with("(geocoder:nominatim)"),
            "{geocoded:?}"
        );
        for column in ["band", "rate", "distance_miles", "nearest_surgery_code"] {
            assert_eq!(geocoded[column], by_postcode[column], "{column}");
        }
    }
    let over = &rows[3];
    assert_eq!(over["status"], "bad_input", "{over:?}");
    assert!(
        over["error"].contains("external geocoder not asked: this run had sent it 2 rows"),
        "{over:?}"
    );
}

#[test]
fn a_batch_sends_unsettled_addresses_to_the_geocoder_up_to_its_limit() {
    use careband::batch::BlockingRefiner;
    use careband::batch::{self, BatchOptions, InputFormat};
    // The geocoder's runtime, driven by its own thread while the batch's threads wait.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(house_server());
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.batch_rows = 2;
    let g = Arc::new(geocoder(&c, &ManualClock::new()));
    let refiner = Arc::new(BlockingRefiner::new(Arc::clone(&g), rt.handle().clone()));
    let mut opts = BatchOptions::new(date(ON));
    opts.threads = std::num::NonZeroUsize::new(1);
    opts.refiner = Some(refiner.clone());
    let mut out = Vec::new();
    let summary = batch::run(
        ADDRESSES.as_bytes(),
        InputFormat::Csv,
        &mut out,
        &opts,
        &DATASET,
        &|_| {},
    )
    .unwrap();
    check_address_rows(&out);
    assert_eq!(summary.geocoded, 2);
    assert_eq!(summary.answered, 3);
    assert_eq!(refiner.asked(), 3, "the third address was held back");
    assert_eq!(rt.block_on(requests(&server)), 2);
    // Without a refiner the same file is answered offline: the addresses are not settled.
    let mut offline = Vec::new();
    opts.refiner = None;
    let summary = batch::run(
        ADDRESSES.as_bytes(),
        InputFormat::Csv,
        &mut offline,
        &opts,
        &DATASET,
        &|_| {},
    )
    .unwrap();
    assert_eq!((summary.geocoded, summary.answered), (0, 1));
}

#[actix_web::test]
async fn the_api_batch_uses_the_configured_geocoder_within_its_limit() {
    use actix_web::http::header;
    let server = house_server().await;
    let mut c = config(&server, GeocoderKind::Nominatim);
    c.batch_rows = 2;
    let g = geocoder(&c, &ManualClock::new());
    let app = actix_web::test::init_service(careband::server::app(state(g))).await;
    let req = actix_web::test::TestRequest::post()
        .uri("/v1/batch?date=2019-06-01")
        .insert_header((header::CONTENT_TYPE, "text/csv"))
        .set_payload(ADDRESSES)
        .to_request();
    let r = http::send(&app, req).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    check_address_rows(&r.body);
    assert_eq!(requests(&server).await, 2);
}
