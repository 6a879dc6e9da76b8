//! Queries as users type them (a postcode, a partial postcode, a WGS84 point, a BNG point or
//! free text naming a place or road) turned into answers, with the error a user needs when the
//! query cannot be answered.
//!
//! Shared by the CLI, the HTTP API and batch mode, so all three answer alike.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::engine::answer::{
    Answer, AnswerPart, AnswerSource, AreaSummary, ExtentSummary, PartValues, PlaceCandidate,
    PlacesAnswer, PointAnswer, PostcodeFacts, Precision, Resolution, SchemeAnswer, SchemeSummary,
    SummaryLevel,
};
use crate::engine::budget::{Budget, OverBudget};
use crate::engine::coord::{Bng, CoordError, LonLat};
use crate::engine::currency;
use crate::engine::dataset::{Dataset, PostcodeRecord, PostcodeStatus};
use crate::engine::gazetteer::{Candidate, PlaceKind, PlaceSource};
use crate::engine::postcode::{self, PostcodeError, PostcodeQuery};
use crate::engine::query::Query;
use crate::engine::resolve::{resolve, resolve_postcode};
use crate::engine::scheme::{AreaRole, Service};

/// Most postcodes resolved to summarise one candidate's extent; larger extents are sampled
/// evenly (and say so).
pub const EXTENT_SAMPLE: usize = 1_500;

/// How many "did you mean" postcodes to offer.
pub const SUGGESTIONS: usize = 5;

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
    #[error(transparent)]
    Reproject(#[from] crate::engine::coord::TransformError),
    /// Free text that names no known place or road.
    #[error("no place or road called {text:?} was found{}{}", suggest_text(.suggestions), note_text(.notes))]
    NoPlace {
        /// The text as asked.
        text: String,
        /// Names that start like it.
        suggestions: Vec<String>,
        /// Notes on the attempt (an external geocoder that could not be used).
        notes: Vec<String>,
    },
    /// Free text with nothing in it.
    #[error("the text is empty: give a postcode, a road and town, or a place name")]
    EmptyText,
    /// The query needs more postcodes resolved than its [`Budget`] has left.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

fn note_text(notes: &[String]) -> String {
    notes.iter().fold(String::new(), |mut text, n| {
        text.push_str(" (");
        text.push_str(n);
        text.push(')');
        text
    })
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
            Self::UnknownPostcode { .. }
                | Self::NoPosition { .. }
                | Self::UnknownArea(_)
                | Self::NoPlace { .. }
        )
    }
}

/// Answers a query on a date, with no limit on the work.
///
/// # Errors
/// [`LookupError`] for bad input or unknown postcodes.
pub fn lookup(ds: &Dataset, q: &Query, date: NaiveDate) -> Result<Answer, LookupError> {
    lookup_within(ds, q, date, &Budget::unlimited())
}

/// Answers a query on a date, spending from `budget` one unit per postcode resolved for an
/// area summary or a place's extent (a full postcode or a point costs nothing). The budget is
/// checked before each summary or extent, so a refused query has done none of that work.
///
/// # Errors
/// [`LookupError`] for bad input or unknown postcodes; [`LookupError::OverBudget`] when the
/// work does not fit in what is left of `budget`.
pub fn lookup_within(
    ds: &Dataset,
    q: &Query,
    date: NaiveDate,
    budget: &Budget,
) -> Result<Answer, LookupError> {
    match q {
        Query::Postcode(text) => lookup_postcode(ds, text, date, budget),
        Query::Point { lat, lon } => {
            let at = LonLat::new(*lon, *lat)?;
            Ok(exact_point(ds, format!("{lat},{lon}"), at, date))
        }
        Query::Text(text) => lookup_text(ds, text, date, budget),
        Query::Bng { easting, northing } => {
            let bng = Bng::new(*easting, *northing)?;
            let at = ds.grid.to_lon_lat(bng)?;
            Ok(exact_point(
                ds,
                format!("E {easting} N {northing}"),
                at,
                date,
            ))
        }
    }
}

/// The answer for a point given as such (WGS84 or BNG): resolved where it is.
fn exact_point(ds: &Dataset, query: String, at: LonLat, date: NaiveDate) -> Answer {
    let resolution = resolve(ds, at, date);
    Answer::Point(PointAnswer {
        query,
        warnings: currency::point_warnings(&resolution),
        postcode: None,
        source: AnswerSource::Point,
        precision: Precision::ExactPoint,
        geocoded: None,
        notes: Vec::new(),
        resolution,
    })
}

fn lookup_postcode(
    ds: &Dataset,
    text: &str,
    date: NaiveDate,
    budget: &Budget,
) -> Result<Answer, LookupError> {
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
            let mut resolution = resolve_postcode(ds, rec, at, date);
            let mut facts: PostcodeFacts = rec.into();
            let mut warnings = Vec::new();
            if rec.status == PostcodeStatus::Terminated {
                // The NSPL extract gives no termination date: say so, in every scheme's
                // warnings too.
                let w = currency::terminated_warning(pc.as_str());
                for s in &mut resolution.schemes {
                    s.warnings.insert(0, w.clone());
                }
                facts.warning = Some(w.clone());
                warnings.push(w);
            }
            warnings.extend(currency::point_warnings(&resolution));
            Ok(Answer::Point(PointAnswer {
                query: pc.as_str().to_owned(),
                warnings,
                postcode: Some(facts),
                source: AnswerSource::Postcode,
                precision: Precision::PostcodeCentroid,
                geocoded: None,
                notes: Vec::new(),
                resolution,
            }))
        }
        partial => summarise(ds, partial, date, budget).map(Answer::Area),
    }
}

fn summarise(
    ds: &Dataset,
    q: &PostcodeQuery,
    date: NaiveDate,
    budget: &Budget,
) -> Result<AreaSummary, LookupError> {
    let level = match q {
        PostcodeQuery::Sector(_) => SummaryLevel::Sector,
        PostcodeQuery::District(_) => SummaryLevel::District,
        _ => SummaryLevel::Area,
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
    budget.spend(records.len() as u64)?;
    let mut outside = 0;
    let mut per_scheme: BTreeMap<String, SchemeSummary> = BTreeMap::new();
    for r in &records {
        let Some(at) = r.position else { continue };
        let res = resolve_postcode(ds, r, at, date);
        if !res.covered {
            outside += 1;
        }
        for s in res.schemes {
            let e = per_scheme
                .entry(s.scheme.to_string())
                .or_insert_with(|| SchemeSummary {
                    scheme: s.scheme.to_string(),
                    postcodes: 0,
                    outcomes: BTreeMap::new(),
                });
            e.postcodes += 1;
            *e.outcomes.entry(outcome(&s, date)).or_default() += 1;
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
        source: AnswerSource::Postcode,
        level,
        postcodes: records.len(),
        outside_coverage: outside,
        schemes,
        verdict,
        date,
        dataset_version: ds.version.to_string(),
    })
}

/// One scheme's answer as a short label: `Band 1 (GBP 18.24/h)`, `spot price (GBP 18.24/h)`.
fn outcome(s: &SchemeAnswer, date: NaiveDate) -> String {
    match &s.rate {
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
    }
}

/// Every outcome of a resolution (one per covering scheme), or `outside coverage`.
fn outcomes_of(r: &Resolution) -> Vec<String> {
    if r.covered {
        r.schemes.iter().map(|s| outcome(s, r.date)).collect()
    } else {
        vec![OUTSIDE.to_string()]
    }
}

const OUTSIDE: &str = "outside coverage";

/// Free text: a postcode in it wins; a whole-text partial postcode is summarised; anything
/// else is read by the gazetteer into ranked candidates.
fn lookup_text(
    ds: &Dataset,
    text: &str,
    date: NaiveDate,
    budget: &Budget,
) -> Result<Answer, LookupError> {
    if !text.chars().any(char::is_alphanumeric) {
        return Err(LookupError::EmptyText);
    }
    if postcode::parse(text).is_ok() {
        return lookup_postcode(ds, text, date, budget);
    }
    let found = ds.places.find_preferring(text, |p| in_coverage(ds, p.at));
    if let Some(pc) = &found.understood.postcode {
        return lookup_postcode(ds, pc, date, budget);
    }
    if found.candidates.is_empty() {
        return Err(LookupError::NoPlace {
            text: text.trim().to_string(),
            suggestions: ds
                .places
                .suggest(text, SUGGESTIONS)
                .into_iter()
                .map(|s| s.label)
                .collect(),
            notes: Vec::new(),
        });
    }
    let stands_out = found.best_tied == 1;
    let candidates: Vec<PlaceCandidate> = found
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| candidate(ds, c, i + 1, date, budget))
        .collect::<Result<_, _>>()?;
    let differs = if stands_out {
        candidates[0].extent.differs.clone()
    } else {
        Vec::new()
    };
    // Clear only when nothing asked for was left unfound and every part of the one
    // candidate's answer agrees across its postcodes.
    let clear = stands_out && differs.is_empty() && found.not_found.is_empty();
    let message = if stands_out {
        let c = &candidates[0];
        if found.not_found.is_empty() {
            format!("{}: {}", c.label, c.extent.verdict)
        } else {
            // Say first what was not found, then what the answer is for.
            format!(
                "{}. {}: {}",
                found.notes.join("; "),
                c.label,
                c.extent.verdict
            )
        }
    } else {
        format!(
            "{} places or roads match {:?} equally{}: choose one, or give the postcode",
            found.best_tied,
            text.trim(),
            if found.best_tied > candidates.len() {
                format!(" (the first {} are listed)", candidates.len())
            } else {
                String::new()
            }
        )
    };
    Ok(Answer::Places(PlacesAnswer {
        query: text.trim().to_string(),
        source: AnswerSource::Gazetteer,
        understood: found.understood,
        clear,
        stands_out,
        differs,
        not_found: found.not_found,
        message,
        candidates,
        notes: found.notes,
        date,
        dataset_version: ds.version.to_string(),
    }))
}

/// Whether any loaded scheme's coverage area takes in `at`.
fn in_coverage(ds: &Dataset, at: LonLat) -> bool {
    ds.schemes.iter().any(|s| {
        let c = &s.scheme.coverage;
        s.layer(&c.layer)
            .is_some_and(|l| !l.matching(at, &c.features, c.edge_tolerance_m).is_empty())
    })
}

fn candidate(
    ds: &Dataset,
    c: &Candidate<'_>,
    rank: usize,
    date: NaiveDate,
    budget: &Budget,
) -> Result<PlaceCandidate, OverBudget> {
    let p = c.place;
    let (precision, precision_note) = match (p.kind, p.source) {
        (PlaceKind::Road, _) => (
            Precision::RoadPoint,
            "a point on the road from OS Open Names; a house elsewhere on the road may be in another band".to_string(),
        ),
        (_, PlaceSource::MsoaNames) => (
            Precision::NeighbourhoodPoint,
            "a point inside the neighbourhood's census area (MSOA, about 7,000 people), not its centre".to_string(),
        ),
        (_, PlaceSource::Geonames) => (
            Precision::PlaceCentre,
            "the place's GeoNames point, which can be a few hundred metres off".to_string(),
        ),
        (_, PlaceSource::OsOpenNames) => (
            Precision::PlaceCentre,
            "the settlement's OS Open Names point".to_string(),
        ),
    };
    let resolution = resolve(ds, p.at, date);
    let extent = extent(ds, c, &resolution, date, budget)?;
    Ok(PlaceCandidate {
        rank,
        label: p.label(),
        name: p.name.clone(),
        kind: p.kind,
        locality: p.locality.clone(),
        near: p.near.clone(),
        district: p.district.clone(),
        source: p.source,
        matched: c.matched,
        precision,
        precision_note,
        resolution,
        extent,
    })
}

/// Resolves the live postcodes of a candidate's extent (evenly sampled beyond
/// [`EXTENT_SAMPLE`]) and says whether they and the point agree, part by part.
fn extent(
    ds: &Dataset,
    c: &Candidate<'_>,
    at_point: &Resolution,
    date: NaiveDate,
    budget: &Budget,
) -> Result<ExtentSummary, OverBudget> {
    let (ids, basis) = ds.places.extent_postcodes(c.place);
    let step = ids.len().div_ceil(EXTENT_SAMPLE).max(1);
    budget.spend(ids.len().div_ceil(step) as u64)?;
    let records = ds.postcodes.records();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut resolved = 0;
    let mut outside = 0;
    // Per part, the values met: keyed by the compared value, holding what a person reads.
    let mut seen: BTreeMap<AnswerPart, BTreeMap<String, String>> = BTreeMap::new();
    let mut note = |r: &Resolution| {
        for (part, key, shown) in parts_of(r) {
            seen.entry(part).or_default().entry(key).or_insert(shown);
        }
    };
    note(at_point);
    for &i in ids.iter().step_by(step) {
        let Some((rec, at)) = records.get(i as usize).and_then(|r| Some((r, r.position?))) else {
            continue;
        };
        let r = resolve_postcode(ds, rec, at, date);
        resolved += 1;
        if !r.covered {
            outside += 1;
        }
        for o in outcomes_of(&r) {
            *outcomes.entry(o).or_default() += 1;
        }
        note(&r);
    }
    let alternatives: Vec<PartValues> = seen
        .into_iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|(part, values)| {
            let mut values: Vec<String> = values.into_values().collect();
            values.sort_unstable();
            values.dedup();
            PartValues { part, values }
        })
        .collect();
    let differs: Vec<AnswerPart> = alternatives.iter().map(|a| a.part).collect();
    let point = outcomes_of(at_point);
    let mut distinct: Vec<&str> = outcomes.keys().map(String::as_str).collect();
    for o in &point {
        if !distinct.contains(&o.as_str()) {
            distinct.push(o);
        }
    }
    distinct.sort_unstable();
    let spans = distinct.len() > 1 || !differs.is_empty();
    let what = match c.place.kind {
        PlaceKind::Road => "the house's postcode",
        _ => "the postcode",
    };
    let parts_text = || {
        let words: Vec<&str> = differs.iter().map(|p| p.words()).collect();
        join_and(&words)
    };
    let verdict = if distinct.len() > 1 {
        format!(
            "{} spans {} ({} differ{}): give {what}",
            c.place.name,
            join_and(&distinct),
            parts_text(),
            if differs.len() == 1 { "s" } else { "" }
        )
    } else if spans {
        format!(
            "{}: {} at every postcode, but they differ in {}: give {what}",
            c.place.name,
            point.join(", "),
            parts_text()
        )
    } else if resolved == 0 {
        format!(
            "{} at its point; no postcode lies in its extent to confirm it",
            point.join(", ")
        )
    } else {
        format!(
            "{}: the point and all {resolved} postcodes counted agree in band, rate, areas and providers",
            point.join(", ")
        )
    };
    Ok(ExtentSummary {
        basis: if step > 1 {
            format!("{basis}; every {step}th of {} resolved", ids.len())
        } else {
            basis
        },
        postcodes: ids.len(),
        resolved,
        outside_coverage: outside,
        outcomes,
        spans_more_than_one: spans,
        verdict,
        differs,
        alternatives,
    })
}

/// Every part of a resolution that the extent check compares, as (part, value compared,
/// value shown). Schemes are taken in id order, so equal answers give equal values.
fn parts_of(r: &Resolution) -> Vec<(AnswerPart, String, String)> {
    let mut out = Vec::with_capacity(AnswerPart::ALL.len());
    let joined = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join("; ")
        }
    };
    let coverage: Vec<String> = r.schemes.iter().map(|s| s.name.to_string()).collect();
    let shown = if r.covered {
        joined(coverage)
    } else {
        OUTSIDE.to_string()
    };
    out.push((AnswerPart::Coverage, shown.clone(), shown));
    let bands: Vec<String> = r
        .schemes
        .iter()
        .filter_map(|s| s.banding.as_ref())
        .map(|b| {
            b.band.as_ref().map_or_else(
                || "no band (outside the banded region)".to_string(),
                |b| b.name.to_string(),
            )
        })
        .collect();
    let bands = joined(bands);
    out.push((AnswerPart::Band, bands.clone(), bands));
    let rates = joined(r.schemes.iter().map(|s| outcome(s, r.date)).collect());
    out.push((AnswerPart::Rate, rates.clone(), rates));
    for (part, role) in [
        (AnswerPart::Zone, AreaRole::Zone),
        (AnswerPart::NightZone, AreaRole::NightZone),
        (AnswerPart::Pcn, AreaRole::Pcn),
        (AnswerPart::Locality, AreaRole::Locality),
        (AnswerPart::County, AreaRole::County),
    ] {
        let (keys, names): (Vec<String>, Vec<String>) = r
            .schemes
            .iter()
            .flat_map(|s| &s.areas)
            .filter(|a| a.role == role)
            .map(|a| {
                (
                    format!("{}/{}", a.matched.layer, a.matched.id),
                    a.matched.name.to_string(),
                )
            })
            .unzip();
        out.push((part, joined(keys), joined(names)));
    }
    for (part, service) in [
        (AnswerPart::ProvidersDay, Service::Day),
        (AnswerPart::ProvidersNight, Service::Night),
        (AnswerPart::ProvidersRapidResponse, Service::RapidResponse),
    ] {
        let lists: Vec<String> = r
            .schemes
            .iter()
            .flat_map(|s| &s.providers)
            .filter(|l| l.service == service)
            .map(|l| {
                l.tiers
                    .iter()
                    .map(|t| {
                        let names: Vec<&str> = t.providers.iter().map(|p| &*p.name).collect();
                        format!("{}: {}", t.tier.as_str(), names.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect();
        let lists = joined(lists);
        out.push((part, lists.clone(), lists));
    }
    out
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
