//! Point + date -> answer: the one place a scheme's rules are applied.
//!
//! Pure: reads only the in-memory [`Dataset`]. For every scheme whose region covers the point
//! it reports the region polygon that matched, the nearest open centre with its geodesic
//! distance, the band, the margin to the nearest band threshold and the hourly rate in force on
//! the date, each with the reason. A point no scheme covers gets an "outside coverage" answer,
//! never a made-up band.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::engine::answer::{
    AreaAnswer, BandOut, BandingAnswer, BoundaryOf, CentreOut, DecidedBy, Margin, NearBoundary,
    ProviderListAnswer, RateAnswer, RateKind, Resolution, SchemeAnswer,
};
use crate::engine::coord::{LonLat, metres_to_miles};
use crate::engine::dataset::{
    AreaMatch, Centre, Dataset, LoadedScheme, PostcodeRecord, PostcodeStatus, Probe,
};
use crate::engine::geo_index::PolygonMatch;

/// How far from its council's generalised polygon a postcode that ONS codes to the council
/// is looked for, to name the polygon in `region` (metres). Every live postcode of the shipped
/// data lies within 6 m; this only bounds the search.
pub const CODED_REGION_REACH_M: f64 = 5_000.0;

/// Resolves a point on a date against every loaded scheme. The point has no postcode, so the
/// scheme polygons decide which schemes answer (within each scheme's edge tolerance, flagged
/// `near_boundary`).
#[must_use]
pub fn resolve(ds: &Dataset, at: LonLat, date: NaiveDate) -> Resolution {
    let schemes: Vec<SchemeAnswer> = ds
        .schemes
        .iter()
        .filter_map(|s| resolve_scheme(s, at, date, None))
        .collect();
    finish(ds, at, date, schemes, None)
}

/// Resolves a postcode, at `at` (its position), on a date.
///
/// The postcode's own ONS codes decide the council: a scheme that lists `coverage.ons_codes`
/// answers exactly the postcodes whose county or district code it lists, wherever the
/// centroid falls. Within the scheme, the banded region, localities, zones and PCNs are still
/// decided by geometry under the scheme's one edge-tolerance rule. A postcode without codes
/// (terminated postcodes carry none) is decided by its position, as a point, and every answer
/// says so in its warnings.
#[must_use]
pub fn resolve_postcode(
    ds: &Dataset,
    rec: &PostcodeRecord,
    at: LonLat,
    date: NaiveDate,
) -> Resolution {
    let codes = [rec.county.as_deref(), rec.district.as_deref()];
    if codes.iter().all(Option::is_none) {
        let mut r = resolve(ds, at, date);
        let why = match rec.status {
            PostcodeStatus::Terminated => "is terminated and has no ONS codes",
            PostcodeStatus::Live => "has no ONS codes",
        };
        for s in &mut r.schemes {
            s.warnings.push(format!(
                "postcode {} {why}: the council was decided by its last known position, \
                 not by its codes",
                rec.postcode
            ));
        }
        return r;
    }
    let schemes: Vec<SchemeAnswer> = ds
        .schemes
        .iter()
        .filter_map(|s| {
            let c = &s.scheme.coverage;
            if c.ons_codes.is_empty() {
                // A scheme drawn on its own polygons: they decide for postcodes too.
                return resolve_scheme(s, at, date, None);
            }
            let code = c.ons_code_of(codes)?;
            resolve_scheme(s, at, date, Some(code))
        })
        .collect();
    finish(ds, at, date, schemes, Some(codes))
}

/// The schemes that answer a postcode, as [`resolve_postcode`] picks them: by the postcode's
/// ONS codes, or (for a scheme without `ons_codes`, or a postcode without codes) by its
/// position in the coverage polygons under the edge tolerance.
#[must_use]
pub fn schemes_of_postcode<'a>(
    ds: &'a Dataset,
    rec: &PostcodeRecord,
    at: Option<LonLat>,
) -> Vec<&'a LoadedScheme> {
    let codes = [rec.county.as_deref(), rec.district.as_deref()];
    let has_codes = codes.iter().any(Option::is_some);
    ds.schemes
        .iter()
        .filter(|s| {
            let c = &s.scheme.coverage;
            if has_codes && !c.ons_codes.is_empty() {
                return c.ons_code_of(codes).is_some();
            }
            at.is_some_and(|at| {
                s.layer(&c.layer).is_some_and(|l| {
                    !l.probe(at, &c.features, c.edge_tolerance_m)
                        .matched
                        .is_empty()
                })
            })
        })
        .collect()
}

fn finish(
    ds: &Dataset,
    at: LonLat,
    date: NaiveDate,
    schemes: Vec<SchemeAnswer>,
    codes: Option<[Option<&str>; 2]>,
) -> Resolution {
    let covered = !schemes.is_empty();
    Resolution {
        point: at.into(),
        date,
        dataset_version: ds.version.clone(),
        covered,
        outside_reason: (!covered).then(|| match codes {
            None => {
                let names: Vec<&str> = ds.schemes.iter().map(|s| s.scheme.name.as_str()).collect();
                format!(
                    "the point is outside every loaded scheme's area ({})",
                    names.join("; ")
                )
            }
            Some([county, district]) => {
                let listed: Vec<String> = ds
                    .schemes
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s.scheme.council,
                            s.scheme.coverage.ons_codes.join(", ")
                        )
                    })
                    .collect();
                format!(
                    "ONS codes this postcode to {}district {}, a council no loaded scheme \
                     covers ({})",
                    county.map(|c| format!("county {c}, ")).unwrap_or_default(),
                    district.unwrap_or("unknown"),
                    listed.join("; ")
                )
            }
        }),
        schemes,
    }
}

/// The scheme's answer. `code` is the postcode's ONS code that picked the scheme; `None` for
/// a point (or a postcode without codes), which the coverage polygons decide.
#[expect(
    clippy::too_many_lines,
    reason = "one pass over a scheme's rules in the order the answer states them: coverage, \
              banding, rate, areas, providers; split, each step would take a dozen locals"
)]
fn resolve_scheme(
    ls: &LoadedScheme,
    at: LonLat,
    date: NaiveDate,
    code: Option<&str>,
) -> Option<SchemeAnswer> {
    let s = &ls.scheme;
    let tolerance_m = s.coverage.edge_tolerance_m;
    let coverage_layer = ls.layer(&s.coverage.layer)?;
    let coverage_probe = coverage_layer.probe(at, &s.coverage.features, tolerance_m);
    let coverage = coverage_probe.matched.clone();
    let mut near_boundary = Vec::new();
    let mut coded_warning = None;
    let (region, decided_by) = if let Some(code) = code {
        let region = coverage.first().cloned().or_else(|| {
            let far = coverage_layer.matching(at, &s.coverage.features, CODED_REGION_REACH_M);
            if far.is_empty() {
                coded_warning = Some(format!(
                    "the postcode lies more than {CODED_REGION_REACH_M:.0} m from {}'s polygons; \
                     its ONS code {code} puts it in {}",
                    s.name, s.council
                ));
            }
            far.into_iter().next()
        });
        let region = region.or_else(|| {
            coverage_layer
                .index
                .iter()
                .map(|(_, f)| f)
                .find(|f| f.id == code)
                .or_else(|| coverage_layer.index.iter().map(|(_, f)| f).next())
                .map(|f| AreaMatch {
                    layer: coverage_layer.id.clone(),
                    id: f.id.clone(),
                    name: f.name.clone(),
                    how: PolygonMatch::WithinTolerance {
                        distance_m: CODED_REGION_REACH_M,
                    },
                })
        })?;
        (region, DecidedBy::OnsCode(code.into()))
    } else {
        let region = coverage.first()?.clone();
        near_boundary.extend(coverage_edge(ls, &coverage_probe, &region, tolerance_m));
        let by = DecidedBy::Polygon(region.id.clone());
        (region, by)
    };
    let mut notes = s.notes.clone();
    let rates = s.rates_on(date);
    if rates.is_none() {
        notes.push(format!("{} has no rates in force on {date}", s.name).into());
    }
    let mut illustrative = s.illustrative || layer_illustrative(ls, &s.coverage.layer);
    let (banding, rate) = match &s.banding {
        None => (
            None,
            rates.map(|r| standard_rate(s, r, format!("{}: one rate for the whole area", s.name))),
        ),
        Some(b) => {
            illustrative |= layer_illustrative(ls, &b.region_layer);
            let region_probe = ls
                .layer(&b.region_layer)
                .map(|l| l.probe(at, &b.region_features, tolerance_m));
            let banded_region = region_probe
                .as_ref()
                .and_then(|p| p.matched.first().cloned());
            if let Some(p) = &region_probe {
                let standard = rates.map_or("standard rate", |r| r.standard_name.as_str());
                near_boundary.extend(banded_edge(b, p, banded_region.is_some(), standard));
            }
            let nearest = ls
                .centres
                .as_ref()
                .and_then(|c| c.nearest(at, |c: &Centre| c.open_on(date)));
            let in_region = banded_region.is_some();
            let distance_m = nearest.as_ref().map(|n| n.distance_m);
            let band_idx = distance_m.filter(|_| in_region).map(|d| b.band_index(d));
            let thresholds = b.thresholds_m();
            let margin = distance_m.filter(|_| in_region).and_then(|d| {
                let (i, t) = thresholds
                    .iter()
                    .enumerate()
                    .min_by(|x, y| (x.1 - d).abs().total_cmp(&(y.1 - d).abs()))?;
                let here = b.band_index(d);
                let other = if here <= i { i + 1 } else { i };
                Some(Margin {
                    threshold_miles: b.thresholds_miles[i],
                    margin_m: (t - d).abs(),
                    margin_miles: metres_to_miles((t - d).abs()),
                    other_band: b.band_names.get(other).cloned().unwrap_or_default(),
                })
            });
            let near_threshold = margin
                .as_ref()
                .is_some_and(|m| m.margin_m <= b.near_threshold_m);
            if nearest.is_none() {
                notes.push(format!("no centre that counts was open on {date}").into());
            }
            let band = band_idx.map(|i| {
                let (from_miles, to_miles) = b.span_miles(i);
                BandOut {
                    number: i + 1,
                    name: b.band_names.get(i).cloned().unwrap_or_default(),
                    from_miles,
                    to_miles,
                }
            });
            let rate = rates.and_then(|r| match (&band, in_region) {
                (Some(band), true) => {
                    r.band_hourly
                        .get(band.number - 1)
                        .map(|&hourly| RateAnswer {
                            hourly,
                            currency: s.currency.clone(),
                            kind: RateKind::Band,
                            name: band.name.clone(),
                            effective_from: r.from,
                            effective_to: r.to,
                            reason: format!(
                                "inside {}; nearest centre {:.2} miles away, which is {}",
                                b.region_name,
                                distance_m.map_or(0.0, metres_to_miles),
                                band.name
                            ),
                            source: r.source.clone(),
                        })
                }
                (None, true) => None,
                (_, false) => Some(standard_rate(
                    s,
                    r,
                    format!(
                        "outside {}: the {} applies, not a band rate",
                        b.region_name, r.standard_name
                    ),
                )),
            });
            let answer = BandingAnswer {
                region_name: b.region_name.clone(),
                in_banded_region: in_region,
                banded_region,
                centre_rule: b.centre_rule.clone(),
                nearest_centre: nearest.as_ref().map(|n| CentreOut {
                    code: n.item.code.clone(),
                    name: n.item.name.clone(),
                    postcode: n.item.postcode.clone(),
                    lat: n.position.lat(),
                    lon: n.position.lon(),
                }),
                distance_m,
                distance_miles: distance_m.map(metres_to_miles),
                distance_method: b.distance_method.description(),
                band,
                thresholds_miles: b.thresholds_miles.clone(),
                on_threshold: b.on_threshold,
                margin,
                near_threshold,
                near_threshold_m: b.near_threshold_m,
            };
            (Some(answer), rate)
        }
    };
    // Unrestricted, the coverage match is what the coverage layer's role match would be.
    let coverage_reuse = s
        .coverage
        .features
        .is_empty()
        .then_some(coverage.as_slice());
    let (areas, mut warnings) = match_areas(ls, at, coverage_reuse, &mut near_boundary);
    warnings.extend(coded_warning);
    warnings.extend(near_boundary.iter().map(|n| n.message.clone()));
    let providers = provider_lists(ls, &areas, date);
    if !s.provider_lists.is_empty() && providers.is_empty() {
        warnings.push(format!(
            "no provider list of {} is in force here on {date}",
            s.name
        ));
    }
    illustrative |=
        areas.iter().any(|a| a.illustrative) || providers.iter().any(|p| p.illustrative);
    let mut answer = SchemeAnswer {
        scheme: s.id.clone(),
        name: s.name.clone(),
        scheme_version: s.version.clone(),
        illustrative,
        region,
        decided_by,
        near_boundary,
        banding,
        rate,
        areas,
        providers,
        notes,
        warnings,
        currency: None,
        provider_currency: Vec::new(),
        layer_dates: Vec::new(),
    };
    crate::engine::currency::annotate(ls, date, &mut answer);
    Some(answer)
}

/// Every feature of every role layer that holds the point, under the scheme's one
/// edge-tolerance rule ([`crate::engine::dataset::Layer::probe`]). None, or more than one per
/// layer (a shared border or an overlap), is reported as a warning: nothing is picked
/// silently. A boundary with another feature of the layer within the tolerance, or a match by
/// the tolerance itself, is added to `near`.
///
/// `coverage`, when given, is the coverage layer's unrestricted match for the point, used
/// instead of matching that layer again.
fn match_areas(
    ls: &LoadedScheme,
    at: LonLat,
    coverage: Option<&[AreaMatch]>,
    near: &mut Vec<NearBoundary>,
) -> (Vec<AreaAnswer>, Vec<String>) {
    let s = &ls.scheme;
    let tolerance_m = s.coverage.edge_tolerance_m;
    let mut areas = Vec::new();
    let mut warnings = Vec::new();
    for spec in &s.layers {
        let (Some(role), Some(layer)) = (&spec.role, ls.layer(&spec.id)) else {
            continue;
        };
        let matched = match coverage {
            Some(known) if spec.id == s.coverage.layer => known.to_vec(),
            _ => {
                let probe = layer.probe(at, &[], tolerance_m);
                near.extend(area_edge(*role, &layer.id, &probe, tolerance_m));
                probe.matched
            }
        };
        match matched.len() {
            0 => warnings.push(format!("no {role} of layer {} holds this point", spec.id)),
            1 => {}
            _ => warnings.push(format!(
                "the point is on a shared border (or in an overlap) of {role}s {}: all are listed",
                matched
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        }
        areas.extend(matched.into_iter().map(|m| AreaAnswer {
            role: *role,
            matched: m,
            illustrative: spec.illustrative,
            method: spec.method.clone(),
        }));
    }
    (areas, warnings)
}

/// The coverage edge near a point the polygons decided: a match by the tolerance, or a point
/// inside within the tolerance of the edge (beyond it lies another council).
fn coverage_edge(
    ls: &LoadedScheme,
    probe: &Probe<'_>,
    region: &AreaMatch,
    tolerance_m: f64,
) -> Option<NearBoundary> {
    let s = &ls.scheme;
    let outside = format!("outside {}: not {}", region.name, s.name);
    let (distance_m, message) = match region.how {
        PolygonMatch::WithinTolerance { distance_m } => (
            distance_m,
            format!(
                "{distance_m:.0} m outside the edge of {}: answered as inside it by the \
                 {tolerance_m:.0} m edge tolerance; the address may be in another council",
                region.name
            ),
        ),
        PolygonMatch::Covered => {
            let d = probe.own_edge_m()?;
            (
                d,
                format!(
                    "{d:.0} m from the edge of {}: outside it {} does not apply",
                    region.name, s.name
                ),
            )
        }
    };
    Some(NearBoundary {
        of: BoundaryOf::Coverage,
        layer: region.layer.clone(),
        distance_m,
        this_side: region.name.to_string(),
        other_side: outside,
        message,
    })
}

/// The banded region's edge near a point: a boundary within the tolerance with a feature on
/// the other side of the in/out line, or a match by the tolerance.
fn banded_edge(
    b: &crate::engine::scheme::Banding,
    probe: &Probe<'_>,
    inside: bool,
    standard: &str,
) -> Option<NearBoundary> {
    let in_region = |id: &str| b.region_features.iter().any(|f| f == id);
    let by_tolerance = probe.matched.first().and_then(|m| match m.how {
        PolygonMatch::WithinTolerance { distance_m } => Some(distance_m),
        PolygonMatch::Covered => None,
    });
    let across = probe
        .nearest_other(|f| in_region(&f.id) != inside)
        .map(|e| e.distance_m);
    let distance_m = match (by_tolerance, across) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let inside_name = format!("inside {}: a band rate", b.region_name);
    let outside_name = format!("outside {}: the {standard}", b.region_name);
    let (this_side, other_side, message) = if inside {
        (
            inside_name,
            outside_name,
            format!(
                "{distance_m:.0} m from the edge of {}: outside it the {standard} applies",
                b.region_name
            ),
        )
    } else {
        (
            outside_name,
            inside_name,
            format!(
                "{distance_m:.0} m from the edge of {}: inside it a band rate applies",
                b.region_name
            ),
        )
    };
    Some(NearBoundary {
        of: BoundaryOf::BandedRegion,
        layer: b.region_layer.as_str().into(),
        distance_m,
        this_side,
        other_side,
        message,
    })
}

/// An area layer's boundary near a point: another feature within the tolerance, or a match by
/// the tolerance (no feature of the layer holds the point itself).
fn area_edge(
    role: crate::engine::scheme::AreaRole,
    layer: &crate::Text,
    probe: &Probe<'_>,
    tolerance_m: f64,
) -> Option<NearBoundary> {
    let here = probe.matched.first();
    let this_side = here.map_or_else(|| format!("no {role}"), |m| m.name.to_string());
    if let Some(e) = probe.nearest_other(|_| true) {
        return Some(NearBoundary {
            of: BoundaryOf::Area(role),
            layer: layer.clone(),
            distance_m: e.distance_m,
            message: format!(
                "{:.0} m from the edge of {role} {this_side}: on the other side is {role} {}",
                e.distance_m, e.feature.name
            ),
            this_side,
            other_side: e.feature.name.to_string(),
        });
    }
    let m = here?;
    let PolygonMatch::WithinTolerance { distance_m } = m.how else {
        return None;
    };
    Some(NearBoundary {
        of: BoundaryOf::Area(role),
        layer: layer.clone(),
        distance_m,
        message: format!(
            "{distance_m:.0} m outside {role} {}, the nearest within the {tolerance_m:.0} m \
             edge tolerance: no {role} holds the point itself",
            m.name
        ),
        this_side,
        other_side: format!("no {role}"),
    })
}

/// The provider lists in force on `date` for the matched areas, day service first.
fn provider_lists(
    ls: &LoadedScheme,
    areas: &[AreaAnswer],
    date: NaiveDate,
) -> Vec<ProviderListAnswer> {
    let s = &ls.scheme;
    let mut out: Vec<ProviderListAnswer> = Vec::new();
    for (list, tiers) in s
        .provider_lists
        .iter()
        .zip(&ls.provider_tiers)
        .filter(|(l, _)| l.applies_on(date))
    {
        for a in areas.iter().filter(|a| {
            a.matched.layer == list.layer && list.areas.iter().any(|id| a.matched.id == *id)
        }) {
            out.push(ProviderListAnswer {
                service: list.service,
                area_role: a.role,
                area_id: a.matched.id.clone(),
                valid_from: list.from,
                valid_to: list.to,
                tiers: Arc::clone(tiers),
                illustrative: list.illustrative || a.illustrative,
                source: list.source.clone(),
                note: list.note.clone(),
            });
        }
    }
    // Stable: within a service, lists keep the scheme's order.
    out.sort_by_key(|p| p.service);
    out
}

fn layer_illustrative(ls: &LoadedScheme, id: &str) -> bool {
    ls.layer(id).is_some_and(|l| l.illustrative)
}

fn standard_rate(
    s: &crate::engine::scheme::Scheme,
    r: &crate::engine::scheme::RatePeriod,
    reason: String,
) -> RateAnswer {
    RateAnswer {
        hourly: r.standard_hourly,
        currency: s.currency.clone(),
        kind: RateKind::Standard,
        name: r.standard_name.clone(),
        effective_from: r.from,
        effective_to: r.to,
        reason,
        source: r.source.clone(),
    }
}
