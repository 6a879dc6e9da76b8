//! Queries as users type them (a postcode, a partial postcode, a WGS84 point or a BNG point)
//! turned into answers, with the error a user needs when the query cannot be answered.
//!
//! Shared by the CLI, the HTTP API and batch mode, so all three answer alike.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::coord::{Bng, CoordError, LonLat};
use crate::dataset::{Dataset, PostcodeRecord, PostcodeStatus};
use crate::postcode::{self, PostcodeError, PostcodeQuery};
use crate::resolve::{Resolution, resolve};

/// How many "did you mean" postcodes to offer.
pub const SUGGESTIONS: usize = 5;

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
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// One point was resolved.
    Point(PointAnswer),
    /// A partial postcode: a summary of the bands its postcodes fall in.
    Area(AreaSummary),
}

/// One resolved point and how it was found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointAnswer {
    /// What was asked, normalised (`NR1 1AA`, `52.63,1.29`, `E 624073 N 308352`).
    pub query: String,
    /// Facts about the postcode, when the query was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<PostcodeFacts>,
    /// The resolution of the point.
    pub resolution: Resolution,
}

/// Facts about a postcode.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostcodeFacts {
    /// Normalised postcode.
    pub postcode: String,
    /// Live or terminated.
    pub status: PostcodeStatus,
    /// True when the postcode is no longer live and its last known position was used.
    pub terminated: bool,
    /// BNG easting, metres.
    pub easting: Option<i32>,
    /// BNG northing, metres.
    pub northing: Option<i32>,
    /// Code-Point positional quality (10 = within the property).
    pub quality: Option<u8>,
    /// Admin county GSS code.
    pub county: Option<String>,
    /// Admin district GSS code.
    pub district: Option<String>,
    /// Admin ward GSS code.
    pub ward: Option<String>,
    /// Where the position comes from.
    pub position_source: &'static str,
}

impl From<&PostcodeRecord> for PostcodeFacts {
    fn from(r: &PostcodeRecord) -> Self {
        Self {
            postcode: r.postcode.to_string(),
            status: r.status,
            terminated: r.status == PostcodeStatus::Terminated,
            easting: r.bng.map(|b| b.0),
            northing: r.bng.map(|b| b.1),
            quality: r.quality,
            county: r.county.as_deref().map(str::to_string),
            district: r.district.as_deref().map(str::to_string),
            ward: r.ward.as_deref().map(str::to_string),
            position_source: match r.status {
                PostcodeStatus::Live => "OS Code-Point Open (postcode unit centroid)",
                PostcodeStatus::Terminated => {
                    "ONS NSPL last known position (postcode no longer live)"
                }
            },
        }
    }
}

/// What the postcodes of a sector, district or area resolve to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaSummary {
    /// The partial postcode, normalised.
    pub query: String,
    /// `sector`, `district` or `area`.
    pub level: &'static str,
    /// Live postcodes counted (terminated ones are left out).
    pub postcodes: usize,
    /// Live postcodes that no scheme covers.
    pub outside_coverage: usize,
    /// Per scheme: how many postcodes fall in each band or rate.
    pub schemes: Vec<SchemeSummary>,
    /// The single answer when every postcode agrees, else why there is none.
    pub verdict: String,
    /// Date used.
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: String,
}

/// One scheme's share of an [`AreaSummary`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SchemeSummary {
    /// Scheme id.
    pub scheme: String,
    /// Postcodes this scheme covers.
    pub postcodes: usize,
    /// Count per outcome (`Band 1 (GBP 18.24/h)`, `spot price (GBP 18.24/h)`).
    pub outcomes: BTreeMap<String, usize>,
}

/// Why a lookup could not be answered.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Not a UK postcode.
    #[error(transparent)]
    BadPostcode(#[from] PostcodeError),
    /// A valid postcode that the dataset does not know.
    #[error("postcode {postcode} was not found{}", suggest_text(.suggestions))]
    UnknownPostcode {
        /// The normalised postcode.
        postcode: String,
        /// Known postcodes of the same sector.
        suggestions: Vec<String>,
    },
    /// Known, but without a position (a non-geographic or terminated postcode with none).
    #[error("postcode {postcode} is known but has no position (it is {status})")]
    NoPosition {
        /// The normalised postcode.
        postcode: String,
        /// `terminated` or `live`.
        status: &'static str,
    },
    /// A partial postcode with no known postcodes.
    #[error("no known postcodes in {0}")]
    UnknownArea(String),
    /// A coordinate out of range or not a number.
    #[error(transparent)]
    BadCoordinate(#[from] CoordError),
    /// BNG could not be converted.
    #[error("cannot convert the BNG point to WGS84: {0}")]
    Reproject(String),
}

fn suggest_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}

impl LookupError {
    /// True for "we understood you, but there is no such thing" (as opposed to bad input).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownPostcode { .. } | Self::NoPosition { .. } | Self::UnknownArea(_)
        )
    }
}

/// Answers a query on a date.
///
/// # Errors
/// [`LookupError`] for bad input or unknown postcodes.
pub fn lookup(ds: &Dataset, q: &Query, date: NaiveDate) -> Result<Answer, LookupError> {
    match q {
        Query::Postcode(text) => lookup_postcode(ds, text, date),
        Query::Point { lat, lon } => {
            let at = LonLat::new(*lon, *lat)?;
            Ok(Answer::Point(PointAnswer {
                query: format!("{lat},{lon}"),
                postcode: None,
                resolution: resolve(ds, at, date),
            }))
        }
        Query::Bng { easting, northing } => {
            let bng = Bng::new(*easting, *northing)?;
            let (lon, lat) = bng_to_wgs84(bng)?;
            let at = LonLat::new(lon, lat)?;
            Ok(Answer::Point(PointAnswer {
                query: format!("E {easting} N {northing}"),
                postcode: None,
                resolution: resolve(ds, at, date),
            }))
        }
    }
}

fn lookup_postcode(ds: &Dataset, text: &str, date: NaiveDate) -> Result<Answer, LookupError> {
    let parsed = postcode::parse(text)?;
    match &parsed {
        PostcodeQuery::Unit(pc) => {
            let Some(rec) = ds.postcodes.get(pc) else {
                return Err(LookupError::UnknownPostcode {
                    postcode: pc.to_string(),
                    suggestions: ds
                        .postcodes
                        .suggestions(pc, SUGGESTIONS)
                        .iter()
                        .map(|r| r.postcode.to_string())
                        .collect(),
                });
            };
            let Some(at) = rec.position else {
                return Err(LookupError::NoPosition {
                    postcode: pc.to_string(),
                    status: match rec.status {
                        PostcodeStatus::Live => "live",
                        PostcodeStatus::Terminated => "terminated",
                    },
                });
            };
            Ok(Answer::Point(PointAnswer {
                query: pc.to_string(),
                postcode: Some(rec.into()),
                resolution: resolve(ds, at, date),
            }))
        }
        partial => summarise(ds, partial, date).map(Answer::Area),
    }
}

fn summarise(ds: &Dataset, q: &PostcodeQuery, date: NaiveDate) -> Result<AreaSummary, LookupError> {
    let level = match q {
        PostcodeQuery::Sector(_) => "sector",
        PostcodeQuery::District(_) => "district",
        _ => "area",
    };
    let records: Vec<&PostcodeRecord> = ds
        .postcodes
        .matching(q)
        .into_iter()
        .filter(|r| r.status == PostcodeStatus::Live)
        .collect();
    if records.is_empty() {
        return Err(LookupError::UnknownArea(q.as_str().to_string()));
    }
    let mut outside = 0;
    let mut per_scheme: BTreeMap<String, SchemeSummary> = BTreeMap::new();
    for r in &records {
        let Some(at) = r.position else { continue };
        let res = resolve(ds, at, date);
        if !res.covered {
            outside += 1;
        }
        for s in res.schemes {
            let e = per_scheme
                .entry(s.scheme.clone())
                .or_insert_with(|| SchemeSummary {
                    scheme: s.scheme.clone(),
                    postcodes: 0,
                    outcomes: BTreeMap::new(),
                });
            e.postcodes += 1;
            let outcome = match &s.rate {
                Some(rate) => format!("{} ({} {:.2}/h)", rate.name, rate.currency, rate.hourly),
                None => s
                    .banding
                    .as_ref()
                    .and_then(|b| {
                        b.band
                            .as_ref()
                            .map(|b| format!("{} (no rate on {date})", b.name))
                    })
                    .unwrap_or_else(|| format!("no rate on {date}")),
            };
            *e.outcomes.entry(outcome).or_default() += 1;
        }
    }
    let schemes: Vec<SchemeSummary> = per_scheme.into_values().collect();
    let distinct: Vec<&String> = schemes.iter().flat_map(|s| s.outcomes.keys()).collect();
    let verdict = if outside == 0 && schemes.len() == 1 && distinct.len() == 1 {
        format!(
            "all {} live postcodes in {} are {}",
            records.len(),
            q.as_str(),
            distinct[0]
        )
    } else {
        format!(
            "{} spans more than one answer ({}{}): give the full postcode",
            q.as_str(),
            distinct
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if outside > 0 {
                format!(", {outside} outside coverage")
            } else {
                String::new()
            }
        )
    };
    Ok(AreaSummary {
        query: q.as_str().to_string(),
        level,
        postcodes: records.len(),
        outside_coverage: outside,
        schemes,
        verdict,
        date,
        dataset_version: ds.version.clone(),
    })
}

thread_local! {
    // PROJ transformers are not Send and cost a little to build: one per thread, built lazily.
    static BNG_TO_WGS84: Option<crate::reproject::BngToWgs84> =
        crate::reproject::BngToWgs84::new().ok();
}

fn bng_to_wgs84(bng: Bng) -> Result<(f64, f64), LookupError> {
    BNG_TO_WGS84.with(|t| match t {
        Some(t) => t
            .convert(bng.easting(), bng.northing())
            .map_err(|e| LookupError::Reproject(e.to_string())),
        None => Err(LookupError::Reproject(
            "PROJ could not build the EPSG:27700 to EPSG:4326 transformation".into(),
        )),
    })
}
