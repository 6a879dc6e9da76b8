//! `careband lookup`: one query or several, from the arguments or one a line from standard
//! input.
//!
//! How the arguments make queries ([`split`]): an argument that is by itself a full postcode
//! (`NR1 1AA`, `nr257pq`) or a point (`52.63,1.29`, `E 624073 N 308352`) is a query of its
//! own, and so is an outward code followed by an inward code (`NR1 1AA` typed unquoted, as
//! two arguments). The other arguments, between those, are joined with spaces into one
//! free-text query: `Church Lane Reepham` is one query, `NR1 1AA NR25 7PQ` two. An argument is
//! never cut, so a quoted address keeps its postcode with it (`"12 Mill Road, Aylsham NR11
//! 6DU"`).
//!
//! `careband lookup -` reads one query a line from standard input instead, line by line (never
//! the whole input at once); blank lines are skipped, and a line over [`MAX_LINE_BYTES`] or not
//! UTF-8 is refused on its own, the other lines still answered.
//!
//! One query prints its answer as before. Several print each answer under a `== query ==`
//! heading, or with `--json` one compact JSON object a line (an answer, or `{"query", "error"}`
//! for a query not answered). The exit code is the worst of the answers: 0 all answered, 1 some
//! not found or outside coverage, 2 some bad input.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::NaiveDate;

use careband::engine::answer::Answer;
use careband::engine::dataset::Dataset;
use careband::engine::lookup::lookup;
use careband::engine::query::{Given, Query, QueryError, ReadingKind, read};
use careband::geocoder::Geocoder;

use crate::{DataArgs, render};

/// The longest line `lookup -` reads, bytes (its line break not counted); a longer line is
/// refused, and the lines after it are still read.
pub const MAX_LINE_BYTES: usize = 1024;

/// Outcome of one query, ordered from best to worst; a run exits with the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Answered = 0,
    NotFound = 1,
    Bad = 2,
}

/// The queries the arguments make: see the module docs.
pub fn split(args: &[String]) -> Vec<String> {
    let mut queries = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let flush = |words: &mut Vec<&str>, queries: &mut Vec<String>| {
        if !words.is_empty() {
            queries.push(words.join(" "));
            words.clear();
        }
    };
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let pair = args
            .get(i + 1)
            .filter(|_| kind(arg) == Some(ReadingKind::District))
            .map(|next| format!("{arg} {next}"))
            .filter(|pair| kind(pair) == Some(ReadingKind::Unit));
        if let Some(pair) = pair {
            flush(&mut words, &mut queries);
            queries.push(pair);
            i += 2;
        } else if matches!(
            kind(arg),
            Some(ReadingKind::Unit | ReadingKind::Wgs84Point | ReadingKind::BngPoint)
        ) {
            flush(&mut words, &mut queries);
            queries.push(arg.clone());
            i += 1;
        } else {
            words.push(arg);
            i += 1;
        }
    }
    flush(&mut words, &mut queries);
    queries
}

/// What `text` reads as on its own, if it reads.
fn kind(text: &str) -> Option<ReadingKind> {
    read(Given::Text(text)).ok().map(|r| r.kind)
}

/// One line of standard input.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Text(String),
    TooLong,
    NotUtf8,
}

/// The next line of `input` (without its `\n` or `\r\n`), holding at most
/// [`MAX_LINE_BYTES`] of it in `buf`: the rest of a longer line is read and dropped.
fn next_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let (piece, used, end) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        // One byte more than the limit fits a `\r` before the `\n`.
        if !too_long && buf.len() + piece.len() > MAX_LINE_BYTES + 1 {
            too_long = true;
            buf.clear();
        }
        if !too_long {
            buf.extend_from_slice(piece);
        }
        input.consume(used);
        if end {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if too_long || buf.len() > MAX_LINE_BYTES {
        return Ok(Some(Line::TooLong));
    }
    Ok(Some(match std::str::from_utf8(buf) {
        Ok(text) => Line::Text(text.to_string()),
        Err(_) => Line::NotUtf8,
    }))
}

/// What a `lookup` run needs to answer its queries: the dataset (loaded at the first query
/// that reads), the date, the optional geocoder and how to print.
pub struct Session {
    data: DataArgs,
    date: NaiveDate,
    geocoder: Option<Arc<Geocoder>>,
    json: bool,
    dataset: Option<Dataset>,
    runtime: Option<tokio::runtime::Runtime>,
    /// Several answers: headings, or JSON lines.
    many: bool,
    worst: Outcome,
    answered: usize,
}

impl Session {
    /// A session printing one answer (`many` false) or several.
    pub fn new(
        data_args: DataArgs,
        date: NaiveDate,
        geocoder: Option<Arc<Geocoder>>,
        json: bool,
        many: bool,
    ) -> Self {
        Self {
            data: data_args,
            date,
            geocoder,
            json,
            dataset: None,
            runtime: None,
            many,
            worst: Outcome::Answered,
            answered: 0,
        }
    }

    /// The exit code: the worst outcome of the queries answered so far.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.worst as u8)
    }

    fn note(&mut self, outcome: Outcome) {
        self.worst = self.worst.max(outcome);
        self.answered += 1;
    }

    /// Answers every line of `input`.
    ///
    /// # Errors
    /// Reading the input or writing the answers failed, or the dataset did not load.
    pub fn lines(&mut self, input: &mut impl BufRead, out: &mut impl Write) -> anyhow::Result<()> {
        let mut buf = Vec::with_capacity(MAX_LINE_BYTES + 2);
        let mut number = 0_u64;
        while let Some(line) = next_line(input, &mut buf).context("cannot read standard input")? {
            number += 1;
            match line {
                Line::Text(text) if text.trim().is_empty() => {}
                Line::Text(text) => self.text(out, &text)?,
                Line::TooLong => self.refuse(
                    out,
                    &format!("line {number}"),
                    &format!("the line is longer than {MAX_LINE_BYTES} bytes: not read"),
                    "too_long",
                )?,
                Line::NotUtf8 => self.refuse(
                    out,
                    &format!("line {number}"),
                    "the line is not UTF-8 text: not read",
                    "bad_input",
                )?,
            }
        }
        Ok(())
    }

    /// Answers the free-text query `text` (a postcode, a point, a place or an address).
    ///
    /// # Errors
    /// Writing failed, or the dataset did not load.
    pub fn text(&mut self, out: &mut impl Write, text: &str) -> anyhow::Result<()> {
        self.given(out, text, Given::Text(text))
    }

    /// Answers `given`, headed (when there are several) by `label`.
    ///
    /// # Errors
    /// Writing failed, or the dataset did not load.
    pub fn given(
        &mut self,
        out: &mut impl Write,
        label: &str,
        given: Given<'_>,
    ) -> anyhow::Result<()> {
        let q = match read(given) {
            Ok(reading) => reading.query,
            Err(e) => return self.bad_query(out, label, &e),
        };
        if self.dataset.is_none() {
            self.dataset = Some(self.data.load()?);
        }
        let Some(ds) = self.dataset.as_ref() else {
            anyhow::bail!("the dataset is not loaded");
        };
        let mut result = lookup(ds, &q, self.date);
        if let (Some(g), Query::Text(text)) = (&self.geocoder, &q) {
            if self.runtime.is_none() {
                g.set_coverage(ds);
                // A single-threaded runtime for the geocoder's requests (and their retries).
                self.runtime = Some(
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .context("cannot start the runtime for the external geocoder")?,
                );
            }
            if let Some(rt) = &self.runtime {
                result = rt.block_on(careband::geocoder::refine(ds, g, text, result, self.date));
            }
        }
        self.heading(out, label)?;
        match result {
            Ok(answer) => {
                let covered = match &answer {
                    Answer::Point(p) => p.resolution.covered,
                    Answer::Area(a) => a.outside_coverage < a.postcodes,
                    Answer::Places(p) => p.candidates.iter().any(|c| c.resolution.covered),
                };
                if self.json && self.many {
                    serde_json::to_writer(&mut *out, &answer)?;
                    writeln!(out)?;
                } else if self.json {
                    serde_json::to_writer_pretty(&mut *out, &answer)?;
                    writeln!(out)?;
                } else {
                    render::answer(out, &answer)?;
                }
                self.note(if covered {
                    Outcome::Answered
                } else {
                    Outcome::NotFound
                });
            }
            Err(e) => {
                let mut body = render::error_json(&e);
                self.print_error(out, label, &e.to_string(), &mut body)?;
                self.note(if e.is_not_found() {
                    Outcome::NotFound
                } else {
                    Outcome::Bad
                });
            }
        }
        Ok(())
    }

    /// A query that cannot be read: the API's error body, exit code 2.
    fn bad_query(
        &mut self,
        out: &mut impl Write,
        label: &str,
        e: &QueryError,
    ) -> anyhow::Result<()> {
        let detail = careband::server::ApiError::from_query(e, "query").detail();
        let mut body = serde_json::json!({ "error": detail });
        self.heading(out, label)?;
        self.print_error(out, label, &e.to_string(), &mut body)?;
        self.note(Outcome::Bad);
        Ok(())
    }

    /// A line refused before it is read as a query.
    fn refuse(
        &mut self,
        out: &mut impl Write,
        label: &str,
        message: &str,
        code: &str,
    ) -> anyhow::Result<()> {
        let mut body = serde_json::json!({ "error": { "code": code, "message": message } });
        self.heading(out, label)?;
        self.print_error(out, label, message, &mut body)?;
        self.note(Outcome::Bad);
        Ok(())
    }

    /// Before each answer but the first of several, a blank line; then the `== label ==`
    /// heading (text output of several only).
    fn heading(&self, out: &mut impl Write, label: &str) -> io::Result<()> {
        if self.many && !self.json {
            if self.answered > 0 {
                writeln!(out)?;
            }
            writeln!(out, "== {label} ==")?;
        }
        Ok(())
    }

    /// An unanswered query: its message on stderr (and, of several, under its heading), its
    /// error body on stdout with `--json` (of several, with the query as given).
    fn print_error(
        &self,
        out: &mut impl Write,
        label: &str,
        message: &str,
        body: &mut serde_json::Value,
    ) -> anyhow::Result<()> {
        match (self.json, self.many) {
            (true, true) => {
                if let serde_json::Value::Object(m) = body {
                    m.insert("query".into(), label.into());
                }
                serde_json::to_writer(&mut *out, body)?;
                writeln!(out)?;
            }
            (true, false) => {
                serde_json::to_writer_pretty(&mut *out, body)?;
                writeln!(out)?;
            }
            (false, true) => writeln!(out, "not answered: {message}")?,
            (false, false) => {}
        }
        if self.many {
            eprintln!("careband: {label}: {message}");
        } else {
            eprintln!("careband: {message}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_string()).collect()
    }

    #[test]
    fn postcodes_and_points_stand_alone_and_other_words_join() {
        assert_eq!(
            split(&args(&["NR1", "1AA", "NR25", "7PQ"])),
            ["NR1 1AA", "NR25 7PQ"]
        );
        assert_eq!(
            split(&args(&["NR1 1AA", "nr257pq"])),
            ["NR1 1AA", "nr257pq"]
        );
        assert_eq!(
            split(&args(&["Church", "Lane", "Reepham"])),
            ["Church Lane Reepham"]
        );
        assert_eq!(
            split(&args(&["Ollands Road, Reepham"])),
            ["Ollands Road, Reepham"]
        );
        assert_eq!(
            split(&args(&["Hethersett", "52.6266,1.3093", "NR1", "1AA"])),
            ["Hethersett", "52.6266,1.3093", "NR1 1AA"]
        );
        // A district alone, or a sector, stays with the words around it.
        assert_eq!(split(&args(&["NR1"])), ["NR1"]);
        assert_eq!(split(&args(&["NR1", "1"])), ["NR1 1"]);
        // A quoted address keeps its postcode.
        assert_eq!(
            split(&args(&["12 Mill Road, Aylsham NR11 6DU"])),
            ["12 Mill Road, Aylsham NR11 6DU"]
        );
        assert_eq!(split(&args(&["NR1!1AA"])), ["NR1!1AA"]);
    }

    fn lines(input: &[u8]) -> Vec<Line> {
        let mut r = io::BufReader::with_capacity(16, input);
        let mut buf = Vec::new();
        std::iter::from_fn(|| next_line(&mut r, &mut buf).unwrap()).collect()
    }

    #[test]
    fn lines_are_read_one_at_a_time_and_a_long_one_is_refused_alone() {
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        let exact = "y".repeat(MAX_LINE_BYTES);
        let input = format!("NR1 1AA\r\n{long}\n{exact}\r\n\nlast");
        assert_eq!(
            lines(input.as_bytes()),
            [
                Line::Text("NR1 1AA".into()),
                Line::TooLong,
                Line::Text(exact),
                Line::Text(String::new()),
                Line::Text("last".into()),
            ]
        );
        assert_eq!(
            lines(b"\xff\xfe\nNR1\n"),
            [Line::NotUtf8, Line::Text("NR1".into())]
        );
        assert!(lines(b"").is_empty());
    }
}
