//! The file edge: reads a data directory (or the copy embedded in the binary) into a
//! [`Dataset`].
//!
//! Steps, in order; any failure refuses the whole dataset, so a bad file can never replace
//! good data already being served:
//! 1. read `manifest.toml` (dataset version and the SHA-256 of every data file);
//! 2. read each listed file and verify its checksum;
//! 3. parse the postcode table;
//! 4. read every `schemes/*.toml`, check it ([`Scheme::check`]), load the layers it names
//!    (GeoJSON in WGS84, or reprojected from the CRS the scheme states) and its centre file;
//! 5. keep in each layer only the scheme's own features ([`own_features`]): layer files are
//!    shared between schemes (one PCN file for Norfolk and Bristol), and a scheme's layers,
//!    maps and answers must hold only features within its own region;
//! 6. index everything.
//!
//! Errors name the file and the row, feature or field that was wrong.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use geo::{Geometry, MultiPolygon};
use include_dir::{Dir, include_dir};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Text;
use crate::engine::coord::LonLat;
use crate::engine::dataset::{
    Centre, DataFile, Dataset, Feature, Layer, LoadedScheme, PostcodeRecord, PostcodeStatus,
    PostcodeTable,
};
use crate::engine::gazetteer::{Gazetteer, Place, PlaceKind, PlaceSource};
use crate::engine::geo_index::{PointIndex, PolygonIndex};
use crate::engine::postcode::{self, PostcodeQuery};
use crate::engine::scheme::{Scheme, SchemeError};
use crate::engine::validate::Report;

/// The data directory compiled into the binary.
static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/geodata");

/// Name of the manifest file in a data directory.
pub const MANIFEST: &str = "manifest.toml";

/// Where data is read from.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// The `geodata/` copy compiled into the binary.
    Embedded,
    /// A directory on disk laid out like `geodata/`.
    Dir(PathBuf),
}

impl DataSource {
    fn describe(&self) -> String {
        match self {
            Self::Embedded => "embedded".into(),
            Self::Dir(d) => d.display().to_string(),
        }
    }

    fn read(&self, rel: &str) -> Result<Cow<'static, [u8]>, LoadError> {
        match self {
            Self::Embedded => EMBEDDED
                .get_file(rel)
                .map(|f| Cow::Borrowed(f.contents()))
                .ok_or_else(|| LoadError::Missing { path: rel.into() }),
            Self::Dir(d) => std::fs::read(d.join(rel))
                .map(Cow::Owned)
                .map_err(|source| LoadError::Read {
                    path: d.join(rel),
                    source,
                }),
        }
    }

    fn scheme_files(&self) -> Result<Vec<String>, LoadError> {
        let mut names: Vec<String> = match self {
            Self::Embedded => EMBEDDED
                .get_dir("schemes")
                .map(|d| {
                    d.files()
                        .filter_map(|f| f.path().to_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            Self::Dir(d) => {
                let dir = d.join("schemes");
                std::fs::read_dir(&dir)
                    .map_err(|source| LoadError::Read {
                        path: dir.clone(),
                        source,
                    })?
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str().map(|n| format!("schemes/{n}")))
                    .collect()
            }
        };
        names.retain(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        });
        names.sort();
        Ok(names)
    }
}

/// Why a dataset was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file the manifest or a scheme names is not in the embedded data.
    #[error("{path}: no such file in the embedded data")]
    Missing {
        /// The file.
        path: String,
    },
    /// A TOML file (manifest or scheme) does not parse.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A data file's content differs from the manifest.
    #[error(
        "{path}: checksum mismatch (manifest says {expected}, file is {actual}); the file is corrupt or was changed without rebuilding the manifest"
    )]
    Checksum {
        /// The file.
        path: String,
        /// Manifest SHA-256.
        expected: String,
        /// Actual SHA-256.
        actual: String,
    },
    /// A CSV row could not be parsed.
    #[error("{path}: line {line}: {message}")]
    Row {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// A GeoJSON file or feature is unusable.
    #[error("{path}: {message}")]
    Geometry {
        /// The file.
        path: String,
        /// What was wrong (names the feature).
        message: String,
    },
    /// A scheme failed its checks.
    #[error("{path}: {} problem(s): {}", .errors.len(), .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Scheme {
        /// The scheme file.
        path: String,
        /// Every problem found.
        errors: Vec<SchemeError>,
    },
    /// A scheme's geometry failed its checks (invalid polygons, or gaps or overlaps of its
    /// area layers).
    #[error("{path}: {} geometry error(s): {}", .findings.len(), .findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidGeometry {
        /// The scheme file.
        path: String,
        /// The errors found (warnings are not included).
        findings: Vec<crate::engine::validate::Finding>,
    },
    /// Reprojecting a layer failed.
    #[error("{path}: cannot reproject from {crs}: {message}")]
    Reproject {
        /// The file.
        path: String,
        /// The CRS the scheme gave.
        crs: String,
        /// PROJ's message.
        message: String,
    },
}

#[derive(Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    files: Vec<DataFile>,
}

/// Hex SHA-256 of bytes.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

struct Reader<'a> {
    source: &'a DataSource,
    checksums: HashMap<String, String>,
}

impl Reader<'_> {
    /// Reads a file, verifying its checksum when the manifest lists it.
    fn read(&self, rel: &str) -> Result<Cow<'static, [u8]>, LoadError> {
        let bytes = self.source.read(rel)?;
        if let Some(expected) = self.checksums.get(rel) {
            let actual = sha256_hex(&bytes);
            if &actual != expected {
                return Err(LoadError::Checksum {
                    path: rel.into(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(bytes)
    }
}

/// Loads and indexes a whole dataset.
///
/// # Errors
/// [`LoadError`] naming the first file that is missing, corrupt or inconsistent; for a
/// directory source also [`LoadError::InvalidGeometry`] for a scheme that fails the geometry
/// checks of `careband validate`.
pub fn load(source: &DataSource) -> Result<Dataset, LoadError> {
    load_with(source, GeometryCheck::Auto)
}

/// When [`load_with`] runs the geometry checks of `careband validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryCheck {
    /// For directory sources only (what [`load`] does).
    Auto,
    /// Always, the embedded copy included.
    Always,
    /// Never: for tools that check geometry themselves, and for testing how the engine
    /// answers on a faulty layer.
    Never,
}

/// [`load`] with a choice of geometry checks.
///
/// # Errors
/// As [`load`].
pub fn load_with(source: &DataSource, check: GeometryCheck) -> Result<Dataset, LoadError> {
    let manifest_bytes = source.read(MANIFEST)?;
    let manifest: Manifest =
        toml::from_str(&String::from_utf8_lossy(&manifest_bytes)).map_err(|e| LoadError::Toml {
            path: MANIFEST.into(),
            message: e.to_string(),
        })?;
    let reader = Reader {
        source,
        checksums: manifest
            .files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect(),
    };
    // Every listed file is verified even if no scheme uses it: a corrupt dataset is refused
    // whole.
    for f in &manifest.files {
        reader.read(&f.path)?;
    }
    let postcodes = load_postcodes(&reader, POSTCODES_FILE)?;
    // The gazetteer is optional: a data folder without one answers postcodes and points only.
    let places = if manifest.files.iter().any(|f| f.path == GAZETTEER_FILE) {
        load_places(&reader, GAZETTEER_FILE)?
    } else {
        Vec::new()
    };
    let places = Gazetteer::new(places, &postcodes);
    let mut schemes = Vec::new();
    let mut centre_cache: HashMap<String, Vec<(LonLat, Centre)>> = HashMap::new();
    for path in source.scheme_files()? {
        schemes.push(load_scheme(&reader, &path, &mut centre_cache)?);
    }
    schemes.sort_by(|a, b| a.scheme.id.cmp(&b.scheme.id));
    // Data from a directory may have been edited: check every scheme's geometry too (valid
    // polygons; no gaps or overlaps in area layers), as `careband validate` does. The embedded
    // copy cannot change after the build, and the test suite validates it, so it skips this
    // second-or-two step.
    let run_checks = match check {
        GeometryCheck::Auto => matches!(source, DataSource::Dir(_)),
        GeometryCheck::Always => true,
        GeometryCheck::Never => false,
    };
    if run_checks {
        for ls in &schemes {
            refuse_errors(
                &format!("schemes/{}.toml", ls.scheme.id),
                crate::engine::validate::check_geometry(ls),
            )?;
        }
    }
    Ok(Dataset {
        version: manifest.version.into(),
        origin: source.describe(),
        files: manifest.files,
        postcodes,
        schemes,
        places,
        grid: std::sync::Arc::new(crate::data::reproject::ProjGrid),
    })
}

/// The gazetteer's path in a data directory.
pub const GAZETTEER_FILE: &str = "places/gazetteer.csv";

#[derive(Deserialize)]
struct PlaceRow {
    name: String,
    kind: String,
    locality: Option<String>,
    near: Option<String>,
    district: Option<String>,
    lat: f64,
    lon: f64,
    easting: i32,
    northing: i32,
    min_e: Option<i32>,
    min_n: Option<i32>,
    max_e: Option<i32>,
    max_n: Option<i32>,
    source: String,
}

fn load_places(reader: &Reader<'_>, path: &str) -> Result<Vec<Place>, LoadError> {
    let bytes = reader.read(path)?;
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_reader(bytes.as_ref());
    for row in rdr.deserialize::<PlaceRow>() {
        let row = row.map_err(|e| csv_row_err(path, &e))?;
        let line = out.len() as u64 + 2;
        let kind = PlaceKind::parse(&row.kind)
            .ok_or_else(|| row_err(path, line, format!("unknown kind {:?}", row.kind)))?;
        let source = PlaceSource::parse(&row.source)
            .ok_or_else(|| row_err(path, line, format!("unknown source {:?}", row.source)))?;
        let at = LonLat::new(row.lon, row.lat).map_err(|e| row_err(path, line, e.to_string()))?;
        let extent = match (row.min_e, row.min_n, row.max_e, row.max_n) {
            (Some(a), Some(b), Some(c), Some(d)) if a <= c && b <= d => Some([a, b, c, d]),
            (None, None, None, None) => None,
            _ => {
                return Err(row_err(
                    path,
                    line,
                    "the bounding box must be all four of min_e, min_n, max_e, max_n with min <= max, or empty",
                ));
            }
        };
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        out.push(Place {
            name: row.name,
            kind,
            locality: nonempty(row.locality),
            near: nonempty(row.near),
            district: nonempty(row.district),
            at,
            bng: (row.easting, row.northing),
            extent,
            source,
        });
    }
    Ok(out)
}

/// The postcode table's path in a data directory.
pub const POSTCODES_FILE: &str = "postcodes/postcodes.csv";

#[derive(Deserialize)]
struct PostcodeRow {
    postcode: String,
    status: String,
    easting: Option<f64>,
    northing: Option<f64>,
    lat: Option<f64>,
    lon: Option<f64>,
    quality: Option<u8>,
    county: Option<String>,
    district: Option<String>,
    ward: Option<String>,
}

/// A row the CSV reader could not read or deserialise, at the line it reports.
fn csv_row_err(path: &str, e: &csv::Error) -> LoadError {
    row_err(
        path,
        e.position().map_or(0, csv::Position::line),
        e.to_string(),
    )
}

fn row_err(path: &str, line: u64, message: impl Into<String>) -> LoadError {
    LoadError::Row {
        path: path.into(),
        line,
        message: message.into(),
    }
}

fn load_postcodes(reader: &Reader<'_>, path: &str) -> Result<PostcodeTable, LoadError> {
    let bytes = reader.read(path)?;
    let mut records = Vec::new();
    let mut codes: HashSet<Text> = HashSet::new();
    let mut rdr = csv::Reader::from_reader(bytes.as_ref());
    for row in rdr.deserialize::<PostcodeRow>() {
        let row = row.map_err(|e| csv_row_err(path, &e))?;
        let line = records.len() as u64 + 2;
        let Ok(PostcodeQuery::Unit(pc)) = postcode::parse(&row.postcode) else {
            return Err(row_err(
                path,
                line,
                format!("{:?} is not a full postcode", row.postcode),
            ));
        };
        let status = match row.status.as_str() {
            "live" => PostcodeStatus::Live,
            "terminated" => PostcodeStatus::Terminated,
            other => {
                return Err(row_err(
                    path,
                    line,
                    format!("status {other:?} is not live or terminated"),
                ));
            }
        };
        let position = match (row.lon, row.lat) {
            (Some(lon), Some(lat)) => {
                Some(LonLat::new(lon, lat).map_err(|e| row_err(path, line, e.to_string()))?)
            }
            (None, None) => None,
            _ => {
                return Err(row_err(
                    path,
                    line,
                    "lat and lon must both be present or both empty",
                ));
            }
        };
        let bng = match (row.easting, row.northing) {
            #[expect(clippy::cast_possible_truncation, reason = "BNG metres fit in i32")]
            (Some(e), Some(n)) if e.is_finite() && n.is_finite() => Some((e as i32, n as i32)),
            _ => None,
        };
        // Admin codes repeat across thousands of postcodes: one shared copy of each.
        let mut nonempty = |s: Option<String>| {
            let s = s.filter(|s| !s.is_empty())?;
            Some(if let Some(known) = codes.get(s.as_str()) {
                known.clone()
            } else {
                let text = Text::from(s);
                codes.insert(text.clone());
                text
            })
        };
        records.push(PostcodeRecord {
            postcode: pc,
            status,
            position,
            bng,
            quality: row.quality,
            county: nonempty(row.county),
            district: nonempty(row.district),
            ward: nonempty(row.ward),
        });
    }
    Ok(PostcodeTable::new(records))
}

#[derive(Deserialize)]
struct CentreRow {
    code: String,
    name: String,
    postcode: String,
    lat: f64,
    lon: f64,
    open_date: Option<NaiveDate>,
    close_date: Option<NaiveDate>,
    scope: String,
}

fn load_centres(reader: &Reader<'_>, path: &str) -> Result<Vec<(LonLat, Centre)>, LoadError> {
    let bytes = reader.read(path)?;
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_reader(bytes.as_ref());
    for row in rdr.deserialize::<CentreRow>() {
        let row = row.map_err(|e| csv_row_err(path, &e))?;
        let line = out.len() as u64 + 2;
        let at = LonLat::new(row.lon, row.lat)
            .map_err(|e| row_err(path, line, format!("centre {}: {e}", row.code)))?;
        out.push((
            at,
            Centre {
                code: row.code.into(),
                name: row.name.into(),
                postcode: row.postcode.into(),
                open_date: row.open_date,
                close_date: row.close_date,
                scope: row.scope,
            },
        ));
    }
    Ok(out)
}

fn load_scheme(
    reader: &Reader<'_>,
    path: &str,
    centre_cache: &mut HashMap<String, Vec<(LonLat, Centre)>>,
) -> Result<LoadedScheme, LoadError> {
    let bytes = reader.read(path)?;
    let scheme: Scheme =
        toml::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| LoadError::Toml {
            path: path.into(),
            message: e.to_string(),
        })?;
    scheme.check().map_err(|errors| LoadError::Scheme {
        path: path.into(),
        errors,
    })?;
    let mut loaded_layers = Vec::new();
    for spec in &scheme.layers {
        let features = load_layer(
            reader,
            &spec.file,
            spec.crs.as_deref(),
            &spec.id_property,
            &spec.name_property,
        )?;
        loaded_layers.push(features);
    }
    let layers = own_features(&scheme, loaded_layers)
        .into_iter()
        .zip(&scheme.layers)
        .map(|(features, spec)| layer(spec, features))
        .collect();
    let centres = match &scheme.banding {
        None => None,
        Some(b) => {
            if !centre_cache.contains_key(&b.centres_file) {
                let all = load_centres(reader, &b.centres_file)?;
                centre_cache.insert(b.centres_file.clone(), all);
            }
            let all = centre_cache
                .get(&b.centres_file)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let chosen: Vec<(LonLat, Centre)> = all
                .iter()
                .filter(|(_, c)| b.centre_scopes.contains(&c.scope))
                .cloned()
                .collect();
            Some(PointIndex::build(chosen))
        }
    };
    let loaded = LoadedScheme::new(scheme, layers, centres);
    Ok(loaded)
}

/// A feature of a non-coverage layer is kept when more than this share of its area lies in
/// the scheme's coverage region. Boundary files generalised differently overlap their
/// neighbours along a shared edge by slivers of well under 1% of a feature's area (the largest
/// on the shipped data: Lowestoft PCN, 0.02% of its area in Norfolk); a feature that belongs
/// to the region has a large part of its area in it (the smallest kept: Great Yarmouth and
/// Waveney, 32%; South Waveney PCN, 30%).
pub const MIN_OWN_SHARE: f64 = 0.01;

type Features = Vec<(MultiPolygon<f64>, Feature)>;

/// The scheme's own features of each layer (in scheme layer order), at load:
/// 1. the coverage layer keeps only `coverage.features` (all of it when that is empty);
/// 2. every other layer keeps the features with more than [`MIN_OWN_SHARE`] of their area
///    inside the coverage region (planar area in degrees: only the ratio is used).
///
/// Filtering at load rather than at import keeps one copy of a shared file (the PCN layer
/// serves Norfolk and Bristol) and applies to a council's own data folder too.
fn own_features(scheme: &Scheme, mut layers: Vec<Features>) -> Vec<Features> {
    use geo::{Area, BooleanOps, BoundingRect, Intersects};
    let cov = &scheme.coverage;
    let Some(ci) = scheme.layers.iter().position(|l| l.id == cov.layer) else {
        return layers;
    };
    if !cov.features.is_empty() {
        layers[ci].retain(|(_, f)| cov.features.iter().any(|c| f.id == *c));
    }
    let region: Vec<&MultiPolygon<f64>> = layers[ci].iter().map(|(shape, _)| shape).collect();
    let region_boxes: Vec<geo::Rect<f64>> =
        region.iter().filter_map(|s| s.bounding_rect()).collect();
    let share_inside = |shape: &MultiPolygon<f64>| -> f64 {
        let total = shape.unsigned_area();
        let Some(bbox) = shape.bounding_rect() else {
            return 0.0;
        };
        if total <= 0.0 || !region_boxes.iter().any(|r| r.intersects(&bbox)) {
            return 0.0;
        }
        let inside: f64 = region
            .iter()
            .map(|r| r.intersection(shape).unsigned_area())
            .sum();
        inside / total
    };
    let keep: Vec<Vec<bool>> = layers
        .iter()
        .enumerate()
        .map(|(i, features)| {
            features
                .iter()
                .map(|(shape, _)| i == ci || share_inside(shape) > MIN_OWN_SHARE)
                .collect()
        })
        .collect();
    for (features, keep) in layers.iter_mut().zip(keep) {
        let mut k = keep.into_iter();
        features.retain(|_| k.next().unwrap_or(true));
    }
    layers
}

fn refuse_errors(
    path: &str,
    findings: Vec<crate::engine::validate::Finding>,
) -> Result<(), LoadError> {
    let findings: Vec<_> = findings
        .into_iter()
        .filter(|f| f.severity == crate::engine::validate::Severity::Error)
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(LoadError::InvalidGeometry {
            path: path.into(),
            findings,
        })
    }
}

/// Indexes a layer's features under its spec.
fn layer(
    spec: &crate::engine::scheme::LayerSpec,
    features: Vec<(MultiPolygon<f64>, Feature)>,
) -> Layer {
    Layer {
        id: spec.id.as_str().into(),
        description: spec.description.clone(),
        illustrative: spec.illustrative,
        method: spec.method.clone(),
        index: PolygonIndex::build(features),
    }
}

/// Reads a GeoJSON FeatureCollection of polygons: (shape in WGS84, feature id and name).
///
/// # Errors
/// [`LoadError::Geometry`] for unparsable files, features without an id or polygon geometry,
/// coordinates that are not finite lon/lat after reprojection, and duplicate feature ids.
fn load_layer(
    reader: &Reader<'_>,
    path: &str,
    crs: Option<&str>,
    id_property: &str,
    name_property: &str,
) -> Result<Vec<(MultiPolygon<f64>, Feature)>, LoadError> {
    let bytes = reader.read(path)?;
    parse_layer(path, &bytes, crs, id_property, name_property)
}

/// Parses a polygon layer from GeoJSON bytes (see [`load_layer`]).
///
/// # Errors
/// As [`load_layer`].
pub fn parse_layer(
    path: &str,
    bytes: &[u8],
    crs: Option<&str>,
    id_property: &str,
    name_property: &str,
) -> Result<Vec<(MultiPolygon<f64>, Feature)>, LoadError> {
    let geo_err = |message: String| LoadError::Geometry {
        path: path.into(),
        message,
    };
    let fc: geojson::FeatureCollection = serde_json::from_slice(bytes)
        .map_err(|e| geo_err(format!("not a GeoJSON FeatureCollection: {e}")))?;
    let mut out = Vec::with_capacity(fc.features.len());
    let mut ids = std::collections::HashSet::new();
    for (i, f) in fc.features.into_iter().enumerate() {
        let prop = |name: &str| -> Option<String> {
            match f.properties.as_ref()?.get(name)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let id = prop(id_property)
            .ok_or_else(|| geo_err(format!("feature #{i} has no {id_property:?} property")))?;
        let name = prop(name_property).unwrap_or_else(|| id.clone());
        let geometry = f
            .geometry
            .as_ref()
            .ok_or_else(|| geo_err(format!("feature #{i} ({id}) has no geometry")))?;
        let mut g: Geometry<f64> = Geometry::try_from(geometry)
            .map_err(|e| geo_err(format!("feature #{i} ({id}): {e}")))?;
        if let Some(crs) = crs.filter(|c| !is_wgs84(c)) {
            crate::data::reproject::geometry_to_wgs84(&mut g, crs).map_err(|e| {
                LoadError::Reproject {
                    path: path.into(),
                    crs: crs.into(),
                    message: format!("feature #{i} ({id}): {e}"),
                }
            })?;
        }
        let shape = match g {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(mp) => mp,
            other => {
                return Err(geo_err(format!(
                    "feature #{i} ({id}) is a {}, not a Polygon or MultiPolygon",
                    geometry_kind(&other)
                )));
            }
        };
        if let Some(bad) =
            geo::CoordsIter::coords_iter(&shape).find(|c| LonLat::new(c.x, c.y).is_err())
        {
            return Err(geo_err(format!(
                "feature #{i} ({id}) has coordinate ({}, {}), not a WGS84 lon/lat; give the layer's crs in the scheme",
                bad.x, bad.y
            )));
        }
        if !ids.insert(id.clone()) {
            return Err(geo_err(format!(
                "feature #{i}: id {id:?} is used by an earlier feature"
            )));
        }
        out.push((
            shape,
            Feature {
                id: id.into(),
                name: name.into(),
            },
        ));
    }
    Ok(out)
}

fn is_wgs84(crs: &str) -> bool {
    matches!(
        crs.to_ascii_uppercase().as_str(),
        "EPSG:4326" | "OGC:CRS84" | "CRS84" | "URN:OGC:DEF:CRS:OGC:1.3:CRS84" | "WGS84"
    )
}

fn geometry_kind(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// A file's bytes, or why it could not be read.
type FileBytes = Result<Cow<'static, [u8]>, LoadError>;

/// Which schemes [`validate`] checks.
#[derive(Debug, Clone)]
pub enum ValidateTarget {
    /// Every scheme of the data source.
    All,
    /// The scheme with this id (its file is `schemes/<id>.toml`).
    Id(String),
    /// A scheme file outside the data folder (a council's draft), with its text; its layer
    /// files are read from the data source.
    File {
        /// How to name the file in findings.
        label: String,
        /// The file's contents.
        text: Vec<u8>,
    },
}

/// Checks schemes without stopping at the first problem: the manifest and checksums, the
/// scheme's TOML, its rules ([`Scheme::check`]), every layer file, and the geometry
/// ([`crate::engine::validate::check_geometry`]: valid polygons; no gaps or overlaps in area layers).
///
/// # Errors
/// [`LoadError`] only when the data source itself cannot be listed or the asked-for scheme id
/// does not exist; everything about a scheme is a finding in its report.
pub fn validate(source: &DataSource, target: &ValidateTarget) -> Result<Vec<Report>, LoadError> {
    use crate::engine::validate::{Finding, FindingKind, Severity};
    let file_finding = |file: &str, message: String| Finding {
        severity: Severity::Error,
        kind: FindingKind::File,
        file: file.to_string(),
        feature: None,
        message,
        area_m2: None,
        location: None,
    };
    let mut manifest_problems = Vec::new();
    let checksums = match source.read(MANIFEST).map(|b| {
        toml::from_str::<Manifest>(&String::from_utf8_lossy(&b)).map_err(|e| e.to_string())
    }) {
        Ok(Ok(m)) => {
            for f in &m.files {
                if let Err(e) = (Reader {
                    source,
                    checksums: HashMap::from([(f.path.clone(), f.sha256.clone())]),
                })
                .read(&f.path)
                {
                    manifest_problems.push(file_finding(&f.path, e.to_string()));
                }
            }
            m.files.into_iter().map(|f| (f.path, f.sha256)).collect()
        }
        Ok(Err(e)) => {
            manifest_problems.push(file_finding(MANIFEST, e));
            HashMap::new()
        }
        Err(e) => {
            manifest_problems.push(file_finding(MANIFEST, e.to_string()));
            HashMap::new()
        }
    };
    let reader = Reader { source, checksums };
    let files: Vec<(String, FileBytes)> = match target {
        ValidateTarget::All => source
            .scheme_files()?
            .into_iter()
            .map(|p| {
                let bytes = reader.read(&p);
                (p, bytes)
            })
            .collect(),
        ValidateTarget::Id(id) => {
            let path = format!("schemes/{id}.toml");
            if !source.scheme_files()?.contains(&path) {
                return Err(LoadError::Missing { path });
            }
            let bytes = reader.read(&path);
            vec![(path, bytes)]
        }
        ValidateTarget::File { label, text } => {
            vec![(label.clone(), Ok(Cow::Owned(text.clone())))]
        }
    };
    let mut reports = Vec::new();
    for (path, bytes) in files {
        let mut report = Report {
            scheme: path.clone(),
            file: path.clone(),
            findings: manifest_problems.clone(),
        };
        match bytes {
            Err(e) => report.findings.push(file_finding(&path, e.to_string())),
            Ok(bytes) => validate_one(&reader, &path, &bytes, &mut report),
        }
        report.sort();
        reports.push(report);
    }
    Ok(reports)
}

fn validate_one(reader: &Reader<'_>, path: &str, bytes: &[u8], report: &mut Report) {
    use crate::engine::validate::{Finding, FindingKind, Severity};
    let finding = |kind, file: &str, feature: Option<String>, message: String| Finding {
        severity: Severity::Error,
        kind,
        file: file.to_string(),
        feature,
        message,
        area_m2: None,
        location: None,
    };
    let text = String::from_utf8_lossy(bytes);
    let scheme: Scheme = match toml::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            report.findings.push(finding(
                FindingKind::File,
                path,
                None,
                e.to_string().trim_end().replace('\n', " "),
            ));
            return;
        }
    };
    report.scheme = scheme.id.to_string();
    if let Err(errors) = scheme.check() {
        report.findings.extend(errors.into_iter().map(|e| {
            let at = line_of(&text, &e.what)
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            finding(FindingKind::Rule, path, None, format!("{at}{}", e.what))
        }));
    }
    let mut layers = Vec::new();
    for spec in &scheme.layers {
        match load_layer(
            reader,
            &spec.file,
            spec.crs.as_deref(),
            &spec.id_property,
            &spec.name_property,
        ) {
            Ok(features) => {
                layers.push(layer(spec, features));
            }
            Err(e) => report.findings.push(finding(
                FindingKind::Geometry,
                &spec.file,
                None,
                format!("layer {}: {e}", spec.id),
            )),
        }
    }
    if let Some(b) = &scheme.banding
        && let Err(e) = load_centres(reader, &b.centres_file)
    {
        report.findings.push(finding(
            FindingKind::File,
            &b.centres_file,
            None,
            e.to_string(),
        ));
    }
    if layers.len() == scheme.layers.len() {
        let ls = LoadedScheme::new(scheme, layers, None);
        report
            .findings
            .extend(crate::engine::validate::check_geometry(&ls));
    }
}

/// The 1-based line of the first `[[rates]]` or `[[provider_lists]]` table a rule message
/// names (`... provider_lists[2] ...`), found by counting table headers in the source.
fn line_of(text: &str, what: &str) -> Option<usize> {
    ["provider_lists", "rates"].iter().find_map(|table| {
        let start = what.find(&format!("{table}["))? + table.len() + 1;
        let n: usize = what[start..].split_once(']')?.0.parse().ok()?;
        let header = format!("[[{table}]]");
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == header)
            .nth(n)
            .map(|(i, _)| i + 1)
    })
}
