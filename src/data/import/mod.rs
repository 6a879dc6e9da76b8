//! `careband import`: builds the committed, compact `geodata/` folder from the open data files.
//!
//! This module owns what goes into `geodata/` and its exact byte format; the loader only reads
//! what is written here. It reads the open data folder (NHS England ODS practice files, OS
//! Code-Point Open, ONS NSPL, ONS boundaries and NHS registered-patient counts) and never touches `geodata/schemes/`.
//!
//! The build runs in seven steps, each writing its files into the output folder:
//!
//! 1. Boundaries: five `GeoJSON` layers are copied with their geometry unchanged and only the
//!    listed properties kept. The Norfolk county polygon is also reprojected to British
//!    National Grid for the distance rule of step 3.
//! 2. Postcodes: every live Code-Point Open postcode of the NR, IP, PE and BS areas, plus the
//!    NSPL postcodes of those areas that are not live (terminated), in one table.
//! 3. GP practices: every GP practice (open or closed) in the 2025 and 2019 `epraccur` files,
//!    geocoded by postcode, kept if Norfolk & Waveney or BNSSG commission it or it lies within
//!    ten miles of Norfolk.
//! 4. Branch surgeries: the August 2017 `ebranchs` extract, scoped by the same rule.
//! 5. Derived areas: PCN polygons (LSOAs by registered patients, July 2022) with each
//!    practice's own PCN, Norfolk localities (unions of 2019 CCGs) and the illustrative Bristol
//!    zones and night zones (unions of wards); see `areas`.
//! 6. Gazetteer: OS Open Names settlements and roads, `GeoNames` places and MSOA
//!    neighbourhood names, for free-text lookups (`places/gazetteer.csv`).
//! 7. `manifest.toml`: dataset version, and per file its SHA-256, row count, sources and licence.
//!
//! The output is deterministic: rows are sorted by their first column, floats have fixed
//! formats and nothing depends on time or hash order, so a rebuild is byte-identical.

mod areas;
mod boundaries;
mod centres;
mod csvio;
mod manifest;
mod places;
mod postcodes;

use crate::engine::coord::METRES_PER_MILE;
use crate::engine::scheme::CENTRE_BUFFER_MILES;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::data::reproject::{BngToWgs84, ReprojectError, Wgs84ToBng};

/// Version of the dataset written by this importer (Code-Point Open release, then a counter).
pub const DATASET_VERSION: &str = "2025.10-1";

/// Radius around Norfolk inside which a practice commissioned elsewhere is still kept: the
/// schemes' [`CENTRE_BUFFER_MILES`] (ten statute miles) in metres, measured planar in British
/// National Grid.
pub const NEAR_NORFOLK_RADIUS_M: f64 = CENTRE_BUFFER_MILES * METRES_PER_MILE;

/// Commissioner codes of Norfolk & Waveney: the Sub-ICB location 26A and, before April 2020,
/// the CCGs North Norfolk, Norwich, South Norfolk, West Norfolk and Great Yarmouth & Waveney.
pub const NORFOLK_WAVENEY_COMMISSIONERS: [&str; 6] = ["26A", "06V", "06W", "06Y", "07J", "06M"];

/// Commissioner code of Bristol, North Somerset & South Gloucestershire (April 2018 onward).
pub const BNSSG_COMMISSIONERS: [&str; 1] = ["15C"];

/// Where to read the open data and where to write `geodata/`.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The open data folder (holding `gp/`, `postcodes/`, `national/`, `boundaries/`).
    pub opendata: PathBuf,
    /// The folder to write into, normally `geodata`.
    pub out: PathBuf,
}

/// What the import did, for a human.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Summary lines: rows written per file, rows dropped and why.
    pub lines: Vec<String>,
}

/// Why the import failed. Every variant names the file, and the line (CSV, 1-based, the header
/// is line 1) or feature (`GeoJSON`, 0-based) where that applies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// An input file could not be opened or read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// An input CSV file is malformed (the cause names the position).
    #[error("cannot parse CSV {}", .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV error, with its position.
        #[source]
        source: csv::Error,
    },
    /// An input CSV file lacks a column the import needs.
    #[error("{}: missing column `{column}`", .path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column name.
        column: &'static str,
    },
    /// A field holds a value the import cannot use.
    #[error("{}: line {line}: column `{column}`: {reason} (found {value:?})", .path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The line of the record.
        line: u64,
        /// The column name.
        column: &'static str,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same key (postcode, organisation or area code) occurs twice.
    #[error("{}: {where_}: {column} {key:?} occurs more than once", .path.display())]
    DuplicateKey {
        /// The file holding the second occurrence.
        path: PathBuf,
        /// `line N` or `feature #N`.
        where_: String,
        /// The key column or property.
        column: &'static str,
        /// The duplicated value.
        key: String,
    },
    /// A coordinate of a CSV record could not be reprojected.
    #[error("{}: line {line}: cannot reproject the position", .path.display())]
    Reproject {
        /// The file.
        path: PathBuf,
        /// The line of the record.
        line: u64,
        /// The reprojection error.
        #[source]
        source: Box<ReprojectError>,
    },
    /// The reprojection machinery (PROJ) could not be set up.
    #[error("cannot set up reprojection")]
    ReprojectSetup(#[source] Box<ReprojectError>),
    /// An input `GeoJSON` file is not valid JSON or not a `FeatureCollection`.
    #[error("cannot parse GeoJSON {}: {reason}", .path.display())]
    GeoJson {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column for a syntax error.
        reason: String,
    },
    /// An input `GeoJSON` file is not valid JSON, or its top level is not a `FeatureCollection`
    /// with a `features` array.
    #[error("cannot read {} as a GeoJSON FeatureCollection", .path.display())]
    GeoJsonParse {
        /// The file.
        path: PathBuf,
        /// The JSON error, with the line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A `GeoJSON` feature is not a `Feature` with a `Polygon` or `MultiPolygon` geometry of
    /// `[lon, lat]` positions.
    #[error("{}: feature #{index}: not a Feature with a polygonal geometry", .path.display())]
    FeatureParse {
        /// The file.
        path: PathBuf,
        /// The 0-based feature index.
        index: usize,
        /// What does not match.
        #[source]
        source: serde_json::Error,
    },
    /// A `GeoJSON` feature lacks a property or has an unusable geometry.
    #[error("{}: feature #{index}: {reason}", .path.display())]
    Feature {
        /// The file.
        path: PathBuf,
        /// The 0-based feature index.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A `GeoJSON` feature's geometry could not be reprojected.
    #[error("{}: feature #{index}: cannot reproject the geometry", .path.display())]
    FeatureReproject {
        /// The file.
        path: PathBuf,
        /// The 0-based feature index.
        index: usize,
        /// The reprojection error.
        #[source]
        source: Box<ReprojectError>,
    },
    /// An output file could not be serialised.
    #[error("cannot serialise {}", .path.display())]
    Serialise {
        /// The output file.
        path: PathBuf,
        /// The serialiser's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An input boundary file could not be read as a polygon layer.
    #[error("cannot read the polygons of {}", .path.display())]
    Layer {
        /// The file.
        path: PathBuf,
        /// Why the layer reader refused it.
        #[source]
        source: Box<crate::data::load::LoadError>,
    },
    /// An output file or folder could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Metadata recorded in the manifest for one output file.
struct FileMeta {
    description: &'static str,
    sources: &'static [&'static str],
    licence: &'static str,
}

/// One output file as written: its path relative to the output folder, its data rows (CSV) or
/// features (`GeoJSON`) and the SHA-256 of its bytes.
struct WrittenFile {
    rel_path: &'static str,
    rows: usize,
    sha256: String,
    meta: &'static FileMeta,
}

/// Writes output files and remembers them for the manifest.
struct Output {
    root: PathBuf,
    written: Vec<WrittenFile>,
}

impl Output {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            written: Vec::new(),
        }
    }

    fn path(&self, rel_path: &str) -> PathBuf {
        self.root.join(rel_path)
    }

    /// Writes `bytes` to `rel_path` (through a temporary file, so a failed run never leaves a
    /// half-written file) and records it for the manifest.
    fn write(
        &mut self,
        rel_path: &'static str,
        bytes: &[u8],
        rows: usize,
        meta: &'static FileMeta,
    ) -> Result<(), ImportError> {
        let path = self.path(rel_path);
        write_atomically(&path, bytes)?;
        self.written.push(WrittenFile {
            rel_path,
            rows,
            sha256: manifest::sha256_hex(bytes),
            meta,
        });
        Ok(())
    }
}

/// Writes `bytes` to `path` via a sibling temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ImportError> {
    let write_error = |source| ImportError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|source| ImportError::Write {
            path: parent.to_owned(),
            source,
        })?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    fs::write(&tmp, bytes).map_err(write_error)?;
    fs::rename(&tmp, path).map_err(write_error)
}

/// The scope a centre is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    /// Commissioned by Norfolk & Waveney (now or in December 2019).
    NorfolkWaveney,
    /// Commissioned by BNSSG (now or in December 2019).
    Bnssg,
    /// Commissioned elsewhere but within [`NEAR_NORFOLK_RADIUS_M`] of Norfolk.
    NearNorfolk,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::NorfolkWaveney => "norfolk_waveney",
            Self::Bnssg => "bnssg",
            Self::NearNorfolk => "near_norfolk",
        }
    }

    /// The scope given by any of `commissioners`: Norfolk & Waveney wins over BNSSG.
    fn by_commissioner<'a>(commissioners: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut scope = None;
        for code in commissioners {
            if NORFOLK_WAVENEY_COMMISSIONERS.contains(&code) {
                return Some(Self::NorfolkWaveney);
            }
            if BNSSG_COMMISSIONERS.contains(&code) {
                scope = Some(Self::Bnssg);
            }
        }
        scope
    }
}

/// Builds `geodata/` in `opts.out` from the open data in `opts.opendata`.
///
/// See the module documentation for the steps. Files of a previous run are overwritten;
/// `schemes/` and any other file in the output folder are left alone.
///
/// # Errors
///
/// Any unreadable or malformed input, a duplicate key, a failed reprojection, or a failed
/// write; the error names the file and line or feature.
pub fn run(opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut out = Output::new(&opts.out);
    let to_wgs84 = BngToWgs84::new().map_err(|e| ImportError::ReprojectSetup(Box::new(e)))?;
    let to_bng = Wgs84ToBng::new().map_err(|e| ImportError::ReprojectSetup(Box::new(e)))?;

    // 1. Boundaries, and Norfolk in BNG for the distance rule.
    let norfolk = boundaries::import(&opts.opendata, &mut out, &mut report)?;

    // 2. Postcodes. The not-live NSPL rows also serve as a geocoding fallback for centres.
    let nspl = postcodes::read_nspl(&opts.opendata.join(postcodes::NSPL_NOT_LIVE))?;
    postcodes::import(
        &opts.opendata,
        &nspl,
        &to_wgs84,
        &to_bng,
        &mut out,
        &mut report,
    )?;

    // 3 and 4. GP practices and branch surgeries.
    let ctx = centres::Context {
        opendata: &opts.opendata,
        norfolk: &norfolk,
        nspl: &nspl,
        to_wgs84: &to_wgs84,
        to_bng: &to_bng,
    };
    centres::import(&ctx, &mut out, &mut report)?;

    // 5. Derived areas: PCNs, localities, illustrative Bristol zones.
    areas::import(&opts.opendata, &mut out, &mut report)?;

    // 6. The gazetteer of places and roads for free-text lookups.
    places::import(&opts.opendata, &to_wgs84, &to_bng, &mut out, &mut report)?;

    // 7. Manifest.
    manifest::write(&mut out, &mut report)?;
    Ok(report)
}

#[cfg(test)]
mod tests;
