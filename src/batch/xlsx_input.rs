//! Rows of one worksheet of an `.xlsx` workbook, streamed cell by cell with `calamine`.
//!
//! The sheet's cells arrive in row order; rows Excel shows as empty (absent from the file)
//! become blank rows, so output row *n* is still sheet row *n* below the header. Every value
//! is turned into the text a user sees: whole numbers without `.0`, dates as ISO 8601, errors
//! as `#N/A` and the like.
//!
//! Memory: the worksheet itself is streamed, but `calamine` holds the workbook's shared-string
//! table (every distinct text value) in memory, so a workbook with millions of distinct texts
//! costs memory in proportion. Very large inputs are better given as CSV.

use std::io::{Read, Seek};

use calamine::{DataRef, Reader, Xlsx, XlsxCellReader, XlsxError};

use super::{BatchError, Chunk, MAX_RECORD_BYTES, RawRow, RowIssue};

/// Opens a workbook and picks the sheet: `sheet` by name, else the first one.
pub(super) fn open<RS: Read + Seek>(
    input: RS,
    sheet: Option<&str>,
) -> Result<(Xlsx<RS>, String), BatchError> {
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
}

impl<'a, RS: Read + Seek> XlsxInput<'a, RS> {
    /// Starts reading the named sheet.
    pub(super) fn new(book: &'a mut Xlsx<RS>, sheet: &str) -> Result<Self, BatchError> {
        let cells = book
            .worksheet_cells_reader(sheet)
            .map_err(|e| workbook_error(&e))?;
        Ok(Self {
            cells,
            pending: None,
            next_row: None,
            done: false,
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
            let Some(cell) = self.cells.next_cell().map_err(|e| workbook_error(&e))? else {
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

fn workbook_error(e: &XlsxError) -> BatchError {
    BatchError::Workbook(e.to_string())
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
