//! Batch mode: every input row gives one output row in order, with answers that match the
//! library's `lookup` for the same query; input encodings and layouts (BOM, CRLF, semicolons,
//! `.xlsx`); the malformed-file table of `docs/batch.md`; thread-count independence; and the
//! `careband batch` command through the built binary (no-overwrite, `--force`, exit codes).
//!
//! Expected answers are never copied numbers: each row is compared with what
//! `careband::engine::lookup::lookup` says for the same postcode or point on the same date.

use std::fmt::Write as _;
use std::io::{self, Cursor, Read};
use std::num::NonZeroUsize;
use std::path::Path;

use careband::batch::{
    self, BatchError, BatchOptions, ColumnNames, InputFormat, MAX_RECORD_BYTES, Summary,
};
use careband::engine::answer::Answer;
use careband::engine::dataset::PostcodeStatus;
use careband::engine::lookup::lookup;
use careband::engine::query::Query;

use crate::common::cli::careband_in;
use crate::common::{DATASET, date};

/// The day every batch here is run on: inside the 2019/20 rate period.
const ON: &str = "2019-05-01";

fn opts() -> BatchOptions {
    BatchOptions::new(date(ON))
}

/// Real postcodes of every area the dataset ships, live and terminated, in a fixed order.
fn sample_postcodes(n_per_area: usize) -> Vec<String> {
    let records = DATASET.postcodes.records();
    let mut out = Vec::new();
    for area in ["NR", "IP", "PE", "BS"] {
        for status in [PostcodeStatus::Live, PostcodeStatus::Terminated] {
            let of_area: Vec<&str> = records
                .iter()
                .filter(|r| {
                    let letters: String = r
                        .postcode
                        .outward()
                        .chars()
                        .take_while(char::is_ascii_alphabetic)
                        .collect();
                    r.status == status && letters == area
                })
                .map(|r| r.postcode.as_str())
                .collect();
            let step = (of_area.len() / n_per_area).max(1);
            out.extend(
                of_area
                    .iter()
                    .step_by(step)
                    .take(n_per_area)
                    .map(|s| (*s).to_string()),
            );
        }
    }
    out
}

/// Runs a CSV batch in memory.
fn run_csv(input: &[u8], opts: &BatchOptions) -> Result<(Vec<u8>, Summary), BatchError> {
    let mut out = Vec::new();
    let summary = batch::run(input, InputFormat::Csv, &mut out, opts, &DATASET, &|_| {})?;
    Ok((out, summary))
}

/// Output records (header first) as strings, read with the `csv` crate.
fn records(out: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    let body = out.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(out);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The value of a result column in an output record of a file with `width` input columns.
fn col<'a>(rec: &'a [String], width: usize, name: &str) -> &'a str {
    let i = batch::result_columns(&DATASET)
        .iter()
        .position(|c| c == name)
        .unwrap();
    &rec[width + i]
}

/// Checks an output record against the library's answer to the same query.
fn assert_matches_lookup(rec: &[String], width: usize, query: &Query) {
    let status = col(rec, width, "status");
    match lookup(&DATASET, query, date(ON)) {
        Ok(Answer::Point(p)) if p.resolution.covered => {
            assert_eq!(status, "answered", "{query:?}: {rec:?}");
            let s = &p.resolution.schemes[0];
            let band = s
                .banding
                .as_ref()
                .and_then(|b| b.band.as_ref())
                .map(|b| b.name.clone())
                .unwrap_or_default();
            assert_eq!(col(rec, width, "band"), band, "{query:?}");
            let rate = s.rate.as_ref().map(|r| format!("{:.2}", r.hourly));
            assert_eq!(
                col(rec, width, "rate"),
                rate.unwrap_or_default(),
                "{query:?}"
            );
            let centre = s.banding.as_ref().and_then(|b| b.nearest_centre.as_ref());
            assert_eq!(
                col(rec, width, "nearest_surgery_code"),
                centre.map(|c| c.code.as_str()).unwrap_or_default(),
                "{query:?}"
            );
            let miles = s.banding.as_ref().and_then(|b| b.distance_miles);
            assert_eq!(
                col(rec, width, "distance_miles"),
                miles.map(|d| format!("{d:.3}")).unwrap_or_default(),
                "{query:?}"
            );
            assert_eq!(col(rec, width, "scheme"), s.scheme, "{query:?}");
            assert_eq!(col(rec, width, "error"), "", "{query:?}");
        }
        Ok(Answer::Point(_)) => assert_eq!(status, "outside_coverage", "{query:?}: {rec:?}"),
        Ok(Answer::Area(_) | Answer::Places(_)) => panic!("a full postcode gave an area summary"),
        Err(e) if e.is_not_found() => {
            assert_eq!(status, "not_found", "{query:?}");
            assert_eq!(col(rec, width, "error"), e.to_string());
        }
        Err(e) => {
            assert_eq!(status, "bad_input", "{query:?}");
            assert_eq!(col(rec, width, "error"), e.to_string());
        }
    }
    assert_eq!(col(rec, width, "dataset_version"), DATASET.version);
}

/// A CSV of real postcodes with bad rows mixed in; returns the text and, per data row, the
/// postcode asked (`None` for a row that is not a full postcode).
fn mixed_csv() -> (String, Vec<Option<String>>) {
    let mut text = String::from("id,name,postcode\n");
    let mut asked = Vec::new();
    let bad = ["", "N0T A P0STC0DE", "NR1", "zz9 9zz", "NR1 1A!"];
    for (i, pc) in sample_postcodes(6).into_iter().enumerate() {
        if i % 4 == 1 {
            let b = bad[i / 4 % bad.len()];
            writeln!(text, "{i},\"Bad, {i}\",{b}").unwrap();
            asked.push(None);
        }
        if i % 9 == 4 {
            text.push('\n');
            asked.push(None);
        }
        let typed = if i % 3 == 0 {
            pc.to_lowercase().replace(' ', "")
        } else {
            pc.clone()
        };
        writeln!(text, "{i},Client {i},{typed}").unwrap();
        asked.push(Some(pc));
    }
    (text, asked)
}

#[test]
fn every_row_comes_out_once_in_order_and_matches_lookup() {
    let (text, asked) = mixed_csv();
    let mut o = opts();
    o.chunk_rows = 7; // many chunks, so rows cross chunk boundaries
    let (out, summary) = run_csv(text.as_bytes(), &o).unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs.len(), asked.len() + 1, "one output row per input row");
    assert_eq!(usize::try_from(summary.rows), Ok(asked.len()));
    assert_eq!(
        summary.answered
            + summary.not_found
            + summary.outside_coverage
            + summary.bad_input
            + summary.blank,
        summary.rows
    );
    let input: Vec<&str> = text.lines().skip(1).collect();
    for ((rec, line), pc) in recs[1..].iter().zip(&input).zip(&asked) {
        // The input columns come back unchanged.
        let original = records(format!("{line}\n").as_bytes(), b',');
        let original = original
            .first()
            .cloned()
            .unwrap_or_else(|| vec![String::new()]);
        let padded: Vec<String> = (0..3)
            .map(|i| original.get(i).cloned().unwrap_or_default())
            .collect();
        assert_eq!(rec[..3], padded[..], "input columns of {line:?}");
        if let Some(pc) = pc {
            assert_matches_lookup(rec, 3, &Query::Postcode(pc.clone()));
        } else {
            let status = col(rec, 3, "status");
            assert!(
                ["bad_input", "blank", "not_found"].contains(&status),
                "{line:?}: {status}"
            );
            assert!(!col(rec, 3, "error").is_empty(), "{line:?} says why");
        }
    }
    assert!(summary.answered > 0 && summary.outside_coverage > 0 && summary.bad_input > 0);
    assert!(summary.blank > 0);
    assert!(!summary.by_band.is_empty());
}

#[test]
fn a_bom_and_crlf_give_the_same_answers_as_plain_lf() {
    let (text, _) = mixed_csv();
    let (plain, _) = run_csv(text.as_bytes(), &opts()).unwrap();
    let windows = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let (out, _) = run_csv(windows.as_bytes(), &opts()).unwrap();
    assert_eq!(
        out, plain,
        "BOM skipped, CRLF read as line ends, LF written"
    );
    assert!(
        records(&out, b',')[0][0] == "id",
        "the BOM is not part of the first header"
    );
}

#[test]
fn semicolon_files_are_sniffed_and_written_back_with_semicolons() {
    let pcs = sample_postcodes(2);
    let mut text = String::from("name;postcode;lat;lon\n");
    for pc in &pcs {
        writeln!(text, "\"a; b\";{pc};;").unwrap();
    }
    text.push_str("point;;52,6309;1,2974\n");
    let (out, summary) = run_csv(text.as_bytes(), &opts()).unwrap();
    let recs = records(&out, b';');
    assert_eq!(recs.len(), pcs.len() + 2);
    assert_eq!(recs[1][0], "a; b");
    for (rec, pc) in recs[1..].iter().zip(&pcs) {
        assert_matches_lookup(rec, 4, &Query::Postcode(pc.clone()));
    }
    // The decimal commas of a semicolon file are read as decimal points.
    let last = recs.last().unwrap();
    assert_matches_lookup(
        last,
        4,
        &Query::Point {
            lat: 52.6309,
            lon: 1.2974,
        },
    );
    assert_eq!(usize::try_from(summary.rows), Ok(pcs.len() + 1));
}

#[test]
fn points_grid_references_and_addresses_are_answered_like_lookup() {
    let text = "ref,address,lat,lon,easting,northing\n\
                a,\"Flat 2, 10 Rose Lane, Norwich nr1 1aa\",,,,\n\
                b,,52.6309,1.2974,,\n\
                c,,,,624073,308352\n\
                d,10 Rose Lane,,,,\n\
                e,,52.6309,,,\n\
                f,,north,1.2,,\n";
    let (out, _) = run_csv(text.as_bytes(), &opts()).unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs.len(), 7);
    assert_matches_lookup(&recs[1], 6, &Query::Postcode("NR1 1AA".into()));
    assert!(
        col(&recs[1], 6, "query_used").contains("\"nr1 1aa\""),
        "says which part of the address was used: {}",
        col(&recs[1], 6, "query_used")
    );
    assert_matches_lookup(
        &recs[2],
        6,
        &Query::Point {
            lat: 52.6309,
            lon: 1.2974,
        },
    );
    assert_matches_lookup(
        &recs[3],
        6,
        &Query::Bng {
            easting: 624_073.0,
            northing: 308_352.0,
        },
    );
    for r in &recs[4..] {
        assert_eq!(col(r, 6, "status"), "bad_input", "{r:?}");
    }
    assert!(col(&recs[5], 6, "error").contains("without longitude"));
    assert!(col(&recs[6], 6, "error").contains("not a number"));
}

#[test]
fn named_columns_override_detection_and_unknown_names_fail_the_run() {
    let text = "Where,postcode\nNR1 1AA,garbage\n";
    let mut o = opts();
    o.columns = ColumnNames {
        postcode: Some("where".into()),
        ..ColumnNames::default()
    };
    let (out, summary) = run_csv(text.as_bytes(), &o).unwrap();
    assert_eq!(summary.answered, 1);
    assert_matches_lookup(
        &records(&out, b',')[1],
        2,
        &Query::Postcode("NR1 1AA".into()),
    );
    o.columns.postcode = Some("nowhere".into());
    let err = run_csv(text.as_bytes(), &o).unwrap_err();
    assert!(matches!(err, BatchError::UnknownColumn { .. }), "{err}");
    let err = run_csv(b"name,town\nx,y\n", &opts()).unwrap_err();
    assert!(matches!(err, BatchError::NoLookupColumn { .. }), "{err}");
}

#[test]
fn one_thread_and_four_threads_write_byte_identical_output() {
    let (text, _) = mixed_csv();
    let body: String = text.lines().skip(1).flat_map(|l| [l, "\n"]).collect();
    let big = format!("{text}{}", body.repeat(3));
    let mut o = opts();
    o.chunk_rows = 5;
    o.threads = NonZeroUsize::new(1);
    let (one, s1) = run_csv(big.as_bytes(), &o).unwrap();
    o.threads = NonZeroUsize::new(4);
    let (four, s4) = run_csv(big.as_bytes(), &o).unwrap();
    assert_eq!(one, four);
    assert_eq!(s1, s4);
}

#[test]
fn excel_output_has_a_bom_and_crlf_line_ends() {
    let mut o = opts();
    o.excel = true;
    let (out, _) = run_csv(b"postcode\nNR1 1AA\n\n", &o).unwrap();
    assert!(out.starts_with(b"\xEF\xBB\xBFpostcode,status,"));
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("\r\n").count(), 3);
    assert_eq!(text.matches('\n').count(), 3, "no bare LF");
}

/// Writes a small workbook with text, numbers and a skipped row.
fn write_xlsx(path: &Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Packages").unwrap();
    for (c, h) in ["Name", "Postcode", "Easting", "Northing"]
        .iter()
        .enumerate()
    {
        sheet
            .write_string(0, u16::try_from(c).unwrap(), *h)
            .unwrap();
    }
    sheet.write_string(1, 0, "central").unwrap();
    sheet.write_string(1, 1, "nr1 1aa").unwrap();
    // Row 3 (index 2) is left empty: it must come out as a blank row.
    sheet.write_string(3, 0, "grid").unwrap();
    sheet.write_number(3, 2, 624_073.0).unwrap();
    sheet.write_number(3, 3, 308_352.0).unwrap();
    sheet.write_string(4, 0, "bad").unwrap();
    sheet.write_string(4, 1, "NR1").unwrap();
    book.save(path).unwrap();
}

#[test]
fn an_xlsx_worksheet_is_read_row_by_row_with_blank_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.xlsx");
    write_xlsx(&path);
    let mut out = Vec::new();
    let file = std::fs::File::open(&path).unwrap();
    let summary = batch::run_xlsx(
        io::BufReader::new(file),
        &mut out,
        &opts(),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    let recs = records(&out, b',');
    assert_eq!(
        recs.len(),
        5,
        "header + 4 sheet rows, the empty one included"
    );
    assert_eq!(recs[1][..2], ["central".to_string(), "nr1 1aa".to_string()]);
    assert_matches_lookup(&recs[1], 4, &Query::Postcode("NR1 1AA".into()));
    assert_eq!(col(&recs[2], 4, "status"), "blank");
    assert_eq!(recs[3][2], "624073", "whole numbers are written without .0");
    assert_matches_lookup(
        &recs[3],
        4,
        &Query::Bng {
            easting: 624_073.0,
            northing: 308_352.0,
        },
    );
    assert_eq!(col(&recs[4], 4, "status"), "bad_input");
    assert_eq!(summary.rows, 4);

    // The generic entry point reads a workbook from any reader.
    let bytes = std::fs::read(&path).unwrap();
    let mut again = Vec::new();
    batch::run(
        &bytes[..],
        InputFormat::Xlsx,
        &mut again,
        &opts(),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    assert_eq!(again, out);
    let mut o = opts();
    o.sheet = Some("nope".into());
    let err = batch::run_xlsx(Cursor::new(bytes), Vec::new(), &o, &DATASET, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("Packages"), "{err}");
}

// ---- The malformed-file table (docs/batch.md) ----

#[test]
fn malformed_an_unclosed_quote_fails_the_run_naming_its_line() {
    let err = run_csv(b"id,postcode\n1,NR1 1AA\n2,\"NR1 1AA\n3,NR1 1AA\n", &opts()).unwrap_err();
    assert!(
        matches!(err, BatchError::UnclosedQuote { line: 3 }),
        "{err}"
    );
    assert!(err.to_string().starts_with("line 3:"), "{err}");
}

#[test]
fn malformed_ragged_rows_are_answered_as_bad_rows_or_padded() {
    let text = "id,postcode,note\n1,NR1 1AA,x,extra\n2,NR1 1AA\n3\n4,NR1 1AA,x,\n";
    let (out, summary) = run_csv(text.as_bytes(), &opts()).unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs.len(), 5);
    assert!(
        recs.iter()
            .all(|r| r.len() == 3 + batch::result_columns(&DATASET).len()),
        "every row is as wide as the header"
    );
    assert_eq!(col(&recs[1], 3, "status"), "bad_input");
    assert!(col(&recs[1], 3, "error").contains("line 2 has 4 fields but the header has 3"));
    assert_eq!(
        col(&recs[2], 3, "status"),
        "answered",
        "a short row is padded"
    );
    assert_eq!(col(&recs[3], 3, "status"), "bad_input");
    assert!(col(&recs[3], 3, "error").contains("1 of the header's 3 fields"));
    assert_eq!(
        col(&recs[4], 3, "status"),
        "answered",
        "an empty trailing field is no loss"
    );
    assert_eq!(summary.rows, 4);
}

/// A header, then `len` bytes of one line, then a good row: streamed, never held in memory.
struct LongLine {
    head: Cursor<&'static [u8]>,
    left: u64,
    tail: Cursor<&'static [u8]>,
}

impl Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if self.left > 0 {
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            return Ok(n);
        }
        self.tail.read(buf)
    }
}

#[test]
fn malformed_a_100_mb_line_is_one_bad_row_and_the_rest_is_read() {
    let input = LongLine {
        head: Cursor::new(b"postcode,note\n"),
        left: 100 * 1024 * 1024,
        tail: Cursor::new(b",note\nNR1 1AA,ok\n"),
    };
    let mut out = Vec::new();
    let summary = batch::run(
        input,
        InputFormat::Csv,
        &mut out,
        &opts(),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs.len(), 3);
    assert_eq!(col(&recs[1], 2, "status"), "bad_input");
    let why = col(&recs[1], 2, "error");
    assert!(
        why.starts_with("line 2:") && why.contains(&MAX_RECORD_BYTES.to_string()),
        "{why}"
    );
    assert_eq!(col(&recs[2], 2, "status"), "answered");
    assert!(out.len() < 10_000, "the long line was not copied");
    assert_eq!(summary.rows, 2);
}

#[test]
fn malformed_a_header_longer_than_the_cap_fails_the_run() {
    let input = LongLine {
        head: Cursor::new(b""),
        left: (MAX_RECORD_BYTES + 1) as u64,
        tail: Cursor::new(b"\n"),
    };
    let err = batch::run(
        input,
        InputFormat::Csv,
        Vec::new(),
        &opts(),
        &DATASET,
        &|_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, BatchError::HeaderTooLong { line: 1 }),
        "{err}"
    );
}

/// Deterministic pseudo-random bytes (a linear congruential generator, fixed seed).
fn garbage(len: usize, keep: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let b = (x >> 56) as u8;
        if keep(b) {
            out.push(b);
        }
    }
    out
}

#[test]
fn malformed_binary_garbage_gives_one_row_per_line_and_never_a_crash() {
    // Without quote or CR bytes every LF ends a record, so the row count is known.
    let body = garbage(200_000, |b| b != b'"' && b != b'\r');
    let mut input = b"postcode,name\n".to_vec();
    input.extend_from_slice(&body);
    let expected = body.split(|&b| b == b'\n').count() - usize::from(body.ends_with(b"\n"));
    let (out, summary) = run_csv(&input, &opts()).unwrap();
    assert_eq!(usize::try_from(summary.rows), Ok(expected));
    assert_eq!(records(&out, b',').len(), expected + 1);
    assert!(summary.invalid_utf8_rows > 0);
    assert!(String::from_utf8(out).is_ok(), "the output is valid UTF-8");

    // With quotes, the run either finishes or stops at an unclosed quote naming its line.
    let mut input = b"postcode,name\n".to_vec();
    input.extend_from_slice(&garbage(200_000, |_| true));
    match run_csv(&input, &opts()) {
        Ok((_, s)) => assert!(s.rows > 0),
        Err(BatchError::UnclosedQuote { line }) => assert!(line > 1),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn malformed_invalid_utf8_is_replaced_and_only_fails_a_row_in_the_lookup_cell() {
    let input = b"name,postcode\ncaf\xE9,NR1 1AA\nx,NR1 1A\xFF\n";
    let (out, summary) = run_csv(input, &opts()).unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs[1][0], "caf\u{FFFD}");
    assert_eq!(col(&recs[1], 2, "status"), "answered");
    assert_eq!(col(&recs[2], 2, "status"), "bad_input");
    assert!(col(&recs[2], 2, "error").contains("not valid UTF-8"));
    assert_eq!(summary.invalid_utf8_rows, 2);
    assert_eq!(summary.first_invalid_utf8_line, Some(2));
}

#[test]
fn malformed_empty_utf16_and_zip_inputs_fail_the_run_clearly() {
    assert!(matches!(run_csv(b"", &opts()), Err(BatchError::Empty)));
    assert!(matches!(
        run_csv(b"\xEF\xBB\xBF", &opts()),
        Err(BatchError::Empty)
    ));
    assert!(matches!(
        run_csv(b"\xFF\xFEp\0c\0", &opts()),
        Err(BatchError::Utf16)
    ));
    assert!(matches!(
        run_csv(b"PK\x03\x04...", &opts()),
        Err(BatchError::NotCsv { .. })
    ));
    let err = batch::run(
        &b"not a zip"[..],
        InputFormat::Xlsx,
        Vec::new(),
        &opts(),
        &DATASET,
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(err, BatchError::Workbook(_)), "{err}");
    let (out, summary) = run_csv(b"postcode\n", &opts()).unwrap();
    assert_eq!(summary.rows, 0);
    assert_eq!(
        records(&out, b',').len(),
        1,
        "a header-only file gives a header-only output"
    );
}

// ---- The command line, through the built binary ----

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".careband-batch-"))
        .collect()
}

#[test]
fn the_cli_writes_answers_refuses_to_overwrite_and_reports_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "id,postcode\n1,NR1 1AA\n2,garbage\n\n").unwrap();
    let o = careband_in(
        d,
        &[
            "batch",
            "in.csv",
            "-o",
            "out.csv",
            "--date",
            "2019-05-01",
            "--summary-json",
            "s.json",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("3 rows read"), "{}", o.stderr);
    assert!(o.stderr.contains("bad input"), "{}", o.stderr);
    let out = std::fs::read(d.join("out.csv")).unwrap();
    let recs = records(&out, b',');
    assert_eq!(recs.len(), 4);
    assert_matches_lookup(&recs[1], 2, &Query::Postcode("NR1 1AA".into()));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(json["rows"], 3);
    assert_eq!(json["answered"], 1);

    // An existing output is kept without --force.
    std::fs::write(d.join("out.csv"), "precious").unwrap();
    let o = careband_in(
        d,
        &["batch", "in.csv", "-o", "out.csv", "--date", "2019-05-01"],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    assert_eq!(std::fs::read(d.join("out.csv")).unwrap(), b"precious");

    let o = careband_in(
        d,
        &[
            "batch",
            "in.csv",
            "-o",
            "out.csv",
            "--force",
            "--date",
            "2019-05-01",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read(d.join("out.csv")).unwrap(), out);
    assert!(leftovers(d).is_empty());
}

#[test]
fn the_cli_writes_to_stdout_and_a_failed_run_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    let o = careband_in(d, &["batch", "in.csv", "--date", "2019-05-01", "--excel"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with("\u{feff}postcode,status"),
        "{}",
        o.stdout
    );

    std::fs::write(d.join("bad.csv"), "postcode\n\"NR1 1AA\nNR1 1AA\n").unwrap();
    let o = careband_in(d, &["batch", "bad.csv", "-o", "out.csv"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);
    assert!(
        !d.join("out.csv").exists(),
        "no half-written output under the final name"
    );
    assert!(leftovers(d).is_empty(), "the temporary file is removed");

    let o = careband_in(d, &["batch", "missing.csv"]);
    assert_eq!(o.code, 2);
}
