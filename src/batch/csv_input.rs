//! Streaming CSV records, read with a bounded buffer.
//!
//! Fields are split and unquoted by `csv_core::Reader`: RFC 4180, lenient where spreadsheets
//! are (a quote inside an unquoted field is kept as a character, `5" floppy`; text after a
//! closing quote is kept, `"a"b` reads `ab`; CR, LF and CRLF all end a record; a record may
//! have more or fewer fields than the header, and the row is then reported, see `super::row`).
//!
//! This module is the thin layer around it that batch mode needs and csv-core leaves to its
//! caller:
//! - every record's first and last physical line, CR line ends included (csv-core counts LF
//!   bytes only, so a file with CR line ends would be one line);
//! - a blank line is a record of one empty field, so it gets its output row (csv-core skips
//!   blank lines);
//! - a cap on a record's size that keeps memory flat whatever the file holds: a record over
//!   [`MAX_RECORD_BYTES`] is read to its end without being stored (an unclosed quote can
//!   otherwise swallow the rest of the file into one field);
//! - an error at end of input when a quoted field is still open (csv-core ends the record
//!   there as if the quote had been closed);
//! - a UTF-8 byte order mark is skipped (csv-core would drop a second one too), what is
//!   plainly not UTF-8 CSV is refused, and the delimiter is sniffed from the header line.
//!
//! Fields are raw bytes: UTF-8 is checked per row later, so one bad row does not stop the run.

use std::io::{self, Read};

use csv_core::{ReadRecordResult, ReaderBuilder, Terminator};
use memchr::memchr;

use super::{BatchError, Chunk, MAX_RECORD_BYTES, RawRow, RowIssue};

/// Bytes read from the input at a time.
const READ_BUF: usize = 256 * 1024;

/// Field ends csv-core reports per call; a record with more fields takes more calls.
const ENDS: usize = 64;

/// The UTF-8 byte order mark, which Excel writes at the start of "CSV UTF-8" files.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads CSV records one at a time from any [`Read`].
pub(super) struct CsvInput<R> {
    inner: R,
    /// The tokeniser. Each call is given input up to the next LF at most: csv-core says where
    /// a record ends but not where a line does, so a call that stops on an LF without ending
    /// the record has read a line break inside a quoted field, with the field's index known.
    /// A record is usually one line, so this is still one call per record.
    core: csv_core::Reader,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Index in `buf` of the first LF at or after `pos` (`len` when none is buffered); `None`
    /// until looked for after the buffer is filled.
    lf: Option<usize>,
    delimiter: u8,
    /// 1-based physical line of the next unread byte.
    line: u64,
    /// Bytes consumed so far (including a byte order mark).
    consumed: u64,
    /// The previous record ended on CR: an LF right after it belongs to the same line end.
    skip_lf: bool,
    /// The input has ended and its last record was returned. csv-core is not called again:
    /// `end_of_input` may have left it inside that record.
    done: bool,
    /// Field ends of one call, relative to the start of the record's fields.
    ends: [usize; ENDS],
}

/// The record being read.
struct Pending {
    data_start: usize,
    ends_start: usize,
    /// Input bytes of the record so far.
    bytes: u64,
    /// Fields of the record ended so far.
    fields: usize,
    /// Over [`MAX_RECORD_BYTES`]: its fields are no longer stored.
    overflow: bool,
    /// The last quoted field seen open at a line end: its index, and the line it opened on.
    quote: Option<(usize, u64)>,
}

impl<R: Read> CsvInput<R> {
    /// Opens a CSV stream: skips a UTF-8 byte order mark, refuses what is plainly not UTF-8
    /// CSV (UTF-16 text, a zip archive such as an `.xlsx`, an old binary `.xls`) and picks the
    /// delimiter: `delimiter` when given, else the most frequent of comma, semicolon and tab
    /// in the header line (comma on a tie or when there is none).
    pub(super) fn open(inner: R, delimiter: Option<u8>) -> Result<Self, BatchError> {
        let mut me = Self {
            inner,
            core: csv_core::Reader::new(),
            buf: vec![0; READ_BUF],
            pos: 0,
            len: 0,
            eof: false,
            lf: None,
            delimiter: b',',
            line: 1,
            consumed: 0,
            skip_lf: false,
            done: false,
            ends: [0; ENDS],
        };
        me.fill_header_window()?;
        let head = &me.buf[..me.len];
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || looks_utf16(head) {
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
            me.advance(UTF8_BOM.len());
        }
        me.delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&me.buf[me.pos..me.len]));
        me.core = ReaderBuilder::new()
            .delimiter(me.delimiter)
            .terminator(Terminator::CRLF)
            .build();
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
        self.lf = None;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        self.consumed += n as u64;
    }

    /// Where the input for the next call to csv-core ends: just past the next buffered LF,
    /// else at the end of the buffer.
    fn line_end(&mut self) -> usize {
        let lf = match self.lf {
            Some(i) if i >= self.pos => i,
            _ => {
                let i =
                    memchr(b'\n', &self.buf[self.pos..self.len]).map_or(self.len, |i| self.pos + i);
                self.lf = Some(i);
                i
            }
        };
        (lf + 1).min(self.len)
    }

    /// Counts the line end `b` (CR or LF) that ended a record.
    fn end_line(&mut self, b: u8) {
        self.line += 1;
        self.skip_lf = b == b'\r';
    }

    /// Skips the LF of a CRLF that ended the previous record. False at end of input.
    fn at_record_start(&mut self) -> Result<bool, BatchError> {
        if self.done {
            return Ok(false);
        }
        while self.ensure()? {
            if !std::mem::take(&mut self.skip_lf) || self.buf[self.pos] != b'\n' {
                return Ok(true);
            }
            self.advance(1);
        }
        self.done = true;
        Ok(false)
    }

    /// Reads the next record into `chunk`. Returns false at end of input.
    ///
    /// A record longer than [`MAX_RECORD_BYTES`] is read to its end without being stored and
    /// comes back as a row with [`RowIssue::TooLong`].
    ///
    /// # Errors
    /// [`BatchError::Read`] when the input cannot be read; [`BatchError::UnclosedQuote`] when the
    /// input ends inside a quoted field.
    pub(super) fn read_record(&mut self, chunk: &mut Chunk) -> Result<bool, BatchError> {
        if !self.at_record_start()? {
            return Ok(false);
        }
        let first_line = self.line;
        let mut p = Pending {
            data_start: chunk.data.len(),
            ends_start: chunk.ends.len(),
            bytes: 0,
            fields: 0,
            overflow: false,
            quote: None,
        };
        let first = self.buf[self.pos];
        let last_line = if first == b'\n' || first == b'\r' {
            // A blank line, which csv-core would skip: one empty field.
            self.advance(1);
            self.end_line(first);
            chunk.ends.push(p.data_start);
            first_line
        } else {
            loop {
                if !self.ensure()? {
                    self.done = true;
                    self.end_of_input(chunk, &p)?;
                    break self.line;
                }
                if let Some(b) = self.step(chunk, &mut p) {
                    let line = self.line;
                    self.end_line(b);
                    break line;
                }
            }
        };
        chunk.rows.push(RawRow {
            line: first_line,
            last_line,
            data_start: p.data_start,
            fields: p.ends_start..chunk.ends.len(),
            issue: p.overflow.then_some(RowIssue::TooLong {
                bytes: p.bytes,
                quote_line: p.quote.map(|(_, line)| line),
            }),
        });
        Ok(true)
    }

    /// Gives csv-core the buffered input up to the next LF (and, while the record is stored,
    /// no further than one byte past the cap). Returns the line end that ended the record,
    /// or `None` when the record goes on.
    fn step(&mut self, chunk: &mut Chunk, p: &mut Pending) -> Option<u8> {
        let start = self.pos;
        let mut end = self.line_end();
        if !p.overflow {
            // A stored record stops one byte past the cap, where it is over-long. That is at
            // least one byte away (the record is at most the cap here), and must be: an empty
            // input means end of input to csv-core.
            let stored = usize::try_from(p.bytes).unwrap_or(usize::MAX);
            end = end.min(start + (MAX_RECORD_BYTES + 1).saturating_sub(stored).max(1));
        }
        let input = &self.buf[start..end];
        // csv-core writes at most one byte per byte it reads. The fields of a record over the
        // cap are written here too and dropped at once.
        let at = chunk.data.len();
        chunk.data.resize(at + input.len(), 0);
        let (res, nin, nout, nend) =
            self.core
                .read_record(input, &mut chunk.data[at..], &mut self.ends);
        if p.overflow {
            chunk.data.truncate(at);
        } else {
            chunk.data.truncate(at + nout);
            let base = p.data_start;
            chunk
                .ends
                .extend(self.ends[..nend].iter().map(|&e| base + e));
        }
        let last = input[..nin].last().copied();
        self.advance(nin);
        p.bytes += nin as u64;
        p.fields += nend;
        // The cap is on the record's own bytes: the line end that ends it is not counted, so a
        // record of exactly the cap is read whatever its line end (the input it was given
        // stops one byte past the cap, where that line end then is).
        let ended = matches!(res, ReadRecordResult::Record) && matches!(last, Some(b'\n' | b'\r'));
        let own = p.bytes - u64::from(ended);
        if !p.overflow && own > MAX_RECORD_BYTES as u64 {
            p.overflow = true;
            chunk.data.truncate(p.data_start);
            chunk.ends.truncate(p.ends_start);
        }
        if matches!(res, ReadRecordResult::Record) {
            // A record ends on the line end just read.
            return last;
        }
        if last == Some(b'\n') {
            // An LF that did not end the record: a line break inside quoted field `p.fields`.
            if p.quote.is_none_or(|(field, _)| field != p.fields) {
                p.quote = Some((p.fields, self.line));
            }
            self.line += 1;
        }
        None
    }

    /// Ends the last record at end of input, or fails when it is inside a quoted field.
    fn end_of_input(&mut self, chunk: &mut Chunk, p: &Pending) -> Result<(), BatchError> {
        // csv-core ends the record here even inside a quoted field, and does not say which.
        // A delimiter fed first does: inside a quoted field it is text, anywhere else it ends
        // the field, whose end is then the record's last.
        let mut out = [0; 1];
        let (_, _, nout, _) = self
            .core
            .read_record(&[self.delimiter], &mut out, &mut self.ends);
        if nout > 0 {
            let line = match p.quote {
                Some((field, line)) if field == p.fields => line,
                _ => self.line,
            };
            return Err(BatchError::UnclosedQuote { line });
        }
        if !p.overflow {
            chunk.ends.push(chunk.data.len());
        }
        Ok(())
    }
}

/// Bytes of the start of the input looked at for UTF-16 without a byte order mark.
const UTF16_SNIFF: usize = 1024;

/// UTF-16 text without a byte order mark: in text that is mostly ASCII (as a header line is),
/// every other byte is NUL, the odd ones for little-endian, the even ones for big-endian.
/// UTF-8 text has no NUL bytes at all, so three quarters of the pairs having one in the same
/// place, and almost none in the other, is never UTF-8 CSV.
fn looks_utf16(head: &[u8]) -> bool {
    let head = &head[..head.len().min(UTF16_SNIFF)];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return false;
    }
    let (mut even, mut odd) = (0, 0);
    for pair in head.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let most = |n: usize| n * 4 >= pairs * 3;
    let few = |n: usize| n * 4 < pairs;
    (most(odd) && few(even)) || (most(even) && few(odd))
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
    fn utf16_without_a_byte_order_mark_is_refused_in_either_byte_order() {
        let text = "postcode,name\nNR1 1AA,x\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for bytes in [le, be] {
            assert!(matches!(
                CsvInput::open(&bytes[..], None),
                Err(BatchError::Utf16)
            ));
        }
        // UTF-8 text, and one stray NUL in it, are still CSV.
        assert!(CsvInput::open(text.as_bytes(), None).is_ok());
        assert!(CsvInput::open(&b"postcode\nNR1\x001AA\n"[..], None).is_ok());
        assert!(
            CsvInput::open(&b"a\0"[..], None).is_ok(),
            "too short to tell"
        );
    }

    #[test]
    fn an_empty_input_has_no_records() {
        assert!(fields(b"").is_empty());
        assert_eq!(fields(b"\xEF\xBB\xBF"), Vec::<Vec<String>>::new());
    }

    /// A reader that hands out one byte per read, so every boundary falls between buffers.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn records_and_lines_do_not_depend_on_where_reads_end() {
        let text: &[u8] =
            b"\xEF\xBB\xBFa;b\r\n\r\n\"x\r\ny\";\"q\"\"\"\r\n5\" z;\n\n\"\";end\r\rlast";
        let whole = records(text).unwrap();
        let mut input = CsvInput::open(OneByte(text), None).unwrap();
        let mut chunk = Chunk::default();
        while input.read_record(&mut chunk).unwrap() {}
        let split: Vec<(u64, u64, Vec<String>)> = chunk
            .rows
            .iter()
            .map(|r| {
                let fields = (0..r.field_count())
                    .map(|i| String::from_utf8_lossy(chunk.field(r, i).unwrap_or(b"")).into())
                    .collect();
                (r.line, r.last_line, fields)
            })
            .collect();
        assert_eq!(split, whole);
        assert_eq!(input.consumed(), text.len() as u64);
        let lines: Vec<(u64, u64)> = whole.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(
            lines,
            vec![
                (1, 1),
                (2, 2),
                (3, 4),
                (5, 5),
                (6, 6),
                (7, 7),
                (8, 8),
                (9, 9)
            ]
        );
        assert_eq!(whole[2].2, vec!["x\r\ny", "q\""]);
        assert_eq!(whole[3].2, vec!["5\" z", ""]);
        assert_eq!(whole[6].2, vec![""]);
    }

    #[test]
    fn cr_line_ends_are_lines() {
        let recs = records(b"a\rb\r\rc").unwrap();
        let lines: Vec<(u64, u64)> = recs.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 2), (3, 3), (4, 4)]);
    }

    #[test]
    fn an_unclosed_quote_names_its_own_line_not_an_earlier_closed_one() {
        let err = records(b"h\n\"a\nb\",\"c\nd\n").unwrap_err();
        assert!(
            matches!(err, BatchError::UnclosedQuote { line: 3 }),
            "{err}"
        );
        let err = records(b"h\n1,\"open").unwrap_err();
        assert!(
            matches!(err, BatchError::UnclosedQuote { line: 2 }),
            "{err}"
        );
    }

    #[test]
    fn a_record_over_the_cap_across_lines_names_the_quote_that_spans_them() {
        let mut text = b"a\n\"".to_vec();
        while text.len() < MAX_RECORD_BYTES + 10 {
            text.extend_from_slice(b"xxxxxxx\n");
        }
        text.extend_from_slice(b"\"\nz\n");
        let mut input = CsvInput::open(&text[..], None).unwrap();
        let mut chunk = Chunk::default();
        while input.read_record(&mut chunk).unwrap() {}
        assert_eq!(chunk.rows.len(), 3);
        let long = &chunk.rows[1];
        assert!(matches!(
            long.issue,
            Some(RowIssue::TooLong {
                quote_line: Some(2),
                ..
            })
        ));
        assert_eq!(long.line, 2);
        assert_eq!(chunk.rows[2].line, long.last_line + 1);
        assert_eq!(chunk.field(&chunk.rows[2], 0), Some(&b"z"[..]));
    }
}
