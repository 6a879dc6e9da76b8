//! One row: which columns hold the query, what the row asks, and the result columns of its
//! answer. Pure: no I/O, rows are rendered in memory, to CSV text or to cells for a workbook.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::engine::answer::{Answer, PointAnswer};
use crate::engine::answer::{CurrencyStatus, RateKind, Resolution, SchemeAnswer};
use crate::engine::dataset::Dataset;
use crate::engine::lookup::{LookupError, lookup};
use crate::engine::query::{Given, Query, QueryError, Reading, ReadingKind, read};
use crate::engine::scheme::{AreaRole, Service, Tier};

use super::columns::{Declared, HEAD, Layout};
use super::{BatchError, Chunk, ColumnNames, Counts, OutputFormat, RawRow, RowIssue};

/// Header names (lower case, letters and digits only) read as each kind of column.
const POSTCODE_NAMES: &[&str] = &["postcode", "postalcode", "pcode"];
const LAT_NAMES: &[&str] = &["lat", "latitude"];
const LON_NAMES: &[&str] = &["lon", "lng", "long", "longitude"];
const EASTING_NAMES: &[&str] = &["easting", "eastings"];
const NORTHING_NAMES: &[&str] = &["northing", "northings"];

/// Most header names quoted in an error message.
const HEADERS_SHOWN: usize = 20;

/// Separates the values of two covering schemes in one cell.
const SCHEME_SEP: &str = " | ";

/// Separates the names in one cell (providers).
const LIST_SEP: &str = "; ";

/// Separates two areas of the same kind (a point on a shared border).
const AREA_SEP: &str = " / ";

/// Where the query columns are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// Number of header fields: every row is written with exactly this many input fields.
    pub width: usize,
    pub postcode: Option<usize>,
    pub point: Option<(usize, usize)>,
    pub bng: Option<(usize, usize)>,
    pub address: Vec<usize>,
    /// The column of each row's own date.
    pub date: Option<usize>,
}

/// A header name reduced to lower-case letters and digits (`Post Code` -> `postcode`).
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_address_name(squashed: &str) -> bool {
    squashed.starts_with("address") || matches!(squashed, "fulladdress" | "streetaddress")
}

fn headers_text(header: &[String]) -> String {
    let mut s = header
        .iter()
        .take(HEADERS_SHOWN)
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if header.len() > HEADERS_SHOWN {
        let _ = write!(s, " and {} more", header.len() - HEADERS_SHOWN);
    }
    s
}

impl Plan {
    /// Finds the query columns: the named ones, or by header name; and the date column
    /// when one is named.
    pub(super) fn new(
        header: &[String],
        names: &ColumnNames,
        date: Option<&str>,
    ) -> Result<Self, BatchError> {
        let width = header.len();
        let squashed: Vec<String> = header.iter().map(|h| squash(h)).collect();
        let plan = if names.is_auto() {
            let find = |wanted: &[&str]| squashed.iter().position(|h| wanted.contains(&h.as_str()));
            let pair = |a, b| find(a).zip(find(b));
            Self {
                width,
                postcode: find(POSTCODE_NAMES),
                point: pair(LAT_NAMES, LON_NAMES),
                bng: pair(EASTING_NAMES, NORTHING_NAMES),
                address: (0..width)
                    .filter(|&i| is_address_name(&squashed[i]))
                    .collect(),
                date: None,
            }
        } else {
            let by_name = |role: &'static str, name: &Option<String>| {
                name.as_deref()
                    .map(|n| named_column(header, role, n))
                    .transpose()
            };
            let pair =
                |a: (&'static str, &Option<String>), b: (&'static str, &Option<String>)| match (
                    by_name(a.0, a.1)?,
                    by_name(b.0, b.1)?,
                ) {
                    (Some(x), Some(y)) => Ok(Some((x, y))),
                    (None, None) => Ok(None),
                    (Some(_), None) => Err(BatchError::HalfPair {
                        given: a.0,
                        missing: b.0,
                    }),
                    (None, Some(_)) => Err(BatchError::HalfPair {
                        given: b.0,
                        missing: a.0,
                    }),
                };
            Self {
                width,
                postcode: by_name("postcode", &names.postcode)?,
                point: pair(("latitude", &names.lat), ("longitude", &names.lon))?,
                bng: pair(("easting", &names.easting), ("northing", &names.northing))?,
                address: names
                    .address
                    .iter()
                    .map(|n| named_column(header, "address", n))
                    .collect::<Result<_, _>>()?,
                date: None,
            }
        };
        let plan = Self {
            date: date.map(|n| named_column(header, "date", n)).transpose()?,
            ..plan
        };
        if plan.postcode.is_none()
            && plan.point.is_none()
            && plan.bng.is_none()
            && plan.address.is_empty()
        {
            return Err(BatchError::NoLookupColumn {
                headers: headers_text(header),
            });
        }
        Ok(plan)
    }

    /// The columns used, in the order they are tried, for the summary.
    pub(super) fn describe(&self, header: &[String]) -> Vec<String> {
        let name = |i: usize| format!("{:?}", header.get(i).map_or("", String::as_str));
        let mut out = Vec::new();
        if let Some(i) = self.postcode {
            out.push(format!("postcode: {}", name(i)));
        }
        if let Some((a, b)) = self.point {
            out.push(format!("lat/lon: {} and {}", name(a), name(b)));
        }
        if let Some((a, b)) = self.bng {
            out.push(format!("easting/northing: {} and {}", name(a), name(b)));
        }
        if !self.address.is_empty() {
            let names: Vec<String> = self.address.iter().map(|&i| name(i)).collect();
            out.push(format!("address: {}", names.join(", ")));
        }
        if let Some(i) = self.date {
            out.push(format!("date: {}", name(i)));
        }
        out
    }
}

fn named_column(header: &[String], role: &'static str, name: &str) -> Result<usize, BatchError> {
    header
        .iter()
        .position(|h| h == name)
        .or_else(|| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
        })
        .ok_or_else(|| BatchError::UnknownColumn {
            role,
            name: name.to_string(),
            headers: headers_text(header),
        })
}

/// What every row of a run shares.
pub(super) struct Ctx<'a> {
    pub ds: &'a Dataset,
    /// The result columns.
    pub layout: &'a Layout,
    pub date: NaiveDate,
    pub plan: &'a Plan,
    /// `line` (CSV) or `row` (workbook), for messages.
    pub unit: &'static str,
    pub delimiter: u8,
    pub excel: bool,
    pub output: OutputFormat,
    /// Asked about free text the gazetteer cannot settle (the external geocoder).
    pub refiner: Option<&'a dyn super::TextRefiner>,
}

/// The outcome of one row, as in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Answered,
    NotFound,
    OutsideCoverage,
    BadInput,
    Blank,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::NotFound => "not_found",
            Self::OutsideCoverage => "outside_coverage",
            Self::BadInput => "bad_input",
            Self::Blank => "blank",
        }
    }
}

/// The result columns of one row: the fixed head and the declared columns in `cols`, then the
/// fixed tail (the status and dataset version are filled in when the row is written).
#[derive(Debug)]
struct Out {
    cols: Vec<String>,
    illustrative: String,
    scheme: String,
    error: String,
}

impl Out {
    fn new(layout: &Layout) -> Self {
        Self {
            cols: vec![String::new(); HEAD.len() + layout.declared.len()],
            illustrative: String::new(),
            scheme: String::new(),
            error: String::new(),
        }
    }
}

/// Positions of the fixed head columns in [`Out::cols`] (see [`HEAD`]).
mod col {
    pub const STATUS: usize = 0;
    pub const QUERY_USED: usize = 1;
    pub const PRECISION: usize = 2;
    pub const BAND: usize = 3;
    pub const RATE: usize = 4;
    pub const RATE_KIND: usize = 5;
    pub const RATE_CURRENCY: usize = 6;
    pub const DISTANCE_MILES: usize = 7;
    pub const SURGERY_CODE: usize = 8;
    pub const SURGERY_NAME: usize = 9;
    pub const NEAR_THRESHOLD: usize = 10;
}

/// What a row asks, or why it asks nothing answerable.
enum Ask {
    Query { query: Query, used: String },
    Bad { used: String, why: String },
    Blank,
}

/// A number as typed: `52.63`, or `52,63` where the comma is a decimal separator.
fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().or_else(|| {
        (s.matches(',').count() == 1 && !s.contains('.'))
            .then(|| s.replace(',', ".").parse::<f64>().ok())
            .flatten()
    })
}

/// Reads a coordinate pair; `None` when both cells are empty.
fn pair_query(
    a: &str,
    b: &str,
    names: (&str, &str),
    make: impl Fn(f64, f64) -> Given<'static>,
) -> Option<Ask> {
    let used = format!("{a},{b}");
    match (a.is_empty(), b.is_empty()) {
        (true, true) => None,
        (false, true) => Some(Ask::Bad {
            used,
            why: format!("{} is given without {}", names.0, names.1),
        }),
        (true, false) => Some(Ask::Bad {
            used,
            why: format!("{} is given without {}", names.1, names.0),
        }),
        (false, false) => Some(match (number(a), number(b)) {
            (Some(x), Some(y)) => reading_ask(read(make(x, y)), &used, "point"),
            (None, _) => Ask::Bad {
                used,
                why: format!("{} {a:?} is not a number", names.0),
            },
            (_, None) => Ask::Bad {
                used,
                why: format!("{} {b:?} is not a number", names.1),
            },
        }),
    }
}

/// A full postcode from a postcode cell: the cell itself, or a full postcode found inside it
/// (`NR1 1AA, UK`), as [`read`] reads a postcode field.
fn postcode_query(cell: &str) -> Ask {
    reading_ask(read(Given::Postcode(cell)), cell, "postcode cell")
}

/// What a row asks, from the reading of its query cell (`place` names the cell in `used`).
/// A row needs a point: a partial postcode or a place name is bad input, refused before any
/// area is summarised.
fn reading_ask(reading: Result<Reading, QueryError>, cell: &str, place: &str) -> Ask {
    let r = match reading {
        Ok(r) => r,
        Err(e) => {
            return Ask::Bad {
                used: cell.to_string(),
                why: e.to_string(),
            };
        }
    };
    let text = match &r.query {
        Query::Postcode(p) | Query::Text(p) => p.clone(),
        Query::Point { .. } | Query::Bng { .. } => cell.to_string(),
    };
    match (r.kind, r.text_match) {
        (k, _) if k.is_partial_postcode() => Ask::Bad {
            why: format!(
                "{text} is a partial postcode: a row needs a full postcode such as NR1 1AA"
            ),
            used: text,
        },
        (ReadingKind::TextWithPostcode, Some(m)) => Ask::Query {
            used: format!("{} (found in the {place} as {:?})", m.postcode, m.text),
            query: r.query,
        },
        // Anything else is asked as read; an address without a postcode
        // (`ReadingKind::PlaceText`) is the gazetteer's place or road, as `lookup` reads it.
        _ => Ask::Query {
            query: r.query,
            used: text,
        },
    }
}

/// The first query kind with something in this row, in the order postcode, lat/lon,
/// easting/northing, address.
fn ask(plan: &Plan, fields: &[Cow<'_, str>]) -> Ask {
    let get = |i: usize| fields.get(i).map_or("", |f| f.trim());
    if let Some(i) = plan.postcode {
        let cell = get(i);
        if !cell.is_empty() {
            return postcode_query(cell);
        }
    }
    if let Some((a, b)) = plan.point
        && let Some(ask) = pair_query(get(a), get(b), ("latitude", "longitude"), |lat, lon| {
            Given::LatLon { lat, lon }
        })
    {
        return ask;
    }
    if let Some((a, b)) = plan.bng
        && let Some(ask) = pair_query(
            get(a),
            get(b),
            ("easting", "northing"),
            |easting, northing| Given::EastingNorthing { easting, northing },
        )
    {
        return ask;
    }
    let address: Vec<&str> = plan
        .address
        .iter()
        .map(|&i| get(i))
        .filter(|s| !s.is_empty())
        .collect();
    if !address.is_empty() {
        let joined = address.join(", ");
        return reading_ask(read(Given::Text(&joined)), &joined, "address");
    }
    if fields.iter().all(|f| f.trim().is_empty()) {
        Ask::Blank
    } else {
        Ask::Bad {
            used: String::new(),
            why: format!("no {} in this row", lookup_kinds(plan)),
        }
    }
}

/// "postcode or address" and the like, for a row with empty lookup cells.
fn lookup_kinds(plan: &Plan) -> String {
    let mut kinds = Vec::new();
    if plan.postcode.is_some() {
        kinds.push("postcode");
    }
    if plan.point.is_some() {
        kinds.push("latitude and longitude");
    }
    if plan.bng.is_some() {
        kinds.push("easting and northing");
    }
    if !plan.address.is_empty() {
        kinds.push("address");
    }
    kinds.join(" or ")
}

/// A row's own date: `YYYY-MM-DD` (a workbook's date cells read so, a time after it
/// ignored), or `DD/MM/YYYY` as UK spreadsheets write it.
fn row_date(cell: &str) -> Option<NaiveDate> {
    let day = cell.split_once(' ').map_or(cell, |(d, _)| d);
    if let Ok(d) = crate::engine::date::parse_date(day) {
        return Some(d);
    }
    let mut parts = day.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.len() > 2 || m.len() > 2 || y.len() != 4 {
        return None;
    }
    crate::engine::date::parse_date(&format!("{y}-{m:0>2}-{d:0>2}")).ok()
}

/// Answers one row into `out`, counting it.
fn answer(ctx: &Ctx<'_>, fields: &[Cow<'_, str>], out: &mut Out, counts: &mut Counts) -> Status {
    let date = match ctx
        .plan
        .date
        .map(|i| fields.get(i).map_or("", |f| f.trim()))
    {
        None | Some("") => ctx.date,
        Some(cell) => {
            let Some(d) = row_date(cell) else {
                out.error = format!(
                    "the date {cell:?} is not a date: write it YYYY-MM-DD or DD/MM/YYYY, from \
                     {} to {}",
                    crate::engine::date::MIN_DATE,
                    crate::engine::date::MAX_DATE
                );
                return Status::BadInput;
            };
            d
        }
    };
    let (query, used) = match ask(ctx.plan, fields) {
        Ask::Blank => {
            out.error = "blank row".into();
            return Status::Blank;
        }
        Ask::Bad { used, why } => {
            out.cols[col::QUERY_USED] = used;
            out.error = why;
            return Status::BadInput;
        }
        Ask::Query { query, used } => (query, used),
    };
    out.cols[col::QUERY_USED] = used;
    let mut result = lookup(ctx.ds, &query, date);
    if let (Some(refiner), Query::Text(text)) = (ctx.refiner, &query) {
        result = refiner.refine(ctx.ds, text, result, date);
    }
    match result {
        Ok(Answer::Point(p)) => {
            out.cols[col::RATE_CURRENCY] = scheme_values(&p.resolution, &rate_currency);
            let status = point(ctx, date, &p, out, counts);
            if let Some(g) = &p.geocoded {
                // The address the external geocoder matched is what was looked up.
                counts.geocoded += 1;
                out.cols[col::QUERY_USED] = format!("{} (geocoder:{})", g.address, g.provider);
            }
            status
        }
        Ok(Answer::Area(a)) => {
            out.error = format!("{} is a partial postcode", a.query);
            Status::BadInput
        }
        Ok(Answer::Places(p)) => match p.candidates.first() {
            // One place or road stands out and every part of the answer is the same across
            // its postcodes: answered at its point, with the precision saying what it is.
            Some(best) if p.clear => {
                out.cols[col::QUERY_USED].clone_from(&best.label);
                out.cols[col::PRECISION] = best.precision.as_str().to_string();
                out.cols[col::RATE_CURRENCY] = scheme_values(&best.resolution, &rate_currency);
                fill(ctx, date, &best.resolution, out, counts)
            }
            _ => {
                out.error = if p.candidates.is_empty() {
                    format!(
                        "no place or road called {:?} was found: give the postcode",
                        p.query
                    )
                } else {
                    p.message.clone()
                };
                // What became of the external geocoder, when it was asked or held back.
                for note in &p.notes {
                    let _ = write!(out.error, "; {note}");
                }
                Status::BadInput
            }
        },
        Err(e) => {
            if let LookupError::UnknownPostcode { postcode, .. }
            | LookupError::NoPosition { postcode, .. } = &e
            {
                let used = &mut out.cols[col::QUERY_USED];
                if !used.starts_with(postcode.as_str()) {
                    used.clone_from(postcode);
                }
            }
            out.error = e.to_string();
            lookup_status(&e)
        }
    }
}

fn lookup_status(e: &LookupError) -> Status {
    if e.is_not_found() {
        Status::NotFound
    } else {
        Status::BadInput
    }
}

fn point(
    ctx: &Ctx<'_>,
    date: NaiveDate,
    p: &PointAnswer,
    out: &mut Out,
    counts: &mut Counts,
) -> Status {
    // The normalised query replaces the raw one, keeping where it was found.
    let used = &mut out.cols[col::QUERY_USED];
    if !used.starts_with(&p.query) {
        used.clone_from(&p.query);
    }
    if p.postcode.as_ref().is_some_and(|f| f.terminated) {
        used.push_str(" (terminated postcode: its last known position was used)");
    }
    out.cols[col::PRECISION] = p.precision.as_str().to_string();
    fill(ctx, date, &p.resolution, out, counts)
}

/// One value per covering scheme, joined.
fn scheme_values(res: &Resolution, f: &dyn Fn(&SchemeAnswer) -> String) -> String {
    res.schemes
        .iter()
        .map(f)
        .collect::<Vec<_>>()
        .join(SCHEME_SEP)
}

/// The result columns of a resolved point.
fn fill(
    ctx: &Ctx<'_>,
    date: NaiveDate,
    res: &Resolution,
    out: &mut Out,
    counts: &mut Counts,
) -> Status {
    if !res.covered {
        out.error = res
            .outside_reason
            .clone()
            .unwrap_or_else(|| "outside every scheme's area".into());
        return Status::OutsideCoverage;
    }
    let per_scheme = |f: &dyn Fn(&SchemeAnswer) -> String| scheme_values(res, f);
    let banding = |s: &SchemeAnswer,
                   f: &dyn Fn(&crate::engine::answer::BandingAnswer) -> String| {
        s.banding.as_ref().map(f).unwrap_or_default()
    };
    out.cols[col::BAND] = per_scheme(&|s| {
        banding(s, &|b| {
            b.band
                .as_ref()
                .map(|b| b.name.to_string())
                .unwrap_or_default()
        })
    });
    out.cols[col::RATE] = per_scheme(&|s| {
        s.rate
            .as_ref()
            .map(|r| format!("{:.2}", r.hourly))
            .unwrap_or_default()
    });
    out.cols[col::RATE_KIND] = per_scheme(&|s| {
        s.rate
            .as_ref()
            .map(|r| match r.kind {
                RateKind::Band => "band".to_string(),
                RateKind::Standard => "standard".to_string(),
            })
            .unwrap_or_default()
    });
    out.cols[col::DISTANCE_MILES] = per_scheme(&|s| {
        banding(s, &|b| {
            b.distance_miles
                .map(|d| format!("{d:.3}"))
                .unwrap_or_default()
        })
    });
    out.cols[col::SURGERY_CODE] = per_scheme(&|s| {
        banding(s, &|b| {
            b.nearest_centre
                .as_ref()
                .map(|c| c.code.to_string())
                .unwrap_or_default()
        })
    });
    out.cols[col::SURGERY_NAME] = per_scheme(&|s| {
        banding(s, &|b| {
            b.nearest_centre
                .as_ref()
                .map(|c| c.name.to_string())
                .unwrap_or_default()
        })
    });
    out.cols[col::NEAR_THRESHOLD] = per_scheme(&|s| banding(s, &|b| b.near_threshold.to_string()));
    for (i, d) in ctx.layout.declared.iter().enumerate() {
        out.cols[HEAD.len() + i] = match *d {
            Declared::Area(role) => per_scheme(&|s| areas(s, role)),
            Declared::Providers(service, tier) => per_scheme(&|s| providers(s, service, tier)),
        };
    }
    out.illustrative = res.schemes.iter().any(|s| s.illustrative).to_string();
    out.scheme = per_scheme(&|s| s.scheme.to_string());
    let no_rate: Vec<String> = res
        .schemes
        .iter()
        .filter(|s| s.rate.is_none())
        .map(|s| format!("{} has no rate in force on {date}", s.name))
        .collect();
    out.error = no_rate.join(LIST_SEP);
    for s in &res.schemes {
        let band_key = s
            .banding
            .as_ref()
            .and_then(|b| b.band.as_ref())
            .map(|b| b.name.as_str())
            .or_else(|| s.rate.as_ref().map(|r| r.name.as_str()))
            .unwrap_or("no rate");
        bump(&mut counts.by_band, band_key);
        bump(&mut counts.by_scheme, &s.scheme);
    }
    Status::Answered
}

/// Whether the scheme's papers confirm its rate on the date (`in_force`) or it is only the
/// latest careband knows (`latest_known`); empty without a rate.
fn rate_currency(s: &SchemeAnswer) -> String {
    s.currency
        .as_ref()
        .map(|c| match c.status {
            CurrencyStatus::InForce => "in_force".to_string(),
            CurrencyStatus::LatestKnown => "latest_known".to_string(),
            CurrencyStatus::Ended => "ended".to_string(),
        })
        .unwrap_or_default()
}

/// Adds one to a count, allocating the key only the first time it is seen.
fn bump(counts: &mut std::collections::BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// Names of the scheme's areas of one role, in the order matched.
fn areas(s: &SchemeAnswer, role: AreaRole) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in s.areas.iter().filter(|a| a.role == role) {
        if !names.contains(&a.matched.name.as_str()) {
            names.push(&a.matched.name);
        }
    }
    names.join(AREA_SEP)
}

/// Provider names of one service (and tier), in preference order, each once.
fn providers(s: &SchemeAnswer, service: Service, tier: Option<Tier>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for list in s.providers.iter().filter(|l| l.service == service) {
        for t in list
            .tiers
            .iter()
            .filter(|t| tier.is_none_or(|w| t.tier == w))
        {
            for p in &t.providers {
                if !names.contains(&p.name.as_str()) {
                    names.push(&p.name);
                }
            }
        }
    }
    names.join(LIST_SEP)
}

/// A slice of rows rendered for the output format.
pub(super) enum Rendered {
    /// CSV text, every cell made safe ([`super::safe_cell`]).
    Csv(Vec<u8>),
    /// Every row's cells, row after row, as they are (workbook cells are typed, so nothing
    /// in them runs as a formula).
    Cells {
        cells: Vec<String>,
        /// Input line (or row) of the first row.
        first_line: u64,
    },
}

/// Where a slice's cells are written.
#[expect(
    clippy::large_enum_variant,
    reason = "one per slice of rows, on the stack of the worker rendering it; boxing buys nothing"
)]
enum Cells {
    Csv(csv::Writer<Vec<u8>>),
    Raw(Vec<String>),
}

impl Cells {
    fn field(&mut self, cell: &str) -> Result<(), csv::Error> {
        match self {
            Self::Csv(w) => w.write_field(super::safe_cell(cell).as_bytes()),
            Self::Raw(cells) => {
                cells.push(cell.to_string());
                Ok(())
            }
        }
    }

    fn end_row(&mut self) -> Result<(), csv::Error> {
        match self {
            Self::Csv(w) => w.write_record(None::<&[u8]>),
            Self::Raw(_) => Ok(()),
        }
    }
}

/// Answers and renders a slice of rows (input fields, then result columns).
pub(super) fn render(
    ctx: &Ctx<'_>,
    chunk: &Chunk,
    rows: &[RawRow],
) -> Result<(Rendered, Counts), csv::Error> {
    let mut w = match ctx.output {
        OutputFormat::Csv => Cells::Csv(super::csv_writer(ctx.delimiter, ctx.excel)),
        OutputFormat::Xlsx => Cells::Raw(Vec::new()),
    };
    let mut counts = Counts::default();
    let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(ctx.plan.width);
    for r in rows {
        fields.clear();
        let mut out = Out::new(ctx.layout);
        let n = r.field_count();
        let mut invalid_utf8 = false;
        for i in 0..n.min(ctx.plan.width) {
            let raw = chunk.field(r, i).unwrap_or_default();
            let f = String::from_utf8_lossy(raw);
            invalid_utf8 |= matches!(f, Cow::Owned(_));
            fields.push(f);
        }
        // Fields past the header are only checked: there is no column to copy them into.
        let mut extra = 0;
        for i in ctx.plan.width..n {
            let raw = chunk.field(r, i).unwrap_or_default();
            invalid_utf8 |= std::str::from_utf8(raw).is_err();
            if !raw.iter().all(u8::is_ascii_whitespace) {
                extra = i + 1;
            }
        }
        let status = row_status(
            ctx,
            r,
            &fields,
            n,
            extra,
            invalid_utf8,
            &mut out,
            &mut counts,
        );
        if invalid_utf8 {
            counts.invalid_utf8_rows += 1;
            counts.first_invalid_utf8_line = counts.first_invalid_utf8_line.or(Some(r.line));
        }
        counts.rows += 1;
        match status {
            Status::Answered => counts.answered += 1,
            Status::NotFound => counts.not_found += 1,
            Status::OutsideCoverage => counts.outside_coverage += 1,
            Status::BadInput => counts.bad_input += 1,
            Status::Blank => counts.blank += 1,
        }
        for f in &fields {
            w.field(f)?;
        }
        for _ in fields.len()..ctx.plan.width {
            w.field("")?;
        }
        for (i, c) in out.cols.iter().enumerate() {
            let value = if i == col::STATUS {
                status.as_str()
            } else {
                c.as_str()
            };
            w.field(value)?;
        }
        for value in [
            out.illustrative.as_str(),
            out.scheme.as_str(),
            ctx.ds.version.as_str(),
            out.error.as_str(),
        ] {
            w.field(value)?;
        }
        w.end_row()?;
    }
    let rendered = match w {
        Cells::Csv(w) => Rendered::Csv(
            w.into_inner()
                .map_err(|e| csv::Error::from(e.into_error()))?,
        ),
        Cells::Raw(cells) => Rendered::Cells {
            cells,
            first_line: rows.first().map_or(0, |r| r.line),
        },
    };
    Ok((rendered, counts))
}

/// The row's status after the structural checks (too long, ragged, encoding) and its answer.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the row's parts"
)]
fn row_status(
    ctx: &Ctx<'_>,
    r: &RawRow,
    fields: &[Cow<'_, str>],
    n: usize,
    extra: usize,
    invalid_utf8: bool,
    out: &mut Out,
    counts: &mut Counts,
) -> Status {
    let unit = ctx.unit;
    let at = if r.last_line > r.line {
        format!("{unit}s {}-{}", r.line, r.last_line)
    } else {
        format!("{unit} {}", r.line)
    };
    if let Some(RowIssue::TooLong { bytes, quote_line }) = r.issue {
        let mut why = format!(
            "{at}: the record is {bytes} bytes, over the {} byte limit; its fields are not copied",
            super::MAX_RECORD_BYTES
        );
        if let Some(q) = quote_line {
            let _ = write!(why, " (the quote opened on line {q} may be unclosed)");
        }
        out.error = why;
        return Status::BadInput;
    }
    if extra > 0 {
        out.error = format!(
            "{at} has {n} fields but the header has {}: the row is not answered and fields past \
             the header are not copied (a field holding the delimiter must be quoted)",
            ctx.plan.width
        );
        return Status::BadInput;
    }
    if invalid_utf8 {
        let query_cols = ctx
            .plan
            .postcode
            .into_iter()
            .chain(ctx.plan.point.into_iter().flat_map(|(a, b)| [a, b]))
            .chain(ctx.plan.bng.into_iter().flat_map(|(a, b)| [a, b]))
            .chain(ctx.plan.address.iter().copied());
        if query_cols
            .filter_map(|i| fields.get(i))
            .any(|f| f.contains(char::REPLACEMENT_CHARACTER) && matches!(f, Cow::Owned(_)))
        {
            out.error = format!(
                "{at}: the lookup cell is not valid UTF-8 text (save the file as CSV UTF-8)"
            );
            return Status::BadInput;
        }
    }
    let status = answer(ctx, fields, out, counts);
    if n < ctx.plan.width && status != Status::Answered && status != Status::Blank {
        let _ = write!(
            out.error,
            " ({at} has {n} of the header's {} fields)",
            ctx.plan.width
        );
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn columns_are_found_by_name_ignoring_case_spaces_and_punctuation() {
        let plan = Plan::new(
            &header(&[
                "Name",
                "Post Code",
                "LATITUDE",
                "Longitude",
                "Address Line 1",
            ]),
            &ColumnNames::default(),
            None,
        )
        .unwrap();
        assert_eq!(plan.postcode, Some(1));
        assert_eq!(plan.point, Some((2, 3)));
        assert_eq!(plan.bng, None);
        assert_eq!(plan.address, vec![4]);
    }

    #[test]
    fn an_email_address_column_is_not_an_address() {
        let err =
            Plan::new(&header(&["email address"]), &ColumnNames::default(), None).unwrap_err();
        assert!(matches!(err, BatchError::NoLookupColumn { .. }), "{err}");
    }

    #[test]
    fn named_columns_replace_detection_and_must_exist() {
        let names = ColumnNames {
            postcode: Some("where".into()),
            ..ColumnNames::default()
        };
        let plan = Plan::new(&header(&["postcode", "WHERE"]), &names, None).unwrap();
        assert_eq!(plan.postcode, Some(1));
        let names = ColumnNames {
            postcode: Some("nope".into()),
            ..ColumnNames::default()
        };
        let err = Plan::new(&header(&["postcode"]), &names, None).unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
        let names = ColumnNames {
            lat: Some("postcode".into()),
            ..ColumnNames::default()
        };
        let err = Plan::new(&header(&["postcode"]), &names, None).unwrap_err();
        assert!(matches!(err, BatchError::HalfPair { .. }), "{err}");
    }

    #[test]
    fn decimal_commas_are_read_and_other_text_is_not_a_number() {
        assert_eq!(number("52,63"), Some(52.63));
        assert_eq!(number("52.63"), Some(52.63));
        assert_eq!(number("1,234.5"), None);
        assert_eq!(number("north"), None);
    }

    #[test]
    fn a_partial_postcode_is_bad_input_not_an_area_summary() {
        assert!(matches!(postcode_query("NR1"), Ask::Bad { .. }));
        assert!(matches!(postcode_query("nr11aa"), Ask::Query { .. }));
        match postcode_query("NR1 1AA, Norwich") {
            Ask::Query { used, .. } => assert!(used.starts_with("NR1 1AA (found"), "{used}"),
            _ => panic!("the postcode inside the cell is used"),
        }
    }

    #[test]
    fn a_correctable_postcode_is_bad_input_with_the_correction() {
        for (cell, want) in [
            ("NR11 AA", "NR1 1AA"),
            ("NR18-0UR", "NR18 0UR"),
            ("NR1, 1AA", "NR1 1AA"),
        ] {
            match postcode_query(cell) {
                Ask::Bad { why, .. } => assert!(why.contains(want), "{cell}: {why}"),
                _ => panic!("{cell} must not be answered"),
            }
        }
    }

    #[test]
    fn the_first_filled_query_kind_wins() {
        let plan = Plan::new(
            &header(&["postcode", "lat", "lon", "address"]),
            &ColumnNames::default(),
            None,
        )
        .unwrap();
        let row = |cells: [&'static str; 4]| -> Vec<Cow<'static, str>> {
            cells.into_iter().map(Cow::Borrowed).collect()
        };
        assert!(matches!(
            ask(&plan, &row(["", "52.6", "1.3", "x NR1 1AA"])),
            Ask::Query {
                query: Query::Point { .. },
                ..
            }
        ));
        assert!(matches!(
            ask(&plan, &row(["", "", "", "1 Rose Lane, nr1 1aa"])),
            Ask::Query {
                query: Query::Postcode(_),
                ..
            }
        ));
        assert!(matches!(
            ask(&plan, &row(["", "52.6", "", ""])),
            Ask::Bad { .. }
        ));
        assert!(matches!(ask(&plan, &row(["", " ", "", ""])), Ask::Blank));
    }
}
