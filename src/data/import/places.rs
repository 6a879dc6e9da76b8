//! Step 6 of the import: `places/gazetteer.csv`, the offline gazetteer of settlements,
//! neighbourhoods and named roads that free-text lookups read.
//!
//! 1. OS Open Names (2019; Norfolk plus 10 km, and the partial Bristol file): every populated
//!    place, and every Named Road and Section Of Named Road. Road rows of the same name,
//!    locality and district whose boxes lie within [`ROAD_MERGE_GAP_M`] of each other are
//!    merged into one road (box union; the point of the longest piece).
//! 2. Each road gets `near`, its nearest OS settlement within [`NEAR_RADIUS_M`], when that is
//!    not already its OS locality (rural roads have none).
//! 3. `GeoNames` populated places (not abandoned or historical) fill gaps, chiefly Norwich and
//!    Bristol, which the Open Names files lack: kept unless an OS place of the same name lies
//!    within [`DUPLICATE_RADIUS_M`].
//! 4. House of Commons Library MSOA names, split at ", " and " & ", add neighbourhoods on
//!    the same rule.
//!
//! BNG positions are converted to WGS84 with [`BngToWgs84`] (and `GeoNames`' WGS84 to BNG with
//! [`Wgs84ToBng`]), like the postcode table. Rows are sorted by canonical name, kind, district
//! and position, so a rebuild is byte-identical.

use std::collections::BTreeMap;
use std::path::Path;

use super::csvio::{CsvSink, CsvSource, fmt_degrees, fmt_metres, sink_error};
use super::{FileMeta, ImportError, ImportReport, Output};
use crate::data::reproject::{BngToWgs84, Wgs84ToBng};
use crate::engine::gazetteer::{PlaceKind, PlaceSource, canonical};

/// OS Open Names, Norfolk plus 10 km (relative to the open data folder).
pub(super) const OPEN_NAMES_NORFOLK: &str = "places/os_open_names_2019_norfolk_10km.csv";
/// OS Open Names, the partial Bristol file.
pub(super) const OPEN_NAMES_BRISTOL: &str = "places/os_open_names_2019_bristol_10km_partial.csv";
/// `GeoNames` places near Norfolk and Bristol.
pub(super) const GEONAMES: &str = "places/geonames_gb_2026-01_norfolk_bristol_10km.csv";
/// House of Commons Library MSOA names.
pub(super) const MSOA_NAMES: &str = "places/msoa11_hocl_names_norfolk_waveney_bristol.csv";

const OUT_PATH: &str = "places/gazetteer.csv";
const HEADER: [&str; 14] = [
    "name", "kind", "locality", "near", "district", "lat", "lon", "easting", "northing", "min_e",
    "min_n", "max_e", "max_n", "source",
];

/// Road pieces of one name and locality closer than this (metres, box to box) are one road.
pub const ROAD_MERGE_GAP_M: i32 = 500;
/// A road's `near` settlement is the nearest within this distance (metres).
pub const NEAR_RADIUS_M: i32 = 5_000;
/// A `GeoNames` place or neighbourhood name is a duplicate of an OS place of the same name
/// within this distance (metres, on each axis).
pub const DUPLICATE_RADIUS_M: i32 = 3_000;

static META: FileMeta = FileMeta {
    description: "Offline gazetteer: OS Open Names 2019 settlements and named roads (Norfolk plus 10 km; \
                  the northern and southern fringe of Bristol), GeoNames populated places where \
                  OS has none of the name nearby (chiefly Norwich and Bristol), and House of \
                  Commons Library MSOA neighbourhood names; BNG box and WGS84 point per entry",
    sources: &[
        "places/os_open_names_2019_norfolk_10km.csv (OS Open Names, c. January 2019; tile TG20, central Norwich, missing)",
        "places/os_open_names_2019_bristol_10km_partial.csv (OS Open Names, c. January 2019; almost none of the City of Bristol)",
        "places/geonames_gb_2026-01_norfolk_bristol_10km.csv (GeoNames GB dump, 2026-01-25)",
        "places/msoa11_hocl_names_norfolk_waveney_bristol.csv (House of Commons Library MSOA Names v1.1.0)",
    ],
    licence: "OS Open Names: OGL v3, Contains OS data © Crown copyright and database right 2019; \
              GeoNames: CC BY 4.0, Contains data from GeoNames (geonames.org); MSOA names: \
              Open Parliament Licence v3.0, House of Commons Library MSOA Names",
};

/// One gazetteer row before formatting.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    kind: PlaceKind,
    locality: String,
    near: String,
    district: String,
    e: i32,
    n: i32,
    bbox: Option<[i32; 4]>,
    source: PlaceSource,
    /// Source order key for deterministic merging (OS ID).
    id: String,
}

fn settlement_kind(local_type: &str) -> Option<PlaceKind> {
    Some(match local_type {
        "City" => PlaceKind::City,
        "Town" => PlaceKind::Town,
        "Village" => PlaceKind::Village,
        "Hamlet" => PlaceKind::Hamlet,
        "Suburban Area" => PlaceKind::Suburb,
        "Other Settlement" => PlaceKind::Settlement,
        _ => return None,
    })
}

#[expect(clippy::cast_possible_truncation, reason = "BNG metres fit in i32")]
fn metres(v: f64) -> i32 {
    v.round() as i32
}

/// Reads one Open Names file: settlements and road pieces.
#[expect(
    clippy::many_single_char_names,
    reason = "x and y name the file's GEOMETRY_X and GEOMETRY_Y columns"
)]
fn read_open_names(path: &Path, out: &mut Vec<Entry>) -> Result<(), ImportError> {
    let mut src = CsvSource::open(path)?;
    let id = src.column("ID")?;
    let name = src.column("NAME1")?;
    let kind = src.column("TYPE")?;
    let local = src.column("LOCAL_TYPE")?;
    let (x, y) = (src.column("GEOMETRY_X")?, src.column("GEOMETRY_Y")?);
    let mbr = [
        src.column("MBR_XMIN")?,
        src.column("MBR_YMIN")?,
        src.column("MBR_XMAX")?,
        src.column("MBR_YMAX")?,
    ];
    let populated = src.column("POPULATED_PLACE")?;
    let district = src.column("DISTRICT_BOROUGH")?;
    let county = src.column("COUNTY_UNITARY")?;
    src.for_each_row(|row| {
        let k = if row.str(kind) == "populatedPlace" {
            match settlement_kind(row.str(local)) {
                Some(k) => k,
                None => return Ok(()),
            }
        } else if matches!(row.str(local), "Named Road" | "Section Of Named Road") {
            PlaceKind::Road
        } else {
            return Ok(());
        };
        let (Some(e), Some(n)) = (row.opt_metres(x)?, row.opt_metres(y)?) else {
            return Err(row.field_error(x, "a place needs GEOMETRY_X and GEOMETRY_Y"));
        };
        let mut b = [0; 4];
        let mut has_box = true;
        for (slot, col) in b.iter_mut().zip(mbr) {
            match row.opt_metres(col)? {
                Some(v) => *slot = metres(v),
                None => has_box = false,
            }
        }
        let d = if row.str(district).is_empty() {
            row.str(county)
        } else {
            row.str(district)
        };
        out.push(Entry {
            name: row.str(name).to_owned(),
            kind: k,
            locality: if k == PlaceKind::Road {
                row.str(populated).to_owned()
            } else {
                String::new()
            },
            near: String::new(),
            district: d.to_owned(),
            e: metres(e),
            n: metres(n),
            bbox: has_box.then_some(b),
            source: PlaceSource::OsOpenNames,
            id: row.str(id).to_owned(),
        });
        Ok(())
    })
}

fn box_gap(a: [i32; 4], b: [i32; 4]) -> i32 {
    let dx = (b[0] - a[2]).max(a[0] - b[2]).max(0);
    let dy = (b[1] - a[3]).max(a[1] - b[3]).max(0);
    dx.max(dy)
}

fn area(b: Option<[i32; 4]>) -> i64 {
    b.map_or(0, |b| {
        i64::from(b[2] - b[0]).max(1) * i64::from(b[3] - b[1]).max(1)
    })
}

/// Merges road pieces of one name, locality and district that lie close together.
fn merge_roads(roads: Vec<Entry>) -> Vec<Entry> {
    let mut groups: BTreeMap<(String, String, String), Vec<Entry>> = BTreeMap::new();
    for r in roads {
        groups
            .entry((canonical(&r.name), r.locality.clone(), r.district.clone()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for (_, mut pieces) in groups {
        pieces.sort_by(|a, b| a.id.cmp(&b.id));
        // Greedy clustering in ID order; clusters absorb each other until stable.
        let mut clusters: Vec<(Entry, [i32; 4], i64)> = Vec::new();
        for p in pieces {
            let pb = p.bbox.unwrap_or([p.e, p.n, p.e, p.n]);
            let pa = area(p.bbox);
            match clusters
                .iter_mut()
                .find(|(_, cb, _)| box_gap(*cb, pb) <= ROAD_MERGE_GAP_M)
            {
                Some((best, cb, ca)) => {
                    *cb = [
                        cb[0].min(pb[0]),
                        cb[1].min(pb[1]),
                        cb[2].max(pb[2]),
                        cb[3].max(pb[3]),
                    ];
                    if pa > *ca {
                        *best = p;
                        *ca = pa;
                    }
                }
                None => clusters.push((p, pb, pa)),
            }
        }
        loop {
            let mut merged = false;
            'outer: for i in 0..clusters.len() {
                for j in i + 1..clusters.len() {
                    if box_gap(clusters[i].1, clusters[j].1) <= ROAD_MERGE_GAP_M {
                        let (other, ob, oa) = clusters.remove(j);
                        let c = &mut clusters[i];
                        c.1 = [
                            c.1[0].min(ob[0]),
                            c.1[1].min(ob[1]),
                            c.1[2].max(ob[2]),
                            c.1[3].max(ob[3]),
                        ];
                        if oa > c.2 {
                            c.0 = other;
                            c.2 = oa;
                        }
                        merged = true;
                        break 'outer;
                    }
                }
            }
            if !merged {
                break;
            }
        }
        for (mut e, b, _) in clusters {
            e.bbox = Some(b);
            out.push(e);
        }
    }
    out
}

fn near_xy(a: (i32, i32), b: (i32, i32), r: i32) -> bool {
    (a.0 - b.0).abs() <= r && (a.1 - b.1).abs() <= r
}

/// Sets each road's nearest settlement.
fn set_near(roads: &mut [Entry], settlements: &[Entry]) {
    for r in roads {
        let best = settlements
            .iter()
            .filter(|s| near_xy((r.e, r.n), (s.e, s.n), NEAR_RADIUS_M))
            .map(|s| {
                let (dx, dy) = (i64::from(s.e - r.e), i64::from(s.n - r.n));
                (dx * dx + dy * dy, &s.name)
            })
            .filter(|(d2, _)| *d2 <= i64::from(NEAR_RADIUS_M).pow(2))
            .min();
        if let Some((_, name)) = best
            && !name.eq_ignore_ascii_case(&r.locality)
        {
            r.near.clone_from(name);
        }
    }
}

fn is_duplicate(known: &[Entry], name: &str, at: (i32, i32)) -> bool {
    let key = canonical(name);
    known
        .iter()
        .any(|k| near_xy((k.e, k.n), at, DUPLICATE_RADIUS_M) && canonical(&k.name) == key)
}

/// `GeoNames` populated places not already known nearby.
fn read_geonames(
    path: &Path,
    to_bng: &Wgs84ToBng,
    known: &[Entry],
    out: &mut Vec<Entry>,
) -> Result<(), ImportError> {
    let mut src = CsvSource::open(path)?;
    let id = src.column("geonameid")?;
    let name = src.column("name")?;
    let (lat, lon) = (src.column("latitude")?, src.column("longitude")?);
    let class = src.column("feature_class")?;
    let code = src.column("feature_code")?;
    let admin2 = src.column("admin2_name")?;
    src.for_each_row(|row| {
        if row.str(class) != "P" || matches!(row.str(code), "PPLQ" | "PPLH" | "PPLCH" | "PPLW") {
            return Ok(());
        }
        let (Some(y), Some(x)) = (row.opt_f64(lat)?, row.opt_f64(lon)?) else {
            return Err(row.field_error(lat, "a place needs latitude and longitude"));
        };
        let (e, n) = to_bng.convert(x, y).map_err(|e| row.reproject_error(e))?;
        let at = (metres(e), metres(n));
        if is_duplicate(known, row.str(name), at) {
            return Ok(());
        }
        out.push(Entry {
            name: row.str(name).to_owned(),
            kind: if row.str(code) == "PPLX" {
                PlaceKind::Suburb
            } else {
                PlaceKind::Place
            },
            locality: String::new(),
            near: String::new(),
            district: row.str(admin2).to_owned(),
            e: at.0,
            n: at.1,
            bbox: None,
            source: PlaceSource::Geonames,
            id: row.str(id).to_owned(),
        });
        Ok(())
    })
}

/// Neighbourhood names from the MSOA names, split into their parts.
fn read_msoa(path: &Path, known: &[Entry], out: &mut Vec<Entry>) -> Result<(), ImportError> {
    let mut src = CsvSource::open(path)?;
    let code = src.column("MSOA11CD")?;
    let name = src.column("msoa11hclnm")?;
    let la = src.column("Laname")?;
    let (e, n) = (
        src.column("rep_point_bng_e")?,
        src.column("rep_point_bng_n")?,
    );
    src.for_each_row(|row| {
        let (Some(x), Some(y)) = (row.opt_metres(e)?, row.opt_metres(n)?) else {
            return Err(row.field_error(e, "an MSOA needs its representative point"));
        };
        let at = (metres(x), metres(y));
        let mut seen = Vec::new();
        for part in row.str(name).split(", ").flat_map(|p| p.split(" & ")) {
            let part = part.trim();
            if part.is_empty() || seen.contains(&part) || is_duplicate(known, part, at) {
                continue;
            }
            seen.push(part);
            out.push(Entry {
                name: part.to_owned(),
                kind: PlaceKind::Neighbourhood,
                locality: String::new(),
                near: String::new(),
                district: row.str(la).to_owned(),
                e: at.0,
                n: at.1,
                bbox: None,
                source: PlaceSource::MsoaNames,
                id: row.str(code).to_owned(),
            });
        }
        Ok(())
    })
}

/// Writes `places/gazetteer.csv`.
pub(super) fn import(
    opendata: &Path,
    to_wgs84: &BngToWgs84,
    to_bng: &Wgs84ToBng,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    // An open-data folder without the place files (a subset for testing the other steps)
    // skips this step, and says so.
    if !opendata.join(OPEN_NAMES_NORFOLK).exists() {
        report.lines.push(format!(
            "gazetteer skipped: {OPEN_NAMES_NORFOLK} is not in the open-data folder"
        ));
        return Ok(());
    }
    let mut os = Vec::new();
    read_open_names(&opendata.join(OPEN_NAMES_NORFOLK), &mut os)?;
    read_open_names(&opendata.join(OPEN_NAMES_BRISTOL), &mut os)?;
    let pieces = os.iter().filter(|e| e.kind == PlaceKind::Road).count();
    let (roads, mut settlements): (Vec<Entry>, Vec<Entry>) =
        os.into_iter().partition(|e| e.kind == PlaceKind::Road);
    settlements.sort_by(|a, b| a.id.cmp(&b.id));
    let mut roads = merge_roads(roads);
    set_near(&mut roads, &settlements);
    let os_places = settlements.len();
    let mut extra = Vec::new();
    read_geonames(&opendata.join(GEONAMES), to_bng, &settlements, &mut extra)?;
    let geonames = extra.len();
    let mut known = settlements.clone();
    known.extend(extra.iter().cloned());
    read_msoa(&opendata.join(MSOA_NAMES), &known, &mut extra)?;
    let msoa = extra.len() - geonames;

    let road_count = roads.len();
    let mut all = settlements;
    all.extend(roads);
    all.extend(extra);
    all.sort_by(|a, b| {
        (
            canonical(&a.name),
            a.kind,
            &a.district,
            a.e,
            a.n,
            &a.name,
            &a.locality,
            &a.id,
        )
            .cmp(&(
                canonical(&b.name),
                b.kind,
                &b.district,
                b.e,
                b.n,
                &b.name,
                &b.locality,
                &b.id,
            ))
    });

    let out_path = out.path(OUT_PATH);
    let mut sink = CsvSink::new(&HEADER).map_err(sink_error(out_path.clone()))?;
    for r in &all {
        let (lon, lat) = to_wgs84
            .convert(f64::from(r.e), f64::from(r.n))
            .map_err(|e| ImportError::Reproject {
                path: opendata.join(OPEN_NAMES_NORFOLK),
                line: 0,
                source: Box::new(e),
            })?;
        let b = r.bbox.map(|b| b.map(|v| v.to_string()));
        let [min_e, min_n, max_e, max_n] = b.unwrap_or_default();
        let (lat, lon) = (fmt_degrees(lat), fmt_degrees(lon));
        let (e, n) = (fmt_metres(f64::from(r.e)), fmt_metres(f64::from(r.n)));
        sink.row([
            r.name.as_str(),
            r.kind.as_str(),
            r.locality.as_str(),
            r.near.as_str(),
            r.district.as_str(),
            lat.as_str(),
            lon.as_str(),
            e.as_str(),
            n.as_str(),
            min_e.as_str(),
            min_n.as_str(),
            max_e.as_str(),
            max_n.as_str(),
            r.source.as_str(),
        ])
        .map_err(sink_error(out_path.clone()))?;
    }
    let (bytes, count) = sink.finish().map_err(sink_error(out_path))?;
    out.write(OUT_PATH, &bytes, count, &META)?;
    report.lines.push(format!(
        "{OUT_PATH}: {count} entries ({os_places} OS settlements, {road_count} roads merged from \
         {pieces} OS road pieces, {geonames} GeoNames places, {msoa} MSOA neighbourhood names)"
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn road(id: &str, b: [i32; 4]) -> Entry {
        Entry {
            name: "Church Lane".into(),
            kind: PlaceKind::Road,
            locality: "Reepham".into(),
            near: String::new(),
            district: "Broadland".into(),
            e: b[0],
            n: b[1],
            bbox: Some(b),
            source: PlaceSource::OsOpenNames,
            id: id.into(),
        }
    }

    #[test]
    fn close_road_pieces_merge_and_distant_ones_do_not() {
        let merged = merge_roads(vec![
            road("b", [0, 0, 100, 100]),
            road("a", [300, 0, 1000, 50]),
            road("c", [5000, 5000, 5100, 5100]),
        ]);
        assert_eq!(merged.len(), 2);
        let first = merged.iter().find(|e| e.bbox == Some([0, 0, 1000, 100]));
        // The longest piece gives the point.
        assert_eq!(first.map(|e| e.id.as_str()), Some("a"));
    }

    #[test]
    fn box_gap_is_zero_for_overlapping_boxes() {
        assert_eq!(box_gap([0, 0, 10, 10], [5, 5, 20, 20]), 0);
        assert_eq!(box_gap([0, 0, 10, 10], [30, 0, 40, 10]), 20);
    }
}
