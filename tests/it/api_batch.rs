//! `POST /v1/batch` through the production application (`careband::server::app`): rows in
//! order, the CLI's flags as parameters, the row and byte caps, content types, broken input,
//! and a large batch streamed by a real server.
//!
//! Batch answers are never copied text: each response is compared byte for byte with what the
//! library's `careband::batch::run` writes for the same input and options, which is what
//! `careband batch` writes.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test;

use careband::batch::{self, BatchOptions, InputFormat};
use careband::server::{self, BATCH_MAX_BYTES, BATCH_MAX_ROWS};

use crate::common::http::{Reply, get, send, serve, state};
use crate::common::{DATASET, date};

/// `POST /v1/batch{query}` with `body`, and a content type if one is given.
async fn post_batch(query: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let app = test::init_service(server::app(state())).await;
    let mut req = test::TestRequest::post()
        .uri(&format!("/v1/batch{query}"))
        .set_payload(body);
    if let Some(t) = content_type {
        req = req.insert_header((header::CONTENT_TYPE, t));
    }
    send(&app, req.to_request()).await
}

/// What `careband batch` writes for the same input and options.
fn library(input: &[u8], opts: &BatchOptions) -> Vec<u8> {
    let mut out = Vec::new();
    batch::run(input, InputFormat::Csv, &mut out, opts, &DATASET, &|_| {}).unwrap();
    out
}

/// The batch options of a run on date `d`.
fn on(d: &str) -> BatchOptions {
    BatchOptions::new(date(d))
}

/// Good, bad, blank and unknown rows mixed, with a quoted field holding the delimiter.
const MIXED: &str = "id,name,postcode\n\
1,\"Smith, J\",NR1 1AA\n\
2,garbage,not a postcode\n\
\n\
4,unknown,NR1 1XX\n\
5,partial,NR1\n\
6,ragged,NR2 1AA,extra\n\
7,bristol,BS1 5TR\n\
8,lower,nr11aa\n";

#[actix_web::test]
async fn every_row_comes_back_in_order_as_the_cli_writes_it() {
    let r = post_batch("?date=2019-06-01", Some("text/csv"), MIXED.into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(r.header("careband-rows"), "8");
    assert!(
        r.header("content-disposition")
            .contains("careband-2019-06-01.csv")
    );
    assert_eq!(
        r.text(),
        String::from_utf8(library(MIXED.as_bytes(), &on("2019-06-01"))).unwrap()
    );
    // One output row per input row, in order, whatever happened to it.
    let mut reader = csv::ReaderBuilder::new().from_reader(&r.body[..]);
    let headers = reader.headers().unwrap().clone();
    let status = headers.iter().position(|h| h == "status").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    let statuses: Vec<&str> = rows.iter().map(|r| &r[status]).collect();
    assert_eq!(statuses[0], "answered");
    assert_eq!(statuses[1], "bad_input");
    assert_eq!(statuses[2], "blank");
    assert_eq!(statuses[3], "not_found");
    assert_eq!(statuses[4], "bad_input");
    assert_eq!(statuses[5], "bad_input");
    assert_eq!(statuses[7], "answered");
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids, ["1", "2", "", "4", "5", "6", "7", "8"]);
}

#[actix_web::test]
async fn parameters_are_the_cli_flags() {
    let input = "Ref;Where;Other\nA;NR1 1AA;x\nB;NR2 1AA;y\n";
    let r = post_batch(
        "?date=2018-06-01&postcode_col=Where&excel=true",
        Some("text/csv; charset=utf-8"),
        input.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut opts = on("2018-06-01");
    opts.columns.postcode = Some("Where".into());
    opts.excel = true;
    let expected = library(input.as_bytes(), &opts);
    assert!(
        expected.starts_with(b"\xEF\xBB\xBF"),
        "excel output has a BOM"
    );
    assert_eq!(&r.body[..], &expected[..]);
    // A different date gives a different answer (the 2018/19 Band 1 rate).
    assert!(r.text().contains("17.40"), "{}", r.text());
}

#[actix_web::test]
async fn the_row_cap_is_a_413_and_rows_up_to_it_are_answered() {
    let mut at_cap = b"postcode\n".to_vec();
    at_cap.extend(std::iter::repeat_n(
        b'\n',
        usize::try_from(BATCH_MAX_ROWS).unwrap(),
    ));
    let r = post_batch("", Some("text/csv"), at_cap.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("careband-rows"), BATCH_MAX_ROWS.to_string());
    assert_eq!(
        memchr::memchr_iter(b'\n', &r.body).count(),
        usize::try_from(BATCH_MAX_ROWS).unwrap() + 1
    );
    at_cap.push(b'\n');
    let r = post_batch("", Some("text/csv"), at_cap).await;
    let e = r.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(e["limit"], BATCH_MAX_ROWS);
}

#[actix_web::test]
async fn a_body_over_the_byte_cap_is_a_413() {
    let mut body = b"postcode,notes\nNR1 1AA,".to_vec();
    body.resize(BATCH_MAX_BYTES + 1, b'x');
    let r = post_batch("", Some("text/csv"), body).await;
    let e = r.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(e["limit"], BATCH_MAX_BYTES);
}

#[actix_web::test]
async fn wrong_content_types_are_a_415() {
    for t in [
        None,
        Some("application/json"),
        Some("multipart/form-data; boundary=x"),
        // A macro-enabled workbook: only .xlsx workbooks are read.
        Some("application/vnd.ms-excel.sheet.macroEnabled.12"),
    ] {
        let r = post_batch("", t, b"postcode\nNR1 1AA\n".to_vec()).await;
        r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    // A workbook or UTF-16 text sent as CSV.
    for body in [&b"PK\x03\x04rest of a zip"[..], &b"\xFF\xFEp\0o\0"[..]] {
        let r = post_batch("", Some("text/csv"), body.to_vec()).await;
        r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
}

#[actix_web::test]
async fn broken_input_is_a_400_naming_the_line_before_any_row_is_sent() {
    let r = post_batch(
        "",
        Some("text/csv"),
        b"postcode,notes\nNR1 1AA,ok\nNR2 1AA,\"never closed\nNR3 1AA,x\n".to_vec(),
    )
    .await;
    let e = r.error(StatusCode::BAD_REQUEST, "bad_csv");
    assert!(e["message"].as_str().unwrap().contains("line 3"), "{e}");
    let r = post_batch("", Some("text/csv"), Vec::new()).await;
    r.error(StatusCode::BAD_REQUEST, "bad_csv");
    let r = post_batch("", Some("text/csv"), b"name,town\nx,y\n".to_vec()).await;
    let e = r.error(StatusCode::BAD_REQUEST, "bad_columns");
    assert!(e["message"].as_str().unwrap().contains("town"), "{e}");
    let r = post_batch(
        "?postcode_col=nope",
        Some("text/csv"),
        b"postcode\n".to_vec(),
    )
    .await;
    r.error(StatusCode::BAD_REQUEST, "bad_columns");
    let r = post_batch("?colour=red", Some("text/csv"), b"postcode\n".to_vec()).await;
    let e = r.error(StatusCode::BAD_REQUEST, "unknown_parameter");
    assert_eq!(e["field"], "colour");
    let r = post_batch("?date=tomorrow", Some("text/csv"), b"postcode\n".to_vec()).await;
    r.error(StatusCode::BAD_REQUEST, "bad_date");
}

#[actix_web::test]
async fn get_is_not_allowed_on_the_batch_route() {
    let r = get("/v1/batch").await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[actix_web::test]
async fn a_real_server_streams_a_large_batch() {
    let (base, handle) = serve(state());
    // 20,000 rows: real postcodes with a bad row every 100.
    let postcodes: Vec<String> = DATASET
        .postcodes
        .records()
        .iter()
        .step_by(97)
        .take(200)
        .map(|r| r.postcode.as_str().to_string())
        .collect();
    let mut input = String::from("n,postcode\n");
    for i in 0..20_000 {
        if i % 100 == 42 {
            writeln!(input, "{i},??").unwrap();
        } else {
            writeln!(input, "{i},{}", postcodes[i % postcodes.len()]).unwrap();
        }
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/batch?date=2019-06-01"))
        .header("content-type", "text/csv")
        .body(input.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("content-length").is_none(),
        "streamed, not sized"
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(&body[..], &library(input.as_bytes(), &on("2019-06-01"))[..]);
    handle.stop(true).await;
}
