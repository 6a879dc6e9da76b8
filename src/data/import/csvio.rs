//! CSV reading and writing helpers for the importer, plus the fixed output formats
//! (postcodes, dates, degrees, metres). No knowledge of any particular file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::ImportError;

/// An input CSV file with a header row; `.gz` files are decompressed on the fly.
pub(super) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    columns: HashMap<String, usize>,
}

/// A column of a [`CsvSource`], found by header name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Col {
    name: &'static str,
    index: usize,
}

impl CsvSource {
    /// Opens `path` and reads its header row.
    pub(super) fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|source| ImportError::Read {
            path: path.to_owned(),
            source,
        })?;
        let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(MultiGzDecoder::new(BufReader::new(file)))
        } else {
            Box::new(file)
        };
        let mut reader = csv::ReaderBuilder::new().from_reader(input);
        let headers = reader.headers().map_err(|source| ImportError::Csv {
            path: path.to_owned(),
            source,
        })?;
        let mut columns = HashMap::new();
        for (index, name) in headers.iter().enumerate() {
            // The first occurrence of a repeated header wins.
            columns.entry(name.trim().to_owned()).or_insert(index);
        }
        Ok(Self {
            path: path.to_owned(),
            reader,
            columns,
        })
    }

    /// The column called `name`.
    pub(super) fn column(&self, name: &'static str) -> Result<Col, ImportError> {
        self.columns
            .get(name)
            .map(|&index| Col { name, index })
            .ok_or_else(|| ImportError::MissingColumn {
                path: self.path.clone(),
                column: name,
            })
    }

    /// Calls `f` with every data row, in file order, stopping at the first error.
    pub(super) fn for_each_row(
        &mut self,
        mut f: impl FnMut(&Row<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let mut record = csv::StringRecord::new();
        loop {
            let more = self
                .reader
                .read_record(&mut record)
                .map_err(|source| ImportError::Csv {
                    path: self.path.clone(),
                    source,
                })?;
            if !more {
                return Ok(());
            }
            let line = record.position().map_or(0, csv::Position::line);
            f(&Row {
                path: &self.path,
                line,
                record: &record,
            })?;
        }
    }
}

/// One data row of a [`CsvSource`].
pub(super) struct Row<'a> {
    path: &'a Path,
    line: u64,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The 1-based line the record starts on (the header is line 1).
    pub(super) fn line(&self) -> u64 {
        self.line
    }

    /// The field in `col`, trimmed; empty if the record is short.
    pub(super) fn str(&self, col: Col) -> &str {
        self.record.get(col.index).unwrap_or("").trim()
    }

    /// An error about the value in `col`.
    pub(super) fn field_error(&self, col: Col, reason: &'static str) -> ImportError {
        ImportError::Field {
            path: self.path.to_owned(),
            line: self.line,
            column: col.name,
            value: self.str(col).to_owned(),
            reason,
        }
    }

    /// A finite decimal number, or `None` if the field is empty.
    pub(super) fn opt_f64(&self, col: Col) -> Result<Option<f64>, ImportError> {
        let s = self.str(col);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.field_error(col, "not a finite number")),
        }
    }

    /// A whole number of metres (British National Grid easting or northing), or `None` if the
    /// field is empty.
    pub(super) fn opt_metres(&self, col: Col) -> Result<Option<f64>, ImportError> {
        let s = self.str(col);
        if s.is_empty() {
            return Ok(None);
        }
        // i32 holds every BNG coordinate (< 1,300,000 m) and converts to f64 exactly.
        s.parse::<i32>()
            .map(|v| Some(f64::from(v)))
            .map_err(|_| self.field_error(col, "not a whole number of metres"))
    }

    /// A `YYYYMMDD` date reformatted as `YYYY-MM-DD`; empty stays empty.
    pub(super) fn date(&self, col: Col) -> Result<String, ImportError> {
        let s = self.str(col);
        if s.is_empty() {
            return Ok(String::new());
        }
        iso_date(s).ok_or_else(|| self.field_error(col, "not a YYYYMMDD date"))
    }

    /// An error saying the value in `col` is a repeat.
    pub(super) fn duplicate(&self, column: &'static str, key: &str) -> ImportError {
        ImportError::DuplicateKey {
            path: self.path.to_owned(),
            where_: format!("line {}", self.line),
            column,
            key: key.to_owned(),
        }
    }

    /// Wraps a reprojection error with this row's position.
    pub(super) fn reproject_error(
        &self,
        source: crate::data::reproject::ReprojectError,
    ) -> ImportError {
        ImportError::Reproject {
            path: self.path.to_owned(),
            line: self.line,
            source: Box::new(source),
        }
    }
}

/// `YYYYMMDD` as `YYYY-MM-DD`, if it is a real calendar date.
fn iso_date(s: &str) -> Option<String> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(4..6)?.parse().ok()?;
    let day = s.get(6..8)?.parse().ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// A UK postcode in its canonical form: outward code, one space, inward code, upper case.
///
/// Returns `None` unless the text (ignoring spaces and case) is 5 to 7 characters: an outward
/// code of a letter then letters and digits, and an inward code of a digit and two letters.
pub(super) fn normalise_postcode(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_ok = matches!(inward.as_bytes(), [d, a, b]
        if d.is_ascii_digit() && a.is_ascii_alphabetic() && b.is_ascii_alphabetic());
    let outward_ok = outward
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && outward.bytes().all(|b| b.is_ascii_alphanumeric())
        && outward.bytes().any(|b| b.is_ascii_digit());
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

/// Degrees with exactly six decimals (about 0.1 m), never `-0.000000`.
pub(super) fn fmt_degrees(v: f64) -> String {
    let s = format!("{v:.6}");
    if s == "-0.000000" {
        "0.000000".to_owned()
    } else {
        s
    }
}

/// Metres rounded to a whole number (half away from zero), never `-0`.
pub(super) fn fmt_metres(v: f64) -> String {
    // `round` gives an integer-valued f64, which `{:.0}` prints exactly.
    let s = format!("{:.0}", v.round());
    if s == "-0" { "0".to_owned() } else { s }
}

/// Accumulates CSV output in memory with the house format: LF line endings, minimal quoting.
pub(super) struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
    rows: usize,
}

impl CsvSink {
    /// Starts a file with `header`.
    pub(super) fn new(header: &[&str]) -> Result<Self, csv::Error> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Self { writer, rows: 0 })
    }

    /// Appends one data row.
    pub(super) fn row<I, T>(&mut self, fields: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer.write_record(fields)?;
        self.rows += 1;
        Ok(())
    }

    /// The finished bytes and the number of data rows.
    pub(super) fn finish(self) -> Result<(Vec<u8>, usize), csv::Error> {
        let rows = self.rows;
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok((bytes, rows))
    }
}

/// Wraps a CSV serialisation error for the output file `path`.
pub(super) fn sink_error(path: PathBuf) -> impl FnOnce(csv::Error) -> ImportError {
    move |e| ImportError::Serialise {
        path,
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_are_normalised_to_outward_space_inward() {
        assert_eq!(normalise_postcode("nr25 7pq").as_deref(), Some("NR25 7PQ"));
        assert_eq!(normalise_postcode("NR257PQ").as_deref(), Some("NR25 7PQ"));
        assert_eq!(normalise_postcode(" BS2  8HW ").as_deref(), Some("BS2 8HW"));
        assert_eq!(normalise_postcode("W1A 1AA").as_deref(), Some("W1A 1AA"));
        assert_eq!(normalise_postcode("M1 1AE").as_deref(), Some("M1 1AE"));
    }

    #[test]
    fn malformed_postcodes_are_rejected() {
        for bad in [
            "",
            "NR25",
            "NR25 7P",
            "NR25 PQ7",
            "1R25 7PQ",
            "NORWICH",
            "NR25 7PQX",
            "ÑR2 7PQ",
        ] {
            assert_eq!(normalise_postcode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_become_iso_and_impossible_dates_are_rejected() {
        assert_eq!(iso_date("20040401").as_deref(), Some("2004-04-01"));
        assert_eq!(iso_date("20240229").as_deref(), Some("2024-02-29"));
        assert_eq!(iso_date("20230229"), None);
        assert_eq!(iso_date("2004-04-01"), None);
        assert_eq!(iso_date("2004041"), None);
    }

    #[test]
    fn numbers_have_fixed_formats() {
        assert_eq!(fmt_degrees(52.95226), "52.952260");
        assert_eq!(fmt_degrees(-0.000_000_1), "0.000000");
        assert_eq!(fmt_degrees(-2.596_144_9), "-2.596145");
        assert_eq!(fmt_metres(602_400.5), "602401");
        assert_eq!(fmt_metres(-0.2), "0");
        assert_eq!(fmt_metres(16_093.44), "16093");
    }

    #[test]
    fn written_csv_uses_lf_and_quotes_only_when_needed() {
        let mut sink = CsvSink::new(&["code", "name"]).unwrap();
        sink.row(["A1", "PLAIN"]).unwrap();
        sink.row(["A2", "SMITH, JONES"]).unwrap();
        let (bytes, rows) = sink.finish().unwrap();
        assert_eq!(rows, 2);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "code,name\nA1,PLAIN\nA2,\"SMITH, JONES\"\n"
        );
    }
}
