//! HTTP API tests: every route through the production application (`careband::server::app`, which
//! configures `careband::server::router`), the error table, limits, CORS, bulk ordering, the
//! `OpenAPI` document, reload, and one real server on port 0 called over HTTP.
//!
//! The embedded dataset is loaded once for the whole binary. Expected answers are never copied
//! numbers: each is compared with what the library's `lookup` says for the same query.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{App, test, web};
use chrono::NaiveDate;
use serde_json::{Value, json};

use careband::data::load::DataSource;
use careband::engine::lookup::lookup;
use careband::engine::query::Query;
use careband::server::config::ServeConfig;
use careband::server::{self, BULK_CAP};

use crate::common::fixtures::geodata_copy;
use crate::common::http::{Reply, get, send, serve, state, state_with};
use crate::common::log::Captured;
use crate::common::{DATASET, date};

/// A postcode in central Norwich (Band 1 in the Central Belt).
const NORWICH: &str = "NR1 1AA";

/// The production application with the default settings.
macro_rules! app {
    () => {
        app!(ServeConfig::default())
    };
    ($config:expr) => {
        test::init_service(server::app(state_with($config, DataSource::Embedded))).await
    };
}

async fn post_json(body: &Value) -> Reply {
    let app = app!();
    send(
        &app,
        test::TestRequest::post()
            .uri("/v1/lookup")
            .set_json(body)
            .to_request(),
    )
    .await
}

/// The library's answer to the same query, as JSON.
fn library(q: &Query, on: NaiveDate) -> Value {
    serde_json::to_value(lookup(&DATASET, q, on).expect("the library answers")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Operations

#[actix_web::test]
async fn healthz_answers_alive_to_get_and_head() {
    let r = get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "alive"}));
    let app = app!();
    let r = send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/healthz")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[actix_web::test]
async fn readyz_reports_the_dataset_being_served() {
    let r = get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["dataset_version"], DATASET.version.as_str());
    assert_eq!(body["postcodes"], DATASET.postcodes.len());
    assert!(
        body["schemes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "norfolk")
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_and_never_name_the_postcode() {
    let app = app!();
    for _ in 0..2 {
        let r = send(
            &app,
            test::TestRequest::get()
                .uri("/v1/postcodes/NR1%201AA")
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    send(
        &app,
        test::TestRequest::get().uri("/no/such/NR11AA").to_request(),
    )
    .await;
    let r = send(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text();
    assert!(
        text.contains(r#"careband_http_requests_total{method="GET",route="/v1/postcodes/{postcode}",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains("careband_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"careband_dataset_info{{version="{}"}} 1"#,
            DATASET.version
        )),
        "{text}"
    );
    assert!(
        !text.contains("NR1"),
        "a postcode leaked into the metrics: {text}"
    );
}

async fn access_log(config: ServeConfig) -> String {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = app!(config);
    for uri in [
        "/v1/lookup?postcode=NR1%201AA",
        "/v1/lookup?q=1%20Some%20Street%20NR1%201AA",
        "/v1/lookup?lat=52.6309&lon=1.2974",
        "/v1/postcodes/NR11AA",
    ] {
        send(&app, test::TestRequest::get().uri(uri).to_request()).await;
    }
    log.text()
}

#[actix_web::test]
async fn the_access_log_has_route_patterns_never_postcodes_or_points() {
    let text = access_log(ServeConfig::default()).await;
    assert!(
        text.contains(r#"route="/v1/postcodes/{postcode}""#),
        "{text}"
    );
    assert!(text.contains("status=200"), "{text}");
    for secret in ["NR1", "NR11AA", "Street", "52.63", "1.297"] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the log: {text}"
        );
    }
}

#[actix_web::test]
async fn queries_are_logged_only_when_asked() {
    let config = ServeConfig {
        log_queries: true,
        ..ServeConfig::default()
    };
    let text = access_log(config).await;
    assert!(text.contains("postcode=NR1%201AA"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Lookup

#[actix_web::test]
async fn a_postcode_lookup_is_the_library_answer() {
    let r = get("/v1/lookup?postcode=nr11aa&date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        body,
        library(&Query::Postcode(NORWICH.into()), date("2019-06-01"))
    );
    assert_eq!(body["kind"], "point");
    assert_eq!(body["postcode"]["postcode"], NORWICH);
    let scheme = &body["resolution"]["schemes"][0];
    assert_eq!(scheme["scheme"], "norfolk");
    assert_eq!(scheme["banding"]["band"]["number"], 1);
    assert_eq!(scheme["rate"]["kind"], "band");
}

#[actix_web::test]
async fn the_date_picks_the_rate_period() {
    let a = get("/v1/lookup?postcode=NR1+1AA&date=2018-06-01")
        .await
        .json();
    let b = get("/v1/lookup?postcode=NR1+1AA&date=2019-06-01")
        .await
        .json();
    let from = |v: &Value| v["resolution"]["schemes"][0]["rate"]["effective_from"].clone();
    assert_eq!(from(&a), "2018-04-09");
    assert_eq!(from(&b), "2019-04-08");
    assert_eq!(a["resolution"]["date"], "2018-06-01");
}

#[actix_web::test]
async fn no_date_means_today() {
    let body = get("/v1/lookup?postcode=NR1%201AA").await.json();
    assert_eq!(
        body["resolution"]["date"],
        chrono::Local::now().date_naive().to_string()
    );
}

#[actix_web::test]
async fn wgs84_and_bng_points_are_the_library_answer() {
    let r = get("/v1/lookup?lat=52.6309&lon=1.2974&date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        library(
            &Query::Point {
                lat: 52.6309,
                lon: 1.2974
            },
            date("2019-06-01")
        )
    );
    let r = get("/v1/lookup?easting=623000&northing=308500&date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        library(
            &Query::Bng {
                easting: 623_000.0,
                northing: 308_500.0
            },
            date("2019-06-01")
        )
    );
}

#[actix_web::test]
async fn a_partial_postcode_answers_with_an_area_summary() {
    let r = get("/v1/lookup?postcode=NR1%201&date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["kind"], "area");
    assert_eq!(body["level"], "sector");
    assert_eq!(
        body,
        library(&Query::Postcode("NR1 1".into()), date("2019-06-01"))
    );
}

#[actix_web::test]
async fn free_text_uses_the_postcode_in_the_address_and_says_which_part() {
    let r = get(
        "/v1/lookup?q=Flat%202%2C%2010%20Some%20Street%2C%20Norwich%20nr1%201aa&date=2019-06-01",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut body = r.json();
    assert_eq!(
        body["text_match"],
        json!({"text": "nr1 1aa", "start": 32, "end": 39, "postcode": NORWICH})
    );
    body.as_object_mut().unwrap().remove("text_match");
    assert_eq!(
        body,
        library(&Query::Postcode(NORWICH.into()), date("2019-06-01"))
    );
    // Without a postcode the gazetteer reads the text; an unknown name is a 404.
    get("/v1/lookup?q=10%20Qwxyz%20Zzkq")
        .await
        .error(StatusCode::NOT_FOUND, "place_not_found");
}

#[actix_web::test]
async fn free_text_without_a_postcode_gives_ranked_places_with_bands() {
    let r = get("/v1/lookup?q=Ollands%20Road,%20Reepham&date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["kind"], "places");
    assert_eq!(body["clear"], true);
    assert_eq!(body["candidates"][0]["precision"], "road_point");
    // Compared as text read back, so both sides go through the same float parsing.
    let lib = library(
        &Query::Text("Ollands Road, Reepham".into()),
        date("2019-06-01"),
    );
    let lib: Value = serde_json::from_str(&lib.to_string()).unwrap();
    assert_eq!(body, lib);
    // An ambiguous name is answered with every candidate, not a pick.
    let body = get("/v1/lookup?q=ollands%20rd&date=2019-06-01")
        .await
        .json();
    assert_eq!(body["clear"], false);
    assert_eq!(body["candidates"].as_array().unwrap().len(), 2);
    // The same through bulk.
    let r = post_json(&json!([{"q": "Hethersett", "date": "2019-06-01"}])).await;
    assert_eq!(r.json()["results"][0]["answer"]["kind"], "places");
}

#[actix_web::test]
async fn places_autocomplete_ranks_suggestions() {
    let r = get("/v1/places?q=hethers&limit=3").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["suggestions"][0]["name"], "Hethersett");
    assert_eq!(body["suggestions"][0]["kind"], "village");
    assert!(body["count"].as_u64().unwrap() <= 3);
    // Half-typed road words and a locality filter.
    let body = get("/v1/places?q=ollands%20ro,%20reep").await.json();
    assert_eq!(body["count"], 1, "{body}");
    assert_eq!(body["suggestions"][0]["query"], "Ollands Road, Reepham");
    // Nothing typed, nothing suggested.
    assert_eq!(get("/v1/places?q=").await.json()["count"], 0);
    get("/v1/places")
        .await
        .error(StatusCode::BAD_REQUEST, "missing_parameter");
    get("/v1/places?q=a&limit=0")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_limit");
    get("/v1/places?q=a&limit=x")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_limit");
    let long = "a".repeat(101);
    get(&format!("/v1/places?q={long}"))
        .await
        .error(StatusCode::BAD_REQUEST, "too_long");
}

#[actix_web::test]
async fn a_point_outside_every_scheme_is_answered_not_covered() {
    // Central London: no loaded scheme covers it.
    let r = get("/v1/lookup?lat=51.5074&lon=-0.1278").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["resolution"]["covered"], false);
    assert!(body["resolution"]["outside_reason"].is_string());
}

// ---------------------------------------------------------------------------------------------
// The error table

#[actix_web::test]
async fn bad_input_is_a_400_naming_the_field() {
    let cases = [
        (
            "/v1/lookup?postcode=NR1-1AA",
            "bad_postcode",
            Some("postcode"),
        ),
        ("/v1/lookup?q=%20,%20", "empty_text", Some("q")),
        ("/v1/lookup", "missing_query", None),
        (
            "/v1/lookup?postcode=NR1%201AA&lat=1&lon=1",
            "ambiguous_query",
            None,
        ),
        ("/v1/lookup?lat=52.6", "missing_parameter", Some("lon")),
        (
            "/v1/lookup?northing=300000",
            "missing_parameter",
            Some("easting"),
        ),
        ("/v1/lookup?lat=north&lon=1", "bad_number", Some("lat")),
        ("/v1/lookup?lat=NaN&lon=1", "bad_coordinate", Some("lat")),
        ("/v1/lookup?lat=95&lon=1", "bad_coordinate", Some("lat")),
        (
            "/v1/lookup?easting=-5&northing=1",
            "bad_coordinate",
            Some("easting"),
        ),
        (
            "/v1/lookup?postcode=NR1%201AA&date=2019-02-30",
            "bad_date",
            Some("date"),
        ),
        (
            "/v1/lookup?postcode=NR1%201AA&date=tomorrow",
            "bad_date",
            Some("date"),
        ),
        (
            "/v1/lookup?postcode=NR1%201AA&postcode=NR2",
            "repeated_parameter",
            Some("postcode"),
        ),
        ("/v1/postcodes/NR1", "partial_postcode", Some("postcode")),
        (
            "/v1/postcodes/NOT%20A%20POSTCODE",
            "bad_postcode",
            Some("postcode"),
        ),
        (
            "/v1/schemes/norfolk/bands.geojson?date=2019-13-01",
            "bad_date",
            Some("date"),
        ),
    ];
    for (uri, code, field) in cases {
        let e = get(uri).await.error(StatusCode::BAD_REQUEST, code);
        assert_eq!(e["field"].as_str(), field, "{uri}: {e}");
    }
    let long = format!("/v1/lookup?q={}", "x".repeat(400));
    let e = get(&long).await.error(StatusCode::BAD_REQUEST, "too_long");
    assert_eq!(e["field"], "q");
}

#[actix_web::test]
async fn unknown_things_are_a_404_with_suggestions_where_there_are_some() {
    // NR1 1XX is a well-formed postcode that does not exist; its sector does.
    let e = get("/v1/lookup?postcode=NR1%201XX")
        .await
        .error(StatusCode::NOT_FOUND, "postcode_not_found");
    let suggestions = e["suggestions"].as_array().unwrap();
    assert!(!suggestions.is_empty());
    assert!(
        suggestions
            .iter()
            .all(|s| s.as_str().unwrap().starts_with("NR1 1")),
        "{e}"
    );
    let e = get("/v1/postcodes/nr11xx")
        .await
        .error(StatusCode::NOT_FOUND, "postcode_not_found");
    assert!(!e["suggestions"].as_array().unwrap().is_empty());
    get("/v1/lookup?postcode=ZE9")
        .await
        .error(StatusCode::NOT_FOUND, "area_not_found");
    let e = get("/v1/schemes/atlantis")
        .await
        .error(StatusCode::NOT_FOUND, "scheme_not_found");
    assert!(
        e["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "norfolk")
    );
    get("/v1/schemes/atlantis/bands.geojson")
        .await
        .error(StatusCode::NOT_FOUND, "scheme_not_found");
    let e = get("/v1/schemes/norfolk/layers/atlantis.geojson")
        .await
        .error(StatusCode::NOT_FOUND, "layer_not_found");
    assert!(
        e["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "county")
    );
    get("/v2/lookup")
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
    // `/` is the web page; other unknown paths are JSON 404s.
    get("/index.php")
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
}

#[actix_web::test]
async fn a_wrong_method_is_a_405_listing_the_allowed_ones() {
    let app = app!();
    let r = send(
        &app,
        test::TestRequest::delete().uri("/v1/lookup").to_request(),
    )
    .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(r.headers.get(header::ALLOW).unwrap(), "GET, HEAD, POST");
    let r = send(
        &app,
        test::TestRequest::post().uri("/v1/schemes").to_request(),
    )
    .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let r = send(
        &app,
        test::TestRequest::get().uri("/admin/reload").to_request(),
    )
    .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[actix_web::test]
async fn a_query_string_over_the_limit_is_a_414() {
    let uri = format!("/v1/lookup?q={}", "a".repeat(3000));
    let e = get(&uri)
        .await
        .error(StatusCode::URI_TOO_LONG, "query_too_long");
    assert_eq!(
        e["limit"],
        careband::server::config::DEFAULT_MAX_QUERY_BYTES
    );
}

#[actix_web::test]
async fn the_router_alone_answers_in_the_error_shape() {
    // Without `app`'s middleware: the router's own extractor handlers and default service.
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state()))
            .configure(server::router),
    )
    .await;
    send(&app, test::TestRequest::get().uri("/nowhere").to_request())
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
    send(
        &app,
        test::TestRequest::post()
            .uri("/v1/lookup")
            .insert_header(("content-type", "text/plain"))
            .set_payload("[]")
            .to_request(),
    )
    .await
    .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/postcodes/NR1%201AA")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Bulk

#[actix_web::test]
async fn bulk_answers_each_query_in_order_with_errors_inside() {
    let queries = json!([
        {"postcode": "NR1 1AA", "date": "2019-06-01"},
        {"postcode": "NR1 1XX"},
        {"lat": 52.6309, "lon": 1.2974, "date": "2019-06-01"},
        {"postcode": "NR1-1AA"},
        {"q": "Norwich NR1 1AA", "date": "2019-06-01"},
        {"lat": "52"},
        {"postode": "NR1 1AA"},
        "NR1 1AA",
        {"postcode": "NR1 1AA", "date": "2019-02-30"},
        {"lat": 51.5074, "lon": -0.1278},
    ]);
    let r = post_json(&queries).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().unwrap();
    assert_eq!(body["count"], 10);
    assert_eq!(results.len(), 10);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
        assert_eq!(r["answer"].is_object(), r["status"] == 200, "{r}");
        assert_eq!(r["error"].is_object(), r["status"] != 200, "{r}");
    }
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 404, 200, 400, 200, 400, 400, 400, 400, 200]);
    assert_eq!(body["answered"], 4);
    assert_eq!(
        results[0]["answer"],
        library(&Query::Postcode(NORWICH.into()), date("2019-06-01"))
    );
    assert_eq!(
        results[2]["answer"],
        library(
            &Query::Point {
                lat: 52.6309,
                lon: 1.2974
            },
            date("2019-06-01")
        )
    );
    assert_eq!(results[1]["error"]["code"], "postcode_not_found");
    assert!(results[1]["error"]["suggestions"].is_array());
    assert_eq!(results[3]["error"]["field"], "postcode");
    assert_eq!(results[4]["answer"]["text_match"]["postcode"], NORWICH);
    assert_eq!(results[8]["error"]["field"], "date");
    assert_eq!(results[9]["answer"]["resolution"]["covered"], false);
}

#[actix_web::test]
async fn bulk_over_the_cap_is_a_413_saying_the_cap() {
    let queries: Vec<Value> = (0..=BULK_CAP)
        .map(|_| json!({"postcode": NORWICH}))
        .collect();
    let e = post_json(&Value::Array(queries))
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(e["limit"], BULK_CAP);
    assert!(e["message"].as_str().unwrap().contains("1000"));
    // Exactly at the cap is fine.
    let queries: Vec<Value> = (0..BULK_CAP)
        .map(|_| json!({"postcode": NORWICH}))
        .collect();
    let r = post_json(&Value::Array(queries)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["count"], BULK_CAP);
}

#[actix_web::test]
async fn bulk_allows_a_few_area_summaries_only() {
    let queries: Vec<Value> = (0..=server::routes::lookup::BULK_AREA_CAP)
        .map(|_| json!({"postcode": "NR1 1"}))
        .collect();
    let body = post_json(&Value::Array(queries)).await.json();
    let results = body["results"].as_array().unwrap();
    assert!(
        results[..server::routes::lookup::BULK_AREA_CAP]
            .iter()
            .all(|r| r["status"] == 200)
    );
    let last = &results[server::routes::lookup::BULK_AREA_CAP];
    assert_eq!(last["status"], 400);
    assert_eq!(last["error"]["code"], "too_many_area_queries");
}

#[actix_web::test]
async fn bulk_bodies_that_are_not_a_json_array_are_refused() {
    let app = app!();
    let post = || test::TestRequest::post().uri("/v1/lookup");
    send(
        &app,
        post()
            .set_payload("[{\"postcode\": \"NR1 1AA\"}]")
            .to_request(),
    )
    .await
    .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    send(
        &app,
        post()
            .insert_header(("content-type", "application/json"))
            .set_payload("[{\"postcode\": ")
            .to_request(),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_json");
    send(
        &app,
        post().set_json(json!({"postcode": NORWICH})).to_request(),
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
}

#[actix_web::test]
async fn a_body_over_the_configured_limit_is_a_413() {
    let mut config = ServeConfig::default();
    config.limits.max_body_bytes = 100;
    let app = app!(config);
    let queries: Vec<Value> = (0..10).map(|_| json!({"postcode": NORWICH})).collect();
    let e = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/lookup")
            .set_json(queries)
            .to_request(),
    )
    .await
    .error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(e["limit"], 100);
}

// ---------------------------------------------------------------------------------------------
// Postcodes and schemes

#[actix_web::test]
async fn postcode_facts_have_position_status_and_areas() {
    let r = get("/v1/postcodes/nr11aa").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let pc = &body["postcode"];
    assert_eq!(pc, NORWICH);
    assert_eq!(body["status"], "live");
    let rec = DATASET
        .postcodes
        .records()
        .iter()
        .find(|r| r.postcode.as_str() == NORWICH)
        .unwrap();
    let at = rec.position.unwrap();
    assert_eq!(body["position"], json!({"lat": at.lat(), "lon": at.lon()}));
    assert_eq!(body["district"].as_str(), rec.district.as_deref());
    let areas = body["areas"].as_array().unwrap();
    assert!(
        areas
            .iter()
            .any(|a| a["scheme"] == "norfolk" && a["layer"] == "county"),
        "{body}"
    );
    assert!(
        areas
            .iter()
            .any(|a| a["layer"] == "ccg2019" && a["id"] == "06W"),
        "{body}"
    );
    assert_eq!(body["dataset_version"], DATASET.version.as_str());
}

#[actix_web::test]
async fn schemes_list_what_is_loaded() {
    let body = get("/v1/schemes").await.json();
    assert_eq!(body["dataset_version"], DATASET.version.as_str());
    assert_eq!(body["origin"], "embedded");
    let schemes = body["schemes"].as_array().unwrap();
    assert_eq!(schemes.len(), DATASET.schemes.len());
    let norfolk = schemes.iter().find(|s| s["id"] == "norfolk").unwrap();
    assert_eq!(norfolk["banded"], true);
    assert_eq!(
        norfolk["links"]["bands"],
        "/v1/schemes/norfolk/bands.geojson"
    );
    assert!(norfolk["rates"].as_array().unwrap().len() >= 2);
    let layer = &norfolk["layers"].as_array().unwrap()[0];
    assert!(layer["features"].as_u64().unwrap() >= 1);

    let detail = get("/v1/schemes/norfolk").await.json();
    let loaded = DATASET.scheme("norfolk").unwrap();
    assert_eq!(
        detail["scheme"],
        serde_json::to_value(&loaded.scheme).unwrap()
    );
    assert_eq!(detail["centres"], loaded.centres.as_ref().unwrap().len());
}

#[actix_web::test]
async fn a_layer_is_served_as_geojson() {
    let r = get("/v1/schemes/norfolk/layers/ccg2019.geojson").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/geo+json"
    );
    let body = r.json();
    assert_eq!(body["type"], "FeatureCollection");
    let layer = DATASET.scheme("norfolk").unwrap().layer("ccg2019").unwrap();
    let features = body["features"].as_array().unwrap();
    assert_eq!(features.len(), layer.index.len());
    assert!(features.iter().any(|f| f["properties"]["id"] == "06W"));
    assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
}

#[actix_web::test]
async fn band_areas_are_drawn_for_display_and_agree_with_lookups() {
    use geo::Contains;
    let r = get("/v1/schemes/norfolk/bands.geojson?date=2019-06-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/geo+json"
    );
    let body = r.json();
    let features = body["features"].as_array().unwrap();
    let bands: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "band")
        .collect();
    assert_eq!(bands.len(), 3);
    for (i, b) in bands.iter().enumerate() {
        assert_eq!(b["properties"]["band"], i + 1);
        assert_eq!(b["properties"]["display_only"], true);
        assert!(b["properties"]["note"].as_str().unwrap().contains("exact"));
    }
    assert_eq!(bands[0]["properties"]["hourly"], 18.24);
    let centres = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "centre")
        .count();
    assert_eq!(body["careband"]["open_centres"], centres);
    assert!(centres > 0);
    // NR1 1AA is Band 1 by exact distance; it is far inside the drawn band 1 area.
    let g: geojson::Geometry = serde_json::from_value(bands[0]["geometry"].clone()).unwrap();
    let band1 = geo::Geometry::<f64>::try_from(g.value).unwrap();
    let at = DATASET
        .postcodes
        .records()
        .iter()
        .find(|r| r.postcode.as_str() == NORWICH)
        .unwrap()
        .position
        .unwrap();
    assert!(band1.contains(&at.point()));
    // A second call is served from the cache and is identical.
    let again = get("/v1/schemes/norfolk/bands.geojson?date=2019-06-01").await;
    assert_eq!(again.json(), body);
}

// ---------------------------------------------------------------------------------------------
// CORS

#[actix_web::test]
async fn no_cors_headers_unless_origins_are_configured() {
    let app = app!();
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("origin", "https://elsewhere.example"))
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[actix_web::test]
async fn a_configured_origin_is_allowed_and_others_are_not() {
    let config = ServeConfig {
        cors_origins: vec!["https://council.example".into()],
        ..ServeConfig::default()
    };
    let app = app!(config);
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/schemes")
            .insert_header(("origin", "https://council.example"))
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "https://council.example"
    );
    let r = send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/lookup")
            .insert_header(("origin", "https://council.example"))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "content-type"))
            .to_request(),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(
        r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "https://council.example"
    );
    assert!(
        r.headers
            .get(header::ACCESS_CONTROL_ALLOW_METHODS)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("POST")
    );
    // Another origin gets its answer without CORS headers: the browser withholds it.
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/schemes")
            .insert_header(("origin", "https://elsewhere.example"))
            .to_request(),
    )
    .await;
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[actix_web::test]
async fn a_star_allows_any_origin() {
    let config = ServeConfig {
        cors_origins: vec!["*".into()],
        ..ServeConfig::default()
    };
    let app = app!(config);
    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("origin", "https://anyone.example"))
            .to_request(),
    )
    .await;
    assert_eq!(
        r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "*"
    );
}

#[actix_web::test]
async fn a_refused_preflight_is_an_error_in_the_api_shape() {
    // The CORS middleware used to answer these in plain text.
    let config = ServeConfig {
        cors_origins: vec!["https://council.example".into()],
        ..ServeConfig::default()
    };
    let app = app!(config);
    for (origin, method) in [
        ("https://elsewhere.example", "GET"),
        ("https://council.example", "DELETE"),
    ] {
        let r = send(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/v1/lookup")
                .insert_header(("origin", origin))
                .insert_header(("access-control-request-method", method))
                .to_request(),
        )
        .await;
        let e = r.error(StatusCode::BAD_REQUEST, "request_refused");
        assert!(
            e["message"].as_str().unwrap().contains("cross-origin"),
            "{origin} {method}: {e}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Edge inputs: whatever a client sends, the answer is never a 5xx and errors keep their shape

#[actix_web::test]
async fn edge_inputs_are_refused_in_the_error_shape_never_a_500() {
    let app = app!();
    let mut uris: Vec<String> = Vec::new();
    for v in [
        "NaN", "inf", "-inf", "1e309", "-1e309", "1e308", "0x10", "%00", "",
    ] {
        uris.push(format!("/v1/lookup?lat={v}&lon=1.3"));
        uris.push(format!("/v1/lookup?easting={v}&northing=300000"));
    }
    for d in [
        "0000-01-01",
        "9999-12-31",
        "2019-02-30",
        "+10000-01-01",
        "262143-12-31",
        "-0001-01-01",
        "%FF",
    ] {
        uris.push(format!("/v1/lookup?postcode=NR1%201AA&date={d}"));
        uris.push(format!("/v1/lookup?lat=52.63&lon=1.3&date={d}"));
        uris.push(format!("/v1/schemes/norfolk/bands.geojson?date={d}"));
    }
    for t in [
        "%FF",
        "%C3%28",
        "%",
        "%G0",
        "%E2%82",
        "a%00b",
        "%2F",
        "..",
        "NR1%2F1AA",
        "%2e%2e",
    ] {
        uris.push(format!("/v1/postcodes/{t}"));
        uris.push(format!("/v1/schemes/{t}"));
        uris.push(format!("/v1/schemes/norfolk/layers/{t}.geojson"));
        uris.push(format!("/static/{t}"));
        uris.push(format!("/v1/lookup?postcode={t}"));
        uris.push(format!("/v1/lookup?q={t}"));
        uris.push(format!("/v1/places?q={t}"));
        uris.push(format!("/v1/places?q=a&limit={t}"));
        uris.push(format!("/v1/lookup?{t}"));
    }
    uris.extend(
        [
            "/v1/lookup?",
            "/v1/lookup?&&&",
            "/v1/lookup?=x",
            "/v1/lookup?q",
            "/v1/places?q=a&limit=99999999999999999999999",
            "/v1/places?q=a&limit=-1",
            "/v1/schemes/norfolk/layers/.geojson",
            "/v1/schemes/norfolk/layers/a.b.geojson",
            "/v1/schemes//bands.geojson",
            "/v1/postcodes/",
            "/static/",
            "/static/../Cargo.toml",
        ]
        .map(str::to_string),
    );
    uris.push(format!("/v1/places?q={}", "%C3%A9".repeat(300)));
    uris.push(format!("/v1/lookup?postcode={}", "N".repeat(400)));
    for uri in &uris {
        let r = send(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert!(r.status.as_u16() < 500, "{uri}: {} {}", r.status, r.text());
        if r.status.is_client_error() {
            assert!(r.json()["error"]["code"].is_string(), "{uri}: {}", r.text());
        }
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = [
        "",
        "null",
        "{}",
        "[null]",
        "[[]]",
        "[{}]",
        "[{\"lat\": 1e309, \"lon\": 1}]",
        "[{\"lat\": NaN, \"lon\": 1}]",
        "[{\"lat\": 1e308, \"lon\": 1e308}]",
        "[{\"easting\": 1e300, \"northing\": -1e300}]",
        "[{\"postcode\": 5}]",
        "[{\"date\": \"+99999-01-01\", \"q\": \"Norwich\"}]",
        "[{\"date\": \"0000-01-01\", \"postcode\": \"NR1 1AA\"}]",
        "[{\"q\": \"\\ud800\"}]",
        "[{\"postcode\": \"NR1 1AA\"}] trailing",
    ]
    .iter()
    .map(|b| b.as_bytes().to_vec())
    .chain([nested.into_bytes(), b"[\xff\xfe]".to_vec()])
    .collect();
    for body in bodies {
        let r = send(
            &app,
            test::TestRequest::post()
                .uri("/v1/lookup")
                .insert_header(("content-type", "application/json"))
                .set_payload(body.clone())
                .to_request(),
        )
        .await;
        let shown = String::from_utf8_lossy(&body);
        assert!(r.status.as_u16() < 500, "{shown:.80}: {}", r.text());
        if r.status.is_client_error() {
            assert!(r.json()["error"]["code"].is_string(), "{shown:.80}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

/// A concrete request path for a documented path template.
fn concrete(path: &str) -> String {
    path.replace("{postcode}", "NR1%201AA")
        .replace("{id}", "norfolk")
        .replace("{layer}", "county")
        .replace("{file}", "app.js")
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route_the_router_serves() {
    let doc = get("/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch", "head"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = server::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_string(), (*p).to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
    // Every documented operation is really routed (none falls to the unknown-route or
    // wrong-method answers).
    let app = app!();
    for (method, path) in &documented {
        let req = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(&concrete(path))
            .set_json(json!([]))
            .to_request();
        let r = send(&app, req).await;
        let code = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|b| b["error"]["code"].as_str().map(str::to_string));
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if path != "/admin/reload" {
            // /admin/reload is off (404) without an admin token; tested below.
            assert_ne!(code.as_deref(), Some("no_route"), "{method} {path}");
        }
    }
    // Every schema the operations refer to is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
    // `Answer` itself is merged into the three `LookupResponse` variants (see
    // `server::openapi::normalise`).
    for name in [
        "LookupResponsePoint",
        "Resolution",
        "SchemeAnswer",
        "ErrorBody",
        "LookupResponse",
        "BulkResponse",
    ] {
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
}

/// The parameter `name` of `method path` in the `OpenAPI` document.
fn documented_param<'a>(doc: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} documents no parameter {name}"))
}

#[actix_web::test]
async fn the_openapi_document_states_the_constraints_the_handlers_enforce() {
    // A client following the document used to be refused with 400s it could not foresee
    // (found by schemathesis): `q` of /v1/places was optional, `limit` unbounded, any string
    // a postcode and any text a delimiter.
    let doc = get("/openapi.json").await.json();
    let q = documented_param(&doc, "get", "/v1/places", "q");
    assert_eq!(q["required"], true);
    assert_eq!(q["schema"]["maxLength"], 100);
    get("/v1/places")
        .await
        .error(StatusCode::BAD_REQUEST, "missing_parameter");
    let at_most = format!("/v1/places?q={}", "a".repeat(100));
    assert_eq!(get(&at_most).await.status, StatusCode::OK);
    get(&format!("/v1/places?q={}", "a".repeat(101)))
        .await
        .error(StatusCode::BAD_REQUEST, "too_long");

    let limit = &documented_param(&doc, "get", "/v1/places", "limit")["schema"];
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(20))
    );
    for n in [1, 20] {
        let r = get(&format!("/v1/places?q=norw&limit={n}")).await;
        assert_eq!(r.status, StatusCode::OK, "limit={n}");
    }
    for n in [0, 21] {
        get(&format!("/v1/places?q=norw&limit={n}"))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_limit");
    }

    let pc = documented_param(&doc, "get", "/v1/postcodes/{postcode}", "postcode");
    let pattern = pc["schema"]["pattern"].as_str().unwrap();
    assert!(
        pattern.starts_with('^') && pattern.ends_with('$'),
        "{pattern}"
    );
    get("/v1/postcodes/0")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_postcode");

    let delimiter = documented_param(&doc, "post", "/v1/batch", "delimiter");
    assert!(delimiter["schema"]["pattern"].is_string(), "{delimiter}");
    let column = documented_param(&doc, "post", "/v1/batch", "postcode_col");
    assert_eq!(column["schema"]["minLength"], 1);

    // Every operation with query parameters documents the 414 the middleware answers.
    for (method, path) in [
        ("get", "/v1/lookup"),
        ("get", "/v1/places"),
        ("post", "/v1/batch"),
        ("get", "/v1/schemes/{id}/bands.geojson"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["414"].is_object(),
            "{method} {path} does not document 414"
        );
    }

    // The page's files are documented with the types they are served with.
    let content = &doc["paths"]["/static/{file}"]["get"]["responses"]["200"]["content"];
    for (file, media) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        assert!(content[media].is_object(), "{content}");
        let r = get(&format!("/static/{file}")).await;
        let served = r
            .headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(served.starts_with(media), "{file}: {served}");
    }
}

// ---------------------------------------------------------------------------------------------
// Reload

const TOKEN: &str = "test-token-0123456789";

fn reload_request(token: Option<&str>) -> test::TestRequest {
    let mut req = test::TestRequest::post().uri("/admin/reload");
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    req
}

#[actix_web::test]
async fn a_corrupt_dataset_is_refused_and_the_old_one_keeps_serving() {
    let (_dir, data) = geodata_copy();
    // One changed byte: the checksum in the manifest no longer matches.
    let file = data.join(careband::data::load::POSTCODES_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 2;
    bytes[last] = bytes[last].wrapping_add(1);
    std::fs::write(&file, bytes).unwrap();

    let config = ServeConfig {
        admin_token: Some(TOKEN.into()),
        ..ServeConfig::default()
    };
    let app = test::init_service(server::app(state_with(config, DataSource::Dir(data)))).await;
    send(&app, reload_request(None).to_request())
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    send(
        &app,
        reload_request(Some("wrong-token-0123456789")).to_request(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let e = send(&app, reload_request(Some(TOKEN)).to_request())
        .await
        .error(StatusCode::INTERNAL_SERVER_ERROR, "reload_refused");
    assert!(e["message"].as_str().unwrap().contains("checksum"), "{e}");

    let r = send(
        &app,
        test::TestRequest::get()
            .uri("/v1/lookup?postcode=NR1%201AA&date=2019-06-01")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        library(&Query::Postcode(NORWICH.into()), date("2019-06-01"))
    );
    let ready = send(&app, test::TestRequest::get().uri("/readyz").to_request())
        .await
        .json();
    assert_eq!(ready["dataset_version"], DATASET.version.as_str());
    let metrics = send(&app, test::TestRequest::get().uri("/metrics").to_request())
        .await
        .text();
    assert!(
        metrics.contains(r#"careband_reloads_total{outcome="refused"} 1"#),
        "{metrics}"
    );
}

#[actix_web::test]
async fn a_good_reload_is_served_and_reported() {
    let config = ServeConfig {
        admin_token: Some(TOKEN.into()),
        ..ServeConfig::default()
    };
    let app = app!(config);
    let r = send(&app, reload_request(Some(TOKEN)).to_request()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"status": "reloaded", "previous_version": DATASET.version, "dataset_version": DATASET.version})
    );
}

#[actix_web::test]
async fn reload_is_off_without_an_admin_token() {
    let app = app!();
    send(&app, reload_request(Some(TOKEN)).to_request())
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
}

// Issue 18 item 8: with an admin listener, the public one has no admin route and no metrics.
#[actix_web::test]
async fn with_an_admin_listener_the_admin_routes_are_only_there() {
    let config = ServeConfig {
        admin_token: Some(TOKEN.into()),
        admin_listen: Some("127.0.0.1:9180".into()),
        ..ServeConfig::default()
    };
    let public = app!(config.clone());
    send(&public, reload_request(Some(TOKEN)).to_request())
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
    send(
        &public,
        test::TestRequest::get().uri("/metrics").to_request(),
    )
    .await
    .error(StatusCode::NOT_FOUND, "no_route");
    let r = send(
        &public,
        test::TestRequest::get()
            .uri("/v1/lookup?postcode=NR1%201AA")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "the API stays public");

    let admin =
        test::init_service(server::admin_app(state_with(config, DataSource::Embedded))).await;
    send(
        &admin,
        reload_request(Some("wrong-token-0123456789")).to_request(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let metrics = send(
        &admin,
        test::TestRequest::get().uri("/metrics").to_request(),
    )
    .await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text().contains("careband_http_requests_total"));
    send(
        &admin,
        test::TestRequest::get()
            .uri("/v1/lookup?postcode=NR1%201AA")
            .to_request(),
    )
    .await
    .error(StatusCode::NOT_FOUND, "no_route");
}

#[actix_web::test]
async fn without_an_admin_listener_a_public_listener_off_loopback_has_no_admin_route() {
    let config = ServeConfig {
        listen: "0.0.0.0:8080".into(),
        admin_token: Some(TOKEN.into()),
        ..ServeConfig::default()
    };
    let app = app!(config);
    send(&app, reload_request(Some(TOKEN)).to_request())
        .await
        .error(StatusCode::NOT_FOUND, "no_route");
    let metrics = send(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(
        metrics.status,
        StatusCode::OK,
        "metrics stay where they were"
    );
    assert!(
        ServeConfig::default().admin_on_public(),
        "127.0.0.1 is loopback"
    );
}

// Issue 18 item 1: 50,000 made-up method tokens grew /metrics to 97 MB.
#[actix_web::test]
async fn thousands_of_method_tokens_and_statuses_add_no_metric_series() {
    let app = app!();
    let flood = |from: usize, to: usize| {
        (from..to).map(|i| {
            test::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(format!("TOK{i}").as_bytes()).unwrap())
                .uri(if i % 2 == 0 {
                    "/healthz"
                } else {
                    "/no/such/route"
                })
                .to_request()
        })
    };
    for req in flood(0, 10) {
        send(&app, req).await;
    }
    // The first scrape adds the series of /metrics itself.
    send(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let series = |text: &str| text.lines().filter(|l| l.starts_with("careband_")).count();
    let before = send(&app, test::TestRequest::get().uri("/metrics").to_request())
        .await
        .text();
    for req in flood(10, 2010) {
        send(&app, req).await;
    }
    let after = send(&app, test::TestRequest::get().uri("/metrics").to_request())
        .await
        .text();
    assert!(!after.contains("TOK"), "a method token is a label value");
    assert_eq!(series(&after), series(&before), "{after}");
    assert!(
        after.len() < before.len() + 500,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
}

// Issue 18 item 1: a body that stops arriving is answered 408 and its connection closed.
#[actix_web::test]
async fn a_body_that_stalls_gets_a_408_and_the_connection_is_closed() {
    use std::io::{Read, Write};
    let mut config = ServeConfig::default();
    config.limits.body_idle_timeout_ms = 200;
    let (base, handle) = serve(state_with(config, DataSource::Embedded));
    let addr = base.trim_start_matches("http://").to_string();
    let reply = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(
                b"POST /v1/lookup HTTP/1.1\r\nHost: careband\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{\"postcode\"",
            )
            .unwrap();
        let started = std::time::Instant::now();
        let mut reply = Vec::new();
        // read_to_end ends only when the server closes the connection.
        stream.read_to_end(&mut reply).unwrap();
        (String::from_utf8_lossy(&reply).into_owned(), started.elapsed())
    })
    .await
    .unwrap();
    handle.stop(false).await;
    let (reply, took) = reply;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("\"code\":\"request_timeout\""), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("connection: close"),
        "{reply}"
    );
    assert!(
        took < std::time::Duration::from_secs(5),
        "answered after {took:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A real server

#[actix_web::test]
async fn the_real_server_answers_over_http() {
    let (base, handle) = serve(state());
    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let r = client
        .get(format!(
            "{base}/v1/lookup?postcode=NR1%201AA&date=2019-06-01"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        library(&Query::Postcode(NORWICH.into()), date("2019-06-01"))
    );
    let r = client
        .post(format!("{base}/v1/lookup"))
        .json(&json!([{"postcode": NORWICH}, {"postcode": "nonsense!"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][1]["status"], 400);
    let r = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: server::ErrorBody = r.json().await.unwrap();
    assert_eq!(body.error.code, "no_route");
    handle.stop(true).await;
}

#[actix_web::test]
async fn the_docs_error_table_lists_every_error_code_with_its_status() {
    let mut documented: Vec<(u16, String)> = crate::common::docs::error_table()
        .into_iter()
        .map(|e| (e.status, e.code))
        .collect();
    documented.sort();
    let mut codes: Vec<(u16, String)> = server::ErrorCode::ALL
        .iter()
        .map(|c| (c.status().as_u16(), c.as_str().to_string()))
        .collect();
    codes.sort();
    assert_eq!(documented, codes);
}

#[actix_web::test]
async fn the_openapi_error_schema_lists_exactly_the_error_codes() {
    let r = get("/openapi.json").await;
    let doc = r.json();
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    let mut listed: Vec<&str> = codes
        .as_array()
        .expect("ErrorCode is an enum schema")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut all: Vec<&str> = server::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    all.sort_unstable();
    assert_eq!(listed, all);
}

#[cfg(target_os = "linux")]
#[actix_web::test]
async fn metrics_include_the_process_collector() {
    let r = get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_threads",
    ] {
        let sample = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} sample in {text}"));
        assert!(sample.parse::<f64>().is_ok(), "{name} {sample}");
    }
    let rss = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .unwrap();
    assert!(rss.parse::<f64>().unwrap() > 0.0, "{rss}");
}

#[actix_web::test]
async fn metrics_count_an_unknown_method_token_as_other_without_a_series_of_its_own() {
    let app = app!();
    for token in ["BREW", "XYZZY"] {
        let r = send(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(token.as_bytes()).unwrap())
                .uri("/healthz")
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let text = send(&app, test::TestRequest::get().uri("/metrics").to_request())
        .await
        .text();
    assert!(
        text.contains(
            r#"careband_http_requests_total{method="other",route="/healthz",status="405"} 2"#
        ),
        "{text}"
    );
    assert!(!text.contains("BREW") && !text.contains("XYZZY"), "{text}");
}
