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
use std::sync::Arc;

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
use crate::engine::postcode::{self, Postcode, PostcodeQuery};
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

    /// Every data file of the source (see [`is_data_file`]), as paths relative to its root
    /// with `/` separators, sorted.
    fn data_files(&self) -> Result<Vec<String>, LoadError> {
        let mut out = Vec::new();
        match self {
            Self::Embedded => embedded_files(&EMBEDDED, &mut out),
            Self::Dir(d) => dir_files(d, "", &mut out)?,
        }
        out.retain(|p| is_data_file(p));
        out.sort();
        Ok(out)
    }
}

/// Whether a file of a data folder holds data the manifest must list: a `.csv`, `.tsv`,
/// `.geojson` or `.json` file (scheme files, the manifest and documentation are not data
/// files, and names starting with `.` are ignored).
#[must_use]
pub fn is_data_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    !name.starts_with('.')
        && Path::new(name).extension().is_some_and(|e| {
            ["csv", "tsv", "geojson", "json"]
                .iter()
                .any(|d| e.eq_ignore_ascii_case(d))
        })
}

fn embedded_files(dir: &Dir<'_>, out: &mut Vec<String>) {
    for f in dir.files() {
        if let Some(p) = f.path().to_str() {
            out.push(p.replace('\\', "/"));
        }
    }
    for d in dir.dirs() {
        embedded_files(d, out);
    }
}

fn dir_files(root: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), LoadError> {
    let dir = root.join(prefix);
    let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Read {
        path: dir.clone(),
        source,
    })?;
    for entry in entries.filter_map(Result::ok) {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() => dir_files(root, &rel, out)?,
            Ok(_) => out.push(rel),
            Err(_) => {}
        }
    }
    Ok(())
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
    #[error("{path}: no such file")]
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
    /// A data file in the folder that the manifest does not list, so its checksum cannot be
    /// verified.
    #[error(
        "{path}: not listed in manifest.toml, so its checksum cannot be verified; rebuild the manifest (careband import) or remove the file"
    )]
    Unlisted {
        /// The file.
        path: String,
    },
    /// A file the manifest lists is not in the data folder.
    #[error("{path}: listed in manifest.toml but not in the data folder")]
    ListedButMissing {
        /// The file.
        path: String,
    },
    /// A table or a selection that must hold something is empty.
    #[error("{path}: {message}")]
    Empty {
        /// The file.
        path: String,
        /// What is empty.
        message: String,
    },
    /// Two scheme files give the same scheme id.
    #[error(
        "{path}: line {line}: scheme id {id:?} is also the id of {first}; every scheme file needs its own id (check a draft against the data with `careband validate draft.toml --data DIR`, from outside the data folder)"
    )]
    DuplicateScheme {
        /// The later scheme file.
        path: String,
        /// The 1-based line of its `id`.
        line: usize,
        /// The id both give.
        id: String,
        /// The earlier scheme file.
        first: String,
    },
    /// The data folder has no scheme file.
    #[error("schemes/: no scheme file (*.toml): nothing could be answered")]
    NoSchemes,
}

impl LoadError {
    /// The file the error is about, relative to the data folder where it can be.
    #[must_use]
    pub fn file(&self) -> String {
        match self {
            Self::Read { path, .. } => path.display().to_string(),
            Self::Missing { path }
            | Self::Toml { path, .. }
            | Self::Checksum { path, .. }
            | Self::Row { path, .. }
            | Self::Geometry { path, .. }
            | Self::Scheme { path, .. }
            | Self::InvalidGeometry { path, .. }
            | Self::Reproject { path, .. }
            | Self::Unlisted { path }
            | Self::ListedButMissing { path }
            | Self::Empty { path, .. }
            | Self::DuplicateScheme { path, .. } => path.clone(),
            Self::NoSchemes => "schemes/".into(),
        }
    }

    /// The error as `careband validate` findings: one per rule or geometry problem, else one
    /// naming the file.
    #[must_use]
    pub fn findings(&self) -> Vec<crate::engine::validate::Finding> {
        use crate::engine::validate::{Finding, FindingKind, Severity};
        let one = |kind, message: String| Finding {
            severity: Severity::Error,
            kind,
            file: self.file(),
            feature: None,
            message,
            area_m2: None,
            location: None,
        };
        match self {
            Self::Scheme { errors, .. } => errors
                .iter()
                .map(|e| one(FindingKind::Rule, e.what.clone()))
                .collect(),
            Self::InvalidGeometry { findings, .. } => findings.clone(),
            Self::DuplicateScheme { .. } => vec![one(FindingKind::Rule, self.detail())],
            Self::Geometry { .. } | Self::Reproject { .. } => {
                vec![one(FindingKind::Geometry, self.detail())]
            }
            _ => vec![one(FindingKind::File, self.detail())],
        }
    }

    /// The message without the leading file name (findings name the file themselves).
    fn detail(&self) -> String {
        let text = self.to_string();
        let file = self.file();
        text.strip_prefix(&format!("{file}: "))
            .map_or(text.clone(), str::to_string)
    }
}

#[derive(Deserialize)]
struct Manifest {
    version: String,
    /// Where every position of the dataset lies; [`Bounds::ENGLAND`] when not given.
    bounds: Option<Bounds>,
    #[serde(default)]
    files: Vec<DataFile>,
}

/// The WGS84 box every position of a dataset must lie in (the manifest's `[bounds]` table).
/// A postcode, centre, place or polygon outside it is refused at load: it is a sign of
/// swapped lat/lon columns or a layer in another CRS than the scheme says.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
pub struct Bounds {
    /// Westernmost longitude, degrees.
    pub west: f64,
    /// Southernmost latitude, degrees.
    pub south: f64,
    /// Easternmost longitude, degrees.
    pub east: f64,
    /// Northernmost latitude, degrees.
    pub north: f64,
}

impl Bounds {
    /// England with a margin of a few kilometres (the Isles of Scilly to the Norfolk coast,
    /// Cornwall to Northumberland): the default for a manifest without `[bounds]`.
    pub const ENGLAND: Self = Self {
        west: -6.5,
        south: 49.8,
        east: 2.0,
        north: 55.9,
    };

    /// Whether `p` lies inside (edges included).
    #[must_use]
    pub fn contains(&self, p: LonLat) -> bool {
        (self.west..=self.east).contains(&p.lon()) && (self.south..=self.north).contains(&p.lat())
    }

    /// Why `p` is refused, when it lies outside.
    fn check(&self, p: LonLat) -> Result<(), String> {
        if self.contains(p) {
            return Ok(());
        }
        let swapped = LonLat::new(p.lat(), p.lon()).is_ok_and(|q| self.contains(q));
        Err(format!(
            "position lat {}, lon {} is outside the dataset's bounds (lon {} to {}, lat {} to {}; the manifest's [bounds]){}",
            p.lat(),
            p.lon(),
            self.west,
            self.east,
            self.south,
            self.north,
            if swapped {
                ": the latitude and longitude look swapped"
            } else {
                ""
            }
        ))
    }

    /// Whether the box is usable: finite, west < east, south < north, inside lon/lat range.
    fn is_valid(&self) -> bool {
        LonLat::new(self.west, self.south).is_ok()
            && LonLat::new(self.east, self.north).is_ok()
            && self.west < self.east
            && self.south < self.north
    }
}

/// British National Grid coordinates: eastings and northings of Great Britain lie in
/// 0..=700 km and 0..=1300 km.
const BNG_MAX_EASTING_M: f64 = 700_000.0;
const BNG_MAX_NORTHING_M: f64 = 1_300_000.0;

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
    /// Reads a data file the manifest lists, verifying its checksum; a file it does not list
    /// is refused.
    fn read(&self, rel: &str) -> Result<Cow<'static, [u8]>, LoadError> {
        let Some(expected) = self.checksums.get(rel) else {
            return Err(LoadError::Unlisted { path: rel.into() });
        };
        let bytes = self.source.read(rel).map_err(|e| match e {
            LoadError::Missing { .. } => LoadError::ListedButMissing { path: rel.into() },
            LoadError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                LoadError::ListedButMissing { path: rel.into() }
            }
            other => other,
        })?;
        let actual = sha256_hex(&bytes);
        if &actual != expected {
            return Err(LoadError::Checksum {
                path: rel.into(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}

/// Loads and indexes a whole dataset, refusing it on the first error any check finds (the
/// checks are those of `careband validate`: [`inspect`]).
///
/// # Errors
/// [`LoadError`] naming the file (and line, feature or field) of the first problem: a file
/// missing, corrupt, unlisted or inconsistent, an empty table, a duplicate, a position outside
/// the dataset's bounds, a broken scheme rule; for a directory source also
/// [`LoadError::InvalidGeometry`] for a scheme with gaps or overlaps.
pub fn load(source: &DataSource) -> Result<Dataset, LoadError> {
    load_with(source, GeometryCheck::Auto)
}

/// When [`inspect`] runs the gap and overlap checks of the area layers (the slow part of
/// the geometry checks; polygon validity is always checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryCheck {
    /// For directory sources only (what [`load`] and [`validate`] do): the embedded copy
    /// cannot change after the build, and the test suite checks it with `Always`.
    Auto,
    /// Always, the embedded copy included.
    Always,
    /// Never: for testing how the engine answers on a faulty layer.
    Never,
}

/// [`load`] with a choice of geometry checks.
///
/// # Errors
/// As [`load`].
pub fn load_with(source: &DataSource, check: GeometryCheck) -> Result<Dataset, LoadError> {
    inspect(source, check, None)?.into_result()
}

/// A scheme file from outside the data folder (a council's draft), checked in place of the
/// folder's scheme with the same id.
#[derive(Debug, Clone)]
pub struct Draft {
    /// How to name the file in findings.
    pub label: String,
    /// The file's contents.
    pub text: Vec<u8>,
}

/// What [`inspect`] found: every error, the warnings, and the dataset when there was no
/// error.
pub struct Inspection {
    /// Errors of the dataset as a whole (manifest, files, postcodes, places, scheme ids).
    dataset_errors: Vec<LoadError>,
    /// Per scheme file, in file order.
    schemes: Vec<SchemeOutcome>,
    /// The dataset, when no error was found.
    dataset: Option<Dataset>,
}

/// What was found for one scheme file.
struct SchemeOutcome {
    /// The file (`schemes/<name>.toml`, or a draft's label).
    path: String,
    /// The scheme's id, when the file parses.
    id: Option<String>,
    errors: Vec<LoadError>,
    warnings: Vec<crate::engine::validate::Finding>,
    loaded: Option<LoadedScheme>,
    /// The 1-based line of its `id` key (0 when unknown).
    id_line: usize,
}

impl Inspection {
    /// The dataset, or the first error found.
    ///
    /// # Errors
    /// The first error: the dataset's own, then scheme by scheme in file order.
    pub fn into_result(self) -> Result<Dataset, LoadError> {
        let first = self
            .dataset_errors
            .into_iter()
            .chain(self.schemes.into_iter().flat_map(|s| s.errors))
            .next();
        match (first, self.dataset) {
            (Some(e), _) => Err(e),
            (None, Some(ds)) => Ok(ds),
            (None, None) => Err(LoadError::NoSchemes),
        }
    }

    /// The findings as `careband validate` reports them: one report for the dataset as a
    /// whole (only when it has errors), then one per scheme file.
    #[must_use]
    pub fn reports(&self) -> Vec<Report> {
        let mut out = Vec::new();
        if !self.dataset_errors.is_empty() {
            out.push(Report {
                scheme: "dataset".into(),
                file: MANIFEST.into(),
                findings: self
                    .dataset_errors
                    .iter()
                    .flat_map(LoadError::findings)
                    .collect(),
            });
        }
        for s in &self.schemes {
            let mut r = Report {
                scheme: s.id.clone().unwrap_or_else(|| s.path.clone()),
                file: s.path.clone(),
                findings: s
                    .errors
                    .iter()
                    .flat_map(LoadError::findings)
                    .chain(s.warnings.iter().cloned())
                    .collect(),
            };
            r.sort();
            out.push(r);
        }
        out
    }
}

/// Runs every check of a data source and builds the dataset if none fails: the one path of
/// both [`load`] (which refuses on the first error) and [`validate`] (which reports them
/// all). Steps, in order:
/// 1. read `manifest.toml` (version, declared [`Bounds`], every data file's SHA-256);
/// 2. every listed file must exist and match its checksum, and every data file of the folder
///    ([`is_data_file`]) must be listed;
/// 3. the postcode table: one row per postcode, finite grid coordinates, positions inside the
///    bounds, at least one row; then the gazetteer (when listed), positions inside the bounds;
/// 4. every scheme file (with `draft` in place of the folder's file of the same id): its
///    rules ([`Scheme::check`]), its layers (closed rings, positions inside the bounds, valid
///    polygons, filtered to the scheme's own features by [`own_features`]), its centres (a
///    non-empty table, positions inside the bounds, at least one in the scheme's scopes),
///    the gap and overlap checks as `check` says (and only while no error has been found),
///    and an id no other scheme file has;
/// 5. at least one scheme; then the dataset is assembled.
///
/// # Errors
/// Only when the data folder cannot be listed; every problem with its contents is in the
/// [`Inspection`].
#[expect(
    clippy::too_many_lines,
    reason = "the numbered steps of the doc comment, in order; read top to bottom"
)]
pub fn inspect(
    source: &DataSource,
    check: GeometryCheck,
    draft: Option<&Draft>,
) -> Result<Inspection, LoadError> {
    let mut ins = Inspection {
        dataset_errors: Vec::new(),
        schemes: Vec::new(),
        dataset: None,
    };
    let manifest = match read_manifest(source) {
        Ok(m) => m,
        Err(e) => {
            ins.dataset_errors.push(e);
            return Ok(ins);
        }
    };
    let bounds = manifest.bounds.unwrap_or(Bounds::ENGLAND);
    if !bounds.is_valid() {
        ins.dataset_errors.push(LoadError::Toml {
            path: MANIFEST.into(),
            message: format!(
                "[bounds] {bounds:?} must be finite lon/lat with west < east and south < north"
            ),
        });
        return Ok(ins);
    }
    let reader = Reader {
        source,
        checksums: manifest
            .files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect(),
    };
    // Every listed file is verified even if no scheme uses it: a corrupt dataset is refused
    // whole. Files read again below are read from the cache of verified bytes.
    let mut verified: HashMap<String, Arc<Cow<'static, [u8]>>> = HashMap::new();
    for f in &manifest.files {
        match reader.read(&f.path) {
            Ok(bytes) => {
                verified.insert(f.path.clone(), Arc::new(bytes));
            }
            Err(e) => ins.dataset_errors.push(e),
        }
    }
    for path in source.data_files()? {
        if !reader.checksums.contains_key(&path) {
            ins.dataset_errors.push(LoadError::Unlisted { path });
        }
    }
    let files = Verified {
        reader: &reader,
        bytes: verified,
        bounds,
    };
    let postcodes = load_postcodes(&files, POSTCODES_FILE)
        .map_err(|e| ins.dataset_errors.push(e))
        .ok();
    // The gazetteer is optional: a data folder without one answers postcodes and points only.
    let places = if manifest.files.iter().any(|f| f.path == GAZETTEER_FILE) {
        load_places(&files, GAZETTEER_FILE)
            .map_err(|e| ins.dataset_errors.push(e))
            .ok()
    } else {
        Some(Vec::new())
    };
    let mut centre_cache: HashMap<String, Option<Vec<(LonLat, Centre)>>> = HashMap::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    for (path, bytes) in scheme_inputs(source, draft)? {
        // The gap and overlap checks take seconds: not worth running on data already refused.
        let clean =
            ins.dataset_errors.is_empty() && ins.schemes.iter().all(|s| s.errors.is_empty());
        let check = if clean { check } else { GeometryCheck::Never };
        let mut outcome = check_scheme(&files, &path, bytes, check, &mut centre_cache);
        if let Some(id) = &outcome.id {
            if let Some(first) = ids.get(id) {
                outcome.errors.push(LoadError::DuplicateScheme {
                    line: outcome.id_line,
                    path: path.clone(),
                    id: id.clone(),
                    first: first.clone(),
                });
            } else {
                ids.insert(id.clone(), path.clone());
            }
        }
        ins.schemes.push(outcome);
    }
    if ins.schemes.is_empty() {
        ins.dataset_errors.push(LoadError::NoSchemes);
    }
    let ok = ins.dataset_errors.is_empty() && ins.schemes.iter().all(|s| s.errors.is_empty());
    if let (true, Some(postcodes), Some(places)) = (ok, postcodes, places) {
        let places = Gazetteer::new(places, &postcodes);
        let mut schemes: Vec<LoadedScheme> = ins
            .schemes
            .iter_mut()
            .filter_map(|s| s.loaded.take())
            .collect();
        schemes.sort_by(|a, b| a.scheme.id.cmp(&b.scheme.id));
        ins.dataset = Some(Dataset {
            version: manifest.version.into(),
            origin: source.describe(),
            files: manifest.files,
            postcodes,
            schemes,
            places,
            grid: std::sync::Arc::new(crate::data::reproject::ProjGrid),
        });
    }
    Ok(ins)
}

/// The versions of a data source: the dataset's (its manifest's `version`) and each scheme
/// file's id and `version`, read from those files alone, without loading the data (for
/// `careband --version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// The manifest's `version`.
    pub dataset: String,
    /// `(id, version)` of each scheme file, in file name order.
    pub schemes: Vec<(String, String)>,
}

/// Reads the [`Versions`] of `source`.
///
/// # Errors
/// [`LoadError`] when the manifest or a scheme file cannot be read or has no version.
pub fn versions(source: &DataSource) -> Result<Versions, LoadError> {
    #[derive(Deserialize)]
    struct IdVersion {
        id: String,
        version: String,
    }
    let dataset = read_manifest(source)?.version;
    let mut schemes = Vec::new();
    for path in source.scheme_files()? {
        let bytes = source.read(&path)?;
        let s: IdVersion =
            toml::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| LoadError::Toml {
                path: path.clone(),
                message: e.to_string(),
            })?;
        schemes.push((s.id, s.version));
    }
    Ok(Versions { dataset, schemes })
}

fn read_manifest(source: &DataSource) -> Result<Manifest, LoadError> {
    let bytes = source.read(MANIFEST)?;
    toml::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| LoadError::Toml {
        path: MANIFEST.into(),
        message: e.to_string(),
    })
}

/// The scheme files to check, with their bytes: the folder's, and a draft in place of the
/// folder file with the same id.
fn scheme_inputs(
    source: &DataSource,
    draft: Option<&Draft>,
) -> Result<Vec<(String, FileBytes)>, LoadError> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    let id_of = |bytes: &[u8]| {
        toml::from_str::<IdOnly>(&String::from_utf8_lossy(bytes))
            .ok()
            .map(|s| s.id)
    };
    let draft_id = draft.and_then(|d| id_of(&d.text));
    let mut out: Vec<(String, FileBytes)> = Vec::new();
    for path in source.scheme_files()? {
        let bytes = source.read(&path);
        if draft_id.is_some()
            && bytes
                .as_ref()
                .is_ok_and(|b| id_of(b).as_deref() == draft_id.as_deref())
        {
            continue;
        }
        out.push((path, bytes));
    }
    if let Some(d) = draft {
        out.push((d.label.clone(), Ok(Cow::Owned(d.text.clone()))));
    }
    Ok(out)
}

/// The data files, verified against the manifest, and the dataset's bounds.
struct Verified<'a> {
    reader: &'a Reader<'a>,
    bytes: HashMap<String, Arc<Cow<'static, [u8]>>>,
    bounds: Bounds,
}

impl Verified<'_> {
    /// A data file's verified bytes (read and verified now if it was not already).
    fn read(&self, rel: &str) -> Result<Arc<Cow<'static, [u8]>>, LoadError> {
        match self.bytes.get(rel) {
            Some(b) => Ok(Arc::clone(b)),
            None => self.reader.read(rel).map(Arc::new),
        }
    }
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

/// Reads the rows of a CSV file, giving each with its 1-based line number to `each`.
fn csv_rows<T: serde::de::DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    mut each: impl FnMut(u64, T) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let mut rdr = csv::Reader::from_reader(bytes);
    let headers = rdr.headers().map_err(|e| csv_row_err(path, &e))?.clone();
    let mut rec = csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .map_err(|e| csv_row_err(path, &e))?
    {
        let line = rec.position().map_or(0, csv::Position::line);
        let row: T = rec
            .deserialize(Some(&headers))
            .map_err(|e| row_err(path, line, e.to_string()))?;
        each(line, row)?;
    }
    Ok(())
}

/// A checked WGS84 position inside the dataset's bounds, or the row's error.
fn position_in(
    bounds: &Bounds,
    path: &str,
    line: u64,
    lon: f64,
    lat: f64,
) -> Result<LonLat, LoadError> {
    let at = LonLat::new(lon, lat).map_err(|e| row_err(path, line, e.to_string()))?;
    bounds.check(at).map_err(|m| row_err(path, line, m))?;
    Ok(at)
}

fn load_places(files: &Verified<'_>, path: &str) -> Result<Vec<Place>, LoadError> {
    let bytes = files.read(path)?;
    let mut out = Vec::new();
    csv_rows(path, &bytes, |line, row: PlaceRow| {
        let kind = PlaceKind::parse(&row.kind)
            .ok_or_else(|| row_err(path, line, format!("unknown kind {:?}", row.kind)))?;
        let source = PlaceSource::parse(&row.source)
            .ok_or_else(|| row_err(path, line, format!("unknown source {:?}", row.source)))?;
        let at = position_in(&files.bounds, path, line, row.lon, row.lat)?;
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
        Ok(())
    })?;
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

fn load_postcodes(files: &Verified<'_>, path: &str) -> Result<PostcodeTable, LoadError> {
    let bytes = files.read(path)?;
    let mut records = Vec::new();
    let mut codes: HashSet<Text> = HashSet::new();
    // Line of each postcode's row: a postcode listed twice is refused, never answered from
    // whichever row happens to come first.
    let mut lines: HashMap<Postcode, u64> = HashMap::new();
    csv_rows(path, &bytes, |line, row: PostcodeRow| {
        let Ok(PostcodeQuery::Unit(pc)) = postcode::parse(&row.postcode) else {
            return Err(row_err(
                path,
                line,
                format!("{:?} is not a full postcode", row.postcode),
            ));
        };
        if let Some(first) = lines.insert(pc.clone(), line) {
            return Err(row_err(
                path,
                line,
                format!("postcode {pc} is also on line {first}: one row per postcode"),
            ));
        }
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
            (Some(lon), Some(lat)) => Some(position_in(&files.bounds, path, line, lon, lat)?),
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
            (Some(e), Some(n)) => {
                if !((0.0..=BNG_MAX_EASTING_M).contains(&e)
                    && (0.0..=BNG_MAX_NORTHING_M).contains(&n))
                {
                    return Err(row_err(
                        path,
                        line,
                        format!(
                            "easting {e}, northing {n} is not a British National Grid position (0 to {BNG_MAX_EASTING_M} m east, 0 to {BNG_MAX_NORTHING_M} m north)"
                        ),
                    ));
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "checked above: BNG metres in range fit in i32"
                )]
                Some((e as i32, n as i32))
            }
            (None, None) => None,
            _ => {
                return Err(row_err(
                    path,
                    line,
                    "easting and northing must both be present or both empty",
                ));
            }
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
        Ok(())
    })?;
    if records.is_empty() {
        return Err(LoadError::Empty {
            path: path.into(),
            message: "no postcodes: the table has no rows, so every lookup would fail".into(),
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

fn load_centres(files: &Verified<'_>, path: &str) -> Result<Vec<(LonLat, Centre)>, LoadError> {
    let bytes = files.read(path)?;
    let mut out = Vec::new();
    csv_rows(path, &bytes, |line, row: CentreRow| {
        let at = position_in(&files.bounds, path, line, row.lon, row.lat).map_err(|e| match e {
            LoadError::Row {
                path,
                line,
                message,
            } => LoadError::Row {
                path,
                line,
                message: format!("centre {}: {message}", row.code),
            },
            other => other,
        })?;
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
        Ok(())
    })?;
    if out.is_empty() {
        return Err(LoadError::Empty {
            path: path.into(),
            message: "no centres: the table has no rows, so no band could be measured".into(),
        });
    }
    Ok(out)
}

/// Checks one scheme file and, when nothing is wrong, loads it (see [`inspect`], step 4).
#[expect(
    clippy::too_many_lines,
    reason = "one scheme's checks in the order they depend on each other"
)]
fn check_scheme(
    files: &Verified<'_>,
    path: &str,
    bytes: FileBytes,
    check: GeometryCheck,
    centre_cache: &mut HashMap<String, Option<Vec<(LonLat, Centre)>>>,
) -> SchemeOutcome {
    let mut out = SchemeOutcome {
        path: path.to_string(),
        id: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        loaded: None,
        id_line: 0,
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let scheme: Scheme = match toml::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(LoadError::Toml {
                path: path.into(),
                message: e.to_string().trim_end().replace('\n', " "),
            });
            return out;
        }
    };
    out.id = Some(scheme.id.to_string());
    out.id_line = id_line(&text);
    if let Err(errors) = scheme.check() {
        let errors = errors
            .into_iter()
            .map(|mut e| {
                if let Some(l) = line_of(&text, &e.what) {
                    e.what = format!("line {l}: {}", e.what);
                }
                e
            })
            .collect();
        out.errors.push(LoadError::Scheme {
            path: path.into(),
            errors,
        });
    }
    let mut loaded_layers = Vec::new();
    for spec in &scheme.layers {
        match load_layer(
            files,
            &spec.file,
            spec.crs.as_deref(),
            &spec.id_property,
            &spec.name_property,
        ) {
            Ok(features) => loaded_layers.push(features),
            Err(e) => out.errors.push(e),
        }
    }
    let centres = scheme
        .banding
        .as_ref()
        .and_then(|b| scheme_centres(files, path, b, centre_cache, &mut out.errors));
    if !out.errors.is_empty() || loaded_layers.len() != scheme.layers.len() {
        return out;
    }
    // Every feature of every file must be valid, before the scheme keeps only its own.
    let invalid: Vec<_> = scheme
        .layers
        .iter()
        .zip(&loaded_layers)
        .flat_map(|(spec, features)| {
            crate::engine::validate::invalid_features(
                features.iter().map(|(mp, f)| (mp, f)),
                &spec.file,
            )
        })
        .collect();
    if !invalid.is_empty() {
        out.errors.push(LoadError::InvalidGeometry {
            path: path.into(),
            findings: invalid,
        });
        return out;
    }
    let layers = own_features(&scheme, loaded_layers)
        .into_iter()
        .zip(&scheme.layers)
        .map(|(features, spec)| layer(spec, features))
        .collect();
    let ls = LoadedScheme::new(scheme, layers, centres);
    let run_overlay = match check {
        GeometryCheck::Auto => matches!(files.reader.source, DataSource::Dir(_)),
        GeometryCheck::Always => true,
        GeometryCheck::Never => false,
    };
    let findings = if run_overlay {
        crate::engine::validate::check_geometry(&ls)
    } else {
        Vec::new()
    };
    let (errors, warnings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.severity == crate::engine::validate::Severity::Error);
    out.warnings = warnings;
    if errors.is_empty() {
        out.loaded = Some(ls);
    } else {
        out.errors.push(LoadError::InvalidGeometry {
            path: path.into(),
            findings: errors,
        });
    }
    out
}

/// The centres of a banded scheme that count (those in its scopes), reading the centre file
/// once for every scheme that uses it; problems go to `errors`.
fn scheme_centres(
    files: &Verified<'_>,
    path: &str,
    b: &crate::engine::scheme::Banding,
    centre_cache: &mut HashMap<String, Option<Vec<(LonLat, Centre)>>>,
    errors: &mut Vec<LoadError>,
) -> Option<PointIndex<Centre>> {
    let all = centre_cache
        .entry(b.centres_file.clone())
        .or_insert_with(|| match load_centres(files, &b.centres_file) {
            Ok(all) => Some(all),
            Err(e) => {
                errors.push(e);
                None
            }
        })
        .as_deref()?;
    let chosen: Vec<(LonLat, Centre)> = all
        .iter()
        .filter(|(_, c)| b.centre_scopes.contains(&c.scope))
        .cloned()
        .collect();
    if chosen.is_empty() {
        errors.push(LoadError::Empty {
            path: path.into(),
            message: format!(
                "banding.centre_scopes {:?}: no centre of {} has one of these scopes, so no band could be measured",
                b.centre_scopes, b.centres_file
            ),
        });
    }
    Some(PointIndex::build(chosen))
}

/// The 1-based line of a scheme file's top-level `id` key (0 when not found).
fn id_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix("id")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
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
    files: &Verified<'_>,
    path: &str,
    crs: Option<&str>,
    id_property: &str,
    name_property: &str,
) -> Result<Vec<(MultiPolygon<f64>, Feature)>, LoadError> {
    let bytes = files.read(path)?;
    let features = parse_layer(path, &bytes, crs, id_property, name_property)?;
    for (i, (shape, f)) in features.iter().enumerate() {
        if let Some(bad) = geo::CoordsIter::coords_iter(shape)
            .filter_map(|c| LonLat::new(c.x, c.y).ok())
            .find_map(|p| files.bounds.check(p).err())
        {
            return Err(LoadError::Geometry {
                path: path.into(),
                message: format!("feature #{i} ({}): {bad}", f.id),
            });
        }
    }
    Ok(features)
}

/// Why a GeoJSON polygon's rings are unusable: a ring needs four positions or more, the
/// last the same as the first (RFC 7946, 3.1.6). The geometry library would close an open
/// ring silently, drawing an edge the file does not have.
fn open_ring(value: &geojson::GeometryValue) -> Option<String> {
    let polygons: Vec<&geojson::PolygonType> = match value {
        geojson::GeometryValue::Polygon { coordinates } => vec![coordinates],
        geojson::GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        _ => return None,
    };
    polygons.iter().enumerate().find_map(|(p, rings)| {
        rings.iter().enumerate().find_map(|(r, ring)| {
            let which = if r == 0 {
                "exterior ring".to_string()
            } else {
                format!("hole {r}")
            };
            let part = if polygons.len() > 1 {
                format!("polygon {p}, ")
            } else {
                String::new()
            };
            if ring.len() < 4 {
                Some(format!(
                    "{part}{which} has {} positions; a ring needs at least 4",
                    ring.len()
                ))
            } else if ring.first() != ring.last() {
                Some(format!(
                    "{part}{which} is not closed: its last position differs from its first"
                ))
            } else {
                None
            }
        })
    })
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
        if let Some(why) = open_ring(&geometry.value) {
            return Err(geo_err(format!("feature #{i} ({id}): {why}")));
        }
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

/// Runs the checks of [`load`] ([`inspect`], the same function) and reports every problem
/// instead of stopping at the first: what `careband validate` prints. A report for the
/// dataset as a whole comes first when it has errors (manifest, files, postcodes, places,
/// scheme ids), then one per scheme file asked for. A draft ([`ValidateTarget::File`]) is
/// checked in place of the folder's scheme with the same id.
///
/// # Errors
/// [`LoadError`] only when the data source itself cannot be listed or the asked-for scheme id
/// does not exist; everything about the data is a finding in a report.
pub fn validate(source: &DataSource, target: &ValidateTarget) -> Result<Vec<Report>, LoadError> {
    let draft = match target {
        ValidateTarget::File { label, text } => Some(Draft {
            label: label.clone(),
            text: text.clone(),
        }),
        _ => None,
    };
    if let ValidateTarget::Id(id) = target {
        let path = format!("schemes/{id}.toml");
        if !source.scheme_files()?.contains(&path) {
            return Err(LoadError::Missing { path });
        }
    }
    let mut reports = inspect(source, GeometryCheck::Auto, draft.as_ref())?.reports();
    match target {
        ValidateTarget::All => {}
        ValidateTarget::Id(id) => {
            let path = format!("schemes/{id}.toml");
            reports.retain(|r| r.file == MANIFEST || r.file == path || r.scheme == *id);
        }
        ValidateTarget::File { label, .. } => {
            reports.retain(|r| r.file == MANIFEST || r.file == *label);
        }
    }
    Ok(reports)
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
