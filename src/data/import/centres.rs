//! Steps 3 and 4 of the import: the care centres. GP practices come from the NHS England ODS
//! `epraccur` files (September 2025, falling back to December 2019), branch surgeries from the
//! August 2017 `ebranchs` extract. Both are geocoded by postcode and kept only if they are in
//! scope (see [`Scope`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::boundaries::NorfolkBng;
use super::csvio::{
    CsvSink, CsvSource, Row, fmt_degrees, fmt_metres, normalise_postcode, sink_error,
};
use super::postcodes::NsplRow;
use super::{FileMeta, ImportError, ImportReport, NEAR_NORFOLK_RADIUS_M, Output, Scope};
use crate::data::reproject::{BngToWgs84, ReprojectError, Wgs84ToBng};

const EPRACCUR_2025: &str = "gp/epraccur_2025-09_england_wales.csv";
const EPRACCUR_2019: &str = "gp/epraccur_2019-12_england_wales.csv";
const EBRANCHS_2017: &str = "gp/ebranchs_2017-08_norfolk_bristol_geocoded.csv";
const CODEPOINT_NATIONAL: &str = "national/codepoint_gb_2025-10.csv.gz";

/// `prescribing_setting` of a GP practice in `epraccur`.
const GP_PRACTICE_SETTING: &str = "4";
/// Practice statuses kept: active and closed (dormant `D` and proposed `P` are not).
const KEPT_STATUSES: [&str; 2] = ["A", "C"];

const PRACTICES_PATH: &str = "centres/gp_practices.csv";
const PRACTICES_HEADER: [&str; 14] = [
    "code",
    "name",
    "postcode",
    "lat",
    "lon",
    "easting",
    "northing",
    "open_date",
    "close_date",
    "status",
    "commissioner",
    "ccg_2019",
    "scope",
    "distance_to_norfolk_m",
];

const BRANCHES_PATH: &str = "centres/branch_surgeries_2017.csv";
const BRANCHES_HEADER: [&str; 12] = [
    "code",
    "name",
    "postcode",
    "lat",
    "lon",
    "easting",
    "northing",
    "open_date",
    "close_date",
    "parent_code",
    "scope",
    "distance_to_norfolk_m",
];

const CENTRES_LICENCE: &str = "OGL v3. Contains information from NHS England (formerly NHS \
                               Digital), licensed under the current version of the Open \
                               Government Licence; Contains OS data © Crown copyright and \
                               database right 2025; Contains Royal Mail data © Royal Mail \
                               copyright and database right 2025; Contains National Statistics \
                               data © Crown copyright and database right 2025; Source: Office \
                               for National Statistics licensed under the Open Government \
                               Licence v.3.0";

static PRACTICES_META: FileMeta = FileMeta {
    description: "GP practices (open and closed) commissioned by Norfolk & Waveney or BNSSG in \
                  September 2025 or December 2019, or within 10 miles of Norfolk; positioned at \
                  their postcode",
    sources: &[
        "gp/epraccur_2025-09_england_wales.csv (NHS England ODS epraccur, Sep 2025)",
        "gp/epraccur_2019-12_england_wales.csv (NHS Digital ODS epraccur, Dec 2019)",
        "national/codepoint_gb_2025-10.csv.gz (OS Code-Point Open 2025.4.0, Oct 2025)",
        "postcodes/nspl_2025-05_not_live_in_codepoint_NR_IP_PE_BS.csv (ONS NSPL May 2025)",
        "boundaries/admin/norfolk_county_apr2019_bgc.geojson (ONS Counties (April 2019) BGC)",
    ],
    licence: CENTRES_LICENCE,
};

static BRANCHES_META: FileMeta = FileMeta {
    description: "GP branch surgeries as of August 2017 whose parent practice is commissioned by \
                  Norfolk & Waveney or BNSSG, or which lie within 10 miles of Norfolk; dated, \
                  optional centre set",
    sources: &[
        "gp/ebranchs_2017-08_norfolk_bristol_geocoded.csv (NHS Digital ODS ebranchs, Aug 2017; \
         positions joined from OS Code-Point Open Oct 2025 and ONS NSPL May 2025)",
        "gp/epraccur_2025-09_england_wales.csv (NHS England ODS epraccur, Sep 2025)",
        "gp/epraccur_2019-12_england_wales.csv (NHS Digital ODS epraccur, Dec 2019)",
        "boundaries/admin/norfolk_county_apr2019_bgc.geojson (ONS Counties (April 2019) BGC)",
    ],
    licence: CENTRES_LICENCE,
};

/// What steps 3 and 4 need from the earlier steps.
pub(super) struct Context<'a> {
    /// The open data folder.
    pub(super) opendata: &'a Path,
    /// Norfolk in BNG, for the distance rule.
    pub(super) norfolk: &'a NorfolkBng,
    /// Not-live NSPL postcodes, the geocoding fallback.
    pub(super) nspl: &'a [NsplRow],
    /// BNG to WGS84.
    pub(super) to_wgs84: &'a BngToWgs84,
    /// WGS84 to BNG.
    pub(super) to_bng: &'a Wgs84ToBng,
}

/// A position in both coordinate systems; easting/northing are whole metres.
#[derive(Debug, Clone, Copy)]
struct Position {
    easting: f64,
    northing: f64,
    lon: f64,
    lat: f64,
}

impl Position {
    /// From Code-Point easting/northing (whole metres).
    fn from_bng(e: f64, n: f64, to_wgs84: &BngToWgs84) -> Result<Self, ReprojectError> {
        let (lon, lat) = to_wgs84.convert(e, n)?;
        Ok(Self {
            easting: e,
            northing: n,
            lon,
            lat,
        })
    }

    /// From NSPL lon/lat; easting/northing rounded to whole metres.
    fn from_wgs84(lon: f64, lat: f64, to_bng: &Wgs84ToBng) -> Result<Self, ReprojectError> {
        let (e, n) = to_bng.convert(lon, lat)?;
        Ok(Self {
            easting: e.round(),
            northing: n.round(),
            lon,
            lat,
        })
    }

    /// `lat, lon, easting, northing`, formatted.
    fn fields(self) -> [String; 4] {
        [
            fmt_degrees(self.lat),
            fmt_degrees(self.lon),
            fmt_metres(self.easting),
            fmt_metres(self.northing),
        ]
    }
}

/// Decides a centre's scope, and its distance to Norfolk, or why it is dropped.
fn place(
    norfolk: &NorfolkBng,
    by_commissioner: Option<Scope>,
    at: Position,
) -> Option<(Scope, f64)> {
    match by_commissioner {
        Some(scope) => Some((scope, norfolk.distance_m(at.easting, at.northing))),
        None => norfolk
            .within(at.easting, at.northing, NEAR_NORFOLK_RADIUS_M)
            .map(|d| (Scope::NearNorfolk, d)),
    }
}

/// One record of an `epraccur` file.
#[derive(Debug)]
struct Practice {
    name: String,
    postcode: String,
    open_date: String,
    close_date: String,
    status: String,
    commissioner: String,
    setting: String,
    line: u64,
}

/// Reads an `epraccur` file keyed by organisation code.
fn read_epraccur(path: &Path) -> Result<BTreeMap<String, Practice>, ImportError> {
    let mut src = CsvSource::open(path)?;
    let code = src.column("organisation_code")?;
    let name = src.column("name")?;
    let postcode = src.column("postcode")?;
    let open = src.column("open_date")?;
    let close = src.column("close_date")?;
    let status = src.column("status_code")?;
    let commissioner = src.column("commissioner")?;
    let setting = src.column("prescribing_setting")?;
    let mut practices = BTreeMap::new();
    src.for_each_row(|row| {
        let key = row.str(code);
        if key.is_empty() {
            return Err(row.field_error(code, "empty organisation code"));
        }
        if practices.contains_key(key) {
            return Err(row.duplicate("organisation_code", key));
        }
        let practice = Practice {
            name: row.str(name).to_owned(),
            postcode: row.str(postcode).to_owned(),
            open_date: row.date(open)?,
            close_date: row.date(close)?,
            status: row.str(status).to_owned(),
            commissioner: row.str(commissioner).to_owned(),
            setting: row.str(setting).to_owned(),
            line: row.line(),
        };
        practices.insert(key.to_owned(), practice);
        Ok(())
    })?;
    Ok(practices)
}

/// Code-Point positions (easting, northing) of the `wanted` postcodes; unplaced postcodes
/// (0, 0) are left out.
fn read_codepoint(
    path: &Path,
    wanted: &HashSet<String>,
) -> Result<HashMap<String, (f64, f64)>, ImportError> {
    let mut src = CsvSource::open(path)?;
    let pc = src.column("postcode")?;
    let (east, north) = (src.column("eastings")?, src.column("northings")?);
    let mut found = HashMap::new();
    src.for_each_row(|row| {
        let Some(postcode) = normalise_postcode(row.str(pc)).filter(|p| wanted.contains(p)) else {
            return Ok(());
        };
        if let (Some(e), Some(n)) = (row.opt_metres(east)?, row.opt_metres(north)?)
            && (e != 0.0 || n != 0.0)
        {
            found.insert(postcode, (e, n));
        }
        Ok(())
    })?;
    Ok(found)
}

/// Finds positions for postcodes: Code-Point first, then the not-live NSPL.
struct Locator<'a> {
    codepoint: HashMap<String, (f64, f64)>,
    nspl: HashMap<&'a str, (f64, f64)>,
    to_wgs84: &'a BngToWgs84,
    to_bng: &'a Wgs84ToBng,
}

impl Locator<'_> {
    fn locate(&self, postcode: &str) -> Result<Option<Position>, ReprojectError> {
        if let Some(&(e, n)) = self.codepoint.get(postcode) {
            return Position::from_bng(e, n, self.to_wgs84).map(Some);
        }
        if let Some(&(lon, lat)) = self.nspl.get(postcode) {
            return Position::from_wgs84(lon, lat, self.to_bng).map(Some);
        }
        Ok(None)
    }
}

/// Writes the GP practices and branch surgeries.
pub(super) fn import(
    ctx: &Context<'_>,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let path_2025 = ctx.opendata.join(EPRACCUR_2025);
    let path_2019 = ctx.opendata.join(EPRACCUR_2019);
    let practices_2025 = read_epraccur(&path_2025)?;
    let practices_2019 = read_epraccur(&path_2019)?;

    // Every GP practice, open or closed, from the 2025 file, or from 2019 if not in 2025.
    let codes: BTreeSet<&String> = practices_2025.keys().chain(practices_2019.keys()).collect();
    let mut candidates = Vec::new();
    let mut not_practices = 0_usize;
    for code in codes {
        let (record, path) = match practices_2025.get(code) {
            Some(p) => (p, &path_2025),
            None => match practices_2019.get(code) {
                Some(p) => (p, &path_2019),
                None => continue,
            },
        };
        if record.setting != GP_PRACTICE_SETTING || !KEPT_STATUSES.contains(&record.status.as_str())
        {
            not_practices += 1;
            continue;
        }
        let ccg_2019 = practices_2019
            .get(code)
            .map_or("", |p| p.commissioner.as_str());
        candidates.push(Candidate {
            code,
            record,
            path,
            ccg_2019,
        });
    }

    let wanted: HashSet<String> = candidates
        .iter()
        .filter_map(|c| normalise_postcode(&c.record.postcode))
        .collect();
    let locator = Locator {
        codepoint: read_codepoint(&ctx.opendata.join(CODEPOINT_NATIONAL), &wanted)?,
        nspl: ctx
            .nspl
            .iter()
            .filter_map(|r| r.lon_lat.map(|p| (r.postcode.as_str(), p)))
            .collect(),
        to_wgs84: ctx.to_wgs84,
        to_bng: ctx.to_bng,
    };

    write_practices(ctx, &candidates, &locator, not_practices, out, report)?;
    write_branches(ctx, &practices_2025, &practices_2019, out, report)
}

/// A GP practice that may be kept.
struct Candidate<'a> {
    code: &'a str,
    record: &'a Practice,
    path: &'a PathBuf,
    ccg_2019: &'a str,
}

fn write_practices(
    ctx: &Context<'_>,
    candidates: &[Candidate<'_>],
    locator: &Locator<'_>,
    not_practices: usize,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let out_path = out.path(PRACTICES_PATH);
    let mut sink = CsvSink::new(&PRACTICES_HEADER).map_err(sink_error(out_path.clone()))?;
    let mut per_scope: BTreeMap<Scope, usize> = BTreeMap::new();
    let mut far = 0_usize;
    let mut unplaced_in_scope = Vec::new();
    let mut unplaced_other = 0_usize;

    for c in candidates {
        let r = c.record;
        let by_commissioner = Scope::by_commissioner([r.commissioner.as_str(), c.ccg_2019]);
        let postcode = normalise_postcode(&r.postcode);
        let position = match &postcode {
            Some(p) => locator.locate(p).map_err(|source| ImportError::Reproject {
                path: c.path.clone(),
                line: r.line,
                source: Box::new(source),
            })?,
            None => None,
        };
        let (Some(postcode), Some(at)) = (postcode, position) else {
            if by_commissioner.is_some() {
                unplaced_in_scope.push(format!("{} ({:?})", c.code, r.postcode));
            } else {
                unplaced_other += 1;
            }
            continue;
        };
        let Some((scope, distance)) = place(ctx.norfolk, by_commissioner, at) else {
            far += 1;
            continue;
        };
        *per_scope.entry(scope).or_default() += 1;
        let [lat, lon, e, n] = at.fields();
        sink.row([
            c.code,
            &r.name,
            &postcode,
            &lat,
            &lon,
            &e,
            &n,
            &r.open_date,
            &r.close_date,
            &r.status,
            &r.commissioner,
            c.ccg_2019,
            scope.as_str(),
            &fmt_metres(distance),
        ])
        .map_err(sink_error(out_path.clone()))?;
    }
    let (bytes, rows) = sink.finish().map_err(sink_error(out_path))?;
    out.write(PRACTICES_PATH, &bytes, rows, &PRACTICES_META)?;

    report.lines.push(format!(
        "{PRACTICES_PATH}: {rows} GP practices ({})",
        scope_counts(&per_scope)
    ));
    report.lines.push(format!(
        "  considered {} GP practices (status A or C); skipped {not_practices} other \
         organisations (not a GP practice, or dormant/proposed)",
        candidates.len()
    ));
    report.lines.push(format!(
        "  dropped {far}: commissioned outside Norfolk & Waveney and BNSSG and more than 10 \
         miles from Norfolk"
    ));
    report.lines.push(format!(
        "  dropped {}: postcode not found in Code-Point Open or NSPL ({unplaced_other} \
         commissioned elsewhere; {} in scope by commissioner{}{})",
        unplaced_other + unplaced_in_scope.len(),
        unplaced_in_scope.len(),
        if unplaced_in_scope.is_empty() {
            ""
        } else {
            ": "
        },
        unplaced_in_scope.join(", ")
    ));
    Ok(())
}

fn write_branches(
    ctx: &Context<'_>,
    practices_2025: &BTreeMap<String, Practice>,
    practices_2019: &BTreeMap<String, Practice>,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let mut src = CsvSource::open(&ctx.opendata.join(EBRANCHS_2017))?;
    let code = src.column("branch_code")?;
    let name = src.column("name")?;
    let pc = src.column("postcode")?;
    let open = src.column("open_date")?;
    let close = src.column("close_date")?;
    let parent = src.column("parent_practice_code")?;
    let parent_commissioner = src.column("parent_commissioner_2019_or_2025")?;
    let (east, north) = (src.column("cpo_eastings")?, src.column("cpo_northings")?);
    let (lat, lon) = (src.column("nspl_lat")?, src.column("nspl_long")?);

    let mut rows: BTreeMap<String, [String; 12]> = BTreeMap::new();
    let mut per_scope: BTreeMap<Scope, usize> = BTreeMap::new();
    let mut far = Vec::new();
    let mut unplaced = Vec::new();
    src.for_each_row(|row| {
        let key = row.str(code);
        if key.is_empty() {
            return Err(row.field_error(code, "empty branch code"));
        }
        if rows.contains_key(key) {
            return Err(row.duplicate("branch_code", key));
        }
        let parent_code = row.str(parent);
        let commissioners = [
            row.str(parent_commissioner),
            practices_2025
                .get(parent_code)
                .map_or("", |p| p.commissioner.as_str()),
            practices_2019
                .get(parent_code)
                .map_or("", |p| p.commissioner.as_str()),
        ];
        let by_commissioner = Scope::by_commissioner(commissioners);
        let (Some(postcode), Some(at)) = (
            normalise_postcode(row.str(pc)),
            branch_position(ctx, row, east, north, lat, lon)?,
        ) else {
            unplaced.push(key.to_owned());
            return Ok(());
        };
        let Some((scope, distance)) = place(ctx.norfolk, by_commissioner, at) else {
            far.push(key.to_owned());
            return Ok(());
        };
        *per_scope.entry(scope).or_default() += 1;
        let [lat_s, lon_s, e, n] = at.fields();
        rows.insert(
            key.to_owned(),
            [
                key.to_owned(),
                row.str(name).to_owned(),
                postcode,
                lat_s,
                lon_s,
                e,
                n,
                row.date(open)?,
                row.date(close)?,
                parent_code.to_owned(),
                scope.as_str().to_owned(),
                fmt_metres(distance),
            ],
        );
        Ok(())
    })?;

    let out_path = out.path(BRANCHES_PATH);
    let mut sink = CsvSink::new(&BRANCHES_HEADER).map_err(sink_error(out_path.clone()))?;
    for record in rows.values() {
        sink.row(record).map_err(sink_error(out_path.clone()))?;
    }
    let (bytes, count) = sink.finish().map_err(sink_error(out_path))?;
    out.write(BRANCHES_PATH, &bytes, count, &BRANCHES_META)?;

    report.lines.push(format!(
        "{BRANCHES_PATH}: {count} branch surgeries ({})",
        scope_counts(&per_scope)
    ));
    let mut dropped = String::new();
    if !far.is_empty() {
        let _ = write!(
            dropped,
            "; dropped {} with a parent commissioned elsewhere and more than 10 miles from \
             Norfolk: {}",
            far.len(),
            far.join(", ")
        );
    }
    if !unplaced.is_empty() {
        let _ = write!(
            dropped,
            "; dropped {} without a position: {}",
            unplaced.len(),
            unplaced.join(", ")
        );
    }
    if !dropped.is_empty() {
        report
            .lines
            .push(format!("  {}", dropped.trim_start_matches("; ")));
    }
    Ok(())
}

/// A branch's position: its Code-Point easting/northing, else its NSPL lat/long.
fn branch_position(
    ctx: &Context<'_>,
    row: &Row<'_>,
    east: super::csvio::Col,
    north: super::csvio::Col,
    lat: super::csvio::Col,
    lon: super::csvio::Col,
) -> Result<Option<Position>, ImportError> {
    let at = match (row.opt_metres(east)?, row.opt_metres(north)?) {
        (Some(e), Some(n)) if e != 0.0 || n != 0.0 => Some(Position::from_bng(e, n, ctx.to_wgs84)),
        _ => match (row.opt_f64(lon)?, row.opt_f64(lat)?) {
            (Some(x), Some(y)) => Some(Position::from_wgs84(x, y, ctx.to_bng)),
            _ => None,
        },
    };
    at.transpose().map_err(|e| row.reproject_error(e))
}

/// `norfolk_waveney 12, bnssg 3, near_norfolk 4`.
fn scope_counts(per_scope: &BTreeMap<Scope, usize>) -> String {
    let parts: Vec<String> = per_scope
        .iter()
        .map(|(scope, n)| format!("{} {n}", scope.as_str()))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}
