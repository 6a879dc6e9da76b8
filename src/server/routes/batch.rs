//! `POST /v1/batch`: a CSV file or an Excel workbook in the body, the same rows back with
//! their answers appended, as CSV streamed as they are answered, or as a workbook
//! (`format=xlsx` or an `Accept` of the workbook type). The work is [`crate::batch`]'s, so the columns,
//! the per-row errors and the row order are those of `careband batch`.
//!
//! A request first waits for a batch turn on the expensive-work pool
//! ([`crate::server::pool`]); when the queue of waiting batches is full it gets 503
//! `queue_full` with `Retry-After` without its body being read. With its turn, the body is
//! read whole (it is capped at [`BATCH_MAX_BYTES`]) and checked with
//! [`crate::batch::scan_csv`] (or [`crate::batch::scan_xlsx`], within the same expanded-size
//! limits as the command line's): a body that is not CSV, has no lookup column, has an unclosed
//! quote or more than [`BATCH_MAX_ROWS`] rows is refused with a JSON error before any answer
//! is sent. Only then does the answering start: the batch's driver thread hands the output to
//! the response in pieces while the pool answers the rows, so the client receives the first
//! rows while later ones are still being answered.
//!
//! With an external geocoder configured, rows of free text that the offline gazetteer cannot
//! settle are sent to it as `lookup` sends them, at most `geocoder.batch_rows` of them per
//! request; their pool thread waits for the answer on the worker's runtime.

use std::io::{self, Cursor, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::IntoParams;

use crate::batch::{self, BatchError, BatchOptions, BlockingRefiner, InputFormat, OutputFormat};

use super::lookup::{parse_date, today};
use crate::server::error::{ApiError, ErrorBody, ErrorCode};
use crate::server::state::AppState;

/// Largest CSV body accepted, bytes (about 700,000 rows of a typical caseload export; the row
/// cap is usually reached first).
pub const BATCH_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Most data rows (blank lines included, the header not counted) in one request.
pub const BATCH_MAX_ROWS: u64 = 100_000;

/// Content types read as CSV text. Browsers send `application/vnd.ms-excel` for a `.csv` file
/// on Windows. `text/plain` is not one of them: it is a type a cross-site HTML form may post
/// without a CORS preflight, so accepting it would let any web page make a visitor's browser
/// run batches here; none of these types can be sent cross-site without one.
/// `application/octet-stream` is what generated API clients send a file as (a body that is a
/// zip archive is then read as a workbook).
pub const CSV_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/x-csv",
    "application/x-csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

/// The media type of an Excel `.xlsx` workbook, read and written.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Output handed to the response at a time.
const PIECE_BYTES: usize = 64 * 1024;

/// Pieces waiting to be sent before the answering thread waits for the client.
const PIECES_IN_FLIGHT: usize = 8;

/// Query parameters of `POST /v1/batch`: the flags of `careband batch`, by the same names.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the parameters for OpenAPI; they are parsed from the raw pairs so that address_col may repeat"
)]
pub struct BatchParams {
    /// The date every row is answered for, `YYYY-MM-DD`; default today.
    #[param(value_type = Option<String>, format = Date, pattern = r"^(199[0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    date: Option<String>,
    /// Column holding the postcode (default: found by header name).
    #[param(min_length = 1)]
    postcode_col: Option<String>,
    /// Column holding the WGS84 latitude (with `lon_col`).
    #[param(min_length = 1)]
    lat_col: Option<String>,
    /// Column holding the WGS84 longitude (with `lat_col`).
    #[param(min_length = 1)]
    lon_col: Option<String>,
    /// Column holding the BNG easting (with `northing_col`).
    #[param(min_length = 1)]
    easting_col: Option<String>,
    /// Column holding the BNG northing (with `easting_col`).
    #[param(min_length = 1)]
    northing_col: Option<String>,
    /// Address column searched for a full postcode; repeat the parameter for several.
    address_col: Option<Vec<String>>,
    /// CSV delimiter: `,`, `;`, `tab` (or a tab character) or `|`; default sniffed from the
    /// header line.
    #[param(pattern = r#"^(,|;|tab|\\t|\t|\|)$"#)]
    delimiter: Option<String>,
    /// `true`: write CSV for Excel (a UTF-8 byte order mark and CRLF line ends).
    excel: Option<bool>,
    /// What is sent back: `csv`, or `xlsx` for an Excel workbook; default `xlsx` when the
    /// `Accept` header asks for the workbook type, else `csv`.
    #[param(pattern = r"^(csv|xlsx)$")]
    format: Option<String>,
    /// Worksheet of a workbook body; default the first.
    #[param(min_length = 1)]
    sheet: Option<String>,
    /// Line (CSV) or sheet row (workbook) of the header, from 1; default the first of the
    /// first 20 rows that has lookup columns.
    #[param(minimum = 1)]
    header_row: Option<u64>,
    /// Column holding each row's own date (`YYYY-MM-DD`, `DD/MM/YYYY` or a workbook date);
    /// rows with it empty use `date`.
    #[param(min_length = 1)]
    date_column: Option<String>,
    /// `true`: answer every row but send back only the counts, as JSON: rows answered,
    /// outside coverage, not found, bad input and blank (the `status` column's outcomes), and
    /// a one-line `message` saying them.
    summary: Option<bool>,
}

/// The body of `POST /v1/batch?summary=true`: the run's counts.
#[derive(Debug, serde::Serialize)]
struct SummaryBody {
    /// "2,007 rows: 1,396 answered, 402 outside coverage, 150 not found, 59 bad input".
    message: String,
    /// The counts as `careband batch --summary-json` writes them.
    #[serde(flatten)]
    summary: batch::Summary,
}

/// Takes the `summary` parameter out of the pairs: whether only the counts are wanted.
fn take_summary(pairs: &mut Vec<(String, String)>) -> Result<bool, ApiError> {
    let mut wanted = None;
    let mut err = None;
    pairs.retain(|(name, value)| {
        if name != "summary" {
            return true;
        }
        let v = match value.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        };
        err = err.take().or(match (wanted, v) {
            (Some(_), _) => Some(ApiError::bad(
                ErrorCode::RepeatedParameter,
                Some("summary"),
                "summary is given more than once",
            )),
            (None, None) => Some(ApiError::bad(
                ErrorCode::BadParameter,
                Some("summary"),
                "summary must be true or false",
            )),
            (None, Some(_)) => None,
        });
        wanted = wanted.or(v);
        false
    });
    match err {
        Some(e) => Err(e),
        None => Ok(wanted.unwrap_or(false)),
    }
}

/// Builds the batch options from the query pairs, refusing unknown or repeated parameters.
fn options(pairs: Vec<(String, String)>, req: &HttpRequest) -> Result<BatchOptions, ApiError> {
    let mut opts = BatchOptions::new(today());
    if accepts_xlsx(req) {
        opts.output = OutputFormat::Xlsx;
    }
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if name != "address_col" && seen.contains(&name) {
            return Err(ApiError::bad(
                ErrorCode::RepeatedParameter,
                Some(&name),
                format!("{name} is given more than once"),
            ));
        }
        seen.push(name.clone());
        let c = &mut opts.columns;
        match name.as_str() {
            "date" => opts.date = parse_date(&value)?,
            "postcode_col" => c.postcode = Some(value),
            "lat_col" => c.lat = Some(value),
            "lon_col" => c.lon = Some(value),
            "easting_col" => c.easting = Some(value),
            "northing_col" => c.northing = Some(value),
            "address_col" => c.address.push(value),
            "delimiter" => opts.delimiter = Some(delimiter(&value)?),
            "format" => {
                opts.output = match value.as_str() {
                    "csv" => OutputFormat::Csv,
                    "xlsx" => OutputFormat::Xlsx,
                    _ => {
                        return Err(ApiError::bad(
                            ErrorCode::BadParameter,
                            Some("format"),
                            "format must be csv or xlsx",
                        ));
                    }
                };
            }
            "sheet" => opts.sheet = Some(value),
            "date_column" => opts.date_column = Some(value),
            "header_row" => {
                opts.header_row = Some(value.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(
                    || {
                        ApiError::bad(
                            ErrorCode::BadParameter,
                            Some("header_row"),
                            "header_row must be a row number from 1",
                        )
                    },
                )?);
            }
            "excel" => {
                opts.excel = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad(
                            ErrorCode::BadParameter,
                            Some("excel"),
                            "excel must be true or false",
                        ));
                    }
                };
            }
            _ => {
                return Err(ApiError::bad(
                    ErrorCode::UnknownParameter,
                    Some(&name),
                    format!(
                        "unknown parameter {name:?}; the parameters are date, postcode_col, lat_col, lon_col, easting_col, northing_col, address_col, delimiter, excel, format, sheet, header_row, date_column and summary"
                    ),
                ));
            }
        }
    }
    Ok(opts)
}

fn delimiter(text: &str) -> Result<u8, ApiError> {
    batch::delimiter_from_name(text).ok_or_else(|| {
        ApiError::bad(
            ErrorCode::BadParameter,
            Some("delimiter"),
            format!("delimiter must be one of {}", batch::DELIMITER_NAMES),
        )
    })
}

/// The media type of the request without parameters, lower case; `None` when absent.
fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default();
    Some(essence.trim().to_ascii_lowercase())
}

/// True when the `Accept` header names the workbook type (a client asking for `.xlsx`).
fn accepts_xlsx(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(XLSX_TYPE))
        })
}

fn check_content_type(req: &HttpRequest) -> Result<InputFormat, ApiError> {
    match media_type(req) {
        Some(t) if CSV_TYPES.contains(&t.as_str()) => Ok(InputFormat::Csv),
        Some(t) if t == XLSX_TYPE => Ok(InputFormat::Xlsx),
        Some(t)
            if t.contains("spreadsheetml")
                || t == "application/vnd.ms-excel.sheet.macroenabled.12" =>
        {
            Err(ApiError::UnsupportedMediaType(format!(
                "this kind of workbook is not read: send an .xlsx workbook (Content-Type: {XLSX_TYPE}) or CSV"
            )))
        }
        Some(t) if t.starts_with("multipart/") => Err(ApiError::UnsupportedMediaType(format!(
            "send the file itself as the body (Content-Type: text/csv, or {XLSX_TYPE} for a \
             workbook), not a form upload"
        ))),
        Some(t) if t == "text/plain" => Err(ApiError::UnsupportedMediaType(format!(
            "text/plain is not accepted, so that a web form on another site cannot send a \
             batch here: send the CSV with Content-Type text/csv (accepted: {})",
            CSV_TYPES.join(", ")
        ))),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "the body must be CSV text sent with Content-Type: text/csv, or an .xlsx workbook sent \
             with {XLSX_TYPE} (accepted: {}; got {})",
            CSV_TYPES.join(", "),
            other.map_or_else(|| "no Content-Type".to_string(), |t| format!("{t:?}"))
        ))),
    }
}

fn too_large() -> ApiError {
    ApiError::TooLarge {
        message: format!(
            "the body is larger than {BATCH_MAX_BYTES} bytes: split the file, or use careband batch on the command line"
        ),
        limit: BATCH_MAX_BYTES,
    }
}

/// Refuses a body whose `Content-Length` is over [`BATCH_MAX_BYTES`], before it is read.
fn check_declared_length(req: &HttpRequest) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BATCH_MAX_BYTES as u64) {
        return Err(too_large());
    }
    Ok(())
}

/// Reads the body, refusing it as soon as it is over [`BATCH_MAX_BYTES`].
async fn read_body(payload: web::Payload) -> Result<Bytes, ApiError> {
    payload
        .to_bytes_limited(BATCH_MAX_BYTES)
        .await
        .map_err(|_| too_large())?
        .map_err(|e| {
            ApiError::bad(
                ErrorCode::BadBody,
                Some("body"),
                format!("the body could not be read: {e}"),
            )
        })
}

/// A run failure found by the scan, as the client's error.
fn scan_error(e: BatchError) -> ApiError {
    match e {
        BatchError::Utf16 | BatchError::NotCsv { .. } => {
            ApiError::UnsupportedMediaType(e.to_string())
        }
        BatchError::NoLookupColumn { .. }
        | BatchError::UnknownColumn { .. }
        | BatchError::HalfPair { .. } => ApiError::bad(ErrorCode::BadColumns, None, e.to_string()),
        BatchError::Empty
        | BatchError::HeaderTooLong { .. }
        | BatchError::UnclosedQuote { .. }
        | BatchError::NoHeaderRow { .. }
        | BatchError::Workbook(_)
        | BatchError::NoSheets
        | BatchError::NoSuchSheet { .. } => {
            ApiError::bad(ErrorCode::BadCsv, Some("body"), e.to_string())
        }
        BatchError::WorkbookTooLarge { .. } => ApiError::TooLarge {
            message: e.to_string(),
            limit: BATCH_MAX_BYTES,
        },
        other => ApiError::internal("scanning a batch", other),
    }
}

/// Answer every row of a CSV file.
///
/// The body is a CSV file or an `.xlsx` workbook exactly as `careband batch` reads it (CSV:
/// UTF-8 with or without a byte order mark; comma, semicolon or tab; the header is the first
/// of the first 20 rows with lookup columns, or `header_row`; the lookup columns found by
/// header name or named with the parameters). The answer is CSV or a workbook: every input
/// row, in order, blank and bad rows included, with the result columns of `careband batch`
/// appended.
/// At most 100,000 rows and 33,554,432 bytes per request; the input is checked before the
/// first row is answered, so a broken file is a JSON error, never a short CSV. A few batches
/// are answered at once and a few more wait their turn; beyond that the request is a 503.
#[utoipa::path(
    post,
    path = "/v1/batch",
    tag = "lookup",
    params(BatchParams),
    request_body(
        description = "The CSV file or an .xlsx workbook (as its media type, or as the bytes of a file upload)",
        content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/octet-stream"),
        )
    ),
    responses(
        (status = 200, description = "The rows with their answers, as CSV streamed or as an .xlsx workbook (`format=xlsx`, or an `Accept` of the workbook type); the `Careband-Rows` header says how many, and each row's `status` column its outcome. With `summary=true`, JSON instead: the counts of rows answered, outside coverage, not found, bad input and blank, and a `message` saying them", content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "Broken CSV (the error names the line), no lookup column, or a bad parameter", body = ErrorBody),
        (status = 413, description = "Over 100,000 rows or 33,554,432 bytes; `limit` says the cap", body = ErrorBody),
        (status = 414, description = "Query string too long", body = ErrorBody),
        (status = 415, description = "Not sent as text/csv or as an .xlsx workbook, or the body is UTF-16 text", body = ErrorBody),
        (status = 503, description = "The queue of batch uploads is full (`queue_full`; the body was not read); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn post_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input = check_content_type(&req)?;
    let mut pairs = query.into_inner();
    let summary_only = take_summary(&mut pairs)?;
    let mut opts = options(pairs, &req)?;
    check_declared_length(&req)?;
    // The turn comes before the body is read, so waiting uploads hold no memory here.
    let turn = state.work().batch_turn().await?;
    let body = read_body(payload).await?;
    // A generated client sends any file as bytes: a zip archive is read as the workbook it is.
    let input = if media_type(&req).as_deref() == Some("application/octet-stream")
        && body.starts_with(b"PK\x03\x04")
    {
        InputFormat::Xlsx
    } else {
        input
    };
    opts.pool = Some(state.work().rayon()?);
    if let Some(g) = state.geocoder_shared() {
        // Rows the gazetteer cannot settle wait on the pool's threads for this worker's
        // runtime, which goes on serving while they wait; `geocoder.batch_rows` bounds them.
        opts.refiner = Some(Arc::new(BlockingRefiner::new(
            g,
            tokio::runtime::Handle::current(),
        )));
    }
    let ds = state.dataset();
    let output = opts.output;
    let filename = match output {
        OutputFormat::Csv => format!("careband-{}.csv", opts.date),
        OutputFormat::Xlsx => format!("careband-{}.xlsx", opts.date),
    };
    let counted = state.clone();
    let (started_tx, started_rx) = oneshot::channel::<Result<Started, ApiError>>();
    let (tx, rx) = mpsc::channel(PIECES_IN_FLIGHT);
    state.work().drive(turn, move || {
        let scan = match scan_body(&body, input, &opts) {
            Ok(scan) if scan.stopped => {
                let _ = started_tx.send(Err(too_many_rows()));
                return;
            }
            Ok(scan) => scan,
            Err(e) => {
                let _ = started_tx.send(Err(scan_error(e)));
                return;
            }
        };
        if summary_only {
            // Every row answered as for the CSV, the rows thrown away: only the counts go back.
            let summary = run_body(&body, input, io::sink(), &opts, &ds)
                .inspect(|summary| counted.metrics().count_batch(summary))
                .map(Started::Summary)
                .map_err(|e| ApiError::internal("answering a batch", e));
            let _ = started_tx.send(summary);
            return;
        }
        if output == OutputFormat::Xlsx {
            // A workbook is assembled whole at the end, so it is sent whole, with its counts.
            let mut book = Vec::new();
            let done = run_body(&body, input, &mut book, &opts, &ds)
                .inspect(|summary| counted.metrics().count_batch(summary))
                .map(|summary| Started::Workbook(book, summary))
                .map_err(|e| match e {
                    BatchError::XlsxTooManyRows
                    | BatchError::XlsxTooManyColumns
                    | BatchError::XlsxCellTooLong { .. } => {
                        ApiError::bad(ErrorCode::BadParameter, Some("format"), e.to_string())
                    }
                    other => ApiError::internal("answering a batch", other),
                });
            let _ = started_tx.send(done);
            return;
        }
        if started_tx.send(Ok(Started::Streaming(scan.rows))).is_err() {
            // The client left before the answering started.
            return;
        }
        let mut out = Pieces {
            tx: tx.clone(),
            buf: Vec::with_capacity(PIECE_BYTES),
        };
        let result = run_body(&body, input, &mut out, &opts, &ds);
        match result {
            Ok(summary) => counted.metrics().count_batch(&summary),
            Err(e) => {
                // The scan passed, so this is the client leaving or careband failing: end the
                // stream with an error so the client sees a failed transfer, not a short file.
                tracing::warn!(error = %e, "a batch request stopped before its last row");
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
            }
        }
    })?;
    let started = started_rx
        .await
        .map_err(|e| ApiError::internal("answering a batch", e))??;
    Ok(respond(started, &filename, rx))
}

/// The response once the driver has started: the counts, a workbook, or the CSV stream.
fn respond(
    started: Started,
    filename: &str,
    rx: mpsc::Receiver<io::Result<Bytes>>,
) -> HttpResponse {
    let disposition = (
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{filename}\""),
    );
    match started {
        Started::Summary(summary) => HttpResponse::Ok()
            .insert_header(("Careband-Rows", summary.rows.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(SummaryBody {
                message: summary.counts_line(),
                summary,
            }),
        Started::Workbook(book, summary) => HttpResponse::Ok()
            .content_type(XLSX_TYPE)
            .insert_header(disposition)
            .insert_header(("Careband-Rows", summary.rows.to_string()))
            .insert_header(("Careband-Summary", summary.counts_line()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(book),
        Started::Streaming(rows) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(disposition)
            .insert_header(("Careband-Rows", rows.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(Streamed(rx)),
    }
}

/// Checks a body as [`run_body`] will read it (step one of the module docs).
fn scan_body(
    body: &[u8],
    input: InputFormat,
    opts: &BatchOptions,
) -> Result<batch::Scan, BatchError> {
    match input {
        InputFormat::Csv => batch::scan_csv(body, opts, BATCH_MAX_ROWS),
        InputFormat::Xlsx => batch::scan_xlsx(Cursor::new(body), opts, BATCH_MAX_ROWS),
    }
}

/// Answers every row of a body.
fn run_body(
    body: &[u8],
    input: InputFormat,
    out: impl Write,
    opts: &BatchOptions,
    ds: &crate::engine::dataset::Dataset,
) -> Result<batch::Summary, BatchError> {
    match input {
        InputFormat::Csv => batch::run(body, InputFormat::Csv, out, opts, ds, &|_| {}),
        InputFormat::Xlsx => batch::run_xlsx(Cursor::new(body), out, opts, ds, &|_| {}),
    }
}

/// How a batch's driver got on once the body was scanned.
enum Started {
    /// `summary=true`: every row answered, the counts.
    Summary(batch::Summary),
    /// The scan passed with this many rows; the answers follow on the stream.
    Streaming(u64),
    /// `format=xlsx`: every row answered into this workbook.
    Workbook(Vec<u8>, batch::Summary),
}

fn too_many_rows() -> ApiError {
    ApiError::TooLarge {
        message: format!(
            "at most {BATCH_MAX_ROWS} rows per request: split the file, or use careband batch on the command line"
        ),
        limit: usize::try_from(BATCH_MAX_ROWS).unwrap_or(usize::MAX),
    }
}

/// A [`Write`] that hands the output to the response in pieces of [`PIECE_BYTES`].
struct Pieces {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(PIECE_BYTES),
        ));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Pieces {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The response body: the pieces as the answering thread sends them.
struct Streamed(mpsc::Receiver<io::Result<Bytes>>);

impl MessageBody for Streamed {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn parameters_are_the_cli_flags() {
        let o = options(
            pairs(&[
                ("date", "2019-06-01"),
                ("address_col", "Address 1"),
                ("address_col", "Town"),
                ("delimiter", ";"),
                ("excel", "true"),
                ("header_row", "3"),
                ("date_column", "Referral date"),
                ("format", "xlsx"),
            ]),
            &test_request(),
        )
        .unwrap();
        assert_eq!(o.date.to_string(), "2019-06-01");
        assert_eq!(o.columns.address, vec!["Address 1", "Town"]);
        assert_eq!(o.delimiter, Some(b';'));
        assert!(o.excel);
        assert_eq!(o.header_row, Some(3));
        assert_eq!(o.date_column.as_deref(), Some("Referral date"));
        assert_eq!(o.output, OutputFormat::Xlsx);
    }

    fn test_request() -> HttpRequest {
        actix_web::test::TestRequest::default().to_http_request()
    }

    #[test]
    fn an_accept_of_the_workbook_type_asks_for_a_workbook() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::ACCEPT, format!("text/csv;q=0.5, {XLSX_TYPE}")))
            .to_http_request();
        assert!(accepts_xlsx(&req));
        assert_eq!(
            options(Vec::new(), &req).unwrap().output,
            OutputFormat::Xlsx
        );
        // The parameter wins over the header.
        let o = options(pairs(&[("format", "csv")]), &req).unwrap();
        assert_eq!(o.output, OutputFormat::Csv);
        assert!(!accepts_xlsx(&test_request()));
    }

    #[test]
    fn unknown_repeated_and_bad_parameters_are_refused() {
        let code = |p: &[(&str, &str)]| {
            options(pairs(p), &test_request())
                .err()
                .map(|e| e.code().as_str())
        };
        assert_eq!(code(&[("postcode", "x")]), Some("unknown_parameter"));
        assert_eq!(
            code(&[("date", "2019-06-01"), ("date", "2019-06-02")]),
            Some("repeated_parameter")
        );
        assert_eq!(code(&[("date", "1/6/2019")]), Some("bad_date"));
        assert_eq!(code(&[("delimiter", "ab")]), Some("bad_parameter"));
        for bad in ["\0", "a", "\"", "\n", " ", ":"] {
            assert_eq!(
                code(&[("delimiter", bad)]),
                Some("bad_parameter"),
                "{bad:?}"
            );
        }
        for good in [",", ";", "tab", "\t", "|"] {
            assert_eq!(code(&[("delimiter", good)]), None, "{good:?}");
        }
        assert_eq!(code(&[("excel", "yes")]), Some("bad_parameter"));
    }
}
