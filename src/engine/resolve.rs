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
    AreaAnswer, BandOut, BandingAnswer, CentreOut, Margin, ProviderListAnswer, RateAnswer,
    RateKind, Resolution, SchemeAnswer,
};
use crate::engine::coord::{LonLat, metres_to_miles};
use crate::engine::dataset::{AreaMatch, Centre, Dataset, LoadedScheme};

/// Resolves a point on a date against every loaded scheme.
#[must_use]
pub fn resolve(ds: &Dataset, at: LonLat, date: NaiveDate) -> Resolution {
    let schemes: Vec<SchemeAnswer> = ds
        .schemes
        .iter()
        .filter_map(|s| resolve_scheme(s, at, date))
        .collect();
    let covered = !schemes.is_empty();
    Resolution {
        point: at.into(),
        date,
        dataset_version: ds.version.clone(),
        covered,
        outside_reason: (!covered).then(|| {
            let names: Vec<&str> = ds.schemes.iter().map(|s| s.scheme.name.as_str()).collect();
            format!(
                "the point is outside every loaded scheme's area ({})",
                names.join("; ")
            )
        }),
        schemes,
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one pass over a scheme's rules in the order the answer states them: coverage, \
              banding, rate, areas, providers; split, each step would take a dozen locals"
)]
fn resolve_scheme(ls: &LoadedScheme, at: LonLat, date: NaiveDate) -> Option<SchemeAnswer> {
    let s = &ls.scheme;
    let coverage = ls.layer(&s.coverage.layer)?.matching(
        at,
        &s.coverage.features,
        s.coverage.edge_tolerance_m,
    );
    let region = coverage.first()?.clone();
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
            let banded_region = ls
                .layer(&b.region_layer)
                .and_then(|l| l.matching(at, &b.region_features, 0.0).into_iter().next());
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
    let (areas, mut warnings) = match_areas(ls, at, coverage_reuse);
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

/// Every feature of every role layer that holds the point. None, or more than one per layer
/// (a shared border or an overlap), is reported as a warning: nothing is picked silently.
///
/// `coverage`, when given, is the coverage layer's unrestricted match for the point, used
/// instead of matching that layer again.
fn match_areas(
    ls: &LoadedScheme,
    at: LonLat,
    coverage: Option<&[AreaMatch]>,
) -> (Vec<AreaAnswer>, Vec<String>) {
    let s = &ls.scheme;
    let mut areas = Vec::new();
    let mut warnings = Vec::new();
    for spec in &s.layers {
        let (Some(role), Some(layer)) = (&spec.role, ls.layer(&spec.id)) else {
            continue;
        };
        let matched = match coverage {
            Some(known) if spec.id == s.coverage.layer => known.to_vec(),
            _ => layer.matching(at, &[], s.coverage.edge_tolerance_m),
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
