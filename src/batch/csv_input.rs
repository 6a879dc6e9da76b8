//! Streaming CSV records, read with a bounded buffer.
//!
//! A small RFC 4180 reader written for batch mode rather than the `csv` crate's, because batch
//! mode needs three things that crate does not give: every record's physical line numbers, a
//! cap on a record's size that keeps memory flat whatever the file holds (an unclosed quote can
//! otherwise swallow the rest of the file into one field), and an error at end of input when a
//! quoted field is still open. Fields are raw bytes: UTF-8 is checked per row later, so one bad
//! row does not stop the run.
//!
//! Lenient where spreadsheets are: a quote inside an unquoted field is kept as a character
//! (`5" floppy`), text after a closing quote is kept (`"a"b` reads `ab`), CR, LF and CRLF all
//! end a record, and a record may have more or fewer fields than the header (the row is then
//! reported, see `super::row`).

use std::io::{self, Read};

use memchr::{memchr2, memchr3};

use super::{BatchError, Chunk, MAX_RECORD_BYTES, RawRow, RowIssue};

/// Bytes read from the input at a time.
const READ_BUF: usize = 256 * 1024;

/// The UTF-8 byte order mark, which Excel writes at the start of "CSV UTF-8" files.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field: a quote here opens a quoted field.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just read a quote inside a quoted field: either an escaped quote or the closing one.
    QuoteInQuoted,
}

/// Reads CSV records one at a time from any [`Read`].
pub(super) struct CsvInput<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    delimiter: u8,
    /// 1-based physical line of the next unread byte.
    line: u64,
    /// Bytes consumed so far (including a byte order mark).
    consumed: u64,
    /// The previous record ended on CR: an LF right after it belongs to the same line end.
    skip_lf: bool,
}

impl<R: Read> CsvInput<R> {
    /// Opens a CSV stream: skips a UTF-8 byte order mark, refuses what is plainly not UTF-8
    /// CSV (UTF-16 text, a zip archive such as an `.xlsx`, an old binary `.xls`) and picks the
    /// delimiter: `delimiter` when given, else the most frequent of comma, semicolon and tab
    /// in the header line (comma on a tie or when there is none).
    pub(super) fn open(inner: R, delimiter: Option<u8>) -> Result<Self, BatchError> {
        let mut me = Self {
            inner,
            buf: vec![0; READ_BUF],
            pos: 0,
            len: 0,
            eof: false,
            delimiter: b',',
            line: 1,
            consumed: 0,
            skip_lf: false,
        };
        me.fill_header_window()?;
        let head = &me.buf[..me.len];
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(BatchError::Utf16);
        }
        if head.starts_with(b"PK\x03\x04") {
            return Err(BatchError::NotCsv {
                what: "a zip archive (an .xlsx workbook?): name it .xlsx or pass --format xlsx",
            });
        }
        if head.starts_with(b"\xD0\xCF\x11\xE0") {
            return Err(BatchError::NotCsv {
                what: "an old binary Excel .xls workbook: save it as .xlsx or CSV UTF-8",
            });
        }
        if head.starts_with(UTF8_BOM) {
            me.pos = UTF8_BOM.len();
            me.consumed = UTF8_BOM.len() as u64;
        }
        me.delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&me.buf[me.pos..me.len]));
        Ok(me)
    }

    /// The delimiter in use.
    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Bytes of input consumed so far.
    pub(super) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Reads until the buffer holds the whole first line, is full, or the input ends, so the
    /// delimiter can be sniffed from the header.
    fn fill_header_window(&mut self) -> Result<(), BatchError> {
        while !self.eof && self.len < self.buf.len() && !self.buf[..self.len].contains(&b'\n') {
            let n = read_retrying(&mut self.inner, &mut self.buf[self.len..])
                .map_err(|source| BatchError::Read { line: 1, source })?;
            if n == 0 {
                self.eof = true;
            }
            self.len += n;
        }
        Ok(())
    }

    /// Makes sure unread bytes are buffered; false at end of input.
    fn ensure(&mut self) -> Result<bool, BatchError> {
        if self.pos < self.len {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let n =
            read_retrying(&mut self.inner, &mut self.buf).map_err(|source| BatchError::Read {
                line: self.line,
                source,
            })?;
        self.pos = 0;
        self.len = n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn consume(&mut self, n: usize, record_bytes: &mut u64) {
        self.pos += n;
        self.consumed += n as u64;
        *record_bytes += n as u64;
    }

    /// Reads the next record into `chunk`. Returns false at end of input.
    ///
    /// A record longer than [`MAX_RECORD_BYTES`] is read to its end without being stored and
    /// comes back as a row with [`RowIssue::TooLong`].
    ///
    /// # Errors
    /// [`BatchError::Read`] when the input cannot be read; [`BatchError::UnclosedQuote`] when the
    /// input ends inside a quoted field.
    #[expect(
        clippy::too_many_lines,
        reason = "one byte-level state machine over a record; its states share the cursor"
    )]
    pub(super) fn read_record(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError> {
        let data_start = chunk.data.len();
        let ends_start = chunk.ends.len();
        let first_line = self.line;
        let mut state = State::FieldStart;
        let last_line;
        let mut quote_line: Option<u64> = None;
        let mut record_bytes: u64 = 0;
        let mut overflow = false;
        let mut started = false;
        loop {
            if !self.ensure()? {
                if let (State::Quoted, Some(line)) = (state, quote_line) {
                    return Err(BatchError::UnclosedQuote { line });
                }
                if !started {
                    return Ok(false);
                }
                if !overflow {
                    chunk.ends.push(chunk.data.len());
                }
                last_line = self.line;
                break;
            }
            if self.skip_lf {
                self.skip_lf = false;
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                    self.consumed += 1;
                    continue;
                }
            }
            started = true;
            let avail = &self.buf[self.pos..self.len];
            match state {
                State::FieldStart | State::Unquoted => {
                    if state == State::FieldStart && avail[0] == b'"' {
                        state = State::Quoted;
                        quote_line = Some(self.line);
                        self.consume(1, &mut record_bytes);
                    } else {
                        match memchr3(self.delimiter, b'\n', b'\r', avail) {
                            None => {
                                if !overflow {
                                    chunk.data.extend_from_slice(avail);
                                }
                                let n = avail.len();
                                self.consume(n, &mut record_bytes);
                                state = State::Unquoted;
                            }
                            Some(i) => {
                                let b = avail[i];
                                if !overflow {
                                    chunk.data.extend_from_slice(&avail[..i]);
                                    chunk.ends.push(chunk.data.len());
                                }
                                self.consume(i + 1, &mut record_bytes);
                                if b == self.delimiter {
                                    state = State::FieldStart;
                                } else {
                                    last_line = self.line;
                                    self.line += 1;
                                    self.skip_lf = b == b'\r';
                                    break;
                                }
                            }
                        }
                    }
                }
                State::Quoted => match memchr2(b'"', b'\n', avail) {
                    None => {
                        if !overflow {
                            chunk.data.extend_from_slice(avail);
                        }
                        let n = avail.len();
                        self.consume(n, &mut record_bytes);
                    }
                    Some(i) => {
                        let b = avail[i];
                        if !overflow {
                            chunk.data.extend_from_slice(&avail[..i]);
                        }
                        self.consume(i + 1, &mut record_bytes);
                        if b == b'"' {
                            state = State::QuoteInQuoted;
                        } else {
                            if !overflow {
                                chunk.data.push(b'\n');
                            }
                            self.line += 1;
                        }
                    }
                },
                State::QuoteInQuoted => {
                    if avail[0] == b'"' {
                        if !overflow {
                            chunk.data.push(b'"');
                        }
                        self.consume(1, &mut record_bytes);
                        state = State::Quoted;
                    } else {
                        // The closing quote: what follows is read as unquoted text, so a
                        // delimiter or line end finishes the field and anything else is kept.
                        state = State::Unquoted;
                    }
                }
            }
            if !overflow && record_bytes > MAX_RECORD_BYTES as u64 {
                overflow = true;
                chunk.data.truncate(data_start);
                chunk.ends.truncate(ends_start);
            }
        }
        chunk.rows.push(RawRow {
            line: first_line,
            last_line,
            data_start,
            fields: ends_start..chunk.ends.len(),
            issue: overflow.then_some(RowIssue::TooLong {
                bytes: record_bytes,
                quote_line: quote_line.filter(|_| last_line > first_line),
            }),
        });
        Ok(true)
    }
}

/// Reads, retrying when interrupted by a signal.
fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The most frequent of comma, semicolon and tab outside quotes on the first line; comma on a
/// tie or when the line has none (a one-column file).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` as (first line, last line, fields as strings, issue).
    fn records(text: &[u8]) -> Result<Vec<(u64, u64, Vec<String>)>, BatchError> {
        let mut input = CsvInput::open(text, None)?;
        let mut chunk = Chunk::default();
        while input.read_record(&mut chunk)? {}
        Ok(chunk
            .rows
            .iter()
            .map(|r| {
                let fields = (0..r.field_count())
                    .map(|i| String::from_utf8_lossy(chunk.field(r, i).unwrap_or(b"")).into())
                    .collect();
                (r.line, r.last_line, fields)
            })
            .collect())
    }

    fn fields(text: &[u8]) -> Vec<Vec<String>> {
        records(text).unwrap().into_iter().map(|r| r.2).collect()
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        assert_eq!(
            fields(b"a,b\n\"x,1\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n"),
            vec![
                vec!["a", "b"],
                vec!["x,1", "say \"hi\""],
                vec!["two\nlines", "z"]
            ]
        );
    }

    #[test]
    fn crlf_lf_and_a_missing_final_newline_all_end_records() {
        assert_eq!(
            fields(b"a,b\r\n1,2\n3,4\r5,6"),
            vec![
                vec!["a", "b"],
                vec!["1", "2"],
                vec!["3", "4"],
                vec!["5", "6"]
            ]
        );
    }

    #[test]
    fn a_blank_line_is_a_record_of_one_empty_field() {
        assert_eq!(
            fields(b"a\n\n\nb\n"),
            vec![vec!["a"], vec![""], vec![""], vec!["b"]]
        );
    }

    #[test]
    fn lines_are_counted_across_quoted_newlines() {
        let recs = records(b"h\n\"1\n2\n3\"\nx\r\ny\n").unwrap();
        let lines: Vec<(u64, u64)> = recs.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 4), (5, 5), (6, 6)]);
    }

    #[test]
    fn a_bom_is_skipped_and_semicolons_are_sniffed() {
        let mut input =
            CsvInput::open(&b"\xEF\xBB\xBFpostcode;name\nNR1 1AA;x\n"[..], None).unwrap();
        assert_eq!(input.delimiter(), b';');
        let mut chunk = Chunk::default();
        assert!(input.read_record(&mut chunk).unwrap());
        assert_eq!(chunk.field(&chunk.rows[0], 0), Some(&b"postcode"[..]));
    }

    #[test]
    fn a_delimiter_inside_quotes_in_the_header_is_not_counted() {
        assert_eq!(sniff_delimiter(b"\"a;b;c\",d,e\n1;2;3;4;5"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"postcode\n"), b',');
    }

    #[test]
    fn stray_quotes_are_kept_as_text() {
        assert_eq!(
            fields(b"a,b\n5\" disk,\"q\"x\n"),
            vec![vec!["a", "b"], vec!["5\" disk", "qx"]]
        );
    }

    #[test]
    fn an_unclosed_quote_names_the_line_it_opened_on() {
        let err = records(b"a,b\n1,2\n3,\"open\n4,5\n").unwrap_err();
        assert!(
            matches!(err, BatchError::UnclosedQuote { line: 3 }),
            "{err}"
        );
    }

    #[test]
    fn a_record_over_the_cap_is_skipped_as_one_row_and_reading_goes_on() {
        let mut text = b"a,b\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        text.extend_from_slice(b",y\nNR1 1AA,z\n");
        let mut input = CsvInput::open(&text[..], None).unwrap();
        let mut chunk = Chunk::default();
        while input.read_record(&mut chunk).unwrap() {}
        assert_eq!(chunk.rows.len(), 3);
        assert!(matches!(
            chunk.rows[1].issue,
            Some(RowIssue::TooLong {
                quote_line: None,
                ..
            })
        ));
        assert_eq!(chunk.rows[1].field_count(), 0);
        assert_eq!(chunk.field(&chunk.rows[2], 0), Some(&b"NR1 1AA"[..]));
        assert!(chunk.data.len() < 100, "the long record was not stored");
    }

    #[test]
    fn utf16_and_zip_inputs_are_refused() {
        assert!(matches!(
            CsvInput::open(&b"\xFF\xFEp\0"[..], None),
            Err(BatchError::Utf16)
        ));
        assert!(matches!(
            CsvInput::open(&b"PK\x03\x04rest"[..], None),
            Err(BatchError::NotCsv { .. })
        ));
    }

    #[test]
    fn an_empty_input_has_no_records() {
        assert!(fields(b"").is_empty());
        assert_eq!(fields(b"\xEF\xBB\xBF"), Vec::<Vec<String>>::new());
    }
}
