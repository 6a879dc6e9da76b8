//! Point + date -> answer: the one place a scheme's rules are applied.
//!
//! Pure: reads only the in-memory [`Dataset`]. For every scheme whose region covers the point
//! it reports the region polygon that matched, the nearest open centre with its geodesic
//! distance, the band, the margin to the nearest band threshold and the hourly rate in force on
//! the date, each with the reason. A point no scheme covers gets an "outside coverage" answer,
//! never a made-up band.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use crate::Text;
use crate::coord::{DISTANCE_METHOD, LonLat, metres_to_miles};
use crate::dataset::{AreaMatch, Centre, Dataset, LoadedScheme};

/// The full answer for one point on one date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resolution {
    /// The point resolved.
    pub point: PointOut,
    /// The date rates and centres were taken for.
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: Text,
    /// True when at least one scheme covers the point.
    pub covered: bool,
    /// One answer per covering scheme, in scheme id order.
    pub schemes: Vec<SchemeAnswer>,
    /// Why nothing answered, when `covered` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_reason: Option<String>,
}

/// A WGS84 point in output.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct PointOut {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl From<LonLat> for PointOut {
    fn from(p: LonLat) -> Self {
        Self {
            lat: p.lat(),
            lon: p.lon(),
        }
    }
}

/// What one scheme says about the point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SchemeAnswer {
    /// Scheme id.
    pub scheme: Text,
    /// Scheme name.
    pub name: Text,
    /// Scheme file version.
    pub scheme_version: Text,
    /// True when any part of this answer rests on illustrative data.
    pub illustrative: bool,
    /// The coverage polygon that matched.
    pub region: AreaMatch,
    /// Banding evidence, for schemes that band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banding: Option<BandingAnswer>,
    /// The hourly rate in force, if the scheme has one for the date.
    pub rate: Option<RateAnswer>,
    /// Zones, PCNs, localities and other areas of the scheme's area layers that hold the point.
    pub areas: Vec<AreaAnswer>,
    /// Eligible providers per service, in contract preference order.
    pub providers: Vec<ProviderListAnswer>,
    /// Plain-language notes: choices the scheme made, caveats.
    pub notes: Vec<Text>,
    /// Problems with this answer that a user must see (no polygon matched, two overlap, ...).
    pub warnings: Vec<String>,
}

/// One area (zone, PCN, locality...) that holds the point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaAnswer {
    /// What kind of area (`zone`, `pcn`, `locality`, `night_zone`).
    pub role: Text,
    /// The polygon that matched.
    #[serde(flatten)]
    pub matched: AreaMatch,
    /// True when the polygons are illustrative, not the council's own.
    pub illustrative: bool,
    /// How the layer was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Text>,
}

/// Providers for one service in one area, in preference order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderListAnswer {
    /// `day` or `night`.
    pub service: Text,
    /// Role of the area the list belongs to (`zone`, `locality`...).
    pub area_role: Text,
    /// Area id.
    pub area_id: Text,
    /// First day the list applies.
    pub valid_from: NaiveDate,
    /// Last day, when set.
    pub valid_to: Option<NaiveDate>,
    /// Tiers in preference order (main, then secondary, then framework).
    pub tiers: Arc<[TierAnswer]>,
    /// True when the list is illustrative.
    pub illustrative: bool,
    /// Where the list comes from.
    pub source: Text,
    /// A caveat about the list, when the scheme gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
}

/// One contract tier and its providers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TierAnswer {
    /// `main`, `secondary` or `framework`.
    pub tier: &'static str,
    /// Providers in this tier.
    pub providers: Vec<ProviderOut>,
}

/// A provider in output.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderOut {
    /// Provider id.
    pub id: Text,
    /// Provider name.
    pub name: Text,
}

/// Banding evidence.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BandingAnswer {
    /// Name of the banded region.
    pub region_name: Text,
    /// The banded-region polygon that matched, if inside it.
    pub banded_region: Option<AreaMatch>,
    /// Whether the point is inside the banded region (else the standard/spot rate applies).
    pub in_banded_region: bool,
    /// Which centres count.
    pub centre_rule: Text,
    /// Nearest centre open on the date.
    pub nearest_centre: Option<CentreOut>,
    /// Geodesic distance to it, metres.
    pub distance_m: Option<f64>,
    /// The same in miles.
    pub distance_miles: Option<f64>,
    /// How distance is measured.
    pub distance_method: &'static str,
    /// The band, when inside the banded region and a centre was found.
    pub band: Option<BandOut>,
    /// All thresholds, miles.
    pub thresholds_miles: Vec<f64>,
    /// Which band a distance exactly on a threshold belongs to.
    pub on_threshold: crate::scheme::OnThreshold,
    /// Distance to the nearest threshold.
    pub margin: Option<Margin>,
    /// True when the distance is within `near_threshold_m` of a threshold.
    pub near_threshold: bool,
    /// The tolerance used for `near_threshold`, metres.
    pub near_threshold_m: f64,
}

/// A centre in output.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CentreOut {
    /// ODS code.
    pub code: Text,
    /// Name.
    pub name: Text,
    /// Postcode.
    pub postcode: Text,
    /// Position.
    pub lat: f64,
    /// Position.
    pub lon: f64,
}

/// A band in output.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BandOut {
    /// 1-based band number.
    pub number: usize,
    /// Name (`Band 1`).
    pub name: Text,
    /// Lower distance limit, miles.
    pub from_miles: f64,
    /// Upper distance limit, miles (`None` for the last band).
    pub to_miles: Option<f64>,
}

/// How far the distance is from the nearest band threshold.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Margin {
    /// The nearest threshold, miles.
    pub threshold_miles: f64,
    /// Absolute distance to it, metres.
    pub margin_m: f64,
    /// The same in miles.
    pub margin_miles: f64,
    /// The band on the other side of that threshold.
    pub other_band: Text,
}

/// The rate in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RateAnswer {
    /// Pounds per hour.
    pub hourly: f64,
    /// Currency code.
    pub currency: Text,
    /// `band` or `standard`.
    pub kind: RateKind,
    /// What the rate is called (`Band 1`, `spot price`).
    pub name: Text,
    /// First day of the rate period.
    pub effective_from: NaiveDate,
    /// Last day, when set.
    pub effective_to: Option<NaiveDate>,
    /// Why this rate.
    pub reason: String,
    /// Where the figure comes from.
    pub source: Text,
}

/// Which kind of rate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    /// A distance band's rate.
    Band,
    /// The scheme's standard rate (spot price outside the banded region).
    Standard,
}

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
            let band = band_idx.map(|i| BandOut {
                number: i + 1,
                name: b.band_names.get(i).cloned().unwrap_or_default(),
                from_miles: if i == 0 {
                    0.0
                } else {
                    b.thresholds_miles[i - 1]
                },
                to_miles: b.thresholds_miles.get(i).copied(),
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
                distance_method: DISTANCE_METHOD,
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
    Some(SchemeAnswer {
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
    })
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
            role: role.clone(),
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
                service: list.service.clone(),
                area_role: a.role.clone(),
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
    let rank = |service: &str| match service {
        "day" => 0,
        "night" => 1,
        _ => 2,
    };
    out.sort_by_key(|p| rank(&p.service));
    out
}

/// A provider list's tiers in output form, provider names looked up in the scheme (an unknown
/// id, which the scheme check refuses, would show as its own name).
#[must_use]
pub fn tier_answers(
    s: &crate::scheme::Scheme,
    list: &crate::scheme::ProviderList,
) -> Arc<[TierAnswer]> {
    list.tiers
        .iter()
        .map(|t| TierAnswer {
            tier: t.tier.as_str(),
            providers: t
                .providers
                .iter()
                .map(|id| ProviderOut {
                    id: id.clone(),
                    name: s
                        .provider(id)
                        .map_or_else(|| id.clone(), |p| p.name.clone()),
                })
                .collect(),
        })
        .collect()
}

fn layer_illustrative(ls: &LoadedScheme, id: &str) -> bool {
    ls.layer(id).is_some_and(|l| l.illustrative)
}

fn standard_rate(
    s: &crate::scheme::Scheme,
    r: &crate::scheme::RatePeriod,
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
