//! Rows of one worksheet of an `.xlsx` workbook, streamed cell by cell with `calamine`.
//!
//! The sheet's cells arrive in row order; rows Excel shows as empty (absent from the file)
//! become blank rows, so output row *n* is still sheet row *n* below the header. Every value
//! is turned into the text a user sees: whole numbers without `.0`, dates as ISO 8601, errors
//! as `#N/A` and the like.
//!
//! Memory: the worksheet itself is streamed, but `calamine` holds the workbook's shared-string
//! table (every distinct text value) in memory, and reads its other parts (styles, the
//! workbook's own XML) whole. A workbook is a zip archive, and a small one can expand a
//! thousandfold, so before calamine opens it [`check_bounds`] reads the zip's central
//! directory and the shared strings' own count, and refuses a workbook over the
//! [`XlsxLimits`].

use std::io::{self, Read, Seek, SeekFrom};

use calamine::{DataRef, Reader, Xlsx, XlsxCellReader, XlsxError};

use super::{BatchError, Chunk, MAX_RECORD_BYTES, RawRow, RowIssue, thousands};

/// Default [`XlsxLimits::max_uncompressed_bytes`]: 256 MiB, several times a 100,000-row
/// caseload workbook.
pub const XLSX_MAX_UNCOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Default [`XlsxLimits::max_shared_strings`].
pub const XLSX_MAX_SHARED_STRINGS: u64 = 2_000_000;

/// Most files in a workbook's zip archive (a real one has a few dozen).
pub const XLSX_MAX_ENTRIES: usize = 10_000;

/// Bytes of the shared strings read to find the `<sst>` element's counts.
const SST_HEAD: usize = 4096;

/// How large a workbook may be once expanded, checked before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XlsxLimits {
    /// Sum of the declared uncompressed sizes of the archive's files; also the most bytes the
    /// parts read whole (everything but the worksheets, which are streamed) may actually
    /// expand to.
    pub max_uncompressed_bytes: u64,
    /// Most shared strings (distinct texts): both the count the workbook declares and the
    /// number it holds.
    pub max_shared_strings: u64,
}

impl Default for XlsxLimits {
    fn default() -> Self {
        Self {
            max_uncompressed_bytes: XLSX_MAX_UNCOMPRESSED_BYTES,
            max_shared_strings: XLSX_MAX_SHARED_STRINGS,
        }
    }
}

fn too_large(what: String) -> BatchError {
    BatchError::WorkbookTooLarge { what }
}

/// Checks a workbook against `limits` without expanding its worksheets, then seeks `input`
/// back to where it was:
/// 1. at most [`XLSX_MAX_ENTRIES`] files in the archive;
/// 2. their declared uncompressed sizes add up to at most `max_uncompressed_bytes`;
/// 3. the parts calamine reads whole (all but `worksheets/`) are expanded here, without
///    keeping them, and must really be that small too: a declared size can lie;
/// 4. the shared strings' `count` and `uniqueCount` attributes, and the `<si>` elements
///    counted while expanding them, are at most `max_shared_strings`.
///
/// # Errors
/// [`BatchError::WorkbookTooLarge`] over a limit; [`BatchError::Workbook`] when the archive
/// cannot be read.
pub fn check_bounds<RS: Read + Seek>(input: &mut RS, limits: XlsxLimits) -> Result<(), BatchError> {
    let start = input
        .stream_position()
        .map_err(|source| BatchError::Read { line: 0, source })?;
    let broken = |e: zip::result::ZipError| BatchError::Workbook(e.to_string());
    let mut zip = zip::ZipArchive::new(&mut *input).map_err(broken)?;
    if zip.len() > XLSX_MAX_ENTRIES {
        return Err(too_large(format!(
            "{} files in its archive (at most {})",
            thousands(zip.len() as u64),
            thousands(XLSX_MAX_ENTRIES as u64)
        )));
    }
    let mut declared: u64 = 0;
    let mut whole_parts = Vec::new();
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(broken)?;
        declared = declared.saturating_add(f.size());
        let name = f.name().map_err(broken)?.to_string();
        let lower = name.to_ascii_lowercase();
        if f.is_file() && !lower.contains("worksheets/") {
            whole_parts.push((i, lower.ends_with("sharedstrings.xml"), name, f.size()));
        }
    }
    if declared > limits.max_uncompressed_bytes {
        return Err(too_large(format!(
            "{} bytes once expanded (at most {})",
            thousands(declared),
            thousands(limits.max_uncompressed_bytes)
        )));
    }
    let mut expanded: u64 = 0;
    for (i, shared_strings, name, size) in whole_parts {
        // The name as written in the archive, escaped: it is the file's text, not ours.
        let lied = || {
            too_large(format!(
                "a part, {}, that expands to more than the {} bytes it declares (the workbook \
                 may expand to at most {})",
                name.escape_debug(),
                thousands(size),
                thousands(limits.max_uncompressed_bytes)
            ))
        };
        let mut part = zip.by_index(i).map_err(broken)?;
        let budget = limits.max_uncompressed_bytes.saturating_sub(expanded);
        let mut counter = Counter::new(shared_strings);
        let n = match io::copy(
            &mut (&mut part).take(budget.saturating_add(1)),
            &mut counter,
        ) {
            Ok(n) => n,
            // The zip reader itself stops a part at the size it declares, with this error:
            // the part is larger than it says.
            Err(e)
                if e.kind() == io::ErrorKind::InvalidData
                    && is_over_declared_size(&e.to_string()) =>
            {
                return Err(lied());
            }
            Err(e) => {
                return Err(BatchError::Workbook(format!(
                    "cannot expand a part of the workbook: {e}"
                )));
            }
        };
        expanded += n;
        if n > budget {
            return Err(too_large(format!(
                "more than {} bytes once expanded, though it declares less (at {})",
                thousands(limits.max_uncompressed_bytes),
                name.escape_debug()
            )));
        }
        if shared_strings {
            let most = counter.declared_strings().max(counter.strings);
            if most > limits.max_shared_strings {
                return Err(too_large(format!(
                    "{} shared strings (at most {})",
                    thousands(most),
                    thousands(limits.max_shared_strings)
                )));
            }
        }
    }
    drop(zip);
    input
        .seek(SeekFrom::Start(start))
        .map_err(|source| BatchError::Read { line: 0, source })?;
    Ok(())
}

/// A sink that counts the `<si>` elements of the shared strings going through it and keeps
/// the first bytes, where the `<sst>` element and its counts are.
struct Counter {
    shared_strings: bool,
    head: Vec<u8>,
    strings: u64,
    /// The last bytes of the previous write, so an element split between writes is counted.
    carry: Vec<u8>,
}

impl Counter {
    fn new(shared_strings: bool) -> Self {
        Self {
            shared_strings,
            head: Vec::new(),
            strings: 0,
            carry: Vec::new(),
        }
    }

    /// The larger of the `<sst>` element's `count` and `uniqueCount`, 0 when absent. A count
    /// too large for `u64` counts as `u64::MAX`.
    fn declared_strings(&self) -> u64 {
        let head = String::from_utf8_lossy(&self.head);
        let Some(sst) = head.find("<sst").map(|i| &head[i..]) else {
            return 0;
        };
        let sst = &sst[..sst.find('>').unwrap_or(sst.len())];
        ["count", "uniqueCount"]
            .iter()
            .filter_map(|attr| {
                let at = sst
                    .find(&format!(" {attr}="))
                    .or_else(|| sst.find(&format!("\t{attr}=")))?;
                let value = sst[at + attr.len() + 2..].trim_start_matches(['"', '\'']);
                let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
                (!digits.is_empty()).then(|| digits.parse::<u64>().unwrap_or(u64::MAX))
            })
            .max()
            .unwrap_or(0)
    }
}

/// True at an `<si>` element's start: `<si` (or `:si` of a prefixed name) then `>`, `/` or a
/// space.
fn si_starts(window: &[u8]) -> u64 {
    window
        .windows(4)
        .filter(|w| {
            (w[0] == b'<' || w[0] == b':')
                && w[1] == b's'
                && w[2] == b'i'
                && matches!(w[3], b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n')
        })
        .count() as u64
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.shared_strings {
            return Ok(buf.len());
        }
        if self.head.len() < SST_HEAD {
            let room = SST_HEAD - self.head.len();
            self.head.extend_from_slice(&buf[..buf.len().min(room)]);
        }
        // The three carried bytes cannot hold a whole four-byte match, so none is counted
        // twice.
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(buf);
        self.strings += si_starts(&window);
        let keep = window.len().min(3);
        self.carry = window[window.len() - keep..].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens a workbook and picks the sheet: `sheet` by name, else the first one. The workbook
/// is checked against `limits` first ([`check_bounds`]).
pub(super) fn open<RS: Read + Seek>(
    mut input: RS,
    sheet: Option<&str>,
    limits: XlsxLimits,
) -> Result<(Xlsx<RS>, String), BatchError> {
    check_bounds(&mut input, limits)?;
    let book = Xlsx::new(input).map_err(|e| BatchError::Workbook(e.to_string()))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(want) => names
            .iter()
            .find(|n| n.as_str() == want)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
            .cloned()
            .ok_or_else(|| BatchError::NoSuchSheet {
                sheet: want.to_string(),
                sheets: names.join(", "),
            })?,
        None => names.first().cloned().ok_or(BatchError::NoSheets)?,
    };
    Ok((book, name))
}

/// A worksheet read row by row.
pub(super) struct XlsxInput<'a, RS: Read + Seek> {
    cells: XlsxCellReader<'a, RS>,
    /// A cell read ahead that belongs to a later row.
    pending: Option<(u32, u32, String)>,
    /// 0-based sheet row the next row read will be.
    next_row: Option<u32>,
    done: bool,
    /// The sheet's name, for errors.
    sheet: String,
}

impl<'a, RS: Read + Seek> XlsxInput<'a, RS> {
    /// Starts reading the named sheet.
    pub(super) fn new(book: &'a mut Xlsx<RS>, sheet: &str) -> Result<Self, BatchError> {
        let cells = book
            .worksheet_cells_reader(sheet)
            .map_err(|e| workbook_error(&e, sheet))?;
        Ok(Self {
            cells,
            pending: None,
            next_row: None,
            done: false,
            sheet: sheet.to_string(),
        })
    }

    /// The next cell with a value: (row, column, text). Empty cells (formatting only) are
    /// skipped.
    fn next_value(&mut self) -> Result<Option<(u32, u32, String)>, BatchError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        if self.done {
            return Ok(None);
        }
        loop {
            let Some(cell) = self
                .cells
                .next_cell()
                .map_err(|e| workbook_error(&e, &self.sheet))?
            else {
                self.done = true;
                return Ok(None);
            };
            let (row, col) = cell.get_position();
            let text = cell_text(cell.get_value());
            if !text.is_empty() {
                return Ok(Some((row, col, text)));
            }
        }
    }

    /// Reads the next sheet row into `chunk` (a blank row when the sheet skips one). Returns
    /// false after the last row with a value.
    ///
    /// # Errors
    /// [`BatchError::Workbook`] when the sheet's XML is broken or its cells are out of order.
    pub(super) fn read_row(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError> {
        let Some(first) = self.next_value()? else {
            return Ok(false);
        };
        let row = self.next_row.unwrap_or(first.0);
        if first.0 < row {
            return Err(BatchError::Workbook(format!(
                "cells out of order at sheet row {}",
                first.0 + 1
            )));
        }
        let data_start = chunk.data.len();
        let ends_start = chunk.ends.len();
        let line = u64::from(row) + 1;
        self.next_row = Some(row + 1);
        if first.0 > row {
            // A row with no values: blank, like an empty line in a CSV file.
            self.pending = Some(first);
            chunk.rows.push(RawRow {
                line,
                last_line: line,
                data_start,
                fields: ends_start..ends_start,
                issue: None,
            });
            return Ok(true);
        }
        let mut bytes: u64 = 0;
        let mut overflow = false;
        let mut cell = Some(first);
        while let Some((r, col, text)) = cell.take() {
            if r != row {
                self.pending = Some((r, col, text));
                break;
            }
            bytes += text.len() as u64 + 1;
            if !overflow && bytes > MAX_RECORD_BYTES as u64 {
                overflow = true;
                chunk.data.truncate(data_start);
                chunk.ends.truncate(ends_start);
            }
            if !overflow {
                let have = chunk.ends.len() - ends_start;
                let col = col as usize;
                if col < have {
                    return Err(BatchError::Workbook(format!(
                        "cells out of order in sheet row {line}"
                    )));
                }
                for _ in have..col {
                    chunk.ends.push(chunk.data.len());
                }
                chunk.data.extend_from_slice(text.as_bytes());
                chunk.ends.push(chunk.data.len());
            }
            cell = self.next_value()?;
        }
        chunk.rows.push(RawRow {
            line,
            last_line: line,
            data_start,
            fields: ends_start..chunk.ends.len(),
            issue: overflow.then_some(RowIssue::TooLong {
                bytes,
                quote_line: None,
            }),
        });
        Ok(true)
    }
}

/// A workbook error while reading `sheet`. A worksheet is streamed, not expanded first, so a
/// worksheet larger than its archive declares is found here, as the zip reader stops it.
fn workbook_error(e: &XlsxError, sheet: &str) -> BatchError {
    let text = e.to_string();
    if is_over_declared_size(&text) {
        return too_large(format!(
            "a worksheet, {}, that expands to more than its archive declares",
            sheet.escape_debug()
        ));
    }
    BatchError::Workbook(text)
}

/// True for the zip reader's error on a part that expands past the size its archive declares
/// (zip 9 stops reading it there). The tests of forged sizes pin the wording.
fn is_over_declared_size(error: &str) -> bool {
    error.contains("larger than its declared")
}

/// The text a cell shows.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(dt) => {
            if dt.is_datetime() {
                let (year, month, day, hour, minute, second, _) = dt.to_ymd_hms_milli();
                if (hour, minute, second) == (0, 0, 0) {
                    format!("{year:04}-{month:02}-{day:02}")
                } else {
                    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
                }
            } else {
                number_text(dt.as_f64())
            }
        }
        DataRef::Error(e) => e.to_string(),
    }
}

/// A number as a user reads it: `624073`, not `624073.0`.
fn number_text(f: f64) -> String {
    // Below 2^53 every whole f64 is exactly an integer, so the cast loses nothing.
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "whole and below 2^53 in magnitude, so exactly representable"
        )]
        let i = f as i64;
        i.to_string()
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_lose_their_decimal_point_and_fractions_keep_it() {
        assert_eq!(number_text(624_073.0), "624073");
        assert_eq!(number_text(52.6309), "52.6309");
        assert_eq!(number_text(-1.5), "-1.5");
        assert!(
            number_text(1e300).starts_with("1000000"),
            "huge values print in full"
        );
    }
}
