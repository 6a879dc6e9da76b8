//! Step 2 of the import: `postcodes/postcodes.csv`, every live Code-Point Open postcode of the
//! NR, IP, PE and BS areas plus the NSPL postcodes of those areas that are no longer live.
//! Also reads the NSPL file for the centre geocoding fallback.

use std::collections::BTreeMap;
use std::path::Path;

use super::csvio::{CsvSink, CsvSource, fmt_degrees, fmt_metres, normalise_postcode, sink_error};
use super::{FileMeta, ImportError, ImportReport, Output};
use crate::data::reproject::{BngToWgs84, Wgs84ToBng};

/// Live Code-Point Open postcodes of the NR, IP, PE and BS areas (relative to the open data).
pub(super) const CODEPOINT_AREAS: &str = "postcodes/codepoint_open_2025-10_NR_IP_PE_BS.csv";
/// NSPL postcodes of those areas that are not live in Code-Point (relative to the open data).
pub(super) const NSPL_NOT_LIVE: &str =
    "postcodes/nspl_2025-05_not_live_in_codepoint_NR_IP_PE_BS.csv";

const OUT_PATH: &str = "postcodes/postcodes.csv";
const HEADER: [&str; 10] = [
    "postcode", "status", "easting", "northing", "lat", "lon", "quality", "county", "district",
    "ward",
];

static META: FileMeta = FileMeta {
    description: "Postcode units of the NR, IP, PE and BS areas: every live Code-Point Open \
                  postcode (status live, BNG from OS, WGS84 computed) plus the NSPL postcodes \
                  that are no longer live (status terminated, WGS84 from NSPL, BNG computed)",
    sources: &[
        "postcodes/codepoint_open_2025-10_NR_IP_PE_BS.csv (OS Code-Point Open 2025.4.0, Oct 2025)",
        "postcodes/nspl_2025-05_not_live_in_codepoint_NR_IP_PE_BS.csv (ONS NSPL May 2025, \
         postcodes not live in Code-Point Open Oct 2025)",
    ],
    licence: "OGL v3 (OS OpenData, ONS). Contains OS data © Crown copyright and database right \
              2025; Contains Royal Mail data © Royal Mail copyright and database right 2025; \
              Contains National Statistics data © Crown copyright and database right 2025; \
              Source: Office for National Statistics licensed under the Open Government \
              Licence v.3.0",
};

/// One row of the not-live NSPL file.
pub(super) struct NsplRow {
    /// Canonical postcode.
    pub(super) postcode: String,
    /// Line in the NSPL file.
    pub(super) line: u64,
    /// Last known position as (lon, lat), if NSPL gives one.
    pub(super) lon_lat: Option<(f64, f64)>,
}

/// NSPL's placeholder latitude for a postcode without a grid reference.
const NSPL_NO_LATITUDE: f64 = 99.999_999;

/// Reads the not-live NSPL file. Rows without a usable lat and long are kept without a position.
pub(super) fn read_nspl(path: &Path) -> Result<Vec<NsplRow>, ImportError> {
    let mut src = CsvSource::open(path)?;
    let (pc, lat, lon) = (
        src.column("postcode")?,
        src.column("lat")?,
        src.column("long")?,
    );
    let mut rows = Vec::new();
    src.for_each_row(|row| {
        let postcode =
            normalise_postcode(row.str(pc)).ok_or_else(|| row.field_error(pc, "not a postcode"))?;
        // NSPL marks postcodes without a grid reference with an empty lat and long 0 (or the
        // older lat 99.999999); both mean "no position".
        let lon_lat = match (row.opt_f64(lon)?, row.opt_f64(lat)?) {
            (Some(x), Some(y)) if y < NSPL_NO_LATITUDE => Some((x, y)),
            _ => None,
        };
        rows.push(NsplRow {
            postcode,
            line: row.line(),
            lon_lat,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// One output row, already formatted.
struct PostcodeRow {
    status: &'static str,
    fields: [String; 8],
}

/// Output rows keyed (and so sorted) by postcode.
type Rows = BTreeMap<String, PostcodeRow>;

/// Writes `postcodes/postcodes.csv`.
pub(super) fn import(
    opendata: &Path,
    nspl: &[NsplRow],
    to_wgs84: &BngToWgs84,
    to_bng: &Wgs84ToBng,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let mut rows = Rows::new();
    let live_without_position = add_live(&opendata.join(CODEPOINT_AREAS), to_wgs84, &mut rows)?;
    let live = rows.len();
    let terminated_without_position =
        add_terminated(&opendata.join(NSPL_NOT_LIVE), nspl, to_bng, &mut rows)?;

    let out_path = out.path(OUT_PATH);
    let mut sink = CsvSink::new(&HEADER).map_err(sink_error(out_path.clone()))?;
    for (postcode, row) in &rows {
        let record = [postcode.as_str(), row.status]
            .into_iter()
            .chain(row.fields.iter().map(String::as_str));
        sink.row(record).map_err(sink_error(out_path.clone()))?;
    }
    let (bytes, count) = sink.finish().map_err(sink_error(out_path))?;
    out.write(OUT_PATH, &bytes, count, &META)?;
    report.lines.push(format!(
        "{OUT_PATH}: {count} postcodes ({live} live, of which {live_without_position} without a \
         position; {} terminated, of which {terminated_without_position} without a position)",
        nspl.len()
    ));
    Ok(())
}

/// Adds every live Code-Point postcode; returns how many have no position.
fn add_live(path: &Path, to_wgs84: &BngToWgs84, rows: &mut Rows) -> Result<usize, ImportError> {
    let mut src = CsvSource::open(path)?;
    let pc = src.column("postcode")?;
    let quality = src.column("positional_quality_indicator")?;
    let (east, north) = (src.column("eastings")?, src.column("northings")?);
    let county = src.column("admin_county_code")?;
    let district = src.column("admin_district_code")?;
    let ward = src.column("admin_ward_code")?;
    let mut live_without_position = 0_usize;
    src.for_each_row(|row| {
        let postcode =
            normalise_postcode(row.str(pc)).ok_or_else(|| row.field_error(pc, "not a postcode"))?;
        let easting = row.opt_metres(east)?;
        let northing = row.opt_metres(north)?;
        // Code-Point marks postcodes it cannot place (quality 90) with 0, 0.
        let position = match (easting, northing) {
            (Some(e), Some(n)) if e != 0.0 || n != 0.0 => {
                let (lon, lat) = to_wgs84.convert(e, n).map_err(|e| row.reproject_error(e))?;
                [
                    fmt_metres(e),
                    fmt_metres(n),
                    fmt_degrees(lat),
                    fmt_degrees(lon),
                ]
            }
            _ => {
                live_without_position += 1;
                Default::default()
            }
        };
        let [e, n, lat, lon] = position;
        let fields = [
            e,
            n,
            lat,
            lon,
            row.str(quality).to_owned(),
            row.str(county).to_owned(),
            row.str(district).to_owned(),
            row.str(ward).to_owned(),
        ];
        if rows.contains_key(&postcode) {
            return Err(row.duplicate("postcode", &postcode));
        }
        rows.insert(
            postcode,
            PostcodeRow {
                status: "live",
                fields,
            },
        );
        Ok(())
    })?;
    Ok(live_without_position)
}

/// Adds the not-live NSPL postcodes; returns how many have no position.
fn add_terminated(
    nspl_path: &Path,
    nspl: &[NsplRow],
    to_bng: &Wgs84ToBng,
    rows: &mut Rows,
) -> Result<usize, ImportError> {
    let mut terminated_without_position = 0_usize;
    for r in nspl {
        let reproject_error = |source| ImportError::Reproject {
            path: nspl_path.to_owned(),
            line: r.line,
            source: Box::new(source),
        };
        let fields = if let Some((lon, lat)) = r.lon_lat {
            let (e, n) = to_bng.convert(lon, lat).map_err(reproject_error)?;
            [
                fmt_metres(e),
                fmt_metres(n),
                fmt_degrees(lat),
                fmt_degrees(lon),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]
        } else {
            terminated_without_position += 1;
            Default::default()
        };
        if rows.contains_key(&r.postcode) {
            return Err(ImportError::DuplicateKey {
                path: nspl_path.to_owned(),
                where_: format!("line {}", r.line),
                column: "postcode",
                key: r.postcode.clone(),
            });
        }
        rows.insert(
            r.postcode.clone(),
            PostcodeRow {
                status: "terminated",
                fields,
            },
        );
    }

    Ok(terminated_without_position)
}
