//! Integrator conventions, through the production application: `HEAD` on every `GET` route,
//! the nearest postcodes to a point, bulk bodies in the postcodes.io shape, the attribution
//! on every answer, the docs page served offline, and the `OpenAPI` document in the plain
//! shapes client generators read.
//!
//! Expected values come from a second method: distances from a haversine formula written
//! here (within the sphere/ellipsoid difference), the postcodes within a radius by a brute
//! scan of every postcode, the attribution years from `geodata/LICENCE.md` (written by hand),
//! and bulk answers from the array form of the same request.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test;
use serde_json::{Value, json};

use careband::data::load::DataSource;
use careband::engine::dataset::PostcodeStatus;
use careband::server::config::ServeConfig;
use careband::server::{self, BULK_CAP};

use crate::common::DATASET;
use crate::common::http::{Reply, get, send, state_with};

macro_rules! app {
    () => {
        test::init_service(server::app(state_with(
            ServeConfig::default(),
            DataSource::Embedded,
        )))
        .await
    };
}

/// Great-circle distance on a sphere of the mean Earth radius (haversine), metres: the second
/// method for the geodesic distances, which differ from it by at most half a percent.
fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
}

/// A concrete request path for a route pattern of `server::ROUTES`.
fn concrete(path: &str) -> String {
    let file = if path.starts_with("/docs") {
        "init.js"
    } else {
        "app.js"
    };
    path.replace("{postcode}", "NR1%201AA")
        .replace("{id}", "norfolk")
        .replace("{layer}", "county")
        .replace("{file}", file)
}

// ---------------------------------------------------------------------------------------------
// HEAD

/// One request on its own connection to a built server: the status, the header lines and
/// every byte after the head (the connection is closed after the answer).
fn exchange(addr: std::net::SocketAddr, method: &str, uri: &str) -> (u16, Vec<String>, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        s,
        "{method} {uri} HTTP/1.1\r\nHost: careband.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {uri}: no response head"));
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    (
        status,
        lines.map(str::to_string).collect(),
        raw[end + 4..].to_vec(),
    )
}

fn header_of<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find_map(|h| h.strip_prefix(name)?.strip_prefix(':').map(str::trim))
}

#[actix_web::test]
async fn head_answers_every_get_route_as_get_does_without_a_body() {
    // Blocking reads are fine here: the server is another process.
    // The built server: the HTTP layer drops a HEAD answer's body, which a test service
    // would not.
    let server = crate::common::server::Server::start(&[]);
    let gets: Vec<&str> = server::ROUTES
        .iter()
        .filter(|(m, _)| *m == "GET")
        .map(|(_, p)| *p)
        .collect();
    assert!(gets.len() >= 15, "{gets:?}");
    for path in gets {
        let uri = concrete(path);
        let (got, got_headers, got_body) = exchange(server.addr, "GET", &uri);
        let (head, head_headers, head_body) = exchange(server.addr, "HEAD", &uri);
        assert_eq!(head, got, "HEAD {uri}");
        assert!(head_body.is_empty(), "HEAD {uri} sent a body");
        // The metrics count this very request, so their length changes from one to the next.
        let names: &[&str] = if path == "/metrics" {
            &["content-type", "attribution", "allow"]
        } else {
            &["content-type", "content-length", "attribution", "allow"]
        };
        for name in names {
            assert_eq!(
                header_of(&head_headers, name),
                header_of(&got_headers, name),
                "HEAD {uri}: {name}"
            );
        }
        if let Some(len) = header_of(&got_headers, "content-length") {
            assert_eq!(len, got_body.len().to_string(), "GET {uri}");
        }
    }
    // A route GET does not take stays a 405 for HEAD.
    let (status, headers, body) = exchange(server.addr, "HEAD", "/v1/batch");
    assert_eq!(status, 405);
    assert_eq!(header_of(&headers, "allow"), Some("post"));
    assert!(body.is_empty());
}

#[actix_web::test]
async fn head_on_a_post_only_route_is_still_a_405_naming_the_methods() {
    let app = app!();
    let r = send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/v1/batch")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), "POST");
    let r = send(
        &app,
        test::TestRequest::delete().uri("/v1/places").to_request(),
    )
    .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(r.header("allow"), "GET, HEAD");
}

// ---------------------------------------------------------------------------------------------
// Nearest postcodes

/// The facts route's position of a postcode.
async fn position_of(postcode: &str) -> (f64, f64) {
    let r = get(&format!("/v1/postcodes/{}", postcode.replace(' ', "%20"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let p = &r.json()["position"];
    (p["lat"].as_f64().unwrap(), p["lon"].as_f64().unwrap())
}

#[actix_web::test]
async fn a_postcodes_own_position_gives_it_first_at_zero_metres() {
    let (lat, lon) = position_of("NR1 1AA").await;
    let r = get(&format!("/v1/postcodes?lat={lat}&lon={lon}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["postcodes"][0]["postcode"], "NR1 1AA", "{body}");
    assert_eq!(body["postcodes"][0]["distance_m"], 0.0);
    assert_eq!(body["radius_m"], 100.0);
    assert_eq!(body["count"], body["postcodes"].as_array().unwrap().len());
    assert!(body["count"].as_u64().unwrap() <= 10);
    // The BNG point of the same postcode (as the facts route gives it) answers the same.
    let facts = get("/v1/postcodes/NR1%201AA").await.json();
    let (e, n) = (&facts["easting"], &facts["northing"]);
    let r = get(&format!("/v1/postcodes?easting={e}&northing={n}&limit=1")).await;
    let body = r.json();
    assert_eq!(body["count"], 1, "{body}");
    assert_eq!(body["postcodes"][0]["postcode"], "NR1 1AA");
    assert!(
        body["postcodes"][0]["distance_m"].as_f64().unwrap() < 1.0,
        "{body}"
    );
}

#[actix_web::test]
async fn the_nearest_postcodes_are_every_live_one_in_the_radius_nearest_first() {
    // A point between postcodes in central Norwich, 150 m: worked out by a scan of every
    // postcode with the haversine distance (a postcode within half a percent of the edge may
    // go either way, so it is not counted either way).
    let (lat, lon, radius) = (52.6290, 1.2990, 150.0);
    let r = get(&format!(
        "/v1/postcodes?lat={lat}&lon={lon}&radius={radius}&limit=100"
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let got: Vec<(String, f64, f64, f64)> = body["postcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["postcode"].as_str().unwrap().to_string(),
                p["distance_m"].as_f64().unwrap(),
                p["position"]["lat"].as_f64().unwrap(),
                p["position"]["lon"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(got.len() > 5 && got.len() < 100, "{} postcodes", got.len());
    for w in got.windows(2) {
        assert!(w[0].1 <= w[1].1, "not nearest first: {w:?}");
    }
    for (pc, d, plat, plon) in &got {
        let h = haversine_m(lat, lon, *plat, *plon);
        assert!(
            (d - h).abs() <= h * 0.005 + 0.1,
            "{pc}: {d} m, haversine {h} m"
        );
        assert!(*d <= radius, "{pc}: {d} m");
    }
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    let mut inside = 0;
    for rec in DATASET.postcodes.records() {
        let Some(at) = rec.position else { continue };
        let h = haversine_m(lat, lon, at.lat(), at.lon());
        let listed = names.contains(&rec.postcode.as_str());
        if rec.status != PostcodeStatus::Live {
            assert!(!listed, "terminated {} listed", rec.postcode);
        } else if h < radius * 0.995 {
            inside += 1;
            assert!(listed, "{} at {h} m is missing", rec.postcode);
        } else if h > radius * 1.005 {
            assert!(!listed, "{} at {h} m is listed", rec.postcode);
        }
    }
    assert!(inside > 5, "{inside}");
    // `limit` keeps the nearest.
    let r = get(&format!(
        "/v1/postcodes?lat={lat}&lon={lon}&radius={radius}&limit=3"
    ))
    .await;
    let first: Vec<Value> = r.json()["postcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["postcode"].clone())
        .collect();
    assert_eq!(
        first,
        names[..3].iter().map(|n| json!(n)).collect::<Vec<_>>()
    );
}

#[actix_web::test]
async fn a_point_with_no_postcode_in_the_radius_is_an_empty_list() {
    // The North Sea, 40 km off Great Yarmouth.
    let r = get("/v1/postcodes?lat=52.6&lon=2.3&radius=2000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["count"], 0);
    assert_eq!(body["postcodes"], json!([]));
}

#[actix_web::test]
async fn bad_nearest_postcode_queries_are_refused_naming_the_parameter() {
    for (query, code, field) in [
        ("", "missing_query", None),
        ("lat=52.6", "missing_parameter", Some("lon")),
        ("lon=1.3", "missing_parameter", Some("lat")),
        (
            "lat=52.6&lon=1.3&easting=1&northing=2",
            "ambiguous_query",
            None,
        ),
        ("lat=91&lon=1.3", "bad_coordinate", None),
        ("lat=abc&lon=1.3", "bad_number", Some("lat")),
        ("lat=52.6&lon=1.3&limit=0", "bad_limit", Some("limit")),
        ("lat=52.6&lon=1.3&limit=101", "bad_limit", Some("limit")),
        ("lat=52.6&lon=1.3&radius=0", "bad_number", Some("radius")),
        ("lat=52.6&lon=1.3&radius=2001", "bad_number", Some("radius")),
        ("lat=52.6&lon=1.3&radius=far", "bad_number", Some("radius")),
        ("lat=52.6&lon=1.3&radius=NaN", "bad_number", Some("radius")),
        (
            "lat=52.6&lon=1.3&radus=5",
            "unknown_parameter",
            Some("radus"),
        ),
    ] {
        let r = get(&format!("/v1/postcodes?{query}")).await;
        let e = r.error(StatusCode::BAD_REQUEST, code);
        if let Some(f) = field {
            assert_eq!(e["field"], f, "{query}: {e}");
        }
    }
    // The largest limit and radius are taken.
    let r = get("/v1/postcodes?lat=52.629&lon=1.299&limit=100&radius=2000").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["count"], 100);
}

// ---------------------------------------------------------------------------------------------
// Bulk in the postcodes.io shape

async fn post(uri: &str, body: &Value) -> Reply {
    let app = app!();
    send(
        &app,
        test::TestRequest::post()
            .uri(uri)
            .set_json(body)
            .to_request(),
    )
    .await
}

#[actix_web::test]
async fn a_postcodes_io_body_is_answered_as_the_same_array_of_queries() {
    let array = post(
        "/v1/lookup",
        &json!([{"postcode": "NR1 1AA"}, {"postcode": "BS1 5TR"}, {"postcode": "NR1 1XX"}]),
    )
    .await;
    assert_eq!(array.status, StatusCode::OK);
    let shape = json!({"postcodes": ["NR1 1AA", "BS1 5TR", "NR1 1XX"]});
    for uri in ["/v1/lookup", "/v1/postcodes"] {
        let r = post(uri, &shape).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert_eq!(r.json(), array.json(), "{uri}");
    }
    // The array form is taken by /v1/postcodes too.
    let r = post(
        "/v1/postcodes",
        &json!([{"postcode": "NR1 1AA"}, {"postcode": "BS1 5TR"}, {"postcode": "NR1 1XX"}]),
    )
    .await;
    assert_eq!(r.json(), array.json());
}

#[actix_web::test]
async fn a_postcodes_io_body_of_another_shape_is_refused() {
    let r = post("/v1/lookup", &json!({"postcodes": ["NR1 1AA", 7]})).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["answered"], 1);
    assert_eq!(body["results"][1]["status"], 400);
    assert_eq!(body["results"][1]["error"]["code"], "bad_item");
    for bad in [
        json!({"postcodes": "NR1 1AA"}),
        json!({"postcodes": ["NR1 1AA"], "filter": "postcode"}),
        json!({"queries": []}),
        json!("NR1 1AA"),
    ] {
        for uri in ["/v1/lookup", "/v1/postcodes"] {
            post(uri, &bad)
                .await
                .error(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        }
    }
    let many: Vec<String> = (0..=BULK_CAP).map(|_| "NR1 1AA".to_string()).collect();
    let r = post("/v1/postcodes", &json!({ "postcodes": many })).await;
    let e = r.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(e["limit"], BULK_CAP);
}

// ---------------------------------------------------------------------------------------------
// Attribution

/// The attribution lines of `geodata/LICENCE.md` (its bullet list, written by hand), with the
/// copyright sign as the header writes it.
fn licence_md_lines() -> Vec<String> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata/LICENCE.md"),
    )
    .unwrap();
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("- Contains OS data ")
                .map(|r| format!("Contains OS data {r}"))
        })
        .chain(text.lines().filter_map(|l| {
            l.strip_prefix("- Contains Royal Mail data ")
                .map(|r| format!("Contains Royal Mail data {r}"))
        }))
        .map(|l| l.trim_end_matches('.').replace('©', "(c)"))
        .collect()
}

#[actix_web::test]
async fn every_answer_carries_the_attribution_once() {
    let expected = licence_md_lines();
    assert_eq!(expected.len(), 2, "{expected:?}");
    for uri in [
        "/v1/lookup?postcode=NR1%201AA",
        "/v1/postcodes/NR1%201AA",
        "/v1/postcodes/ZZ99%209ZZ",
        "/v1/schemes/norfolk/layers/county.geojson",
        "/healthz",
        "/no/such/route",
    ] {
        let r = get(uri).await;
        assert_eq!(r.headers.get_all("attribution").count(), 1, "{uri}");
        let line = r.header("attribution");
        for e in &expected {
            assert!(line.contains(e.as_str()), "{uri}: {e:?} not in {line}");
        }
        for source in [
            "Contains data from GeoNames (geonames.org), licensed under Creative Commons Attribution 4.0",
            "Open Parliament Licence v3.0",
            "NHS England",
            "Office for National Statistics",
        ] {
            assert!(line.contains(source), "{uri}: {source:?} not in {line}");
        }
        let link = r.header("link");
        for url in [
            "<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>; rel=\"license\"",
            "<https://creativecommons.org/licenses/by/4.0/>; rel=\"license\"",
            "open-parliament-licence/>; rel=\"license\"",
        ] {
            assert!(link.contains(url), "{uri}: {url} not in {link}");
        }
        // Once: in the headers, not in the JSON body as well.
        assert!(!r.text().contains("Crown copyright"), "{uri}");
    }
    // The schemes list gives the same lines with the copyright sign, and the page's footer
    // shows them.
    let schemes = get("/v1/schemes").await.json();
    let lines: Vec<&str> = schemes["attribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["line"].as_str().unwrap())
        .collect();
    let header = get("/healthz").await.header("attribution").to_string();
    assert_eq!(lines.join("; ").replace('©', "(c)"), header);
    let page = get("/").await.text();
    for l in &lines {
        assert!(page.contains(l), "the page's footer lacks {l}");
    }
    assert!(
        page.contains("Open Parliament Licence v3.0</a>"),
        "no licence link"
    );
}

// ---------------------------------------------------------------------------------------------
// The docs page

#[actix_web::test]
async fn the_docs_page_is_served_with_every_file_from_careband_itself() {
    let r = get("/docs").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/html"));
    let html = r.text();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let csp = r.header("content-security-policy");
    assert!(!csp.contains("http"), "{csp}");
    assert!(html.contains("openapi.json"));
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("docs/"))
        .collect();
    if server::routes::page::has_docs_ui() {
        assert_eq!(
            assets,
            [
                "docs/swagger-ui.css",
                "docs/swagger-ui-bundle.js",
                "docs/init.js"
            ]
        );
        for a in assets {
            let r = get(&format!("/{a}")).await;
            assert_eq!(r.status, StatusCode::OK, "{a}");
            assert!(!r.body.is_empty(), "{a}");
        }
        // The viewer is told not to call the public validator.
        assert!(
            get("/docs/init.js")
                .await
                .text()
                .contains("validatorUrl: null")
        );
    } else {
        assert!(assets.is_empty(), "{assets:?}");
    }
    get("/docs/other.js")
        .await
        .error(StatusCode::NOT_FOUND, "no_such_file");
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document

#[actix_web::test]
async fn the_openapi_document_is_in_the_shapes_client_generators_read() {
    let doc = get("/openapi.json").await.json();
    assert_eq!(doc["security"], json!([{}]));
    assert_eq!(doc["servers"], json!([{"url": "/"}]));
    assert_eq!(
        doc["paths"]["/admin/reload"]["post"]["security"],
        json!([{"admin_token": []}])
    );
    let text = doc.to_string();
    assert!(!text.contains("\"allOf\""), "an allOf is left");
    let s = &doc["components"]["schemas"];
    let d = &s["LookupResponse"]["discriminator"];
    assert_eq!(d["propertyName"], "kind");
    for (kind, name) in [
        ("point", "LookupResponsePoint"),
        ("area", "LookupResponseArea"),
        ("places", "LookupResponsePlaces"),
    ] {
        assert_eq!(d["mapping"][kind], format!("#/components/schemas/{name}"));
        // The variant's own fields, the tag and the flattened text_match, in one object.
        let props = s[name]["properties"].as_object().unwrap();
        assert!(
            props.contains_key("kind") && props.contains_key("text_match"),
            "{name}"
        );
        assert_eq!(s[name]["properties"]["kind"]["enum"], json!([kind]));
    }
    assert!(s["LookupResponsePoint"]["properties"]["resolution"].is_object());
    // A flattened struct is one object with both sets of fields.
    let pr = s["PostcodeResponse"]["properties"].as_object().unwrap();
    assert!(pr.contains_key("postcode") && pr.contains_key("areas"));
    // Every operation has an id, a tag and a description; ids are unique.
    let mut ids = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}"));
            assert!(!ids.contains(&id.to_string()), "{id} twice");
            ids.push(id.to_string());
            assert!(op["tags"][0].is_string(), "{method} {path}");
            assert!(op["summary"].is_string(), "{method} {path}");
        }
    }
    // The batch route takes a file's bytes as well as text/csv.
    let body = &doc["paths"]["/v1/batch"]["post"]["requestBody"]["content"];
    assert_eq!(
        body["application/octet-stream"]["schema"],
        json!({"type": "string", "format": "binary"})
    );
    assert!(body["text/csv"].is_object());
}

#[actix_web::test]
async fn a_batch_sent_as_a_files_bytes_is_answered_as_csv() {
    let app = app!();
    let r = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/batch?date=2019-06-01")
            .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
            .set_payload("postcode\nNR1 1AA\n")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.header("content-type").starts_with("text/csv"));
    let text = r.text();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("postcode,"));
    assert!(lines.next().unwrap().starts_with("NR1 1AA,"));
}
