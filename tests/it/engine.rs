//! Engine edge cases on a small hand-made dataset written to a temporary directory: exact
//! thresholds, dated centres, shared borders, holes, the coverage edge and refused data.
//!
//! The fixture (all WGS84):
//! - `county`: the box lon 0.9..1.4, lat 52.4..52.7 with a hole lon 1.20..1.25, lat 52.60..52.65
//!   (about 3.4 km x 5.6 km, far wider than the 100 m edge tolerance);
//! - `belt`: two features sharing the border lon = 1.1: `west` (0.9..1.1) and `east` (1.1..1.3);
//!   the county east of lon 1.3 is outside the banded region (spot price);
//! - centres: `A` at (1.0, 52.5) always open; `B` at (1.05, 52.5) closed after 2018-12-31;
//!   `X` at (1.01, 52.5) has a scope the scheme does not count.

use std::fs;
use std::path::Path;

use careband::data::load::{DataSource, LoadError, load};
use careband::engine::answer::{RateKind, Resolution, SchemeAnswer};
use careband::engine::coord::{LonLat, METRES_PER_MILE};
use careband::engine::dataset::Dataset;
use careband::engine::geo_index::PolygonMatch;
use careband::engine::resolve::resolve;
use geo::{Destination, Geodesic, Point};

use crate::common::fixtures::{collection, feature, square, write_data_dir};
use crate::common::{date, ll};

const SCHEME: &str = r#"
id = "tiny"
name = "Tiny test scheme"
council = "Test council"
version = "1"
currency = "GBP"
[coverage]
layer = "county"
edge_tolerance_m = 100.0
[[layers]]
id = "county"
description = "county"
file = "boundaries/county.geojson"
id_property = "code"
name_property = "name"
[[layers]]
id = "belt"
description = "belt"
file = "boundaries/belt.geojson"
id_property = "code"
name_property = "name"
[banding]
centres_file = "centres/centres.csv"
centre_scopes = ["in"]
centre_rule = "test centres"
region_layer = "belt"
region_features = ["west", "east"]
region_name = "the belt"
thresholds_miles = [3.0, 6.0]
band_names = ["Band 1", "Band 2", "Band 3"]
on_threshold = "lower_band"
near_threshold_m = 50.0
[[rates]]
from = "2018-04-09"
to = "2019-04-07"
band_hourly = [17.40, 19.68, 21.72]
standard_hourly = 17.28
standard_name = "spot price"
source = "test"
[[rates]]
from = "2019-04-08"
band_hourly = [18.24, 19.68, 21.72]
standard_hourly = 18.24
standard_name = "spot price"
source = "test"
"#;

/// Writes the fixture dataset (with a manifest of true checksums) into `dir`.
fn write_fixture(dir: &Path) {
    let files = [
        (
            "boundaries/county.geojson",
            collection(&[feature(
                "C1",
                "C1 area",
                &[
                    square(0.9, 52.4, 1.4, 52.7),
                    square(1.20, 52.60, 1.25, 52.65),
                ],
            )]),
        ),
        (
            "boundaries/belt.geojson",
            collection(&[
                feature("west", "west area", &[square(0.9, 52.4, 1.1, 52.7)]),
                feature("east", "east area", &[square(1.1, 52.4, 1.3, 52.7)]),
            ]),
        ),
        (
            "centres/centres.csv",
            "code,name,postcode,lat,lon,open_date,close_date,scope\n\
             A,Centre A,AA1 1AA,52.500000,1.000000,2000-01-01,,in\n\
             B,Centre B,AA1 1AB,52.500000,1.050000,2000-01-01,2018-12-31,in\n\
             X,Centre X,AA1 1AD,52.500000,1.010000,2000-01-01,,out\n"
                .to_string(),
        ),
        (
            "postcodes/postcodes.csv",
            "postcode,status,easting,northing,lat,lon,quality,county,district,ward\n\
             AA1 1AA,live,600000,300000,52.500000,1.000000,10,,,\n\
             AA1 1ZZ,terminated,,,52.550000,1.010000,,,,\n"
                .to_string(),
        ),
    ];
    write_data_dir(dir, &files, "tiny.toml", SCHEME);
}

/// The fixture dataset, loaded from its folder (which lives as long as the guard).
fn fixture() -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let ds = load(&DataSource::Dir(dir.path().to_path_buf())).unwrap();
    (dir, ds)
}

/// The point `metres` due east of centre A (geodesic destination, Karney).
fn east_of_a(metres: f64) -> LonLat {
    let p = Geodesic.destination(Point::new(1.0, 52.5), 90.0, metres);
    ll(p.x(), p.y())
}

fn only(r: &Resolution) -> &SchemeAnswer {
    assert_eq!(r.schemes.len(), 1, "{r:#?}");
    &r.schemes[0]
}

#[test]
fn just_under_three_miles_is_band_1_and_just_over_is_band_2() {
    let (_d, ds) = fixture();
    let three = 3.0 * METRES_PER_MILE;
    let under = resolve(&ds, east_of_a(three - 0.01), date("2019-06-01"));
    let b = only(&under).banding.as_ref().unwrap();
    assert_eq!(b.nearest_centre.as_ref().unwrap().code, "A");
    assert_eq!(b.band.as_ref().unwrap().number, 1);
    assert!(b.near_threshold);
    assert!((b.margin.as_ref().unwrap().margin_m - 0.01).abs() < 0.001);
    assert_eq!(b.margin.as_ref().unwrap().other_band, "Band 2");
    let rate = only(&under).rate.as_ref().unwrap();
    assert_eq!((rate.kind, rate.hourly), (RateKind::Band, 18.24));

    let over = resolve(&ds, east_of_a(three + 0.01), date("2019-06-01"));
    let b = only(&over).banding.as_ref().unwrap();
    assert_eq!(b.band.as_ref().unwrap().number, 2);
    assert_eq!(b.margin.as_ref().unwrap().other_band, "Band 1");
    assert_eq!(only(&over).rate.as_ref().unwrap().hourly, 19.68);
}

#[test]
fn margin_is_measured_to_the_nearest_threshold() {
    let (_d, ds) = fixture();
    // 4.2 miles: 1.2 miles past the 3-mile line, 1.8 short of the 6-mile line.
    let r = resolve(&ds, east_of_a(4.2 * METRES_PER_MILE), date("2019-06-01"));
    let b = only(&r).banding.as_ref().unwrap();
    let m = b.margin.as_ref().unwrap();
    assert_eq!(m.threshold_miles, 3.0);
    assert!((m.margin_miles - 1.2).abs() < 1e-6, "{m:?}");
    assert!(!b.near_threshold);
}

#[test]
fn a_closed_centre_counts_only_while_it_was_open() {
    let (_d, ds) = fixture();
    // 1 km east of B (which is 3.4 km east of A).
    let p = Geodesic.destination(Point::new(1.05, 52.5), 90.0, 1000.0);
    let at = ll(p.x(), p.y());
    let open = resolve(&ds, at, date("2018-06-01"));
    let b = only(&open).banding.as_ref().unwrap();
    assert_eq!(b.nearest_centre.as_ref().unwrap().code, "B");
    assert!((b.distance_m.unwrap() - 1000.0).abs() < 0.01);
    assert_eq!(
        only(&open).rate.as_ref().unwrap().hourly,
        17.40,
        "2018/19 Band 1 rate"
    );

    let closed = resolve(&ds, at, date("2019-06-01"));
    let b = only(&closed).banding.as_ref().unwrap();
    assert_eq!(b.nearest_centre.as_ref().unwrap().code, "A");
}

#[test]
fn centres_outside_the_scheme_scopes_never_count() {
    let (_d, ds) = fixture();
    // X sits 0.01 degrees east of A; this point is on top of X.
    let r = resolve(&ds, ll(1.01, 52.5), date("2019-06-01"));
    let code = &only(&r)
        .banding
        .as_ref()
        .unwrap()
        .nearest_centre
        .as_ref()
        .unwrap()
        .code;
    assert_eq!(code, "A");
}

#[test]
fn a_point_on_the_shared_belt_border_is_in_the_banded_region() {
    let (_d, ds) = fixture();
    let r = resolve(&ds, ll(1.1, 52.55), date("2019-06-01"));
    let b = only(&r).banding.as_ref().unwrap();
    assert!(b.in_banded_region);
    // Both halves cover it; either one puts it in the banded region. The first in file order is shown.
    assert_eq!(b.banded_region.as_ref().unwrap().id, "west");
}

#[test]
fn a_point_in_a_hole_of_the_county_is_outside_coverage() {
    let (_d, ds) = fixture();
    let r = resolve(&ds, ll(1.225, 52.625), date("2019-06-01"));
    assert!(!r.covered);
    assert!(r.schemes.is_empty());
    assert!(r.outside_reason.as_deref().unwrap().contains("outside"));
}

#[test]
fn a_point_just_outside_the_county_line_is_inside_within_the_tolerance() {
    let (_d, ds) = fixture();
    // 0.0005 degrees of latitude (about 56 m) south of the county's southern edge.
    let r = resolve(&ds, ll(1.0, 52.4 - 0.0005), date("2019-06-01"));
    assert!(r.covered);
    match only(&r).region.how {
        PolygonMatch::WithinTolerance { distance_m } => {
            assert!((distance_m - 55.6).abs() < 1.0, "{distance_m}");
        }
        PolygonMatch::Covered => panic!("should be a tolerance match"),
    }
    // 0.01 degrees (about 1.1 km) out: not covered.
    assert!(!resolve(&ds, ll(1.0, 52.39), date("2019-06-01")).covered);
}

#[test]
fn a_point_on_the_county_edge_is_covered() {
    let (_d, ds) = fixture();
    let r = resolve(&ds, ll(1.0, 52.4), date("2019-06-01"));
    assert!(matches!(only(&r).region.how, PolygonMatch::Covered));
}

#[test]
fn outside_the_banded_region_the_spot_price_applies() {
    let (_d, ds) = fixture();
    let r = resolve(&ds, ll(1.35, 52.5), date("2019-06-01"));
    let s = only(&r);
    let b = s.banding.as_ref().unwrap();
    assert!(!b.in_banded_region);
    assert!(b.band.is_none());
    let rate = s.rate.as_ref().unwrap();
    assert_eq!((rate.kind, rate.hourly), (RateKind::Standard, 18.24));
    assert!(rate.reason.contains("spot price"));
    let r2018 = resolve(&ds, ll(1.35, 52.5), date("2018-06-01"));
    assert_eq!(only(&r2018).rate.as_ref().unwrap().hourly, 17.28);
}

#[test]
fn before_the_first_rate_period_there_is_a_band_but_no_rate() {
    let (_d, ds) = fixture();
    let r = resolve(&ds, east_of_a(1000.0), date("2017-01-01"));
    let s = only(&r);
    assert_eq!(s.banding.as_ref().unwrap().band.as_ref().unwrap().number, 1);
    assert!(s.rate.is_none());
    assert!(s.notes.iter().any(|n| n.contains("no rates in force")));
}

#[test]
fn a_corrupt_data_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    fs::write(dir.path().join("centres/centres.csv"), "code,name\nbroken").unwrap();
    let err = load(&DataSource::Dir(dir.path().to_path_buf()))
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("centres/centres.csv"), "{err}");
}

#[test]
fn a_scheme_that_fails_its_checks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    fs::write(
        dir.path().join("schemes/tiny.toml"),
        SCHEME.replace("[3.0, 6.0]", "[6.0, 3.0]"),
    )
    .unwrap();
    let err = load(&DataSource::Dir(dir.path().to_path_buf()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("strictly ascending"), "{err}");
    assert!(err.to_string().contains("schemes/tiny.toml"), "{err}");
}

#[test]
fn a_missing_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&DataSource::Dir(dir.path().to_path_buf()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("manifest.toml"), "{err}");
}
