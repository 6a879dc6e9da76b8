//! Derived area layers for the schemes: Primary Care Network polygons built from LSOAs by
//! registered patients, Norfolk localities from the April 2019 CCGs, and the illustrative
//! Bristol home-care zones and night zones built from wards.
//!
//! Steps:
//! 1. PCNs: every 2011 LSOA of Norfolk & Waveney and of Bristol goes to the PCN whose practices
//!    hold most of its registered patients (NHS Digital, July 2022, with the practice-to-PCN map
//!    of the same month; ties go to the lower PCN code); a PCN's polygon is the union of its
//!    LSOAs. An LSOA won by a PCN of another area stays with that PCN.
//! 2. Localities: North Norfolk (CCG 06V), Norwich and South Norfolk (06W + 06Y), West Norfolk
//!    (07J), Great Yarmouth and Waveney (06M).
//! 3. Bristol zones 1-11 and night zones N1-N3: contiguous groups of the 34 wards. The councils'
//!    papers publish neither, so these are illustrative and flagged as such.
//!
//! Coordinates are written rounded to 7 decimal places (about 1 cm) so the output is
//! byte-identical from run to run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use geo::orient::{Direction, Orient};
use geo::{GeodesicArea, MultiPolygon, unary_union};
use serde_json::{Map, Value, json};

use super::csvio::CsvSource;
use super::{FileMeta, ImportError, ImportReport, Output};

const LSOA_SOURCES: [&str; 2] = [
    "boundaries/statistical/lsoa2011_bgc_norfolk_waveney.geojson",
    "boundaries/statistical/lsoa2011_bgc_bristol.geojson",
];
const PATIENTS: &str = "pcn/gp-reg-pat-prac-lsoa-all_2022-07_norfolk_waveney_bnssg.csv";
const PCN_MAP: &str = "pcn/gp-reg-pat-prac-map_2022-07_england.csv";
const CCG_2019: &str = "boundaries/nhs/ccg_apr2019_bgc_norfolk_waveney_bnssg.geojson";
const BRISTOL_WARDS: &str = "boundaries/electoral/wards_dec2023_bsc_bristol.geojson";

const PCN_OUT: &str = "boundaries/pcn_2022.geojson";
const PRACTICE_PCN_OUT: &str = "centres/practice_pcn_2022-07.csv";
const LOCALITIES_OUT: &str = "boundaries/norfolk_localities_2019.geojson";
const ZONES_OUT: &str = "boundaries/bristol_zones_illustrative.geojson";
const NIGHT_ZONES_OUT: &str = "boundaries/bristol_night_zones_illustrative.geojson";

/// How the PCN layer is made; also written into every PCN feature.
pub const PCN_METHOD: &str = "each 2011 LSOA goes to the PCN whose practices hold most of its registered patients (NHS Digital 'Patients Registered at a GP Practice', July 2022, LSOA file and practice-to-PCN map of the same month; ties to the lower PCN code); a PCN's polygon is the union of its LSOAs (ONS LSOA 2011 generalised clipped boundaries)";

static PCN_META: FileMeta = FileMeta {
    description: "Primary Care Network areas, July 2022, built from 2011 LSOAs by registered patients (Norfolk & Waveney and Bristol LSOAs)",
    sources: &[PATIENTS, PCN_MAP, LSOA_SOURCES[0], LSOA_SOURCES[1]],
    licence: "OGL v3: contains information from NHS England; Source: Office for National Statistics; contains OS data (c) Crown copyright and database right",
};
static PRACTICE_PCN_META: FileMeta = FileMeta {
    description: "GP practice to PCN, July 2022, for practices of Norfolk & Waveney (26A) and BNSSG (15C)",
    sources: &[PCN_MAP],
    licence: "OGL v3: contains information from NHS England",
};
static LOCALITIES_META: FileMeta = FileMeta {
    description: "Norfolk localities: unions of April 2019 CCG areas",
    sources: &[CCG_2019],
    licence: "OGL v3: Source: Office for National Statistics; contains OS data (c) Crown copyright and database right",
};
static ZONES_META: FileMeta = FileMeta {
    description: "ILLUSTRATIVE Bristol home-care zones 1-11: contiguous groups of the 34 Bristol wards (the council does not publish its zone boundaries)",
    sources: &[BRISTOL_WARDS],
    licence: "OGL v3: Source: Office for National Statistics; contains OS data (c) Crown copyright and database right",
};
static NIGHT_ZONES_META: FileMeta = FileMeta {
    description: "ILLUSTRATIVE Bristol night-care zones N1-N3: groups of the illustrative day zones",
    sources: &[BRISTOL_WARDS],
    licence: "OGL v3: Source: Office for National Statistics; contains OS data (c) Crown copyright and database right",
};

/// Localities: (id, name, CCG19 codes).
const LOCALITIES: [(&str, &str, &[&str]); 4] = [
    ("north_norfolk", "North Norfolk", &["06V"]),
    (
        "norwich_south_norfolk",
        "Norwich and South Norfolk",
        &["06W", "06Y"],
    ),
    ("west_norfolk", "West Norfolk", &["07J"]),
    (
        "great_yarmouth_waveney",
        "Great Yarmouth and Waveney",
        &["06M"],
    ),
];

/// Illustrative Bristol zones: (zone id, ward names). Neighbouring wards, 34 in all.
pub const BRISTOL_ZONES: [(&str, &[&str]); 11] = [
    (
        "1",
        &[
            "Avonmouth and Lawrence Weston",
            "Henbury and Brentry",
            "Stoke Bishop",
        ],
    ),
    (
        "2",
        &["Southmead", "Westbury-on-Trym and Henleaze", "Horfield"],
    ),
    ("3", &["Lockleaze", "Frome Vale", "Hillfields"]),
    ("4", &["Bishopston and Ashley Down", "Redland", "Cotham"]),
    ("5", &["Eastville", "Easton", "Lawrence Hill"]),
    (
        "6",
        &[
            "St George West",
            "St George Central",
            "St George Troopers Hill",
        ],
    ),
    (
        "7",
        &[
            "Central",
            "Clifton",
            "Clifton Down",
            "Hotwells and Harbourside",
            "Ashley",
        ],
    ),
    ("8", &["Southville", "Bedminster", "Windmill Hill"]),
    ("9", &["Brislington West", "Brislington East", "Knowle"]),
    (
        "10",
        &["Filwood", "Hengrove and Whitchurch Park", "Stockwood"],
    ),
    ("11", &["Bishopsworth", "Hartcliffe and Withywood"]),
];

/// Illustrative night zones: (id, name, day zones).
const NIGHT_ZONES: [(&str, &str, &[&str]); 3] = [
    ("N1", "Night zone North", &["1", "2", "3", "4"]),
    ("N2", "Night zone Central and East", &["5", "6", "7"]),
    ("N3", "Night zone South", &["8", "9", "10", "11"]),
];

fn read_layer(
    opendata: &Path,
    rel: &str,
    id: &str,
    name: &str,
) -> Result<Vec<(MultiPolygon<f64>, String, String)>, ImportError> {
    let path = opendata.join(rel);
    let bytes = std::fs::read(&path).map_err(|source| ImportError::Read {
        path: path.clone(),
        source,
    })?;
    let features = crate::data::load::parse_layer(rel, &bytes, None, id, name).map_err(|e| {
        ImportError::Layer {
            path: path.clone(),
            source: Box::new(e),
        }
    })?;
    Ok(features
        .into_iter()
        .map(|(shape, f)| (shape.orient(Direction::Default), f.id.into(), f.name.into()))
        .collect())
}

/// Holes smaller than this (square metres) in a union are slivers between neighbouring source
/// polygons whose shared edges differ in the last digits, not real holes: they are dropped.
const SLIVER_HOLE_M2: f64 = 100.0;

/// The union of `parts`, without sliver holes. The result is a valid geometry (OGC rules, as
/// checked by `careband validate`) and is written at full precision: rounding its coordinates
/// would make near-coincident edges cross.
fn union(parts: &[&MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let polys: Vec<&geo::Polygon<f64>> = parts.iter().flat_map(|mp| mp.0.iter()).collect();
    let merged = unary_union(polys);
    MultiPolygon(
        merged
            .0
            .into_iter()
            .map(|p| {
                let (exterior, holes) = p.into_inner();
                let holes = holes
                    .into_iter()
                    .filter(|h| {
                        geo::Polygon::new(h.clone(), vec![]).geodesic_area_unsigned()
                            >= SLIVER_HOLE_M2
                    })
                    .collect();
                geo::Polygon::new(exterior, holes)
            })
            .collect(),
    )
}

fn feature(props: Map<String, Value>, shape: &MultiPolygon<f64>) -> Value {
    let rings = |ring: &geo::LineString<f64>| -> Value {
        Value::Array(ring.coords().map(|c| json!([c.x, c.y])).collect())
    };
    let coords: Vec<Value> = shape
        .0
        .iter()
        .map(|p| {
            Value::Array(
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(rings)
                    .collect(),
            )
        })
        .collect();
    json!({
        "type": "Feature",
        "properties": Value::Object(props),
        "geometry": {"type": "MultiPolygon", "coordinates": coords},
    })
}

fn write_collection(
    out: &mut Output,
    rel: &'static str,
    features: &[Value],
    meta: &'static FileMeta,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let n = features.len();
    let mut bytes = serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features}))
        .map_err(|e| ImportError::Serialise {
            path: out.path(rel),
            source: Box::new(e),
        })?;
    bytes.push(b'\n');
    out.write(rel, &bytes, n, meta)?;
    report.lines.push(format!("{rel}: {n} features"));
    Ok(())
}

fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Builds all derived area layers.
pub(super) fn import(
    opendata: &Path,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    // An open-data folder without the NHS patient files (a subset for testing the other
    // steps) skips this step, and says so; a folder with some of them must have them all.
    if [PATIENTS, PCN_MAP]
        .iter()
        .all(|f| !opendata.join(f).exists())
    {
        report.lines.push(format!(
            "derived areas skipped: {PATIENTS} and {PCN_MAP} are not in the open-data folder"
        ));
        return Ok(());
    }
    pcns(opendata, out, report)?;
    localities(opendata, out, report)?;
    bristol_zones(opendata, out, report)
}

struct PcnInfo {
    name: String,
    ccg: String,
}

/// The PCN of each code, and one `[practice, name, pcn, pcn name, ccg]` row per practice.
type PcnMap = (HashMap<String, PcnInfo>, Vec<[String; 5]>);

fn pcn_map(opendata: &Path) -> Result<PcnMap, ImportError> {
    let mut src = CsvSource::open(&opendata.join(PCN_MAP))?;
    let (practice, practice_name, pcn, pcn_name, ccg) = (
        src.column("PRACTICE_CODE")?,
        src.column("PRACTICE_NAME")?,
        src.column("PCN_CODE")?,
        src.column("PCN_NAME")?,
        src.column("CCG_CODE")?,
    );
    let mut pcns = HashMap::new();
    let mut practices = Vec::new();
    src.for_each_row(|row| {
        pcns.entry(row.str(pcn).to_string())
            .or_insert_with(|| PcnInfo {
                name: row.str(pcn_name).to_string(),
                ccg: row.str(ccg).to_string(),
            });
        if matches!(row.str(ccg), "26A" | "15C") {
            practices.push([
                row.str(practice).to_string(),
                row.str(practice_name).to_string(),
                row.str(pcn).to_string(),
                row.str(pcn_name).to_string(),
                row.str(ccg).to_string(),
            ]);
        }
        Ok(())
    })?;
    practices.sort();
    Ok((pcns, practices))
}

#[expect(
    clippy::too_many_lines,
    reason = "the numbered steps of the PCN derivation in the module docs, in order"
)]
fn pcns(opendata: &Path, out: &mut Output, report: &mut ImportReport) -> Result<(), ImportError> {
    let (pcn_info, practices) = pcn_map(opendata)?;
    // Patients per (LSOA, PCN).
    let mut patients: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut src = CsvSource::open(&opendata.join(PATIENTS))?;
    let (lsoa, n, pcn) = (
        src.column("LSOA_CODE")?,
        src.column("NUMBER_OF_PATIENTS")?,
        src.column("practice_pcn_code")?,
    );
    src.for_each_row(|row| {
        let count: u64 = row
            .str(n)
            .parse()
            .map_err(|_| row.field_error(n, "not a whole number"))?;
        let code = row.str(pcn);
        // Practices missing from the map, and the "unallocated" U code, never win an LSOA.
        if !code.is_empty() && code != "U" {
            *patients
                .entry(row.str(lsoa).to_string())
                .or_default()
                .entry(code.to_string())
                .or_default() += count;
        }
        Ok(())
    })?;
    let mut members: BTreeMap<String, Vec<(MultiPolygon<f64>, f64)>> = BTreeMap::new();
    let mut unassigned = Vec::new();
    for rel in LSOA_SOURCES {
        for (shape, code, _) in read_layer(opendata, rel, "LSOA11CD", "LSOA11NM")? {
            let Some(by_pcn) = patients.get(&code) else {
                unassigned.push(code);
                continue;
            };
            let total: u64 = by_pcn.values().sum();
            // Largest count wins; BTreeMap order makes the lower code win a tie.
            let Some((winner, won)) =
                by_pcn
                    .iter()
                    .fold(None::<(&String, u64)>, |best, (c, &v)| match best {
                        Some((_, bv)) if bv >= v => best,
                        _ => Some((c, v)),
                    })
            else {
                unassigned.push(code);
                continue;
            };
            #[expect(
                clippy::cast_precision_loss,
                reason = "patient counts are far below 2^52"
            )]
            let share = won as f64 / total.max(1) as f64;
            members
                .entry(winner.clone())
                .or_default()
                .push((shape, share));
        }
    }
    let mut features = Vec::new();
    for (code, parts) in &members {
        let shapes: Vec<&MultiPolygon<f64>> = parts.iter().map(|(s, _)| s).collect();
        let min_share = parts.iter().map(|(_, s)| *s).fold(1.0, f64::min);
        let info = pcn_info.get(code);
        features.push(feature(
            props(&[
                ("PCN_CODE", json!(code)),
                (
                    "PCN_NAME",
                    json!(info.map_or(code.as_str(), |i| i.name.as_str())),
                ),
                ("CCG_CODE", json!(info.map_or("", |i| i.ccg.as_str()))),
                ("lsoas", json!(parts.len())),
                (
                    "min_winner_share",
                    json!((min_share * 1000.0).round() / 1000.0),
                ),
                ("method", json!(PCN_METHOD)),
            ]),
            &union(&shapes),
        ));
    }
    write_collection(out, PCN_OUT, &features, &PCN_META, report)?;
    if !unassigned.is_empty() {
        report.lines.push(format!(
            "  {} LSOAs without registered patients left out of every PCN: {}",
            unassigned.len(),
            unassigned.join(", ")
        ));
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ImportError::Serialise {
        path: out.path(PRACTICE_PCN_OUT),
        source: Box::new(e),
    };
    csv.write_record(["code", "name", "pcn_code", "pcn_name", "ccg"])
        .map_err(csv_err)?;
    for p in &practices {
        csv.write_record(p).map_err(csv_err)?;
    }
    let bytes = csv.into_inner().map_err(|e| ImportError::Serialise {
        path: out.path(PRACTICE_PCN_OUT),
        source: Box::new(e.into_error()),
    })?;
    out.write(
        PRACTICE_PCN_OUT,
        &bytes,
        practices.len(),
        &PRACTICE_PCN_META,
    )?;
    report
        .lines
        .push(format!("{PRACTICE_PCN_OUT}: {} practices", practices.len()));
    Ok(())
}

fn localities(
    opendata: &Path,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let ccgs = read_layer(opendata, CCG_2019, "CCG19CDH", "AREANM")?;
    let mut features = Vec::new();
    for (id, name, codes) in LOCALITIES {
        let parts: Vec<&MultiPolygon<f64>> = ccgs
            .iter()
            .filter(|(_, code, _)| codes.contains(&code.as_str()))
            .map(|(s, _, _)| s)
            .collect();
        if parts.len() != codes.len() {
            return Err(ImportError::GeoJson {
                path: opendata.join(CCG_2019),
                reason: format!("locality {id} needs CCGs {codes:?}, found {}", parts.len()),
            });
        }
        features.push(feature(
            props(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("ccg19", json!(codes.join("+"))),
            ]),
            &union(&parts),
        ));
    }
    write_collection(out, LOCALITIES_OUT, &features, &LOCALITIES_META, report)
}

fn bristol_zones(
    opendata: &Path,
    out: &mut Output,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let wards = read_layer(opendata, BRISTOL_WARDS, "WD23CD", "WD23NM")?;
    let by_name: HashMap<&str, (&MultiPolygon<f64>, &str)> = wards
        .iter()
        .map(|(s, code, name)| (name.as_str(), (s, code.as_str())))
        .collect();
    let assigned: usize = BRISTOL_ZONES.iter().map(|(_, w)| w.len()).sum();
    if assigned != wards.len() {
        return Err(ImportError::GeoJson {
            path: opendata.join(BRISTOL_WARDS),
            reason: format!(
                "{} wards in the file but {assigned} assigned to zones",
                wards.len()
            ),
        });
    }
    let mut zone_shapes: HashMap<&str, MultiPolygon<f64>> = HashMap::new();
    let mut features = Vec::new();
    for (zone, names) in BRISTOL_ZONES {
        let mut parts = Vec::new();
        let mut codes = Vec::new();
        for name in names {
            let (shape, code) = by_name.get(name).ok_or_else(|| ImportError::GeoJson {
                path: opendata.join(BRISTOL_WARDS),
                reason: format!("zone {zone}: no ward named {name:?}"),
            })?;
            parts.push(*shape);
            codes.push(*code);
        }
        // Contiguous: the union has no more pieces than its most fragmented ward (the
        // Avonmouth ward has estuary islands of its own).
        let own_pieces = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let shape = union(&parts);
        if shape.0.len() > own_pieces {
            report.lines.push(format!(
                "  warning: illustrative zone {zone} is {} separate pieces",
                shape.0.len()
            ));
        }
        features.push(feature(
            props(&[
                ("zone", json!(zone)),
                ("name", json!(format!("Zone {zone}"))),
                ("wards", json!(names.join("; "))),
                ("ward_codes", json!(codes.join(";"))),
                ("illustrative", json!(true)),
            ]),
            &shape,
        ));
        zone_shapes.insert(zone, shape);
    }
    write_collection(out, ZONES_OUT, &features, &ZONES_META, report)?;
    let mut night = Vec::new();
    for (id, name, zones) in NIGHT_ZONES {
        let parts: Vec<&MultiPolygon<f64>> =
            zones.iter().filter_map(|z| zone_shapes.get(z)).collect();
        night.push(feature(
            props(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("day_zones", json!(zones.join(","))),
                ("illustrative", json!(true)),
            ]),
            &union(&parts),
        ));
    }
    write_collection(out, NIGHT_ZONES_OUT, &night, &NIGHT_ZONES_META, report)
}
