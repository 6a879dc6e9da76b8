//! Brokers' workbooks both ways: a 1,000-row messy referral workbook (title rows above the
//! header, addresses without postcodes, typos, blank rows, per-row referral dates as date
//! cells and as UK text, a formula-looking name) answered by `careband batch` and by
//! `POST /v1/batch`, written back as `.xlsx` and as CSV.
//!
//! Expected values, worked out by hand, not by careband:
//! - each row's status comes from the kind of row the fixture wrote (its `Kind`);
//! - the bands, surgeries and rates of the known postcodes are those of `data.rs` (grid
//!   distances from Code-Point Open and the practice file) and the places of `free_text.rs`
//!   and `places.rs`; the rates are the scheme file's: from 2018-04-09 Band 1 GBP 17.40, from
//!   2019-04-08 GBP 18.24; Band 2 GBP 19.68 and Band 3 GBP 21.72 in both periods;
//! - the corrections of mistyped postcodes are written out by hand.

use std::io::Cursor;

use actix_web::http::StatusCode;
use actix_web::http::header;
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use careband::server;

use crate::common::cli::careband_in;
use crate::common::http::{send, state};

/// The workbook type, as `POST /v1/batch` takes and gives it.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The file date (rows without a referral date of their own).
const ON: &str = "2019-06-01";

/// What a row of the fixture is, and so what its answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// NR1 1AA written in capitals, referred on the file date: Band 1, Y02751, 18.24.
    Norwich,
    /// NR1 1AA written `nr11aa`, referred 10 January 2019 as a date cell: Band 1 at the
    /// 2018/19 rate, 17.40.
    NorwichLowerJanuary,
    /// NR25 7PQ (Blakeney), referred `08/04/2019` as text: Band 2, D82001, 19.68.
    Blakeney,
    /// NR24 2NG (near Melton Constable): Band 3, D82001, 21.72.
    MeltonConstable,
    /// No postcode; address `Horsford`: the village is clear (every postcode Band 1), answered
    /// at its centre.
    Horsford,
    /// No postcode; address `Edgefield`: its postcodes span Band 1 and Band 2, so no single
    /// answer.
    Edgefield,
    /// `NR18-0UR`: mistyped, corrected to NR18 0UR, not answered as it.
    TypoHyphen,
    /// `PE3O 1EX`: a letter O for a zero, corrected to PE30 1EX.
    TypoLetterO,
    /// Nothing in any cell.
    Blank,
    /// A name that a spreadsheet would run as a formula, with NR1 1AA.
    FormulaName,
    /// A referral date that is no date (`31/02/2019`).
    BadDate,
}

const CYCLE: [Kind; 11] = [
    Kind::Norwich,
    Kind::NorwichLowerJanuary,
    Kind::Blakeney,
    Kind::MeltonConstable,
    Kind::Horsford,
    Kind::Edgefield,
    Kind::TypoHyphen,
    Kind::TypoLetterO,
    Kind::Blank,
    Kind::FormulaName,
    Kind::BadDate,
];

/// Data rows of the fixture.
const ROWS: usize = 1000;

fn kind_of(i: usize) -> Kind {
    CYCLE[i % CYCLE.len()]
}

/// Sheet rows above the header: a title, a note, a blank row; the header is sheet row 4.
const HEADER_ROW: u32 = 3;

/// The messy workbook: a title and a note above the header, then [`ROWS`] rows.
fn messy_workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    sheet
        .write_string_with_format(0, 0, "Home care referrals - November", &bold)
        .unwrap();
    sheet
        .write_string(1, 0, "Exported from the brokerage system; do not edit")
        .unwrap();
    let header = [
        "Ref",
        "Client name",
        "Address 1",
        "Address 2",
        "Post Code",
        "Referral date",
        "Hours a week",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_string_with_format(HEADER_ROW, u16::try_from(c).unwrap(), *h, &bold)
            .unwrap();
    }
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    for i in 0..ROWS {
        let r = HEADER_ROW + 1 + u32::try_from(i).unwrap();
        let kind = kind_of(i);
        if kind == Kind::Blank {
            continue;
        }
        sheet.write_string(r, 0, format!("R{:04}", i + 1)).unwrap();
        let name = if kind == Kind::FormulaName {
            "=HYPERLINK(\"http://example.invalid\",\"x\")".to_string()
        } else {
            format!("Client {}", i + 1)
        };
        sheet.write_string(r, 1, &name).unwrap();
        let (address, town, postcode) = match kind {
            Kind::Norwich | Kind::FormulaName | Kind::BadDate => {
                ("1 Any Street", "Norwich", "NR1 1AA")
            }
            Kind::NorwichLowerJanuary => ("1 Any Street", "Norwich", "nr11aa"),
            Kind::Blakeney => ("The Quay", "Blakeney", "NR25 7PQ"),
            Kind::MeltonConstable => ("", "Melton Constable", " NR24 2NG "),
            Kind::Horsford => ("", "Horsford", ""),
            Kind::Edgefield => ("", "Edgefield", ""),
            Kind::TypoHyphen => ("", "Wymondham", "NR18-0UR"),
            Kind::TypoLetterO => ("", "King's Lynn", "PE3O 1EX"),
            Kind::Blank => unreachable!(),
        };
        if !address.is_empty() {
            sheet.write_string(r, 2, address).unwrap();
        }
        sheet.write_string(r, 3, town).unwrap();
        if !postcode.is_empty() {
            sheet.write_string(r, 4, postcode).unwrap();
        }
        match kind {
            Kind::NorwichLowerJanuary => {
                let d = ExcelDateTime::from_ymd(2019, 1, 10).unwrap();
                sheet
                    .write_date_with_format(r, 5, &d, &date_format)
                    .unwrap();
            }
            Kind::Blakeney => {
                sheet.write_string(r, 5, "08/04/2019").unwrap();
            }
            Kind::BadDate => {
                sheet.write_string(r, 5, "31/02/2019").unwrap();
            }
            _ => {}
        }
        sheet
            .write_number(r, 6, f64::from(u32::try_from(i % 20 + 1).unwrap()))
            .unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// Every cell of a workbook's first sheet, as calamine reads it.
fn sheet_cells(bytes: &[u8]) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

/// A cell as text, the way the CSV output writes it (numbers as `careband batch` formats
/// them are compared separately).
fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The column of `name` in a header row.
fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .rposition(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Checks one answered row against what its kind must give; `cell(name)` reads its cells as
/// text and `number(name)` its number cells.
fn check_row(kind: Kind, cell: &dyn Fn(&str) -> String) {
    let status = cell("status");
    let answered = |band: &str, surgery: &str, rate: &str, precision: &str| {
        assert_eq!(status, "answered", "{kind:?}: {}", cell("error"));
        assert_eq!(cell("band"), band, "{kind:?}");
        if !surgery.is_empty() {
            assert_eq!(cell("nearest_surgery_code"), surgery, "{kind:?}");
        }
        assert_eq!(cell("rate"), rate, "{kind:?}");
        assert_eq!(cell("precision"), precision, "{kind:?}");
    };
    match kind {
        Kind::Norwich | Kind::FormulaName => {
            answered("Band 1", "Y02751", "18.24", "postcode_centroid");
        }
        Kind::NorwichLowerJanuary => answered("Band 1", "Y02751", "17.40", "postcode_centroid"),
        Kind::Blakeney => answered("Band 2", "D82001", "19.68", "postcode_centroid"),
        Kind::MeltonConstable => answered("Band 3", "D82001", "21.72", "postcode_centroid"),
        Kind::Horsford => {
            answered("Band 1", "", "18.24", "place_centre");
            assert!(
                cell("query_used").starts_with("Horsford"),
                "{}",
                cell("query_used")
            );
        }
        Kind::Edgefield => {
            assert_eq!(status, "bad_input");
            assert!(
                cell("error").contains("give the postcode"),
                "{}",
                cell("error")
            );
            assert_eq!(cell("band"), "");
        }
        Kind::TypoHyphen | Kind::TypoLetterO => {
            assert_eq!(status, "bad_input");
            let want = if kind == Kind::TypoHyphen {
                "NR18 0UR"
            } else {
                "PE30 1EX"
            };
            assert!(cell("error").contains(want), "{kind:?}: {}", cell("error"));
            assert_eq!(cell("band"), "");
        }
        Kind::Blank => assert_eq!(status, "blank"),
        Kind::BadDate => {
            assert_eq!(status, "bad_input");
            assert!(cell("error").contains("31/02/2019"), "{}", cell("error"));
        }
    }
}

/// The counts the fixture's kinds give.
fn expected_counts() -> [(&'static str, usize); 3] {
    let count = |f: &dyn Fn(Kind) -> bool| (0..ROWS).filter(|&i| f(kind_of(i))).count();
    [
        (
            "answered",
            count(&|k| {
                matches!(
                    k,
                    Kind::Norwich
                        | Kind::NorwichLowerJanuary
                        | Kind::Blakeney
                        | Kind::MeltonConstable
                        | Kind::Horsford
                        | Kind::FormulaName
                )
            }),
        ),
        (
            "bad_input",
            count(&|k| {
                matches!(
                    k,
                    Kind::Edgefield | Kind::TypoHyphen | Kind::TypoLetterO | Kind::BadDate
                )
            }),
        ),
        ("blank", count(&|k| k == Kind::Blank)),
    ]
}

/// Checks an answered workbook: the header first (the title rows dropped), every row in
/// order, numbers as numbers, dates as dates, the formula-looking name as text.
fn check_workbook(bytes: &[u8]) {
    let rows = sheet_cells(bytes);
    assert_eq!(rows.len(), ROWS + 1, "the header and every row");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(header[0], "Ref");
    assert_eq!(header[4], "Post Code");
    for (i, row) in rows[1..].iter().enumerate() {
        let kind = kind_of(i);
        let cell = |name: &str| -> String {
            let d = &row[col(&header, name)];
            match (name, d) {
                ("rate", Data::Float(f)) => format!("{f:.2}"),
                _ => text(d),
            }
        };
        check_row(kind, &cell);
        if cell("status") == "answered" {
            assert!(
                matches!(row[col(&header, "rate")], Data::Float(_)),
                "rate is a number: {:?}",
                row[col(&header, "rate")]
            );
            assert!(
                matches!(row[col(&header, "distance_miles")], Data::Float(_)),
                "distance is a number"
            );
        }
        if kind != Kind::Blank {
            assert!(
                matches!(row[6], Data::Float(_)),
                "hours stay a number: {:?}",
                row[6]
            );
            assert_eq!(
                text(&row[0]),
                format!("R{:04}", i + 1),
                "rows stay in order"
            );
        }
        if kind == Kind::NorwichLowerJanuary {
            assert!(
                matches!(row[5], Data::DateTime(_)),
                "a date stays a date: {:?}",
                row[5]
            );
        }
        if kind == Kind::FormulaName {
            assert_eq!(
                row[1],
                Data::String("=HYPERLINK(\"http://example.invalid\",\"x\")".into()),
                "text in a text cell, never a formula"
            );
        }
    }
    // The sheet keeps its header in view and styles it.
    let sheet_xml = zip_part(bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet_xml.contains("ySplit=\"1\""), "header row frozen");
    assert!(!sheet_xml.contains("<f>"), "no formula anywhere");
    assert!(
        zip_part(bytes, "xl/styles.xml").contains("<b/>"),
        "a bold header"
    );
}

/// One part of an `.xlsx` archive, as text.
fn zip_part(bytes: &[u8], name: &str) -> String {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut part = archive.by_name(name).unwrap();
    let mut s = String::new();
    part.read_to_string(&mut s).unwrap();
    s
}

/// Checks the CSV answer of the same workbook.
fn check_csv(bytes: &[u8]) {
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let recs: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), ROWS);
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (i, r) in recs.iter().enumerate() {
        let cell = |name: &str| r[col(&header, name)].to_string();
        check_row(kind_of(i), &cell);
        *counts.entry(cell("status")).or_default() += 1;
        if kind_of(i) == Kind::FormulaName {
            assert!(
                r[1].starts_with("'="),
                "a CSV cell is neutralised: {}",
                &r[1]
            );
        }
    }
    for (status, n) in expected_counts() {
        assert_eq!(counts.get(status).copied().unwrap_or(0), n, "{status}");
    }
}

const BATCH_ARGS: [&str; 4] = ["--date", ON, "--date-column", "Referral date"];

#[test]
fn a_messy_workbook_is_answered_by_the_cli_as_a_workbook_and_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("referrals.xlsx"), messy_workbook()).unwrap();
    let run = |out: &str| {
        let mut args = vec!["batch", "referrals.xlsx", "-o", out];
        args.extend(BATCH_ARGS);
        let o = careband_in(dir.path(), &args);
        assert_eq!(o.code, 0, "{}", o.stderr);
        o
    };
    let o = run("answered.xlsx");
    assert!(o.stderr.contains("header at row 4"), "{}", o.stderr);
    let answered = "answered ".to_string() + &expected_counts()[0].1.to_string();
    assert!(
        o.stderr
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&answered),
        "{}",
        o.stderr
    );
    check_workbook(&std::fs::read(dir.path().join("answered.xlsx")).unwrap());
    run("answered.csv");
    check_csv(&std::fs::read(dir.path().join("answered.csv")).unwrap());
}

#[test]
fn an_output_extension_that_is_not_written_is_refused_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "postcode\nNR1 1AA\n").unwrap();
    for out in ["out.xls", "out.ods", "out.json", "out.xlsm"] {
        let o = careband_in(dir.path(), &["batch", "in.csv", "-o", out]);
        assert_eq!(o.code, 2, "{out}: {}", o.stdout);
        let ext = out.rsplit('.').next().unwrap();
        assert!(o.stderr.contains(&format!(".{ext} file")), "{}", o.stderr);
        assert!(!dir.path().join(out).exists());
    }
}

#[test]
fn the_header_row_can_be_named_and_a_missing_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A title row that holds a word like a header's, so only --header-row finds the header.
    std::fs::write(
        dir.path().join("in.csv"),
        "report,postcode list\nref,postcode\n1,NR1 1AA\n",
    )
    .unwrap();
    let o = careband_in(
        dir.path(),
        &["batch", "in.csv", "--header-row", "2", "--date", ON],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut lines = o.stdout.lines();
    assert!(lines.next().unwrap().starts_with("ref,postcode,status"));
    assert!(lines.next().unwrap().starts_with("1,NR1 1AA,answered"));
    let o = careband_in(dir.path(), &["batch", "in.csv", "--header-row", "9"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no line 9"), "{}", o.stderr);
    // Searched: the first row with lookup columns.
    let o = careband_in(dir.path(), &["batch", "in.csv", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("ref,postcode,status"), "{}", o.stdout);
}

async fn post(
    query: &str,
    content_type: &str,
    accept: Option<&str>,
    body: Vec<u8>,
) -> crate::common::http::Reply {
    let app = actix_web::test::init_service(server::app(state())).await;
    let mut req = actix_web::test::TestRequest::post()
        .uri(&format!("/v1/batch{query}"))
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body);
    if let Some(a) = accept {
        req = req.insert_header((header::ACCEPT, a));
    }
    send(&app, req.to_request()).await
}

#[actix_web::test]
async fn a_messy_workbook_is_answered_over_http_as_a_workbook_and_as_csv() {
    let q = format!("?date={ON}&date_column=Referral%20date");
    let r = post(&q, XLSX, Some(XLSX), messy_workbook()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), XLSX);
    assert!(r.header("content-disposition").contains(".xlsx"));
    assert_eq!(r.header("careband-rows"), ROWS.to_string());
    assert!(
        r.header("careband-summary").starts_with("1,000 rows: "),
        "{}",
        r.header("careband-summary")
    );
    check_workbook(&r.body);

    let r = post(
        &format!("{q}&format=csv"),
        XLSX,
        Some(XLSX),
        messy_workbook(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    check_csv(&r.body);

    // A CSV in, a workbook out by the parameter.
    let r = post(
        &format!("?date={ON}&format=xlsx"),
        "text/csv",
        None,
        b"postcode\nNR25 7PQ\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rows = sheet_cells(&r.body);
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(text(&rows[1][col(&header, "band")]), "Band 2");
    assert_eq!(rows[1][col(&header, "rate")], Data::Float(19.68));
}

#[actix_web::test]
async fn bad_workbook_requests_are_refused_with_a_json_error() {
    let r = post(
        "?format=ods",
        "text/csv",
        None,
        b"postcode\nNR1 1AA\n".to_vec(),
    )
    .await;
    r.error(StatusCode::BAD_REQUEST, "bad_parameter");
    let r = post(
        "?header_row=0",
        "text/csv",
        None,
        b"postcode\nNR1 1AA\n".to_vec(),
    )
    .await;
    r.error(StatusCode::BAD_REQUEST, "bad_parameter");
    let r = post("", XLSX, None, b"PK\x03\x04 not really a workbook".to_vec()).await;
    r.error(StatusCode::BAD_REQUEST, "bad_csv");
    let r = post("?sheet=Nope", XLSX, None, messy_workbook()).await;
    let e = r.error(StatusCode::BAD_REQUEST, "bad_csv");
    assert!(e["message"].as_str().unwrap().contains("Nope"), "{e}");
}
