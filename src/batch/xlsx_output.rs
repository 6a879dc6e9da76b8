//! Batch output as an Excel workbook: one worksheet, the header in bold on a tinted row that
//! stays in view (frozen), columns as wide as their header and first rows, numbers as
//! numbers and dates as dates.
//!
//! Every other cell is written as a text cell, which a spreadsheet never runs as a formula,
//! so workbook cells need no `'` in front (CSV cells get one: see [`super::safe_cell`]).
//!
//! The worksheet is written in `rust_xlsxwriter`'s constant-memory mode: rows go to a
//! temporary file as they come, so memory does not grow with the rows; the workbook is
//! assembled (compressed) when the run ends.

use std::io::Write;

use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};

use super::BatchError;

/// Rows of an Excel worksheet, the header included.
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

/// Characters an Excel cell holds at most.
pub const XLSX_MAX_CELL_CHARS: usize = 32_767;

/// Narrowest and widest a column is made, in characters.
const WIDTH_RANGE: (usize, usize) = (8, 60);

/// What a column holds, so its cells are written with the right type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnKind {
    /// A column of the input: a plain number is a number, a `YYYY-MM-DD` date a date, any
    /// other text text.
    Input,
    /// An amount of money with two decimals (`rate`).
    Money,
    /// A measure with three decimals (`distance_miles`).
    Measure,
    /// Text always (status, names, codes).
    Text,
}

/// A cell as it goes into the workbook.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Typed<'a> {
    Empty,
    Number(f64),
    Date(u16, u8, u8),
    Text(&'a str),
}

/// How a cell of a column of `kind` is written. A number keeps being text when writing it as
/// a number would change how it reads: a leading zero (`01603`, a phone number or a code), a
/// sign, more than 15 significant digits (Excel would round it), an exponent or spaces.
pub(super) fn typed(kind: ColumnKind, cell: &str) -> Typed<'_> {
    if cell.is_empty() {
        return Typed::Empty;
    }
    match kind {
        ColumnKind::Text => Typed::Text(cell),
        ColumnKind::Money | ColumnKind::Measure => {
            plain_number(cell).map_or(Typed::Text(cell), Typed::Number)
        }
        ColumnKind::Input => {
            if let Some(n) = plain_number(cell) {
                Typed::Number(n)
            } else if let Some((y, m, d)) = iso_date(cell) {
                Typed::Date(y, m, d)
            } else {
                Typed::Text(cell)
            }
        }
    }
}

/// `624073`, `52.6309`, `-2.5879`, `0.5`: digits with at most one point, at most a minus
/// in front, no leading zero before another digit, at most 15 digits.
fn plain_number(cell: &str) -> Option<f64> {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let b = unsigned.as_bytes();
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    if int.len() > 1 && b[0] == b'0' {
        return None;
    }
    if int.len() + frac.map_or(0, str::len) > 15 {
        return None;
    }
    cell.parse().ok()
}

/// A date written `YYYY-MM-DD` (as workbook inputs' date cells are read), read with the
/// crate's one date reader.
fn iso_date(cell: &str) -> Option<(u16, u8, u8)> {
    use chrono::Datelike as _;
    let d = crate::engine::date::parse_date(cell).ok()?;
    Some((
        u16::try_from(d.year()).ok()?,
        u8::try_from(d.month()).ok()?,
        u8::try_from(d.day()).ok()?,
    ))
}

fn xlsx_error(e: XlsxError) -> BatchError {
    BatchError::Write(std::io::Error::other(e))
}

/// The workbook being written.
pub(super) struct XlsxSink {
    book: Workbook,
    header: Vec<String>,
    kinds: Vec<ColumnKind>,
    /// The next sheet row to write (0 is the header).
    row: u32,
    header_format: Format,
    money: Format,
    measure: Format,
    date: Format,
}

impl XlsxSink {
    /// A workbook for rows of these columns; nothing is written until the first rows come
    /// (their widths are taken from them).
    pub(super) fn new(header: Vec<String>, kinds: Vec<ColumnKind>) -> Result<Self, BatchError> {
        let mut book = Workbook::new();
        book.add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?
            .set_name("answered")
            .map_err(xlsx_error)?;
        Ok(Self {
            book,
            header,
            kinds,
            row: 0,
            header_format: Format::new()
                .set_bold()
                .set_background_color("D9E2F3")
                .set_border_bottom(FormatBorder::Thin),
            money: Format::new().set_num_format("0.00"),
            measure: Format::new().set_num_format("0.000"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
        })
    }

    /// Writes rows of `self.header.len()` cells each, flattened; `first_line` is the input
    /// line (or row) of the first, for messages.
    pub(super) fn write_rows(
        &mut self,
        cells: &[String],
        first_line: u64,
    ) -> Result<(), BatchError> {
        let width = self.header.len();
        if width == 0 {
            return Ok(());
        }
        if self.row == 0 {
            self.start(cells)?;
        }
        let rows = cells.len() / width;
        if u64::from(self.row) + rows as u64 > XLSX_MAX_ROWS {
            return Err(BatchError::XlsxTooManyRows);
        }
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (r, row) in cells.chunks(width).enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let col = u16::try_from(c).map_err(|_| BatchError::XlsxTooManyColumns)?;
                if cell.chars().count() > XLSX_MAX_CELL_CHARS {
                    return Err(BatchError::XlsxCellTooLong {
                        line: first_line + r as u64,
                        column: self.header.get(c).cloned().unwrap_or_default(),
                    });
                }
                match typed(self.kinds.get(c).copied().unwrap_or(ColumnKind::Text), cell) {
                    Typed::Empty => {}
                    Typed::Text(t) => {
                        sheet.write_string(self.row, col, t).map_err(xlsx_error)?;
                    }
                    Typed::Number(n) => {
                        let format = match self.kinds.get(c) {
                            Some(ColumnKind::Money) => Some(&self.money),
                            Some(ColumnKind::Measure) => Some(&self.measure),
                            _ => None,
                        };
                        match format {
                            Some(f) => sheet.write_number_with_format(self.row, col, n, f),
                            None => sheet.write_number(self.row, col, n),
                        }
                        .map_err(xlsx_error)?;
                    }
                    Typed::Date(y, m, d) => {
                        let date = ExcelDateTime::from_ymd(y, m, d).map_err(xlsx_error)?;
                        sheet
                            .write_date_with_format(self.row, col, &date, &self.date)
                            .map_err(xlsx_error)?;
                    }
                }
            }
            self.row += 1;
        }
        Ok(())
    }

    /// Column widths from the header and the first rows, then the header row, frozen.
    fn start(&mut self, first: &[String]) -> Result<(), BatchError> {
        let width = self.header.len();
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (c, name) in self.header.iter().enumerate() {
            let col = u16::try_from(c).map_err(|_| BatchError::XlsxTooManyColumns)?;
            let widest = first
                .chunks(width)
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .chain([name.chars().count() + 2])
                .max()
                .unwrap_or(0)
                .clamp(WIDTH_RANGE.0, WIDTH_RANGE.1);
            #[expect(
                clippy::cast_precision_loss,
                reason = "a width of at most WIDTH_RANGE.1 characters"
            )]
            sheet
                .set_column_width(col, widest as f64 + 1.0)
                .map_err(xlsx_error)?;
            if name.chars().count() > XLSX_MAX_CELL_CHARS {
                // The name itself is too long to quote: the column is named by its place.
                return Err(BatchError::XlsxCellTooLong {
                    line: 0,
                    column: format!("column {}", c + 1),
                });
            }
            sheet
                .write_string_with_format(0, col, name, &self.header_format)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        self.row = 1;
        Ok(())
    }

    /// Assembles the workbook and writes it out.
    pub(super) fn finish(mut self, output: &mut impl Write) -> Result<(), BatchError> {
        if self.row == 0 {
            self.start(&[])?;
        }
        let bytes = self.book.save_to_buffer().map_err(xlsx_error)?;
        output.write_all(&bytes).map_err(BatchError::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_become_numbers_and_codes_stay_text() {
        assert_eq!(typed(ColumnKind::Input, "624073"), Typed::Number(624_073.0));
        assert_eq!(typed(ColumnKind::Input, "52.6309"), Typed::Number(52.6309));
        assert_eq!(typed(ColumnKind::Input, "0.5"), Typed::Number(0.5));
        assert_eq!(typed(ColumnKind::Input, "-2.5879"), Typed::Number(-2.5879));
        for text in [
            "01603 123456",
            "007",
            "--1",
            "+44",
            "1e5",
            "1,000",
            "NR1 1AA",
            "9434765919123456",
            " 5",
        ] {
            assert_eq!(typed(ColumnKind::Input, text), Typed::Text(text), "{text}");
        }
        assert_eq!(
            typed(ColumnKind::Input, "2019-04-08"),
            Typed::Date(2019, 4, 8)
        );
        assert_eq!(
            typed(ColumnKind::Input, "2019-02-30"),
            Typed::Text("2019-02-30")
        );
        assert_eq!(typed(ColumnKind::Text, "18.24"), Typed::Text("18.24"));
        assert_eq!(typed(ColumnKind::Money, "18.24"), Typed::Number(18.24));
        assert_eq!(
            typed(ColumnKind::Money, "18.24 | 19.00"),
            Typed::Text("18.24 | 19.00")
        );
        assert_eq!(typed(ColumnKind::Measure, ""), Typed::Empty);
    }
}
