//! The loaded, immutable whole: postcodes, centres, polygon layers and schemes, indexed.
//!
//! Built once by [`crate::data::load`] and then shared read-only (behind an `Arc`, swapped whole on
//! reload). No I/O here: only the in-memory types and their queries.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use crate::Text;
use crate::engine::answer::TierAnswer;
use crate::engine::coord::LonLat;
use crate::engine::geo_index::{PointIndex, PolygonIndex, PolygonMatch};
use crate::engine::postcode::{Postcode, PostcodeQuery};
use crate::engine::scheme::Scheme;

/// A centre that bands are measured from (a GP practice or branch surgery).
#[derive(Debug, Clone, Serialize)]
pub struct Centre {
    /// ODS code.
    pub code: Text,
    /// Name as published.
    pub name: Text,
    /// Postcode of the site.
    pub postcode: Text,
    /// First day open, when known.
    pub open_date: Option<NaiveDate>,
    /// Last day open (the ODS close date), when closed.
    pub close_date: Option<NaiveDate>,
    /// Scope tag from the centre file (`norfolk_waveney`, `near_norfolk`, `bnssg`).
    pub scope: String,
}

impl Centre {
    /// Whether the centre was open on `date`. Unknown open dates count as open.
    #[must_use]
    pub fn open_on(&self, date: NaiveDate) -> bool {
        self.open_date.is_none_or(|o| o <= date) && self.close_date.is_none_or(|c| date <= c)
    }
}

/// Whether a postcode is in current use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PostcodeStatus {
    /// Live in Code-Point Open.
    Live,
    /// No longer live (terminated or non-geographic); position is the last known one.
    Terminated,
}

/// One postcode and what is known of it.
#[derive(Debug, Clone)]
pub struct PostcodeRecord {
    /// Normalised postcode.
    pub postcode: Postcode,
    /// Live or terminated.
    pub status: PostcodeStatus,
    /// WGS84 position (computed from BNG for live postcodes), when known.
    pub position: Option<LonLat>,
    /// BNG easting and northing in metres, when known.
    pub bng: Option<(i32, i32)>,
    /// Code-Point positional quality indicator (10 = best).
    pub quality: Option<u8>,
    /// Admin county GSS code (two-tier areas only).
    pub county: Option<Text>,
    /// Admin district GSS code.
    pub district: Option<Text>,
    /// Admin ward GSS code.
    pub ward: Option<Text>,
}

/// All known postcodes, sorted, with a hash index for exact lookups.
pub struct PostcodeTable {
    records: Vec<PostcodeRecord>,
    /// Record index by [`packed`] postcode.
    by_code: HashMap<u64, u32>,
    /// The live postcodes with a position, by record index, for nearest-postcode queries.
    live_points: PointIndex<u32>,
}

impl PostcodeTable {
    /// Builds the table; records are sorted by postcode and duplicates keep the first.
    ///
    /// # Panics
    /// With 2^32 records or more (all of Great Britain's postcodes are under 2^21).
    #[must_use]
    pub fn new(mut records: Vec<PostcodeRecord>) -> Self {
        records.sort_by(|a, b| a.postcode.cmp(&b.postcode));
        records.dedup_by(|b, a| a.postcode == b.postcode);
        let by_code = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let id = u32::try_from(i).expect("fewer than 2^32 postcodes");
                Some((packed(r.postcode.as_str())?, id))
            })
            .collect();
        let live_points = PointIndex::build(
            records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status == PostcodeStatus::Live)
                .filter_map(|(i, r)| Some((r.position?, u32::try_from(i).ok()?)))
                .collect(),
        );
        Self {
            records,
            by_code,
            live_points,
        }
    }

    /// The live postcodes within `radius_m` metres (geodesic) of `at`, nearest first, at most
    /// `limit` of them, each with its distance in metres. Terminated postcodes and postcodes
    /// without a position are never given.
    #[must_use]
    pub fn nearest_live(
        &self,
        at: LonLat,
        radius_m: f64,
        limit: usize,
    ) -> Vec<(&PostcodeRecord, f64)> {
        self.live_points
            .within(at, radius_m, |_| true)
            .into_iter()
            .take(limit)
            .filter_map(|n| Some((self.records.get(*n.item as usize)?, n.distance_m)))
            .collect()
    }

    /// Number of postcodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// All records in postcode order.
    #[must_use]
    pub fn records(&self) -> &[PostcodeRecord] {
        &self.records
    }

    /// The record of a full postcode.
    #[must_use]
    pub fn get(&self, p: &Postcode) -> Option<&PostcodeRecord> {
        self.by_code
            .get(&packed(p.as_str())?)
            .map(|&i| &self.records[i as usize])
    }

    /// Records within a sector, district or area (a unit query gives at most one).
    #[must_use]
    pub fn matching(&self, q: &PostcodeQuery) -> Vec<&PostcodeRecord> {
        let prefix = match q {
            PostcodeQuery::Unit(p) => return self.get(p).into_iter().collect(),
            PostcodeQuery::Sector(s) => s.clone(),
            PostcodeQuery::District(d) => format!("{d} "),
            PostcodeQuery::Area(a) => a.clone(),
        };
        let start = self
            .records
            .partition_point(|r| r.postcode.as_str() < prefix.as_str());
        self.records[start..]
            .iter()
            .take_while(|r| r.postcode.as_str().starts_with(&prefix))
            .filter(|r| match q {
                // Area "N" must not match "NR..": the area is all the letters before the digit.
                PostcodeQuery::Area(a) => r
                    .postcode
                    .as_str()
                    .as_bytes()
                    .get(a.len())
                    .is_some_and(u8::is_ascii_digit),
                _ => true,
            })
            .collect()
    }

    /// Known postcodes of the same sector closest in order to `p` (for "did you mean").
    #[must_use]
    pub fn suggestions(&self, p: &Postcode, n: usize) -> Vec<&PostcodeRecord> {
        let sector = p.sector();
        let at = self
            .records
            .partition_point(|r| r.postcode.as_str() < p.as_str());
        let live = |r: &&PostcodeRecord| r.status == PostcodeStatus::Live;
        let mut before = self.records[..at]
            .iter()
            .rev()
            .take_while(|r| r.postcode.sector() == sector)
            .filter(live);
        let mut after = self.records[at..]
            .iter()
            .take_while(|r| r.postcode.sector() == sector)
            .filter(live);
        // Alternate after/before so the nearest in sort order on both sides come first.
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let next_after = after.next();
            let next_before = if out.len() + usize::from(next_after.is_some()) < n {
                before.next()
            } else {
                None
            };
            if next_after.is_none() && next_before.is_none() {
                break;
            }
            out.extend(next_after);
            out.extend(next_before);
        }
        out.sort_by(|a, b| a.postcode.cmp(&b.postcode));
        out
    }
}

/// One polygon of a layer: its id and name.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    /// Stable id from the layer's id property.
    pub id: Text,
    /// Display name.
    pub name: Text,
}

/// A loaded polygon layer.
pub struct Layer {
    /// Layer id within its scheme.
    pub id: Text,
    /// What it is.
    pub description: String,
    /// Whether its polygons are illustrative.
    pub illustrative: bool,
    /// How it was made.
    pub method: Option<Text>,
    /// The polygons, indexed.
    pub index: PolygonIndex<Feature>,
}

/// A polygon that matched a point, as evidence.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaMatch {
    /// Layer id.
    pub layer: Text,
    /// Feature id.
    pub id: Text,
    /// Feature name.
    pub name: Text,
    /// Inside/on the boundary, or within the edge tolerance.
    #[serde(rename = "match")]
    pub how: PolygonMatch,
}

impl Layer {
    /// Features of this layer that cover `at`, restricted to `only` ids when not empty. When
    /// none covers it and `tolerance_m > 0`, the nearest feature within the tolerance.
    #[must_use]
    pub fn matching(&self, at: LonLat, only: &[String], tolerance_m: f64) -> Vec<AreaMatch> {
        let allowed = |f: &Feature| only.is_empty() || only.iter().any(|o| f.id == *o);
        let make = |i: usize, how: PolygonMatch| {
            self.index.get(i).map(|(_, f)| AreaMatch {
                layer: self.id.clone(),
                id: f.id.clone(),
                name: f.name.clone(),
                how,
            })
        };
        let covering = self.index.covering(at);
        let covered: Vec<AreaMatch> = covering
            .iter()
            .filter(|&&i| self.index.get(i).is_some_and(|(_, f)| allowed(f)))
            .filter_map(|&i| make(i, PolygonMatch::Covered))
            .collect();
        if !covered.is_empty() || tolerance_m <= 0.0 {
            return covered;
        }
        self.index
            .near_uncovered(at, tolerance_m, &covering)
            .into_iter()
            .filter(|&(i, _)| self.index.get(i).is_some_and(|(_, f)| allowed(f)))
            .take(1)
            .filter_map(|(i, d)| make(i, PolygonMatch::WithinTolerance { distance_m: d }))
            .collect()
    }
}

/// What a layer says about a point under the one edge-tolerance rule: see [`Layer::probe`].
#[derive(Debug, Clone)]
pub struct Probe<'a> {
    /// The features that hold the point (as [`Layer::probe`] decides).
    pub matched: Vec<AreaMatch>,
    /// Every feature of the layer (allowed or not) whose boundary lies within the tolerance
    /// of the point, nearest first.
    pub edges: Vec<Edge<'a>>,
}

/// A feature boundary near a point.
#[derive(Debug, Clone, Copy)]
pub struct Edge<'a> {
    /// The feature.
    pub feature: &'a Feature,
    /// Distance from the point to its boundary, metres.
    pub distance_m: f64,
    /// Whether the feature covers the point (the point is inside, near its edge).
    pub covers: bool,
}

impl Probe<'_> {
    /// The nearest boundary within the tolerance of a feature that is not matched and for
    /// which `differs` holds (the answer on its side would differ).
    #[must_use]
    pub fn nearest_other(&self, differs: impl Fn(&Feature) -> bool) -> Option<Edge<'_>> {
        self.edges
            .iter()
            .find(|e| !self.matched.iter().any(|m| m.id == e.feature.id) && differs(e.feature))
            .copied()
    }

    /// The distance to the matched feature's own boundary, when within the tolerance.
    #[must_use]
    pub fn own_edge_m(&self) -> Option<f64> {
        let first = self.matched.first()?;
        self.edges
            .iter()
            .find(|e| e.feature.id == first.id)
            .map(|e| e.distance_m)
    }
}

/// A normalised postcode (at most eight ASCII bytes, `SW1A 1AA`) as one integer, its bytes in
/// order and zero-padded: a hash key without a heap string to chase. `None` for longer text,
/// which no parsed postcode is.
fn packed(code: &str) -> Option<u64> {
    let bytes = code.as_bytes();
    let mut key = [0u8; 8];
    key.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(u64::from_be_bytes(key))
}

impl Layer {
    /// The one edge-tolerance rule, the same for every layer (coverage, banded region, zone,
    /// PCN, locality):
    ///
    /// 1. the features (restricted to `only` ids when not empty) that cover `at` match;
    /// 2. when no feature of the layer at all covers `at` (it is in a gap of the layer or
    ///    outside its outer edge), the nearest allowed feature within `tolerance_m` matches,
    ///    as `within_tolerance`. A point inside a feature that is not allowed (West Norfolk,
    ///    for the Central Belt) does not match by tolerance: that feature is its answer;
    /// 3. every feature boundary within `tolerance_m` is returned with its distance, so the
    ///    caller can say what lies on the other side.
    #[must_use]
    pub fn probe(&self, at: LonLat, only: &[String], tolerance_m: f64) -> Probe<'_> {
        let allowed = |f: &Feature| only.is_empty() || only.iter().any(|o| f.id == *o);
        let make = |f: &Feature, how: PolygonMatch| AreaMatch {
            layer: self.id.clone(),
            id: f.id.clone(),
            name: f.name.clone(),
            how,
        };
        let covering = self.index.covering(at);
        let near = if tolerance_m > 0.0 {
            self.index.near_uncovered(at, tolerance_m, &[])
        } else {
            Vec::new()
        };
        let edges: Vec<Edge<'_>> = near
            .iter()
            .filter_map(|&(i, d)| {
                self.index.get(i).map(|(_, f)| Edge {
                    feature: f,
                    distance_m: d,
                    covers: covering.contains(&i),
                })
            })
            .collect();
        let mut matched: Vec<AreaMatch> = covering
            .iter()
            .filter_map(|&i| self.index.get(i).map(|(_, f)| f))
            .filter(|f| allowed(f))
            .map(|f| make(f, PolygonMatch::Covered))
            .collect();
        if covering.is_empty() {
            matched.extend(edges.iter().find(|e| allowed(e.feature)).map(|e| {
                make(
                    e.feature,
                    PolygonMatch::WithinTolerance {
                        distance_m: e.distance_m,
                    },
                )
            }));
        }
        Probe { matched, edges }
    }
}

/// A scheme with its layers and centres loaded.
pub struct LoadedScheme {
    /// The rules.
    pub scheme: Scheme,
    /// Layers, in scheme order (a handful: found by id with a linear search, cheaper than
    /// hashing the id).
    pub layers: Vec<Layer>,
    /// Centres that count for banding (already filtered by scope), if the scheme bands.
    pub centres: Option<PointIndex<Centre>>,
    /// The tiers of each provider list (same order as `scheme.provider_lists`), with provider
    /// names filled in, built once so answers share them.
    pub provider_tiers: Vec<Arc<[TierAnswer]>>,
}

impl LoadedScheme {
    /// Puts a scheme together with its layers and centres.
    #[must_use]
    pub fn new(scheme: Scheme, layers: Vec<Layer>, centres: Option<PointIndex<Centre>>) -> Self {
        let provider_tiers = scheme
            .provider_lists
            .iter()
            .map(|list| crate::engine::answer::tier_answers(&scheme, list))
            .collect();
        Self {
            scheme,
            layers,
            centres,
            provider_tiers,
        }
    }

    /// The layer with this id.
    #[must_use]
    pub fn layer(&self, id: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.id == id)
    }
}

/// One file of the dataset as listed in the manifest.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DataFile {
    /// Path relative to the data directory.
    pub path: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Data rows or features.
    pub rows: u64,
    /// What it holds.
    #[serde(default)]
    pub description: String,
    /// Where it comes from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Licence and attribution.
    #[serde(default)]
    pub licence: String,
}

/// Everything careband answers from.
pub struct Dataset {
    /// Dataset version from the manifest.
    pub version: Text,
    /// Where the data was loaded from (`embedded` or a directory).
    pub origin: String,
    /// Manifest entries.
    pub files: Vec<DataFile>,
    /// All postcodes.
    pub postcodes: PostcodeTable,
    /// Schemes in id order.
    pub schemes: Vec<LoadedScheme>,
    /// The gazetteer of places and roads for free-text lookups (empty when the data has none).
    pub places: crate::engine::gazetteer::Gazetteer,
    /// BNG to WGS84, for BNG queries (given by the data layer; the engine does no projection).
    pub grid: Arc<dyn crate::engine::coord::GridTransform>,
}

impl Dataset {
    /// Why this dataset could not answer lookups, if it could not: `no_schemes`,
    /// `no_postcodes`, or `no_centres` (a banded scheme with no centre to measure from).
    /// [`crate::data::load::load`] refuses such a dataset; this is for readiness checks.
    #[must_use]
    pub fn unservable(&self) -> Option<&'static str> {
        if self.schemes.is_empty() {
            Some("no_schemes")
        } else if self.postcodes.is_empty() {
            Some("no_postcodes")
        } else if self.schemes.iter().any(|s| {
            s.scheme.banding.is_some() && s.centres.as_ref().is_none_or(PointIndex::is_empty)
        }) {
            Some("no_centres")
        } else {
            None
        }
    }

    /// The scheme with this id.
    #[must_use]
    pub fn scheme(&self, id: &str) -> Option<&LoadedScheme> {
        self.schemes.iter().find(|s| s.scheme.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::packed;

    #[test]
    fn packed_keys_are_distinct_for_distinct_postcodes_and_refuse_long_text() {
        let codes = [
            "NR1 1AA", "NR11 1AA", "NR1 1AB", "N1 1AA", "SW1A 1AA", "GIR 0AA",
        ];
        let keys: Vec<u64> = codes.iter().filter_map(|c| packed(c)).collect();
        assert_eq!(keys.len(), codes.len());
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
        assert_eq!(packed("SW1A 1AAX"), None);
        assert_eq!(packed(""), Some(0));
    }
}
