//! Step 1 of the import: the boundary layers. Geometries are copied unchanged (WGS84 lon/lat);
//! only the listed properties are kept, features are sorted by their first property, and the
//! output is compact JSON with a fixed key order. Also hands back Norfolk in British National
//! Grid for the "near Norfolk" distance rule.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use geo::{BoundingRect, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon, Rect};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{FileMeta, ImportError, ImportReport, Output};
use crate::data::reproject::{self, BNG};

/// A polygonal `GeoJSON` geometry, as read and as written (`{"type":…,"coordinates":…}`).
///
/// Coordinates are read by `serde_json` with its `float_roundtrip` feature, which rounds every
/// number correctly, so the source coordinates are written back bit for bit. A position is
/// exactly `[lon, lat]`: one with a height is rejected rather than silently cut down.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug)]
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
            source: Box::new(e),
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
    let bytes = fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_features(path, &bytes, keep)
}

/// Parses the bytes of a `FeatureCollection` of polygons as [`read_features`] does; `path` only
/// names the file in errors.
fn parse_features(
    path: &Path,
    bytes: &[u8],
    keep: &'static [&'static str],
) -> Result<Vec<Feature>, ImportError> {
    let collection: SourceCollection =
        serde_json::from_slice(bytes).map_err(|source| ImportError::GeoJsonParse {
            path: path.to_owned(),
            source,
        })?;
    collection
        .features
        .into_iter()
        .enumerate()
        .map(|(index, FeatureSlot(feature))| {
            let feature = feature.map_err(|source| ImportError::FeatureParse {
                path: path.to_owned(),
                index,
                source,
            })?;
            feature.keep(keep).map_err(|reason| ImportError::Feature {
                path: path.to_owned(),
                index,
                reason,
            })
        })
        .collect()
}

/// The top level of a source file. Unknown members (`name`, `crs`, `bbox`) are skipped without
/// being built into a tree.
#[derive(Deserialize)]
struct SourceCollection {
    #[serde(rename = "type")]
    _kind: CollectionTag,
    features: Vec<FeatureSlot>,
}

/// The only accepted `type` of a source file.
#[derive(Deserialize)]
enum CollectionTag {
    FeatureCollection,
}

/// One element of `features`: read into a JSON tree of its own first, then into a
/// [`SourceFeature`]. A feature of the wrong shape thus fails on its own and is reported by its
/// index (a failure inside one typed pass over the whole file would carry only a line and
/// column), while at most one feature is held as a tree at a time. A syntax error still fails
/// the whole file, with its line and column.
struct FeatureSlot(Result<SourceFeature, serde_json::Error>);

impl<'de> Deserialize<'de> for FeatureSlot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tree = Value::deserialize(deserializer)?;
        Ok(Self(SourceFeature::deserialize(tree)))
    }
}

/// A source feature as written: tagged `Feature`, with any properties and a polygonal geometry.
#[derive(Deserialize)]
struct SourceFeature {
    #[serde(rename = "type")]
    _kind: FeatureTag,
    /// All properties; `null` or absent reads as none, so each listed one is then "missing".
    properties: Option<Map<String, Value>>,
    geometry: Shape,
}

/// The only accepted `type` of a feature.
#[derive(Deserialize)]
enum FeatureTag {
    Feature,
}

impl SourceFeature {
    /// The feature with only the properties in `keep` (all required, as strings, trimmed), in
    /// that order; or why it is unusable.
    fn keep(self, keep: &'static [&'static str]) -> Result<Feature, String> {
        let properties = keep
            .iter()
            .map(
                |&name| match self.properties.as_ref().and_then(|p| p.get(name)) {
                    Some(Value::String(s)) => Ok((name, s.trim().to_owned())),
                    Some(other) => Err(format!("property {name} is {}, not a string", kind(other))),
                    None => Err(format!("property {name} is missing")),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(problem) = self.geometry.problem() {
            return Err(problem);
        }
        Ok(Feature {
            properties,
            geometry: self.geometry,
        })
    }
}

/// A short name of a JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: &[&str] = &["CODE", "NAME"];

    fn parse(text: &str) -> Result<Vec<Feature>, ImportError> {
        parse_features(Path::new("test.geojson"), text.as_bytes(), KEEP)
    }

    /// A collection of one feature with these properties and geometry (both JSON text).
    fn one(properties: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{properties},"geometry":{geometry}}}]}}"#
        )
    }

    const PROPS: &str = r#"{"CODE":"E1","NAME":"One"}"#;
    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#;

    #[test]
    fn coordinates_are_rounded_correctly() {
        // Long mantissas, where a fast float parser may land one unit in the last place off,
        // a halfway case that must round to even, and a negative zero.
        for text in [
            "52.581448238475204",
            "0.9255758757235",
            "-2.572132851149163",
            "0.927133439994527",
            "1.00000000000000011102230246251565404236316680908203125",
            "1e-7",
            "-0",
            "0",
        ] {
            let geometry = format!(
                r#"{{"type":"Polygon","coordinates":[[[{text},1],[1,0],[1,1],[{text},1]]]}}"#
            );
            let features = parse(&one(PROPS, &geometry)).unwrap();
            let Shape::Polygon(rings) = &features[0].geometry else {
                panic!("not a polygon");
            };
            let expected: f64 = text.parse().unwrap();
            assert_eq!(rings[0][0][0].to_bits(), expected.to_bits(), "{text}");
        }
    }

    #[test]
    fn listed_properties_are_kept_in_order_unescaped_and_trimmed() {
        let properties =
            r#"{"NAME":"K\u00f6ln \"x\" \ud83d\ude00","OTHER":[1,{"a":null}],"CODE":" E1 "}"#;
        let features = parse(&one(properties, SQUARE)).unwrap();
        assert_eq!(
            features[0].properties,
            [
                ("CODE", "E1".to_owned()),
                ("NAME", "Köln \"x\" 😀".to_owned())
            ]
        );
    }

    #[test]
    fn a_multipolygon_and_unknown_members_are_read() {
        let text = r#"{"type":"FeatureCollection","name":"x","crs":{"type":"name"},"features":[
            {"id":7,"properties":{"CODE":"E1","NAME":"One"},"type":"Feature",
             "geometry":{"coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]],
                         "bbox":[0,0,3,3],"type":"MultiPolygon"}}]}"#;
        let features = parse(text).unwrap();
        assert!(matches!(&features[0].geometry, Shape::MultiPolygon(p) if p.len() == 2));
    }

    #[test]
    fn malformed_json_fails_the_file_with_line_and_column() {
        let err =
            parse("{\"type\":\"FeatureCollection\",\n  \"features\": [1, 2,]\n}").unwrap_err();
        let ImportError::GeoJsonParse { source, .. } = &err else {
            panic!("{err:?}");
        };
        // The `]` after the trailing comma.
        assert_eq!((source.line(), source.column()), (2, 21), "{source}");
        for bad in ["01", "1.", "-", "+1", ".5", "NaN", "1e999", "nul"] {
            let text = one(
                PROPS,
                &format!(r#"{{"type":"Polygon","coordinates":[[[{bad},0],[1,0],[1,1],[0,0]]]}}"#),
            );
            assert!(
                matches!(parse(&text), Err(ImportError::GeoJsonParse { .. })),
                "{bad:?}"
            );
        }
        for bad in [
            "",
            "[1 2]",
            "{\"a\" 1}",
            "\"abc",
            "[]",
            "{\"type\":\"Feature\"}",
        ] {
            assert!(
                matches!(parse(bad), Err(ImportError::GeoJsonParse { .. })),
                "{bad:?}"
            );
        }
        let trailing = format!("{} x", one(PROPS, SQUARE));
        assert!(matches!(
            parse(&trailing),
            Err(ImportError::GeoJsonParse { .. })
        ));
    }

    #[test]
    fn a_feature_of_the_wrong_shape_is_reported_by_its_index() {
        let good = format!(r#"{{"type":"Feature","properties":{PROPS},"geometry":{SQUARE}}}"#);
        for bad in [
            r#"{"type":"Foo","properties":{},"geometry":null}"#.to_owned(),
            format!(r#"{{"type":"Feature","properties":{PROPS}}}"#),
            format!(
                r#"{{"type":"Feature","properties":{PROPS},"geometry":{{"type":"Point","coordinates":[0,0]}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","properties":{PROPS},"geometry":{{"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,1,5],[0,0,5]]]}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","properties":{PROPS},"geometry":{{"type":"Polygon","coordinates":[[0,0],[1,0],[1,1],[0,0]]}}}}"#
            ),
            format!(r#"{{"type":"Feature","properties":[],"geometry":{SQUARE}}}"#),
        ] {
            let text = format!(r#"{{"type":"FeatureCollection","features":[{good},{bad}]}}"#);
            let err = parse(&text).unwrap_err();
            assert!(
                matches!(err, ImportError::FeatureParse { index: 1, .. }),
                "{bad}: {err:?}"
            );
            assert!(std::error::Error::source(&err).is_some());
        }
    }

    #[test]
    fn an_unusable_property_or_ring_is_reported_by_its_index() {
        for (properties, geometry, reason) in [
            (r#"{"CODE":"E1"}"#, SQUARE, "property NAME is missing"),
            (
                r#"{"CODE":5,"NAME":"x"}"#,
                SQUARE,
                "property CODE is a number, not a string",
            ),
            ("null", SQUARE, "property CODE is missing"),
            (
                PROPS,
                r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#,
                "polygon 0 ring 0 is not a closed ring of at least 4 positions",
            ),
            (
                PROPS,
                r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}"#,
                "polygon 0 ring 0 has (1, 91), not a lon/lat",
            ),
        ] {
            let err = parse(&one(properties, geometry)).unwrap_err();
            let ImportError::Feature {
                index: 0,
                reason: got,
                ..
            } = &err
            else {
                panic!("{err:?}");
            };
            assert_eq!(got, reason);
        }
    }
}
