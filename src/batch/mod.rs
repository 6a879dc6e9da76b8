//! Batch mode: a CSV or Excel file of postcodes, points or addresses in; the same rows out, in
//! the same order, each with its answer (or the reason it has none) appended.
//!
//! Every input row gives exactly one output row, blank and bad rows included. A bad row is
//! never a failure of the run: only an input that cannot be read as a table (unreadable, an
//! unclosed quote, a broken workbook) or an output that cannot be written stops it, with a
//! [`BatchError`] naming the line.
//!
//! The pipeline, streaming so memory does not grow with the file:
//! 1. open the input: CSV ([`run`]; the delimiter is sniffed from the header line, a UTF-8
//!    byte order mark is skipped) or an `.xlsx` worksheet ([`run_xlsx`]);
//! 2. find the header: the row [`BatchOptions::header_row`] names, or the first of the first
//!    [`HEADER_SEARCH_ROWS`] rows that has the lookup columns (so title rows above it are
//!    skipped), and the lookup columns in it by name or as named in [`BatchOptions::columns`];
//! 3. read a chunk of at most [`BatchOptions::chunk_rows`] rows (and [`CHUNK_BYTES`] bytes);
//! 4. answer the chunk's rows in parallel with `rayon`, each slice of rows rendered to CSV text
//!    on its own thread;
//! 5. write the slices in input order, so the output is byte-identical whatever the thread
//!    count, as CSV or as an `.xlsx` workbook ([`OutputFormat`]), and report progress;
//! 6. repeat until the input ends, then return the [`Summary`].
//!
//! Answers come from [`crate::engine::lookup::lookup`], so a row answers exactly as the CLI and the HTTP
//! API would for the same postcode and date.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Seek, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use crate::engine::answer::Answer;
use crate::engine::dataset::Dataset;
use crate::engine::lookup::LookupError;

mod columns;
mod csv_input;
mod geocoding;
mod row;
mod xlsx_input;
mod xlsx_output;

pub use columns::result_columns;
use csv_input::CsvInput;
pub use geocoding::BlockingRefiner;
use row::{Ctx, Plan};
use xlsx_input::XlsxInput;
pub use xlsx_input::{
    XLSX_MAX_ENTRIES, XLSX_MAX_SHARED_STRINGS, XLSX_MAX_UNCOMPRESSED_BYTES, XlsxLimits,
    check_bounds,
};
use xlsx_output::XlsxSink;
pub use xlsx_output::{XLSX_MAX_CELL_CHARS, XLSX_MAX_ROWS};

/// A second opinion on free-text rows (addresses without a postcode) that the offline
/// gazetteer could not settle: the optional external geocoder
/// ([`BlockingRefiner`]). Called from the pool's threads, one row at a time;
/// it decides itself which rows it is asked about and how many.
pub trait TextRefiner: Send + Sync {
    /// The answer to `text` on `date`, given the offline answer `offline`: `offline` itself
    /// (perhaps with a note) or a better one.
    ///
    /// # Errors
    /// The offline answer's error, perhaps with a note.
    fn refine(
        &self,
        ds: &Dataset,
        text: &str,
        offline: Result<Answer, LookupError>,
        date: NaiveDate,
    ) -> Result<Answer, LookupError>;
}

/// Rows searched for the header when [`BatchOptions::header_row`] does not name it: title
/// rows, notes and blank rows above the header are skipped.
pub const HEADER_SEARCH_ROWS: u64 = 20;

/// Largest record (a CSV line with its fields, or a worksheet row) read, in bytes. A longer
/// record is skipped and answered as a bad row; memory per record never exceeds this.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Rows read and answered together before being written out.
pub const CHUNK_ROWS: usize = 8192;

/// Field bytes read into one chunk at most, so a chunk of long rows stays small.
pub const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Rows one worker answers and renders at a time.
const SLICE_ROWS: usize = 512;

/// The UTF-8 byte order mark written first with [`BatchOptions::excel`].
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A cell as written out: text a spreadsheet would run as a formula
/// ([`is_formula_text`](crate::engine::query::is_formula_text): it starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return and is not a plain number) gets a `'` in front, as OWASP
/// recommends against CSV injection, so that Excel, `LibreOffice` and Google Sheets show it as
/// text. Plain numbers such as `-1.29` are left as they are, so numeric columns stay numeric.
///
/// Every cell of the output goes through this: the header, the echoed input columns and the
/// result columns (`query_used`, `error`...).
///
/// ```
/// # use careband::batch::safe_cell;
/// assert_eq!(safe_cell("=1+1"), "'=1+1");
/// assert_eq!(safe_cell("-1.29"), "-1.29");
/// assert_eq!(safe_cell("NR1 1AA"), "NR1 1AA");
/// ```
#[must_use]
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    if crate::engine::query::is_formula_text(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The delimiters a batch reads and writes, as a user names them: the three that are sniffed
/// (comma, semicolon, tab) and `|`.
pub const DELIMITER_NAMES: &str = "\",\", \";\", \"tab\" (or \\t, or a tab character) and \"|\"";

/// The delimiter a user named, from the closed set of [`DELIMITER_NAMES`]; `None` for anything
/// else (a NUL, a letter, a quote, a space...), which no spreadsheet writes.
///
/// ```
/// # use careband::batch::delimiter_from_name;
/// assert_eq!(delimiter_from_name("tab"), Some(b'\t'));
/// assert_eq!(delimiter_from_name(";"), Some(b';'));
/// assert_eq!(delimiter_from_name("\0"), None);
/// ```
#[must_use]
pub fn delimiter_from_name(name: &str) -> Option<u8> {
    match name {
        "," => Some(b','),
        ";" => Some(b';'),
        "tab" | "\t" | "\\t" => Some(b'\t'),
        "|" => Some(b'|'),
        _ => None,
    }
}

/// The kind of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Delimited text, UTF-8 (with or without a byte order mark).
    Csv,
    /// An Excel `.xlsx` workbook: one worksheet is read.
    Xlsx,
}

impl InputFormat {
    /// The format a file name implies: `.xlsx` and `.xlsm` are workbooks, anything else CSV.
    #[must_use]
    pub fn from_path(path: &Path) -> Self {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("xlsx" | "xlsm") => Self::Xlsx,
            _ => Self::Csv,
        }
    }
}

/// The kind of output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Delimited text, the input's delimiter (a comma for workbooks).
    #[default]
    Csv,
    /// An Excel `.xlsx` workbook with one worksheet.
    Xlsx,
}

impl OutputFormat {
    /// The format an output file's name asks for: `.xlsx` is a workbook; `.csv`, `.tsv`,
    /// `.txt` or no extension CSV. Any other extension (`.xls`, `.xlsm`, `.ods`, `.json`...)
    /// is refused rather than given contents that do not match it.
    ///
    /// # Errors
    /// [`BatchError::OutputExtension`] naming the extension.
    ///
    /// ```
    /// # use careband::batch::OutputFormat;
    /// # use std::path::Path;
    /// assert_eq!(OutputFormat::from_path(Path::new("out.XLSX")).unwrap(), OutputFormat::Xlsx);
    /// assert_eq!(OutputFormat::from_path(Path::new("out.csv")).unwrap(), OutputFormat::Csv);
    /// assert!(OutputFormat::from_path(Path::new("out.xls")).is_err());
    /// ```
    pub fn from_path(path: &Path) -> Result<Self, BatchError> {
        let Some(ext) = path.extension() else {
            return Ok(Self::Csv);
        };
        match ext.to_str().map(str::to_ascii_lowercase).as_deref() {
            Some("xlsx") => Ok(Self::Xlsx),
            Some("csv" | "tsv" | "txt") => Ok(Self::Csv),
            _ => Err(BatchError::OutputExtension {
                extension: ext.to_string_lossy().into_owned(),
            }),
        }
    }
}

/// Which columns hold the query. All empty (the default) means: find them by header name.
///
/// Named columns are matched exactly first, then ignoring case and surrounding spaces. When
/// any is named, only named columns are used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnNames {
    /// The postcode column.
    pub postcode: Option<String>,
    /// The latitude column (with `lon`).
    pub lat: Option<String>,
    /// The longitude column (with `lat`).
    pub lon: Option<String>,
    /// The BNG easting column (with `northing`).
    pub easting: Option<String>,
    /// The BNG northing column (with `easting`).
    pub northing: Option<String>,
    /// Address columns, searched in order for a full postcode.
    pub address: Vec<String>,
}

impl ColumnNames {
    /// True when no column is named, so columns are found by header name.
    #[must_use]
    pub fn is_auto(&self) -> bool {
        *self == Self::default()
    }
}

/// How a batch is run.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The date every row is answered for (rates and open surgeries on that day).
    pub date: NaiveDate,
    /// Where the query is in each row.
    pub columns: ColumnNames,
    /// CSV delimiter; `None` sniffs comma, semicolon or tab from the header line. The output
    /// uses the same delimiter (a comma for workbooks).
    pub delimiter: Option<u8>,
    /// Write for Excel: a UTF-8 byte order mark first and CRLF line ends.
    pub excel: bool,
    /// Worker threads; `None` uses [`BatchOptions::pool`], else rayon's global pool (one per
    /// core).
    pub threads: Option<NonZeroUsize>,
    /// A pool to answer the rows on when [`BatchOptions::threads`] is `None` (the server's
    /// expensive-work pool, shared by every batch so together they use only its threads).
    pub pool: Option<Arc<rayon::ThreadPool>>,
    /// Worksheet of an `.xlsx` input; `None` is the first one.
    pub sheet: Option<String>,
    /// Rows per chunk (at least 1); memory use grows with it.
    pub chunk_rows: usize,
    /// How large an `.xlsx` input may be once expanded.
    pub xlsx_limits: XlsxLimits,
    /// What is written: CSV or a workbook.
    pub output: OutputFormat,
    /// The line (CSV) or sheet row (workbook) of the header, 1-based; `None` searches the
    /// first [`HEADER_SEARCH_ROWS`] rows for it.
    pub header_row: Option<u64>,
    /// A column holding each row's own date (a referral or start date, `YYYY-MM-DD`,
    /// `DD/MM/YYYY` or a workbook date); a row with it empty is answered for
    /// [`BatchOptions::date`].
    pub date_column: Option<String>,
    /// Asked about free-text rows the gazetteer cannot settle (the external geocoder);
    /// `None` answers every row offline.
    pub refiner: Option<Arc<dyn TextRefiner>>,
}

impl std::fmt::Debug for dyn TextRefiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextRefiner")
    }
}

impl BatchOptions {
    /// Defaults for a date: columns by header name, sniffed delimiter, LF line ends, all
    /// cores, [`CHUNK_ROWS`] rows per chunk.
    #[must_use]
    pub fn new(date: NaiveDate) -> Self {
        Self {
            date,
            columns: ColumnNames::default(),
            delimiter: None,
            excel: false,
            threads: None,
            pool: None,
            sheet: None,
            chunk_rows: CHUNK_ROWS,
            xlsx_limits: XlsxLimits::default(),
            output: OutputFormat::Csv,
            header_row: None,
            date_column: None,
            refiner: None,
        }
    }
}

/// How far a run has got, reported after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Data rows written so far (the header not counted).
    pub rows: u64,
    /// Input bytes consumed so far (CSV only; 0 for workbooks, which are compressed).
    pub input_bytes: u64,
}

/// What a run did: row counts by outcome, by band and by scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Data rows read (and written: always the same number).
    pub rows: u64,
    /// Rows answered with a scheme's answer.
    pub answered: u64,
    /// Rows whose postcode is valid but unknown, or known without a position.
    pub not_found: u64,
    /// Rows whose point no scheme covers.
    pub outside_coverage: u64,
    /// Rows that could not be read as a query (bad postcode or number, ragged, too long...).
    pub bad_input: u64,
    /// Rows with nothing in them.
    pub blank: u64,
    /// Answered rows per band, or per rate name where no band applies (`spot price`), or
    /// `no rate` (one count per covering scheme).
    pub by_band: BTreeMap<String, u64>,
    /// Answered rows per scheme id.
    pub by_scheme: BTreeMap<String, u64>,
    /// Rows with bytes that are not UTF-8 (copied with U+FFFD in their place).
    pub invalid_utf8_rows: u64,
    /// Line (CSV) or sheet row (workbook) of the first such row.
    pub first_invalid_utf8_line: Option<u64>,
    /// Rows answered at the external geocoder's point (free text the gazetteer could not
    /// settle); 0 when no geocoder is configured.
    pub geocoded: u64,
    /// Which columns the queries were read from.
    pub columns_used: Vec<String>,
    /// Line (CSV) or sheet row (workbook) of the header; rows above it (titles, notes) are
    /// not copied to the output.
    pub header_line: u64,
    /// The column holding each row's date, when one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    /// The date the rows were answered for (those without a date of their own).
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: String,
}

/// A count with commas between thousands (`1,396`), as the summaries write counts.
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Row counts of one slice of rows, added into the [`Summary`] in input order.
#[derive(Debug, Default)]
struct Counts {
    rows: u64,
    answered: u64,
    not_found: u64,
    outside_coverage: u64,
    bad_input: u64,
    blank: u64,
    by_band: BTreeMap<String, u64>,
    by_scheme: BTreeMap<String, u64>,
    invalid_utf8_rows: u64,
    first_invalid_utf8_line: Option<u64>,
    geocoded: u64,
}

impl Summary {
    /// The row counts in one line, every outcome named: `2,007 rows: 1,396 answered, 402
    /// outside coverage, 150 not found, 59 bad input` (and `, 3 blank` when there are any).
    /// The outcomes are the `status` column's, so the counts are those of the output.
    #[must_use]
    pub fn counts_line(&self) -> String {
        let mut line = format!(
            "{} row{}: {} answered, {} outside coverage, {} not found, {} bad input",
            thousands(self.rows),
            if self.rows == 1 { "" } else { "s" },
            thousands(self.answered),
            thousands(self.outside_coverage),
            thousands(self.not_found),
            thousands(self.bad_input),
        );
        if self.blank > 0 {
            line.push_str(", ");
            line.push_str(&thousands(self.blank));
            line.push_str(" blank");
        }
        line
    }

    fn add(&mut self, c: Counts) {
        self.rows += c.rows;
        self.answered += c.answered;
        self.not_found += c.not_found;
        self.outside_coverage += c.outside_coverage;
        self.bad_input += c.bad_input;
        self.blank += c.blank;
        for (k, v) in c.by_band {
            *self.by_band.entry(k).or_default() += v;
        }
        for (k, v) in c.by_scheme {
            *self.by_scheme.entry(k).or_default() += v;
        }
        self.invalid_utf8_rows += c.invalid_utf8_rows;
        self.geocoded += c.geocoded;
        self.first_invalid_utf8_line =
            match (self.first_invalid_utf8_line, c.first_invalid_utf8_line) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
    }
}

/// Why a run stopped. Bad rows never stop a run; these are failures of the run itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The input could not be read.
    #[error("cannot read the input (near line {line})")]
    Read {
        /// Line being read.
        line: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The output could not be written.
    #[error("cannot write the output")]
    Write(#[source] io::Error),
    /// No header row.
    #[error("the input is empty: there is no header row")]
    Empty,
    /// The header row is over [`MAX_RECORD_BYTES`].
    #[error("line {line}: the header is longer than {MAX_RECORD_BYTES} bytes: is this a CSV file?")]
    HeaderTooLong {
        /// Line (or sheet row) of the header.
        line: u64,
    },
    /// The input ends inside a quoted field.
    #[error(
        "line {line}: a quoted field opens here and is never closed (the file ends inside it); \
         fix the quote, or quote the whole field and double any quote inside it"
    )]
    UnclosedQuote {
        /// Line where the quote opens.
        line: u64,
    },
    /// UTF-16 text.
    #[error("the input is UTF-16 text, not UTF-8: save it as \"CSV UTF-8\" and try again")]
    Utf16,
    /// Not delimited text at all.
    #[error("the input is not CSV text: it looks like {what}")]
    NotCsv {
        /// What it looks like, and what to do.
        what: &'static str,
    },
    /// The workbook cannot be read.
    #[error("cannot read the workbook: {0}")]
    Workbook(String),
    /// The workbook is larger, once expanded, than [`BatchOptions::xlsx_limits`] allow; it
    /// is refused before it is read.
    #[error(
        "the workbook is too large to read: it has {what}; save the sheet as CSV UTF-8, or \
         raise the limit"
    )]
    WorkbookTooLarge {
        /// What is over which limit.
        what: String,
    },
    /// The workbook has no worksheet.
    #[error("the workbook has no worksheets")]
    NoSheets,
    /// The named sheet is not in the workbook.
    #[error("the workbook has no sheet {sheet:?} (it has: {sheets})")]
    NoSuchSheet {
        /// The sheet asked for.
        sheet: String,
        /// The sheets it has.
        sheets: String,
    },
    /// No column to read queries from.
    #[error(
        "no lookup column: the header has no column named postcode, lat and lon (or latitude \
         and longitude), easting and northing, or address (it has: {headers})"
    )]
    NoLookupColumn {
        /// The header's column names.
        headers: String,
    },
    /// A named column is not in the header.
    #[error("there is no {role} column named {name:?} (the header has: {headers})")]
    UnknownColumn {
        /// What the column was to hold (`postcode`, `latitude`...).
        role: &'static str,
        /// The name given.
        name: String,
        /// The header's column names.
        headers: String,
    },
    /// The header row named is not in the input.
    #[error("there is no {unit} {row} to read the header from (the input has {last} {unit}s)")]
    NoHeaderRow {
        /// The row asked for.
        row: u64,
        /// The last line or row read.
        last: u64,
        /// `line` or `row`.
        unit: &'static str,
    },
    /// An output file name whose extension careband does not write.
    #[error(
        "cannot write a .{extension} file: name the output .csv (or .tsv, .txt) for CSV, or \
         .xlsx for an Excel workbook"
    )]
    OutputExtension {
        /// The extension given.
        extension: String,
    },
    /// More rows than an Excel worksheet holds.
    #[error(
        "the output has more rows than an Excel worksheet holds ({XLSX_MAX_ROWS}): write CSV \
         instead"
    )]
    XlsxTooManyRows,
    /// More columns than a worksheet holds.
    #[error("the output has more columns than an Excel worksheet holds: write CSV instead")]
    XlsxTooManyColumns,
    /// A cell longer than an Excel cell holds; it is not cut short.
    #[error(
        "{unit_line}: the {column:?} cell is longer than the {XLSX_MAX_CELL_CHARS} characters an \
         Excel cell holds: write CSV instead",
        unit_line = if *line == 0 { "the header".to_string() } else { format!("input row {line}") }
    )]
    XlsxCellTooLong {
        /// Input line or row of the cell (0 for the header).
        line: u64,
        /// Its column's name.
        column: String,
    },
    /// Half of a coordinate pair was named.
    #[error("a {given} column needs a {missing} column too")]
    HalfPair {
        /// The half named.
        given: &'static str,
        /// The half missing.
        missing: &'static str,
    },
    /// The worker threads could not be started.
    #[error("cannot start the worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
}

/// One record: its lines and where its fields are in the [`Chunk`].
#[derive(Debug, Clone)]
struct RawRow {
    /// First physical line (CSV) or sheet row (workbook), 1-based.
    line: u64,
    /// Last physical line (a quoted field can span lines).
    last_line: u64,
    /// Offset of the first field's bytes in `Chunk::data`.
    data_start: usize,
    /// This row's entries in `Chunk::ends`.
    fields: Range<usize>,
    /// A problem found while reading.
    issue: Option<RowIssue>,
}

impl RawRow {
    /// How many fields the row has.
    fn field_count(&self) -> usize {
        self.fields.len()
    }
}

/// A problem with a record found while reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowIssue {
    /// Over [`MAX_RECORD_BYTES`]: read to its end, not stored.
    TooLong {
        /// Its size in bytes.
        bytes: u64,
        /// Where its last quoted field holding a line break opened, when it has one (a
        /// likely unclosed quote).
        quote_line: Option<u64>,
    },
}

/// Rows read together: all fields' bytes in one buffer, reused from chunk to chunk.
#[derive(Debug, Default)]
struct Chunk {
    data: Vec<u8>,
    /// End offset in `data` of every field, row after row.
    ends: Vec<usize>,
    rows: Vec<RawRow>,
}

impl Chunk {
    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.rows.clear();
    }

    /// Field `i` of row `r`, raw bytes.
    fn field(&self, r: &RawRow, i: usize) -> Option<&[u8]> {
        if i >= r.fields.len() {
            return None;
        }
        let k = r.fields.start + i;
        let start = if i == 0 {
            r.data_start
        } else {
            self.ends[k - 1]
        };
        self.data.get(start..self.ends[k])
    }
}

/// A source of rows: CSV text or a worksheet.
trait RowSource {
    /// Reads the next row into `chunk`; false at end of input.
    fn read_row(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError>;
    /// Input bytes consumed so far (0 when unknown).
    fn consumed(&self) -> u64;
    /// What a record's position is called in messages (`line`, `row`).
    fn unit(&self) -> &'static str;
}

impl<R: Read> RowSource for CsvInput<R> {
    fn read_row(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError> {
        self.read_record(chunk)
    }
    fn consumed(&self) -> u64 {
        CsvInput::consumed(self)
    }
    fn unit(&self) -> &'static str {
        "line"
    }
}

impl<RS: Read + Seek> RowSource for XlsxInput<'_, RS> {
    fn read_row(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError> {
        XlsxInput::read_row(self, chunk)
    }
    fn consumed(&self) -> u64 {
        0
    }
    fn unit(&self) -> &'static str {
        "row"
    }
}

/// Answers every row of a CSV or workbook input, streaming, and writes the rows with their
/// answers to `output`. A workbook is first read whole into memory (it needs seeking); use
/// [`run_xlsx`] with a file to avoid that.
///
/// `progress` is called after every chunk, from the calling thread.
///
/// # Errors
/// [`BatchError`] for a failure of the run itself; bad rows are answered as such.
pub fn run(
    mut input: impl Read,
    format: InputFormat,
    output: impl Write,
    opts: &BatchOptions,
    ds: &Dataset,
    progress: &dyn Fn(Progress),
) -> Result<Summary, BatchError> {
    match format {
        InputFormat::Csv => {
            let mut source = CsvInput::open(input, opts.delimiter)?;
            let delimiter = source.delimiter();
            drive(&mut source, delimiter, output, opts, ds, progress)
        }
        InputFormat::Xlsx => {
            let mut bytes = Vec::new();
            input
                .read_to_end(&mut bytes)
                .map_err(|source| BatchError::Read { line: 0, source })?;
            run_xlsx(Cursor::new(bytes), output, opts, ds, progress)
        }
    }
}

/// What [`scan_csv`] found: the structure of a CSV input, checked without answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Data rows (the header not counted), blank lines included; when the scan stopped at
    /// its row limit, one more than the limit.
    pub rows: u64,
    /// True when the scan stopped early at its row limit.
    pub stopped: bool,
    /// Which columns the queries would be read from.
    pub columns_used: Vec<String>,
}

/// Reads a CSV input once without answering it: checks that it opens (not UTF-16, not a
/// workbook), that its header has the lookup columns, that no record is malformed enough to
/// stop a run (an unclosed quote), and counts its rows. Stops once more than `max_rows` rows
/// are seen.
///
/// A run of the same input with the same options then fails only if its output cannot be
/// written, so a server can refuse a bad upload with a clear status before it starts
/// answering.
///
/// # Errors
/// The [`BatchError`] that [`run`] would fail with.
pub fn scan_csv(input: impl Read, opts: &BatchOptions, max_rows: u64) -> Result<Scan, BatchError> {
    let mut source = CsvInput::open(input, opts.delimiter)?;
    scan(&mut source, opts, max_rows)
}

/// [`scan_csv`] for a workbook: checks that it opens within [`BatchOptions::xlsx_limits`],
/// has the sheet asked for and a header with the lookup columns, and counts its rows.
///
/// # Errors
/// The [`BatchError`] that [`run_xlsx`] would fail with.
pub fn scan_xlsx(
    input: impl Read + Seek,
    opts: &BatchOptions,
    max_rows: u64,
) -> Result<Scan, BatchError> {
    let (mut book, sheet) = xlsx_input::open(input, opts.sheet.as_deref(), opts.xlsx_limits)?;
    let mut source = XlsxInput::new(&mut book, &sheet)?;
    scan(&mut source, opts, max_rows)
}

fn scan(
    source: &mut dyn RowSource,
    opts: &BatchOptions,
    max_rows: u64,
) -> Result<Scan, BatchError> {
    let mut chunk = Chunk::default();
    let Header {
        names: header,
        plan,
        ..
    } = find_header(source, &mut chunk, opts)?;
    let mut rows = 0u64;
    while source.read_row(&mut chunk)? {
        rows += 1;
        if rows > max_rows {
            break;
        }
        // Only the count is kept: the chunk's buffers are reused, so memory stays flat.
        if chunk.rows.len() >= CHUNK_ROWS {
            chunk.clear();
        }
    }
    Ok(Scan {
        rows,
        stopped: rows > max_rows,
        columns_used: plan.describe(&header),
    })
}

/// Answers every row of one worksheet of an `.xlsx` workbook (the first, or
/// [`BatchOptions::sheet`]). CSV output is comma-delimited unless
/// [`BatchOptions::delimiter`] says otherwise.
///
/// # Errors
/// [`BatchError`] for a failure of the run itself; bad rows are answered as such.
pub fn run_xlsx(
    input: impl Read + Seek,
    output: impl Write,
    opts: &BatchOptions,
    ds: &Dataset,
    progress: &dyn Fn(Progress),
) -> Result<Summary, BatchError> {
    let (mut book, sheet) = xlsx_input::open(input, opts.sheet.as_deref(), opts.xlsx_limits)?;
    let mut source = XlsxInput::new(&mut book, &sheet)?;
    drive(
        &mut source,
        opts.delimiter.unwrap_or(b','),
        output,
        opts,
        ds,
        progress,
    )
}

fn csv_writer(delimiter: u8, excel: bool) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(if excel {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(Vec::new())
}

/// A chunk's rows answered and rendered, slice by slice, in input order.
type Answered = Vec<(row::Rendered, Counts)>;

/// Where the answered rows go.
enum Sink<W> {
    Csv(W),
    /// The workbook is written to the writer when the run ends.
    Xlsx(Box<XlsxSink>, W),
}

/// Reads rows into an empty `chunk` until it holds `chunk_rows` rows or [`CHUNK_BYTES`] bytes.
/// False once the input has ended.
fn fill(
    source: &mut dyn RowSource,
    chunk: &mut Chunk,
    chunk_rows: usize,
) -> Result<bool, BatchError> {
    while chunk.rows.len() < chunk_rows && chunk.data.len() < CHUNK_BYTES {
        if !source.read_row(chunk)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs `work` on the pool (the global one when `None`) while `io` runs on this thread, and
/// returns both results. `io` need not be `Send`: it never leaves this thread.
fn overlap<A: Send, B>(
    pool: Option<&rayon::ThreadPool>,
    work: impl FnOnce() -> A + Send,
    io: impl FnOnce() -> B,
) -> (A, B) {
    let mut a = None;
    let b = match pool {
        Some(p) => p.in_place_scope(|s| {
            s.spawn(|_| a = Some(work()));
            io()
        }),
        None => rayon::in_place_scope(|s| {
            s.spawn(|_| a = Some(work()));
            io()
        }),
    };
    (
        a.expect("a rayon scope returns only after its spawned job has run"),
        b,
    )
}

/// Answers a chunk's rows in parallel, in slices of [`SLICE_ROWS`].
fn answer_chunk(ctx: &Ctx<'_>, chunk: &Chunk) -> Result<Answered, csv::Error> {
    chunk
        .rows
        .par_chunks(SLICE_ROWS)
        .map(|rows| row::render(ctx, chunk, rows))
        .collect()
}

fn write_slices<W: Write>(
    output: &mut Sink<W>,
    slices: Answered,
    summary: &mut Summary,
) -> Result<(), BatchError> {
    for (rendered, counts) in slices {
        match (&mut *output, rendered) {
            (Sink::Csv(w), row::Rendered::Csv(bytes)) => {
                w.write_all(&bytes).map_err(BatchError::Write)?;
            }
            (Sink::Xlsx(book, _), row::Rendered::Cells { cells, first_line }) => {
                book.write_rows(&cells, first_line)?;
            }
            // The rows are rendered for the sink they go to (`Ctx::output`).
            _ => unreachable!("rows rendered for another output format"),
        }
        summary.add(counts);
    }
    Ok(())
}

/// The header row, and the query plan made from it.
struct Header {
    names: Vec<String>,
    plan: Plan,
    /// Its line (CSV) or sheet row (workbook).
    line: u64,
}

/// The header row's names and plan, or why this row is not the header.
fn header_at(chunk: &Chunk, head: &RawRow, opts: &BatchOptions) -> Result<Header, BatchError> {
    if head.issue.is_some() {
        return Err(BatchError::HeaderTooLong { line: head.line });
    }
    let names: Vec<String> = (0..head.field_count())
        .map(|i| String::from_utf8_lossy(chunk.field(head, i).unwrap_or_default()).into_owned())
        .collect();
    let plan = Plan::new(&names, &opts.columns, opts.date_column.as_deref())?;
    Ok(Header {
        names,
        plan,
        line: head.line,
    })
}

/// Reads rows until the header (step 2 of the module docs): the row
/// [`BatchOptions::header_row`] names, else the first of [`HEADER_SEARCH_ROWS`] rows that
/// has the lookup columns. When none has them, the first row's error says why (it is the
/// header a user most likely meant). `chunk` is left empty.
fn find_header(
    source: &mut dyn RowSource,
    chunk: &mut Chunk,
    opts: &BatchOptions,
) -> Result<Header, BatchError> {
    let mut first_error: Option<BatchError> = None;
    let mut last = 0;
    loop {
        chunk.clear();
        if !source.read_row(chunk)? {
            break;
        }
        let head = chunk.rows[0].clone();
        last = head.last_line;
        match opts.header_row {
            Some(want) if head.last_line < want => {}
            Some(want) if head.line != want => break,
            Some(_) => {
                let header = header_at(chunk, &head, opts);
                chunk.clear();
                return header;
            }
            None => match header_at(chunk, &head, opts) {
                Ok(header) => {
                    chunk.clear();
                    return Ok(header);
                }
                Err(e) => {
                    let first = first_error.get_or_insert(e);
                    if head.line >= HEADER_SEARCH_ROWS
                        || !matches!(
                            first,
                            BatchError::NoLookupColumn { .. } | BatchError::UnknownColumn { .. }
                        )
                    {
                        break;
                    }
                }
            },
        }
    }
    chunk.clear();
    Err(match (opts.header_row, first_error) {
        (Some(row), _) => BatchError::NoHeaderRow {
            row,
            last,
            unit: source.unit(),
        },
        (None, Some(e)) => e,
        (None, None) => BatchError::Empty,
    })
}

/// How each output column's cells are typed in a workbook: the input's by their text, then
/// the result columns'.
fn column_kinds(width: usize, result_names: &[String]) -> Vec<xlsx_output::ColumnKind> {
    use xlsx_output::ColumnKind;
    std::iter::repeat_n(ColumnKind::Input, width)
        .chain(result_names.iter().map(|n| match n.as_str() {
            "rate" => ColumnKind::Money,
            "distance_miles" => ColumnKind::Measure,
            _ => ColumnKind::Text,
        }))
        .collect()
}

/// The output, its header written (CSV) or its columns set (a workbook, written at the end).
fn open_sink<W: Write>(
    mut output: W,
    opts: &BatchOptions,
    delimiter: u8,
    header: &[String],
    result_names: &[String],
) -> Result<Sink<W>, BatchError> {
    Ok(match opts.output {
        OutputFormat::Csv => {
            let mut w = csv_writer(delimiter, opts.excel);
            let header_out = header
                .iter()
                .map(|h| safe_cell(h))
                .chain(result_names.iter().map(|h| safe_cell(h)));
            w.write_record(header_out.map(Cow::into_owned))
                .map_err(|e| BatchError::Write(e.into()))?;
            let head_bytes = w
                .into_inner()
                .map_err(|e| BatchError::Write(e.into_error()))?;
            if opts.excel {
                output.write_all(UTF8_BOM).map_err(BatchError::Write)?;
            }
            output.write_all(&head_bytes).map_err(BatchError::Write)?;
            Sink::Csv(output)
        }
        OutputFormat::Xlsx => {
            let kinds = column_kinds(header.len(), result_names);
            let names = header.iter().chain(result_names).cloned();
            Sink::Xlsx(Box::new(XlsxSink::new(names.collect(), kinds)?), output)
        }
    })
}

/// The pipeline of the module docs, steps 2 to 6.
fn drive(
    source: &mut dyn RowSource,
    delimiter: u8,
    output: impl Write,
    opts: &BatchOptions,
    ds: &Dataset,
    progress: &dyn Fn(Progress),
) -> Result<Summary, BatchError> {
    let mut chunk = Chunk::default();
    let Header {
        names: header,
        plan,
        line: header_line,
    } = find_header(source, &mut chunk, opts)?;
    let own = opts
        .threads
        .map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.get())
                .build()
                .map_err(BatchError::Threads)
        })
        .transpose()?;
    let pool = own.as_ref().or(opts.pool.as_deref());
    let layout = columns::Layout::new(ds);
    let result_names = layout.names();
    let ctx = Ctx {
        ds,
        layout: &layout,
        date: opts.date,
        plan: &plan,
        unit: source.unit(),
        delimiter,
        excel: opts.excel,
        output: opts.output,
        refiner: opts.refiner.as_deref(),
    };

    let mut output = open_sink(output, opts, delimiter, &header, &result_names)?;

    let mut summary = Summary {
        rows: 0,
        answered: 0,
        not_found: 0,
        outside_coverage: 0,
        bad_input: 0,
        blank: 0,
        by_band: BTreeMap::new(),
        by_scheme: BTreeMap::new(),
        invalid_utf8_rows: 0,
        first_invalid_utf8_line: None,
        geocoded: 0,
        columns_used: plan.describe(&header),
        header_line,
        date_column: plan.date.and_then(|i| header.get(i).cloned()),
        date: opts.date,
        dataset_version: ds.version.to_string(),
    };
    let chunk_rows = opts.chunk_rows.max(1);
    // Two chunks in flight: the pool answers `cur` while this thread writes the answers of the
    // chunk before it and reads the next one into `next`, so reading and writing overlap the
    // work instead of leaving cores idle.
    let mut cur = chunk;
    cur.clear();
    let mut next = Chunk::default();
    let mut more = fill(source, &mut cur, chunk_rows)?;
    let mut done: Option<Answered> = None;
    while !cur.rows.is_empty() {
        let (answered, io) = overlap(
            pool,
            || answer_chunk(&ctx, &cur),
            || {
                if let Some(slices) = done.take() {
                    write_slices(&mut output, slices, &mut summary)?;
                    progress(Progress {
                        rows: summary.rows,
                        input_bytes: source.consumed(),
                    });
                }
                next.clear();
                if more {
                    fill(source, &mut next, chunk_rows)
                } else {
                    Ok(false)
                }
            },
        );
        more = io?;
        done = Some(answered.map_err(|e| BatchError::Write(e.into()))?);
        std::mem::swap(&mut cur, &mut next);
    }
    if let Some(slices) = done.take() {
        write_slices(&mut output, slices, &mut summary)?;
        progress(Progress {
            rows: summary.rows,
            input_bytes: source.consumed(),
        });
    }
    match output {
        Sink::Csv(mut w) => w.flush().map_err(BatchError::Write)?,
        Sink::Xlsx(book, mut w) => {
            book.finish(&mut w)?;
            w.flush().map_err(BatchError::Write)?;
        }
    }
    Ok(summary)
}
