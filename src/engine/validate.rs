//! Geometry checks of a loaded scheme: every polygon valid, and every area layer (zones, PCNs,
//! localities: the layers with a `role`) tiling the scheme's region without gaps or overlaps.
//!
//! Pure: works on a [`LoadedScheme`] already in memory; [`crate::data::load::validate`] is the file
//! edge that collects parse and rule errors as findings too.
//!
//! Boundary files from different sources (a county line and a set of LSOAs, say) never agree
//! exactly: they are generalised differently. A gap or overlap is therefore reported only when
//! some part of it lies more than the scheme's `coverage.edge_tolerance_m` from the layer's
//! polygons' edges (a sliver thinner than that cannot change an answer, because lookups within
//! the tolerance of a polygon already match it) and its area is at least
//! [`MIN_FINDING_AREA_M2`]. Below [`ERROR_AREA_M2`] it is a warning, above an error.
use geo::{
    BooleanOps, BoundingRect, GeodesicArea, InteriorPoint, Intersects, MultiPolygon, Polygon,
    Validation,
};
use serde::Serialize;

use crate::engine::coord::LonLat;
use crate::engine::dataset::{Feature, Layer, LoadedScheme};
use crate::engine::polygon_check;

/// Smallest gap or overlap reported, square metres.
pub const MIN_FINDING_AREA_M2: f64 = 1.0;

/// Gaps and overlaps smaller than this (square metres, one hectare) are warnings: typically
/// two boundary files generalised differently along a coast or river. Larger ones are errors.
pub const ERROR_AREA_M2: f64 = 10_000.0;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; the scheme can still be used.
    Warning,
    /// The scheme must not be used until it is fixed.
    Error,
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The file cannot be read or parsed, or a checksum fails.
    File,
    /// A rule of the scheme format is broken (ids, references, thresholds, rates, dates).
    Rule,
    /// A polygon is not a valid geometry.
    Geometry,
    /// Part of the scheme's region is in no polygon of an area layer.
    Gap,
    /// Two polygons of an area layer overlap.
    Overlap,
}

/// One problem found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Class of problem.
    pub kind: FindingKind,
    /// The file the problem is in (scheme file or layer file), relative to the data folder.
    pub file: String,
    /// The feature(s) concerned, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Area of a gap or overlap, square metres (geodesic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    /// A point inside the gap or overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A WGS84 position in a finding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl From<LonLat> for Location {
    fn from(p: LonLat) -> Self {
        Self {
            lat: p.lat(),
            lon: p.lon(),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.file)?;
        if let Some(feature) = &self.feature {
            write!(f, ", feature {feature}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(a) = self.area_m2 {
            write!(f, " ({a:.0} m²")?;
            if let Some(at) = self.location {
                write!(f, ", around lat {:.5}, lon {:.5}", at.lat, at.lon)?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// All findings for one scheme.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Scheme id (or the file name when the scheme could not be parsed).
    pub scheme: String,
    /// The scheme file.
    pub file: String,
    /// Every problem found, errors first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Sorts errors before warnings, keeping the order within each.
    pub fn sort(&mut self) {
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
}

/// Checks every polygon of every layer, and gaps and overlaps of every area layer (a layer
/// with a `role`) within the scheme's coverage region.
#[must_use]
pub fn check_geometry(ls: &LoadedScheme) -> Vec<Finding> {
    let s = &ls.scheme;
    let mut out = check_polygons(ls);
    if out.iter().any(|f| f.severity == Severity::Error) {
        // Overlay operations on invalid polygons give meaningless areas.
        return out;
    }
    let Some(coverage) = ls.layer(&s.coverage.layer) else {
        return out;
    };
    let region: Vec<&Polygon<f64>> = coverage
        .index
        .iter()
        .filter(|(_, f)| {
            s.coverage.features.is_empty() || s.coverage.features.iter().any(|c| f.id == *c)
        })
        .flat_map(|(mp, _)| mp.0.iter())
        .collect();
    let region = geo::unary_union(region);
    let tolerance = s.coverage.edge_tolerance_m;
    for spec in s.layers.iter().filter(|l| l.role.is_some()) {
        let Some(layer) = ls.layer(&spec.id) else {
            continue;
        };
        if spec.id == s.coverage.layer {
            continue;
        }
        out.extend(overlaps(layer, &spec.file, &region, tolerance));
        out.extend(gaps(layer, &spec.file, &region, tolerance));
    }
    out
}

fn severity_for(area_m2: f64) -> Severity {
    if area_m2 >= ERROR_AREA_M2 {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// Invalid polygons of every layer of the scheme (the fast part of [`check_geometry`], run
/// at every load).
#[must_use]
pub fn check_polygons(ls: &LoadedScheme) -> Vec<Finding> {
    ls.scheme
        .layers
        .iter()
        .filter_map(|spec| Some(invalid_polygons(ls.layer(&spec.id)?, &spec.file)))
        .flatten()
        .collect()
}

fn invalid_polygons(layer: &Layer, file: &str) -> Vec<Finding> {
    invalid_features(layer.index.iter(), file)
}

/// Invalid polygons among `features` of the layer file `file` (OGC rules: closed rings, no
/// self-intersections, holes inside their shell). The loader runs this on every feature of a
/// file, before a scheme keeps only its own, so an invalid feature is never dropped silently.
///
/// The verdict comes from [`polygon_check::is_valid`] (the same as `geo`'s, in n log n); only
/// a feature it rejects goes through `geo`'s quadratic [`Validation::validation_errors`],
/// whose messages the findings carry.
pub fn invalid_features<'a>(
    features: impl IntoIterator<Item = (&'a MultiPolygon<f64>, &'a Feature)>,
    file: &str,
) -> Vec<Finding> {
    features
        .into_iter()
        .filter(|(mp, _)| !polygon_check::is_valid(mp))
        .flat_map(|(mp, f)| {
            mp.validation_errors().into_iter().map(|e| Finding {
                severity: Severity::Error,
                kind: FindingKind::Geometry,
                file: file.to_string(),
                feature: Some(f.id.to_string()),
                message: format!("invalid polygon: {e}"),
                area_m2: None,
                location: None,
            })
        })
        .collect()
}

/// The parts of `pieces` worth reporting: area at least [`MIN_FINDING_AREA_M2`] and an inside
/// point farther than `tolerance_m` from every edge of `layer` (measured at the piece's
/// interior point, which lies well inside a piece).
fn significant(
    pieces: MultiPolygon<f64>,
    layer: &Layer,
    tolerance_m: f64,
    is_gap: bool,
) -> Vec<(f64, LonLat)> {
    pieces
        .0
        .into_iter()
        .filter_map(|p| {
            let area = p.geodesic_area_unsigned();
            if area < MIN_FINDING_AREA_M2 {
                return None;
            }
            let at = p.interior_point()?;
            let at = LonLat::new(at.x(), at.y()).ok()?;
            // A gap sliver: within the tolerance of some polygon, so lookups there match it.
            // An overlap sliver: within the tolerance of the edge of one of the two polygons.
            let near_edge = if is_gap {
                !layer.index.near(at, tolerance_m).is_empty()
            } else {
                layer.index.edge_distance_m(at, tolerance_m).is_some()
            };
            (!near_edge).then_some((area, at))
        })
        .collect()
}

fn overlaps(
    layer: &Layer,
    file: &str,
    region: &MultiPolygon<f64>,
    tolerance_m: f64,
) -> Vec<Finding> {
    let items: Vec<_> = layer.index.iter().collect();
    let mut out = Vec::new();
    for (i, (a, fa)) in items.iter().enumerate() {
        let Some(ra) = a.bounding_rect() else {
            continue;
        };
        for (b, fb) in &items[i + 1..] {
            if !b.bounding_rect().is_some_and(|rb| rb.intersects(&ra)) {
                continue;
            }
            let both = a.intersection(*b).intersection(region);
            for (area, at) in significant(both, layer, tolerance_m, false) {
                out.push(Finding {
                    severity: severity_for(area),
                    kind: FindingKind::Overlap,
                    file: file.to_string(),
                    feature: Some(format!("{} and {}", fa.id, fb.id)),
                    message: format!("{} and {} overlap", fa.name, fb.name),
                    area_m2: Some(area),
                    location: Some(at.into()),
                });
            }
        }
    }
    out
}

fn gaps(layer: &Layer, file: &str, region: &MultiPolygon<f64>, tolerance_m: f64) -> Vec<Finding> {
    let all = geo::unary_union(layer.index.iter().flat_map(|(mp, _)| mp.0.iter()));
    let missing = region.difference(&all);
    significant(missing, layer, tolerance_m, true)
        .into_iter()
        .map(|(area, at)| Finding {
            severity: severity_for(area),
            kind: FindingKind::Gap,
            file: file.to_string(),
            feature: None,
            message: format!(
                "part of the scheme's region is in no polygon of layer {}: a lookup there gets no {}",
                layer.id, layer.id
            ),
            area_m2: Some(area),
            location: Some(at.into()),
        })
        .collect()
}
