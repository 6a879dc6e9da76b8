//! Which council answers: a postcode's own ONS codes decide, polygons only for points; one
//! edge-tolerance rule for every layer; a scheme's layers hold only its own features (careband
//! issue 12, items 4 and 6).
//!
//! Expected values come from the data files by a second method, never from the engine: the
//! `county` and `district` columns of `geodata/postcodes/postcodes.csv` read here, the ONS codes
//! of Norfolk (county E10000020) and Bristol (unitary district E06000023) as ONS publishes
//! them, and python3 computations (ray-casting point-in-polygon and planar segment distance in
//! a local equirectangular frame, 111,195 m a degree) over the GeoJSON files, noted at each
//! test.

use actix_web::http::StatusCode;
use careband::engine::answer::{BoundaryOf, DecidedBy, RateKind};
use careband::engine::dataset::PostcodeStatus;
use careband::engine::geo_index::PolygonMatch;
use careband::engine::resolve::{resolve, resolve_postcode};
use serde_json::Value;

use crate::common::http::get;
use crate::common::{DATASET, date, ll, point, scheme};

const NORFOLK_COUNTY: &str = "E10000020";
const BRISTOL_DISTRICT: &str = "E06000023";
const ON: &str = "2019-06-01";

/// The scheme a postcode's ONS codes give, from the CSV's own columns.
fn expected_scheme(county: &str, district: &str) -> Option<&'static str> {
    if county == NORFOLK_COUNTY {
        Some("norfolk")
    } else if district == BRISTOL_DISTRICT {
        Some("bristol")
    } else {
        None
    }
}

#[test]
fn every_live_postcode_is_answered_by_the_scheme_of_its_ons_codes_and_no_other() {
    let path = crate::common::fixtures::geodata().join("postcodes/postcodes.csv");
    let mut csv = csv::Reader::from_path(&path).unwrap();
    let headers = csv.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (pc_col, status_col, county_col, district_col) = (
        col("postcode"),
        col("status"),
        col("county"),
        col("district"),
    );
    let on = date(ON);
    let (mut checked, mut norfolk, mut bristol, mut uncoded) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for row in csv.records() {
        let row = row.unwrap();
        if &row[status_col] != "live" {
            continue;
        }
        let (county, district) = (&row[county_col], &row[district_col]);
        if county.is_empty() && district.is_empty() {
            // No codes: position decides (known-answer tests below cover that rule).
            uncoded += 1;
            continue;
        }
        let pc = careband::engine::postcode::parse(&row[pc_col]).unwrap();
        let careband::PostcodeQuery::Unit(pc) = pc else {
            panic!("{} is a full postcode", &row[pc_col]);
        };
        let rec = DATASET.postcodes.get(&pc).unwrap();
        assert_eq!(rec.status, PostcodeStatus::Live);
        let Some(at) = rec.position else {
            panic!("{pc}: a live postcode has a position");
        };
        let r = resolve_postcode(&DATASET, rec, at, on);
        let got: Vec<&str> = r.schemes.iter().map(|s| s.scheme.as_str()).collect();
        let want = expected_scheme(county, district);
        match want {
            Some("norfolk") => norfolk += 1,
            Some(_) => bristol += 1,
            None => {}
        }
        let decided_right = r.schemes.iter().all(|s| {
            s.decided_by
                == DecidedBy::OnsCode(if s.scheme == "norfolk" {
                    NORFOLK_COUNTY.into()
                } else {
                    BRISTOL_DISTRICT.into()
                })
        });
        if got != want.into_iter().collect::<Vec<_>>()
            || !decided_right
            || r.covered != want.is_some()
        {
            wrong.push(format!("{pc} ({county} {district}): {got:?}"));
        }
        checked += 1;
    }
    assert!(
        wrong.is_empty(),
        "{} exceptions: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
    // Counts by awk over the CSV: live rows with county E10000020, and with district
    // E06000023; 6 live rows carry no codes.
    assert_eq!((norfolk, bristol, uncoded), (29_496, 11_742, 6));
    assert!(checked > 100_000, "{checked}");
}

#[test]
fn a_south_gloucestershire_postcode_at_the_bristol_edge_is_not_bristols() {
    // BS10 6FG: the CSV codes it to district E06000025 (South Gloucestershire), no county. Its
    // centroid is outside the Bristol polygon of lad_2019.geojson, 111.8 m from it (python3).
    let p = point("BS10 6FG", ON);
    let r = &p.resolution;
    assert!(!r.covered, "{:#?}", r.schemes);
    let why = r.outside_reason.as_deref().unwrap();
    assert!(why.contains("E06000025"), "{why}");
    // As a bare point at the same place, the polygon decides: inside Bristol's 250 m tolerance,
    // and the answer says how near the edge it is.
    let at = ll(p.resolution.point.lon, p.resolution.point.lat);
    let r = resolve(&DATASET, at, date(ON));
    let b = scheme(&r.schemes, "bristol");
    assert_eq!(b.decided_by, DecidedBy::Polygon(BRISTOL_DISTRICT.into()));
    let PolygonMatch::WithinTolerance { distance_m } = b.region.how else {
        panic!("a tolerance match: {:?}", b.region);
    };
    assert!((distance_m - 111.8).abs() < 1.0, "{distance_m}");
    let edge = b
        .near_boundary
        .iter()
        .find(|n| n.of == BoundaryOf::Coverage)
        .unwrap();
    assert!((edge.distance_m - 111.8).abs() < 1.0);
    assert!(edge.other_side.contains("outside"), "{edge:?}");
}

#[test]
fn a_suffolk_postcode_by_the_norfolk_line_is_not_norfolks_but_the_point_is_flagged() {
    // IP21 4LQ: the CSV codes it to county E10000029 (Suffolk), district E07000203 (Mid
    // Suffolk). python3: outside the Norfolk county polygon, 26.7 m from it; in no CCG of
    // ccg_2019.geojson, 29.0 m from 06Y (South Norfolk CCG), and 29.0 m from the
    // norwich_south_norfolk locality.
    let p = point("IP21 4LQ", ON);
    assert!(!p.resolution.covered);
    assert!(
        p.resolution
            .outside_reason
            .as_deref()
            .unwrap()
            .contains("E10000029")
    );
    let r = resolve(&DATASET, ll(1.249_036, 52.365_786), date(ON));
    let n = scheme(&r.schemes, "norfolk");
    assert_eq!(n.decided_by, DecidedBy::Polygon(NORFOLK_COUNTY.into()));
    let cov = n
        .near_boundary
        .iter()
        .find(|x| x.of == BoundaryOf::Coverage)
        .unwrap();
    assert!((cov.distance_m - 26.7).abs() < 1.0, "{cov:?}");
    // One rule for every layer: the banded region and the locality both match by tolerance,
    // so the price agrees with the locality (a band, not spot), flagged.
    let b = n.banding.as_ref().unwrap();
    assert!(b.in_banded_region);
    assert_eq!(n.rate.as_ref().unwrap().kind, RateKind::Band);
    let belt = n
        .near_boundary
        .iter()
        .find(|x| x.of == BoundaryOf::BandedRegion)
        .unwrap();
    assert!((belt.distance_m - 29.0).abs() < 1.0, "{belt:?}");
    assert!(
        belt.message.contains("outside it the spot price applies"),
        "{}",
        belt.message
    );
    let loc = n
        .areas
        .iter()
        .find(|a| a.matched.layer == "locality")
        .unwrap();
    assert_eq!(loc.matched.id, "norwich_south_norfolk");
}

#[test]
fn five_metres_either_side_of_the_central_belt_edge_are_both_flagged() {
    // python3 over ccg_2019.geojson: the longest segment shared by 06V (North Norfolk CCG)
    // and 07J (West Norfolk CCG), offset 5 m each way from its midpoint along the normal;
    // ray casting puts the first point in 06V and the second in 07J, each 5.0 m from 06V's
    // edge and over 10 km from the county line.
    let inside = resolve(&DATASET, ll(0.796_174_1, 52.872_522_5), date(ON));
    let outside = resolve(&DATASET, ll(0.796_026_3, 52.872_511_1), date(ON));
    let n_in = scheme(&inside.schemes, "norfolk");
    let n_out = scheme(&outside.schemes, "norfolk");
    assert!(n_in.banding.as_ref().unwrap().in_banded_region);
    assert_eq!(n_in.rate.as_ref().unwrap().kind, RateKind::Band);
    assert!(!n_out.banding.as_ref().unwrap().in_banded_region);
    assert_eq!(n_out.rate.as_ref().unwrap().kind, RateKind::Standard);
    for (n, says) in [
        (n_in, "outside it the spot price applies"),
        (n_out, "inside it a band rate applies"),
    ] {
        let belt = n
            .near_boundary
            .iter()
            .find(|x| x.of == BoundaryOf::BandedRegion)
            .unwrap_or_else(|| panic!("flagged: {:#?}", n.near_boundary));
        assert!((belt.distance_m - 5.0).abs() < 0.5, "{belt:?}");
        assert!(belt.message.contains(says), "{}", belt.message);
        assert!(belt.message.contains("Central Belt"), "{}", belt.message);
        assert!(n.warnings.contains(&belt.message));
        // The locality boundary runs along the same line: named on both sides.
        let loc = n
            .near_boundary
            .iter()
            .find(|x| x.layer == "locality")
            .unwrap();
        let mut sides = [loc.this_side.as_str(), loc.other_side.as_str()];
        sides.sort_unstable();
        assert_eq!(sides, ["North Norfolk", "West Norfolk"]);
    }
    // Neither is near the county line: no coverage flag.
    assert!(
        n_in.near_boundary
            .iter()
            .all(|x| x.of != BoundaryOf::Coverage)
    );
}

#[test]
fn an_edge_postcode_inside_a_central_belt_locality_gets_a_band_by_the_same_tolerance() {
    // NR12 8JP: county E10000020 in the CSV. python3: in no CCG polygon of ccg_2019.geojson,
    // 0.2 m from 06V; in no locality polygon, 0.2 m from north_norfolk; 2.2 m outside the
    // county polygon. The council is Norfolk by its code; the inner layers take the nearest
    // feature within the 250 m tolerance, flagged.
    let p = point("NR12 8JP", ON);
    let n = scheme(&p.resolution.schemes, "norfolk");
    assert_eq!(n.decided_by, DecidedBy::OnsCode(NORFOLK_COUNTY.into()));
    assert!(
        matches!(n.region.how, PolygonMatch::WithinTolerance { distance_m } if (distance_m - 2.2).abs() < 0.5)
    );
    let b = n.banding.as_ref().unwrap();
    assert!(b.in_banded_region);
    assert_eq!(b.banded_region.as_ref().unwrap().id, "06V");
    assert_eq!(n.rate.as_ref().unwrap().kind, RateKind::Band);
    let loc = n
        .areas
        .iter()
        .find(|a| a.matched.layer == "locality")
        .unwrap();
    assert_eq!(loc.matched.id, "north_norfolk");
    assert!(
        n.near_boundary
            .iter()
            .any(|x| x.of == BoundaryOf::BandedRegion)
    );
    // A postcode's council is fixed by its codes: no coverage flag.
    assert!(n.near_boundary.iter().all(|x| x.of != BoundaryOf::Coverage));
}

#[test]
fn a_bristol_postcode_just_outside_the_city_polygon_is_still_bristols() {
    // BS15 8FF: district E06000023 in the CSV; python3: 6.0 m outside the Bristol polygon,
    // the farthest of the six own-council postcodes that lie outside their council polygon.
    let p = point("BS15 8FF", ON);
    let b = scheme(&p.resolution.schemes, "bristol");
    assert_eq!(p.resolution.schemes.len(), 1);
    assert_eq!(b.decided_by, DecidedBy::OnsCode(BRISTOL_DISTRICT.into()));
    assert!(
        matches!(b.region.how, PolygonMatch::WithinTolerance { distance_m } if (distance_m - 6.0).abs() < 0.5)
    );
    assert!(
        b.areas.iter().any(|a| a.matched.layer == "zone"),
        "{:#?}",
        b.areas
    );
}

/// Bounding box `[min_lon, min_lat, max_lon, max_lat]` of a GeoJSON geometry's positions.
fn bbox(geometry: &Value) -> [f64; 4] {
    fn walk(v: &Value, bounds: &mut [f64; 4]) {
        match v.as_array() {
            Some(pos) if pos.first().is_some_and(Value::is_number) => {
                let (lon, lat) = (pos[0].as_f64().unwrap(), pos[1].as_f64().unwrap());
                *bounds = [
                    bounds[0].min(lon),
                    bounds[1].min(lat),
                    bounds[2].max(lon),
                    bounds[3].max(lat),
                ];
            }
            Some(items) => items.iter().for_each(|c| walk(c, bounds)),
            None => {}
        }
    }
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    walk(&geometry["coordinates"], &mut b);
    b
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// The bounding box of feature `code` in a shipped boundary file, read directly.
fn file_bbox(file: &str, code: &str) -> [f64; 4] {
    let path = crate::common::fixtures::geodata()
        .join("boundaries")
        .join(file);
    let fc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let f = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["AREACD"] == code)
        .unwrap();
    bbox(&f["geometry"])
}

#[actix_web::test]
async fn no_served_bristol_layer_feature_lies_in_norfolk_and_the_reverse() {
    let norfolk = file_bbox("norfolk_county_2019.geojson", NORFOLK_COUNTY);
    let bristol = file_bbox("lad_2019.geojson", BRISTOL_DISTRICT);
    // Feature counts by python3 over pcn_2022.geojson's CCG_CODE: 10 PCNs of BNSSG (15C) are
    // Bristol's; of the other 19, Lowestoft PCN (U59961) lies wholly in Suffolk.
    let mut counts = Vec::new();
    for (id, home, away) in [("bristol", bristol, norfolk), ("norfolk", norfolk, bristol)] {
        let s = DATASET.scheme(id).unwrap();
        for spec in &s.scheme.layers {
            let r = get(&format!("/v1/schemes/{id}/layers/{}.geojson", spec.id)).await;
            assert_eq!(r.status, StatusCode::OK);
            let body = r.json();
            let features = body["features"].as_array().unwrap();
            for f in features {
                let b = bbox(&f["geometry"]);
                let fid = &f["properties"]["id"];
                assert!(
                    !overlaps(b, away),
                    "{id} layer {} feature {fid} reaches the other council",
                    spec.id
                );
                assert!(
                    overlaps(b, home),
                    "{id} layer {} feature {fid} is not in its council",
                    spec.id
                );
            }
            counts.push((format!("{id}/{}", spec.id), features.len()));
        }
    }
    let count = |k: &str| counts.iter().find(|(n, _)| n == k).unwrap().1;
    assert_eq!(count("bristol/city"), 1);
    assert_eq!(count("bristol/pcn"), 10);
    assert_eq!(count("norfolk/pcn"), 18);
    // ccg_2019.geojson: five Norfolk & Waveney CCGs and BNSSG.
    assert_eq!(count("norfolk/ccg2019"), 5);
}

#[actix_web::test]
async fn a_postcode_lists_only_the_layers_of_the_schemes_its_codes_pick() {
    for (pc, own, other) in [
        ("NR1 1AB", "norfolk", "bristol"),
        ("BS1 4DJ", "bristol", "norfolk"),
    ] {
        let r = get(&format!("/v1/postcodes/{}", pc.replace(' ', "%20"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let areas = r.json()["areas"].as_array().unwrap().clone();
        assert!(areas.iter().any(|a| a["scheme"] == own), "{pc}: {areas:?}");
        assert!(
            areas.iter().all(|a| a["scheme"] != other),
            "{pc}: {areas:?}"
        );
    }
    // BS10 6FG is South Gloucestershire's by its codes: no scheme's layers.
    let r = get("/v1/postcodes/BS10%206FG").await;
    assert_eq!(r.json()["areas"], serde_json::json!([]));
}

#[test]
fn a_terminated_postcode_without_codes_is_decided_by_its_position_and_says_so() {
    // NR1 1AB: terminated in the CSV, with empty county and district columns; its last
    // position (52.62667, 1.30928) is in Norwich.
    let p = point("NR1 1AB", ON);
    let n = scheme(&p.resolution.schemes, "norfolk");
    assert_eq!(p.resolution.schemes.len(), 1);
    assert_eq!(n.decided_by, DecidedBy::Polygon(NORFOLK_COUNTY.into()));
    assert!(
        n.warnings
            .iter()
            .any(|w| w.contains("terminated") && w.contains("position")),
        "{:?}",
        n.warnings
    );
}
