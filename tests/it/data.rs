//! Known answers on the real embedded data, checked against a second, independent method.
//!
//! The second method: Pythagoras on the British National Grid eastings and northings of the
//! postcode (Code-Point Open) and of every counting GP practice, done outside careband (a
//! spreadsheet-style scan of `geodata/centres/gp_practices.csv` and
//! `geodata/postcodes/postcodes.csv`). Grid distance in Norfolk differs from the geodesic
//! distance by the grid scale factor (about 1.0001 there) plus the datum shift, so the two
//! methods agree to well under 0.2%; the nearest practice must be the same.
//! The tests redo that second method in code: for the known postcodes, to check the table
//! itself, and by brute force for a sample of all Norfolk postcodes.

use careband::engine::answer::{Answer, PointAnswer, RateKind, SchemeAnswer};
use careband::engine::dataset::PostcodeStatus;
use careband::engine::lookup::{LookupError, lookup};
use careband::engine::query::Query;

use crate::common::fixtures::geodata;
use crate::common::{DATASET, date, point, scheme};

fn norfolk(p: &PointAnswer) -> &SchemeAnswer {
    scheme(&p.resolution.schemes, "norfolk")
}

/// (postcode, nearest practice code, BNG grid distance in metres, expected band, CCG 2019).
/// Grid distances worked out independently as described at the top of this file.
const KNOWN: &[(&str, &str, f64, usize, &str)] = &[
    ("NR1 1AA", "Y02751", 718.0, 1, "06W"),
    ("NR18 0AA", "D82624", 475.0, 1, "06Y"),
    ("NR9 3DB", "D82064", 3709.0, 1, "06Y"),
    ("NR11 8AA", "D82005", 3880.0, 1, "06V"),
    // Blakeney: its branch surgery is not a centre, so the nearest is Holt's main site, 5.09 miles: Band 2.
    ("NR25 7PQ", "D82001", 8194.0, 2, "06V"),
    // Near Melton Constable: 6.34 miles from Holt, Band 3.
    ("NR24 2NG", "D82001", 10205.0, 3, "06V"),
];

/// One mile in metres, from the yard's legal definition (exactly 0.9144 m) and 1760 yards to
/// the mile, rather than from careband's constant. The Norfolk thresholds are 3 and 6 miles.
const MILE_M: f64 = 1760.0 * 0.9144;

/// How far grid and geodesic distance may differ here (see the top of this file).
fn grid_slack(m: f64) -> f64 {
    m * 0.002 + 5.0
}

/// A GP practice as `geodata/centres/gp_practices.csv` lists it.
struct Practice {
    code: String,
    easting: f64,
    northing: f64,
}

/// The practices that count for Norfolk banding on `on` (by scope and open dates), read from
/// the CSV file itself, not through careband.
fn counting_practices(on: &str) -> Vec<Practice> {
    let csv_text = std::fs::read_to_string(geodata().join("centres/gp_practices.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (ce, cn, cc, cs, co, cl) = (
        col("easting"),
        col("northing"),
        col("code"),
        col("scope"),
        col("open_date"),
        col("close_date"),
    );
    rdr.records()
        .map(Result::unwrap)
        .filter(|r| matches!(&r[cs], "norfolk_waveney" | "near_norfolk"))
        .filter(|r| (r[co].is_empty() || &r[co] <= on) && (r[cl].is_empty() || on <= &r[cl]))
        .map(|r| Practice {
            code: r[cc].to_string(),
            easting: r[ce].parse().unwrap(),
            northing: r[cn].parse().unwrap(),
        })
        .collect()
}

/// Pythagoras on the grid from a Code-Point position to a practice, metres.
fn grid_distance((e, n): (i32, i32), p: &Practice) -> f64 {
    (p.easting - f64::from(e)).hypot(p.northing - f64::from(n))
}

/// The Code-Point grid position of a postcode, as the postcode file gives it.
fn grid_position(postcode: &str) -> (i32, i32) {
    DATASET
        .postcodes
        .records()
        .iter()
        .find(|r| r.postcode.as_str() == postcode)
        .and_then(|r| r.bng)
        .unwrap_or_else(|| panic!("{postcode} has a grid position"))
}

#[test]
fn known_postcodes_get_the_independently_worked_out_centre_distance_and_band() {
    let practices = counting_practices("2019-06-01");
    for &(pc, code, grid_m, band, ccg) in KNOWN {
        // The table itself, against the second method redone in code: its practice is the
        // nearest on the grid, at its distance, and its band follows from that distance,
        // which is far enough from a threshold for grid and geodesic to agree on the band.
        let at = grid_position(pc);
        let nearest = practices
            .iter()
            .min_by(|a, b| grid_distance(at, a).total_cmp(&grid_distance(at, b)))
            .unwrap();
        assert_eq!(nearest.code, code, "{pc}: the table's practice");
        let computed = grid_distance(at, nearest);
        assert!(
            (computed - grid_m).abs() <= 1.0,
            "{pc}: the table's {grid_m} m vs {computed:.1} m on the grid"
        );
        let by_grid = if grid_m <= 3.0 * MILE_M {
            1
        } else if grid_m <= 6.0 * MILE_M {
            2
        } else {
            3
        };
        assert_eq!(
            by_grid, band,
            "{pc}: the table's band is that of its distance"
        );
        for miles in [3.0, 6.0] {
            assert!(
                (grid_m - miles * MILE_M).abs() > grid_slack(grid_m),
                "{pc}: too near {miles} miles for the grid to settle the band"
            );
        }

        // careband against the table.
        let p = point(pc, "2019-06-01");
        let s = norfolk(&p);
        let b = s.banding.as_ref().unwrap();
        let centre = b.nearest_centre.as_ref().unwrap();
        assert_eq!(centre.code, code, "{pc}");
        let d = b.distance_m.unwrap();
        assert!(
            (d - grid_m).abs() <= grid_slack(grid_m),
            "{pc}: geodesic {d:.1} m vs grid {grid_m} m"
        );
        assert_eq!(b.banded_region.as_ref().unwrap().id, ccg, "{pc}");
        assert_eq!(b.band.as_ref().unwrap().number, band, "{pc}");
        let rate = s.rate.as_ref().unwrap();
        assert_eq!(rate.kind, RateKind::Band);
        assert_eq!(
            rate.hourly,
            [18.24, 19.68, 21.72][band - 1],
            "{pc} 2019/20 rate"
        );
    }
}

#[test]
fn the_2018_rates_apply_before_8_april_2019() {
    let p = point("NR1 1AA", "2018-06-01");
    assert_eq!(norfolk(&p).rate.as_ref().unwrap().hourly, 17.40);
    assert_eq!(
        norfolk(&p).rate.as_ref().unwrap().effective_from,
        date("2018-04-09")
    );
    let p = point("NR1 1AA", "2019-04-08");
    assert_eq!(norfolk(&p).rate.as_ref().unwrap().hourly, 18.24);
}

#[test]
fn kings_lynn_is_outside_the_central_belt_and_gets_the_spot_price() {
    // PE30 1AA lies in West Norfolk CCG (07J), not in the Central Belt.
    let p = point("PE30 1AA", "2019-06-01");
    let s = norfolk(&p);
    let b = s.banding.as_ref().unwrap();
    assert!(!b.in_banded_region);
    assert!(b.band.is_none());
    let rate = s.rate.as_ref().unwrap();
    assert_eq!((rate.kind, rate.hourly), (RateKind::Standard, 18.24));
    assert_eq!(
        point("PE30 1AA", "2018-06-01").resolution.schemes[0]
            .rate
            .as_ref()
            .unwrap()
            .hourly,
        17.28
    );
}

#[test]
fn a_postcode_about_three_miles_out_is_flagged_near_a_band_edge() {
    // NR15 2LY: 4827.5 m on the grid from Long Stratton, half a metre inside 3 miles.
    let p = point("NR15 2LY", "2019-06-01");
    let b = norfolk(&p).banding.as_ref().unwrap();
    assert!(b.near_threshold);
    let m = b.margin.as_ref().unwrap();
    assert_eq!(m.threshold_miles, 3.0);
    assert!(m.margin_m < 20.0, "{m:?}");
}

#[test]
fn a_point_outside_norfolk_and_bristol_is_outside_coverage() {
    // Central London.
    let a = lookup(
        &DATASET,
        &Query::Point {
            lat: 51.5072,
            lon: -0.1276,
        },
        date("2019-06-01"),
    )
    .unwrap();
    let Answer::Point(p) = a else { panic!() };
    assert!(!p.resolution.covered);
    assert!(p.resolution.schemes.is_empty());
}

#[test]
fn lowestoft_in_waveney_is_outside_norfolk_county() {
    // NR32 1AA is in Suffolk (East Suffolk district) although it has an NR postcode.
    let p = point("NR32 1AA", "2019-06-01");
    assert!(p.resolution.schemes.iter().all(|s| s.scheme != "norfolk"));
}

#[test]
fn a_bng_point_resolves_like_the_postcode_it_came_from() {
    let pc = point("NR1 1AA", "2019-06-01");
    let facts = pc.postcode.as_ref().unwrap();
    let Answer::Point(bng) = lookup(
        &DATASET,
        &Query::Bng {
            easting: f64::from(facts.easting.unwrap()),
            northing: f64::from(facts.northing.unwrap()),
        },
        date("2019-06-01"),
    )
    .unwrap() else {
        panic!()
    };
    let (a, b) = (
        norfolk(&pc).banding.as_ref().unwrap(),
        norfolk(&bng).banding.as_ref().unwrap(),
    );
    assert_eq!(
        a.nearest_centre.as_ref().unwrap().code,
        b.nearest_centre.as_ref().unwrap().code
    );
    assert!((a.distance_m.unwrap() - b.distance_m.unwrap()).abs() < 0.5);
}

#[test]
fn postcode_inputs_as_users_type_them() {
    let day = date("2019-06-01");
    let q = |s: &str| lookup(&DATASET, &Query::Postcode(s.into()), day);
    // Good, odd spacing, lower case: all the same answer.
    for s in ["NR1 1AA", "nr11aa", "  Nr1   1aA ", "NR11AA"] {
        let Ok(Answer::Point(p)) = q(s) else {
            panic!("{s}")
        };
        assert_eq!(p.query, "NR1 1AA");
    }
    // Garbage: a bad-input error, not "not found".
    for s in [
        "",
        "hello world",
        "NR1-1AA",
        "12345",
        "NR1 1AAA",
        "ZZ99 9Z!",
    ] {
        let e = q(s).unwrap_err();
        assert!(!e.is_not_found(), "{s}: {e}");
    }
    // Valid but unknown: not found, with suggestions from the same sector.
    let e = q("NR1 1XX").unwrap_err();
    let LookupError::UnknownPostcode { suggestions, .. } = &e else {
        panic!("{e}")
    };
    assert!(!suggestions.is_empty());
    assert!(
        suggestions.iter().all(|s| s.starts_with("NR1 1")),
        "{suggestions:?}"
    );
    assert!(e.to_string().contains("did you mean"));
    // An outward code: a summary of the bands its postcodes fall in, not a guess.
    let Ok(Answer::Area(a)) = q("NR1") else {
        panic!()
    };
    assert_eq!(a.level, careband::engine::answer::SummaryLevel::District);
    assert!(a.postcodes > 100);
    let Ok(Answer::Area(s)) = q("nr1 1") else {
        panic!()
    };
    assert_eq!(s.level, careband::engine::answer::SummaryLevel::Sector);
    assert!(s.postcodes < a.postcodes);
}

#[test]
fn a_terminated_postcode_is_answered_from_its_last_position_and_flagged() {
    let rec = DATASET
        .postcodes
        .records()
        .iter()
        .find(|r| {
            r.status == PostcodeStatus::Terminated
                && r.postcode.as_str().starts_with("NR1 ")
                && r.position.is_some()
        })
        .expect("terminated NR1 postcodes exist");
    let p = point(rec.postcode.as_str(), "2019-06-01");
    let facts = p.postcode.as_ref().unwrap();
    assert!(facts.terminated);
    assert!(p.resolution.covered);
}

#[test]
fn every_norfolk_postcode_resolves_inside_the_norfolk_scheme() {
    let d = date("2019-06-01");
    let mut n = 0;
    let mut outside = Vec::new();
    for r in DATASET.postcodes.records() {
        if r.county.as_deref() != Some("E10000020") {
            continue;
        }
        n += 1;
        let Ok(Answer::Point(p)) = lookup(&DATASET, &Query::Postcode(r.postcode.to_string()), d)
        else {
            panic!("{} did not resolve", r.postcode);
        };
        match p.resolution.schemes.iter().find(|s| s.scheme == "norfolk") {
            Some(s) => assert!(s.rate.is_some(), "{} has no rate", r.postcode),
            None => outside.push(r.postcode.to_string()),
        }
    }
    assert!(n > 29_000, "{n} Norfolk postcodes");
    assert!(
        outside.is_empty(),
        "{} Norfolk postcodes outside the scheme: {:?}",
        outside.len(),
        &outside[..outside.len().min(20)]
    );
}

#[test]
fn the_index_agrees_with_a_brute_force_grid_scan() {
    // Second method in code: nearest counting practice by Pythagoras on BNG, for every 211th
    // Norfolk postcode. The same practice must win unless two are within 0.3% of each other.
    let practices = counting_practices("2019-06-01");
    let mut checked = 0;
    for r in DATASET
        .postcodes
        .records()
        .iter()
        .filter(|r| r.county.as_deref() == Some("E10000020"))
        .step_by(211)
    {
        let at = r.bng.unwrap();
        let mut by_grid: Vec<(f64, &str)> = practices
            .iter()
            .map(|p| (grid_distance(at, p), p.code.as_str()))
            .collect();
        by_grid.sort_by(|a, b| a.0.total_cmp(&b.0));
        let p = point(r.postcode.as_str(), "2019-06-01");
        let b = norfolk(&p).banding.as_ref().unwrap();
        let got = b.nearest_centre.as_ref().unwrap();
        let tie = by_grid[1].0 - by_grid[0].0 < by_grid[0].0 * 0.003 + 5.0;
        if !tie {
            assert_eq!(got.code, by_grid[0].1, "{}", r.postcode);
        }
        let dm = b.distance_m.unwrap();
        assert!(
            (dm - by_grid[0].0).abs() <= grid_slack(by_grid[0].0),
            "{}: {dm} vs {}",
            r.postcode,
            by_grid[0].0
        );
        checked += 1;
    }
    assert!(checked > 100);
}

/// Every feature of every layer file the shipped schemes name gets the same validity verdict
/// from careband's R-tree check as from `geo`'s own quadratic `Validation` (the second
/// method), and every one is valid (the loader would refuse the data otherwise).
#[test]
fn every_shipped_feature_gets_geos_validity_verdict() {
    use careband::data::load::parse_layer;
    use careband::engine::polygon_check;
    use geo::Validation;

    let mut files = std::collections::BTreeSet::new();
    let mut checked = 0;
    for ls in &DATASET.schemes {
        for spec in &ls.scheme.layers {
            if !files.insert(spec.file.clone()) {
                continue;
            }
            let bytes = std::fs::read(geodata().join(&spec.file)).unwrap();
            let features = parse_layer(
                &spec.file,
                &bytes,
                spec.crs.as_deref(),
                &spec.id_property,
                &spec.name_property,
            )
            .unwrap();
            for (mp, f) in &features {
                let by_geo = mp.is_valid();
                assert_eq!(
                    polygon_check::is_valid(mp),
                    by_geo,
                    "{} {}",
                    spec.file,
                    f.id
                );
                assert!(by_geo, "{} {}", spec.file, f.id);
                checked += 1;
            }
        }
    }
    // The two schemes name seven layer files (the PCN file twice), with 62 features in all
    // (counted in the GeoJSON with a JSON tool).
    assert_eq!(files.len(), 7, "{files:?}");
    assert_eq!(checked, 62);
}
