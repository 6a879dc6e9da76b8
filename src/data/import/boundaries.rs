//! Step 1 of the import: the boundary layers. Geometries are copied unchanged (WGS84 lon/lat);
//! only the listed properties are kept, features are sorted by their first property, and the
//! output is compact JSON with a fixed key order. Also hands back Norfolk in British National
//! Grid for the "near Norfolk" distance rule.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use geo::{BoundingRect, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon, Rect};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::json::{self, Json};
use super::{FileMeta, ImportError, ImportReport, Output};
use crate::data::reproject::{self, BNG};

/// A polygonal `GeoJSON` geometry, as read and as written (`{"type":…,"coordinates":…}`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "coordinates")]
enum Shape {
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

impl Shape {
    fn polygons(&self) -> Vec<&Vec<Vec<[f64; 2]>>> {
        match self {
            Self::Polygon(p) => vec![p],
            Self::MultiPolygon(ps) => ps.iter().collect(),
        }
    }

    /// Why this geometry is unusable, if it is: every ring must be closed, have at least four
    /// positions, and every position must be a lon/lat on the globe.
    fn problem(&self) -> Option<String> {
        let polygons = self.polygons();
        if polygons.is_empty() {
            return Some("geometry has no polygons".to_owned());
        }
        for (p, rings) in polygons.iter().enumerate() {
            if rings.is_empty() {
                return Some(format!("polygon {p} has no rings"));
            }
            for (r, ring) in rings.iter().enumerate() {
                if ring.len() < 4 || ring.first() != ring.last() {
                    return Some(format!(
                        "polygon {p} ring {r} is not a closed ring of at least 4 positions"
                    ));
                }
                if let Some([lon, lat]) = ring.iter().find(|[lon, lat]| {
                    !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat)
                }) {
                    return Some(format!(
                        "polygon {p} ring {r} has ({lon}, {lat}), not a lon/lat"
                    ));
                }
            }
        }
        None
    }

    fn to_geo(&self) -> MultiPolygon<f64> {
        let ring = |r: &Vec<[f64; 2]>| {
            LineString::from(r.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>())
        };
        MultiPolygon::new(
            self.polygons()
                .into_iter()
                .map(|rings| {
                    let mut rings = rings.iter().map(ring);
                    let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
                    Polygon::new(exterior, rings.collect())
                })
                .collect(),
        )
    }
}

/// One feature read from a source file, with its kept properties in output order.
struct Feature {
    properties: Vec<(&'static str, String)>,
    geometry: Shape,
}

impl Serialize for Feature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Properties<'a>(&'a [(&'static str, String)]);
        impl Serialize for Properties<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("type", "Feature")?;
        map.serialize_entry("properties", &Properties(&self.properties))?;
        map.serialize_entry("geometry", &self.geometry)?;
        map.end()
    }
}

#[derive(Serialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: &'a [Feature],
}

/// One output layer: where it comes from and which properties it keeps (the first is its key).
struct Layer {
    out_path: &'static str,
    sources: &'static [&'static str],
    keep: &'static [&'static str],
    meta: FileMeta,
}

const BOUNDARY_LICENCE: &str = "OGL v3. Source: Office for National Statistics licensed under \
                                the Open Government Licence v.3.0; Contains OS data © Crown \
                                copyright and database right";

/// The Norfolk county layer, which also feeds the distance rule.
const NORFOLK_SOURCE: &str = "boundaries/admin/norfolk_county_apr2019_bgc.geojson";
/// GSS code of Norfolk county.
const NORFOLK_CODE: &str = "E10000020";

static LAYERS: [Layer; 5] = [
    Layer {
        out_path: "boundaries/bristol_wards_2023.geojson",
        sources: &["boundaries/electoral/wards_dec2023_bsc_bristol.geojson"],
        keep: &["WD23CD", "WD23NM"],
        meta: FileMeta {
            description: "Bristol electoral wards, December 2023 (ONS BSC, super-generalised \
                          200 m), WGS84",
            sources: &[
                "boundaries/electoral/wards_dec2023_bsc_bristol.geojson (ONS Wards \
                        (December 2023) Boundaries UK BSC)",
            ],
            licence: BOUNDARY_LICENCE,
        },
    },
    Layer {
        out_path: "boundaries/ccg_2019.geojson",
        sources: &["boundaries/nhs/ccg_apr2019_bgc_norfolk_waveney_bnssg.geojson"],
        keep: &["AREACD", "AREANM", "CCG19CDH"],
        meta: FileMeta {
            description: "Clinical Commissioning Groups, April 2019: the five Norfolk & Waveney \
                          CCGs and BNSSG (ONS BGC), WGS84",
            sources: &[
                "boundaries/nhs/ccg_apr2019_bgc_norfolk_waveney_bnssg.geojson (ONS \
                        Clinical Commissioning Groups (April 2019) Boundaries EN BGC)",
            ],
            licence: BOUNDARY_LICENCE,
        },
    },
    Layer {
        out_path: "boundaries/lad_2019.geojson",
        sources: &["boundaries/admin/lad_apr2019_bgc_norfolk_bristol.geojson"],
        keep: &["AREACD", "AREANM"],
        meta: FileMeta {
            description: "Local authority districts, April 2019: the seven Norfolk districts and \
                          Bristol (ONS BGC), WGS84",
            sources: &[
                "boundaries/admin/lad_apr2019_bgc_norfolk_bristol.geojson (ONS Local \
                        Authority Districts (April 2019) Boundaries UK BGC)",
            ],
            licence: BOUNDARY_LICENCE,
        },
    },
    Layer {
        out_path: "boundaries/lsoa2011_norfolk_waveney_bristol.geojson",
        sources: &[
            "boundaries/statistical/lsoa2011_bgc_norfolk_waveney.geojson",
            "boundaries/statistical/lsoa2011_bgc_bristol.geojson",
        ],
        keep: &["LSOA11CD", "LSOA11NM", "LAD11CD"],
        meta: FileMeta {
            description: "Lower layer super output areas (2011) of Norfolk, Waveney and Bristol \
                          (ONS generalised clipped), WGS84",
            sources: &[
                "boundaries/statistical/lsoa2011_bgc_norfolk_waveney.geojson (ONS LSOA \
                 (December 2011) generalised clipped boundaries)",
                "boundaries/statistical/lsoa2011_bgc_bristol.geojson (ONS LSOA (December 2011) \
                 generalised clipped boundaries)",
            ],
            licence: BOUNDARY_LICENCE,
        },
    },
    Layer {
        out_path: "boundaries/norfolk_county_2019.geojson",
        sources: &[NORFOLK_SOURCE],
        keep: &["AREACD", "AREANM"],
        meta: FileMeta {
            description: "Norfolk county, April 2019 (ONS BGC), WGS84",
            sources: &[
                "boundaries/admin/norfolk_county_apr2019_bgc.geojson (ONS Counties \
                        (April 2019) Boundaries EN BGC)",
            ],
            licence: BOUNDARY_LICENCE,
        },
    },
];

/// Norfolk county in British National Grid, for planar distances in metres.
pub(super) struct NorfolkBng {
    shape: MultiPolygon<f64>,
    bbox: Rect<f64>,
}

impl NorfolkBng {
    /// Planar distance in metres from an easting/northing to Norfolk; 0 inside.
    pub(super) fn distance_m(&self, easting: f64, northing: f64) -> f64 {
        Euclidean.distance(&self.shape, &Point::new(easting, northing))
    }

    /// The distance to Norfolk if it is at most `radius_m`, found cheaply for far points.
    pub(super) fn within(&self, easting: f64, northing: f64, radius_m: f64) -> Option<f64> {
        let (min, max) = (self.bbox.min(), self.bbox.max());
        let outside_box = easting < min.x - radius_m
            || easting > max.x + radius_m
            || northing < min.y - radius_m
            || northing > max.y + radius_m;
        if outside_box {
            return None;
        }
        let d = self.distance_m(easting, northing);
        (d <= radius_m).then_some(d)
    }

    /// Builds from a shape already in BNG (used by tests).
    #[cfg(test)]
    pub(super) fn from_bng(shape: MultiPolygon<f64>) -> Option<Self> {
        let bbox = shape.bounding_rect()?;
        Some(Self { shape, bbox })
    }
}

/// Writes every boundary layer and returns Norfolk in BNG.
pub(super) fn import(
    opendata: &Path,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<NorfolkBng, ImportError> {
    let mut norfolk = None;
    for layer in &LAYERS {
        let mut features: BTreeMap<String, Feature> = BTreeMap::new();
        for source in layer.sources {
            let path = opendata.join(source);
            for (index, feature) in read_features(&path, layer.keep)?.into_iter().enumerate() {
                let key = feature
                    .properties
                    .first()
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if *source == NORFOLK_SOURCE && key == NORFOLK_CODE {
                    norfolk = Some(norfolk_in_bng(&path, index, &feature.geometry)?);
                }
                if features.contains_key(&key) {
                    return Err(ImportError::DuplicateKey {
                        path,
                        where_: format!("feature #{index}"),
                        column: layer.keep.first().copied().unwrap_or_default(),
                        key,
                    });
                }
                features.insert(key, feature);
            }
        }
        let features: Vec<Feature> = features.into_values().collect();
        let out_path = out.path(layer.out_path);
        let mut bytes = serde_json::to_vec(&FeatureCollection {
            kind: "FeatureCollection",
            features: &features,
        })
        .map_err(|e| ImportError::Serialise {
            path: out_path,
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        out.write(layer.out_path, &bytes, features.len(), &layer.meta)?;
        let n = features.len();
        let plural = if n == 1 { "" } else { "s" };
        report
            .lines
            .push(format!("{}: {n} feature{plural}", layer.out_path));
    }
    norfolk.ok_or_else(|| ImportError::Feature {
        path: opendata.join(NORFOLK_SOURCE),
        index: 0,
        reason: format!("no feature has AREACD {NORFOLK_CODE} (Norfolk)"),
    })
}

/// Reads a `FeatureCollection` of polygons, keeping the properties in `keep` (all required, as
/// strings) in that order.
fn read_features(path: &Path, keep: &'static [&'static str]) -> Result<Vec<Feature>, ImportError> {
    let text = fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let root = json::parse(&text).map_err(|e| ImportError::GeoJson {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let top_error = |reason: String| ImportError::GeoJson {
        path: path.to_owned(),
        reason,
    };
    if root.get("type").and_then(Json::as_str) != Some("FeatureCollection") {
        return Err(top_error("not a FeatureCollection".to_owned()));
    }
    let features = root
        .get("features")
        .and_then(Json::as_array)
        .ok_or_else(|| top_error("`features` is not an array".to_owned()))?;
    features
        .iter()
        .enumerate()
        .map(|(index, feature)| {
            read_feature(feature, keep).map_err(|reason| ImportError::Feature {
                path: path.to_owned(),
                index,
                reason,
            })
        })
        .collect()
}

/// One feature, or why it is unusable.
fn read_feature(feature: &Json, keep: &'static [&'static str]) -> Result<Feature, String> {
    if feature.get("type").and_then(Json::as_str) != Some("Feature") {
        return Err("not a Feature".to_owned());
    }
    let properties = keep
        .iter()
        .map(
            |&name| match feature.get("properties").and_then(|p| p.get(name)) {
                Some(Json::String(s)) => Ok((name, s.trim().to_owned())),
                Some(other) => Err(format!("property {name} is {}, not a string", other.kind())),
                None => Err(format!("property {name} is missing")),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    let geometry = feature.get("geometry").ok_or("has no geometry")?;
    let coordinates = geometry
        .get("coordinates")
        .ok_or("geometry has no coordinates")?;
    let geometry = match geometry.get("type").and_then(Json::as_str) {
        Some("Polygon") => Shape::Polygon(rings(coordinates)?),
        Some("MultiPolygon") => Shape::MultiPolygon(
            array(coordinates)?
                .iter()
                .map(rings)
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("geometry is not a Polygon or MultiPolygon".to_owned()),
    };
    if let Some(problem) = geometry.problem() {
        return Err(problem);
    }
    Ok(Feature {
        properties,
        geometry,
    })
}

fn array(value: &Json) -> Result<&[Json], String> {
    value
        .as_array()
        .ok_or_else(|| format!("coordinates hold {} where an array belongs", value.kind()))
}

/// The rings of one polygon: arrays of `[lon, lat]` positions.
fn rings(value: &Json) -> Result<Vec<Vec<[f64; 2]>>, String> {
    array(value)?
        .iter()
        .map(|ring| {
            array(ring)?
                .iter()
                .map(|position| match array(position)? {
                    [Json::Number(lon), Json::Number(lat)] => Ok([*lon, *lat]),
                    _ => Err("a position is not a pair of numbers [lon, lat]".to_owned()),
                })
                .collect()
        })
        .collect()
}

fn norfolk_in_bng(path: &Path, index: usize, shape: &Shape) -> Result<NorfolkBng, ImportError> {
    let mut geometry = geo::Geometry::MultiPolygon(shape.to_geo());
    reproject::geometry_from_wgs84(&mut geometry, BNG).map_err(|source| {
        ImportError::FeatureReproject {
            path: path.to_owned(),
            index,
            source: Box::new(source),
        }
    })?;
    let shape = MultiPolygon::try_from(geometry).map_err(|e| ImportError::Feature {
        path: path.to_owned(),
        index,
        reason: format!("reprojected Norfolk is not a multipolygon: {e}"),
    })?;
    let bbox = shape.bounding_rect().ok_or_else(|| ImportError::Feature {
        path: path.to_owned(),
        index,
        reason: "Norfolk has an empty geometry".to_owned(),
    })?;
    Ok(NorfolkBng { shape, bbox })
}
