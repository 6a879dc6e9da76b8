//! Zone schemes and `validate` on small hand-made datasets written to a temporary directory:
//! provider tiers by date, a point on a shared zone border, a point in a gap between zones,
//! and every class of fault `careband validate` must catch.
//!
//! The fixture (WGS84): the city is the box lon -2.70..-2.50, lat 51.40..51.50 (about 14 km x
//! 11 km). The good zone layer splits it at lon -2.60 into `1` (west) and `2` (east). The
//! gappy layer stops zone `2` at lon -2.55, leaving a strip of about 3.5 km x 11 km in no zone.

use std::path::Path;

use careband::data::load::{
    DataSource, GeometryCheck, LoadError, ValidateTarget, load, load_with, validate,
};
use careband::engine::answer::Resolution;
use careband::engine::resolve::resolve;
use careband::engine::validate::{FindingKind, Report, Severity};

use crate::common::fixtures::{collection, feature, ring, square, write_data_dir};
use crate::common::{date, ll};

const SCHEME: &str = r#"
id = "zoned"
name = "Zoned test scheme"
council = "Test council"
version = "1"
currency = "GBP"
illustrative = true
[coverage]
layer = "city"
edge_tolerance_m = 100.0
[[layers]]
id = "city"
description = "city"
file = "boundaries/city.geojson"
id_property = "code"
name_property = "name"
[[layers]]
id = "zone"
description = "zones"
file = "boundaries/zones.geojson"
id_property = "code"
name_property = "name"
role = "zone"
illustrative = true
[[rates]]
from = "2019-04-01"
band_hourly = []
standard_hourly = 18.20
standard_name = "hourly rate"
source = "test"
[[providers]]
id = "alpha"
name = "Alpha Care"
[[providers]]
id = "beta"
name = "Beta Care"
[[providers]]
id = "gamma"
name = "Gamma Care"
[[provider_lists]]
service = "day"
layer = "zone"
areas = ["1"]
from = "2017-04-01"
to = "2019-03-31"
tiers = [{ tier = "main", providers = ["alpha"] }]
[[provider_lists]]
service = "day"
layer = "zone"
areas = ["1"]
from = "2019-04-01"
tiers = [
  { tier = "main", providers = ["alpha"] },
  { tier = "secondary", providers = ["beta"] },
  { tier = "framework", providers = ["gamma", "beta"] },
]
[[provider_lists]]
service = "day"
layer = "zone"
areas = ["2"]
from = "2017-04-01"
tiers = [{ tier = "main", providers = ["beta"] }, { tier = "secondary", providers = ["alpha"] }]
[[provider_lists]]
service = "night"
layer = "zone"
areas = ["1", "2"]
from = "2017-04-01"
tiers = [{ tier = "main", providers = ["gamma"] }]
"#;

/// A layer of zone features, each `(code, exterior ring)`, named `Zone <code>`.
fn zone_layer(features: &[(&str, String)]) -> String {
    let f: Vec<String> = features
        .iter()
        .map(|(code, r)| feature(code, &format!("Zone {code}"), std::slice::from_ref(r)))
        .collect();
    collection(&f)
}

fn good_zones() -> String {
    zone_layer(&[
        ("1", square(-2.70, 51.40, -2.60, 51.50)),
        ("2", square(-2.60, 51.40, -2.50, 51.50)),
    ])
}

fn gappy_zones() -> String {
    zone_layer(&[
        ("1", square(-2.70, 51.40, -2.60, 51.50)),
        ("2", square(-2.60, 51.40, -2.55, 51.50)),
    ])
}

/// Writes a dataset with the given scheme text and zone layer (manifest with true checksums).
fn write_fixture(dir: &Path, scheme: &str, zones: &str) {
    let files = [
        (
            "boundaries/city.geojson".to_string(),
            zone_layer(&[("CITY", square(-2.70, 51.40, -2.50, 51.50))]),
        ),
        ("boundaries/zones.geojson".to_string(), zones.to_string()),
        (
            "postcodes/postcodes.csv".to_string(),
            "postcode,status,easting,northing,lat,lon,quality,county,district,ward\n\
             BS1 1AA,live,358000,173000,51.450000,-2.650000,10,,,\n"
                .to_string(),
        ),
    ];
    write_data_dir(dir, &files, "zoned.toml", scheme);
}

/// Provider names per tier of the `service` list, e.g. `["main: Alpha Care", ...]`.
fn tiers(r: &Resolution, service: &str) -> Vec<Vec<String>> {
    r.schemes[0]
        .providers
        .iter()
        .filter(|l| l.service.as_str() == service)
        .map(|l| {
            l.tiers
                .iter()
                .map(|t| {
                    let names: Vec<&str> = t.providers.iter().map(|p| p.name.as_str()).collect();
                    format!("{}: {}", t.tier, names.join(", "))
                })
                .collect()
        })
        .collect()
}

fn validate_fixture(scheme: &str, zones: &str) -> Report {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), scheme, zones);
    let mut reports = validate(
        &DataSource::Dir(dir.path().to_path_buf()),
        &ValidateTarget::All,
    )
    .unwrap();
    assert_eq!(reports.len(), 1);
    reports.remove(0)
}

fn errors_of(report: &Report, kind: FindingKind) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.kind == kind && f.severity == Severity::Error)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn providers_come_in_tier_order_and_change_on_their_dates() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), SCHEME, &good_zones());
    let ds = load(&DataSource::Dir(dir.path().to_path_buf())).unwrap();
    let west = ll(-2.65, 51.45);

    let before = resolve(&ds, west, date("2019-03-31"));
    assert_eq!(tiers(&before, "day"), vec![vec!["main: Alpha Care"]]);
    assert!(
        before.schemes[0].rate.is_none(),
        "no rate before 2019-04-01"
    );

    let after = resolve(&ds, west, date("2019-04-01"));
    assert_eq!(
        tiers(&after, "day"),
        vec![vec![
            "main: Alpha Care",
            "secondary: Beta Care",
            "framework: Gamma Care, Beta Care"
        ]]
    );
    assert_eq!(tiers(&after, "night"), vec![vec!["main: Gamma Care"]]);
    let s = &after.schemes[0];
    assert_eq!(s.rate.as_ref().unwrap().hourly, 18.20);
    assert!(s.illustrative);
    assert_eq!(
        s.providers[0].service.as_str(),
        "day",
        "day lists come first"
    );

    let too_early = resolve(&ds, west, date("2017-03-31"));
    assert!(too_early.schemes[0].providers.is_empty());
    assert!(
        too_early.schemes[0]
            .warnings
            .iter()
            .any(|w| w.contains("no provider list")),
        "{:?}",
        too_early.schemes[0].warnings
    );
}

#[test]
fn a_point_on_a_shared_zone_border_lists_both_zones_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), SCHEME, &good_zones());
    let ds = load(&DataSource::Dir(dir.path().to_path_buf())).unwrap();
    let r = resolve(&ds, ll(-2.60, 51.45), date("2019-06-01"));
    let s = &r.schemes[0];
    let zones: Vec<&str> = s.areas.iter().map(|a| a.matched.id.as_str()).collect();
    assert_eq!(zones, vec!["1", "2"]);
    assert!(
        s.warnings.iter().any(|w| w.contains("shared border")),
        "{:?}",
        s.warnings
    );
    let day: Vec<&str> = s
        .providers
        .iter()
        .filter(|l| l.service.as_str() == "day")
        .map(|l| l.area_id.as_str())
        .collect();
    assert_eq!(
        day,
        vec!["1", "2"],
        "both zones' lists, never a silent pick"
    );
}

#[test]
fn a_point_in_the_gap_of_a_gappy_layer_gets_no_zone_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), SCHEME, &gappy_zones());
    let source = DataSource::Dir(dir.path().to_path_buf());
    // The engine's own answer on the faulty layer (loaded without the geometry check).
    let ds = load_with(&source, GeometryCheck::Never).unwrap();
    let r = resolve(&ds, ll(-2.52, 51.45), date("2019-06-01"));
    assert!(r.covered, "inside the city");
    let s = &r.schemes[0];
    assert!(s.areas.is_empty(), "{:?}", s.areas);
    assert!(s.providers.is_empty());
    assert!(
        s.warnings.iter().any(|w| w.contains("no zone")),
        "{:?}",
        s.warnings
    );
    assert_eq!(
        s.rate.as_ref().unwrap().hourly,
        18.20,
        "the city rate still applies"
    );
    // And the normal load refuses it, naming the scheme and the gap.
    let err = load(&source).err().expect("a scheme with a gap is refused");
    assert!(
        matches!(&err, LoadError::InvalidGeometry { path, findings }
            if path == "schemes/zoned.toml" && findings.iter().any(|f| f.kind == FindingKind::Gap)),
        "{err}"
    );
}

#[test]
fn validate_passes_a_good_scheme() {
    let report = validate_fixture(SCHEME, &good_zones());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn validate_reports_a_gap_with_its_area_and_location() {
    let report = validate_fixture(SCHEME, &gappy_zones());
    let gaps: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Gap)
        .collect();
    assert_eq!(gaps.len(), 1, "{:?}", report.findings);
    // The strip lon -2.55..-2.50, lat 51.40..51.50: 0.05 deg x 0.1 deg. At lat 51.45 a degree
    // of longitude is about 69.6 km and of latitude 111.2 km: about 3.48 km x 11.12 km.
    let area = gaps[0].area_m2.unwrap();
    assert!((area - 3.48e3 * 11.12e3).abs() < 0.01 * area, "{area}");
    let loc = gaps[0].location.unwrap();
    assert!((-2.55..=-2.50).contains(&loc.lon) && (51.40..=51.50).contains(&loc.lat));
    assert_eq!(gaps[0].severity, Severity::Error);
    assert_eq!(gaps[0].file, "boundaries/zones.geojson");
}

#[test]
fn validate_reports_an_overlap_naming_both_features() {
    let zones = zone_layer(&[
        ("1", square(-2.70, 51.40, -2.60, 51.50)),
        ("2", square(-2.65, 51.40, -2.50, 51.50)),
    ]);
    let report = validate_fixture(SCHEME, &zones);
    let overlaps: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Overlap)
        .collect();
    assert_eq!(overlaps.len(), 1, "{:?}", report.findings);
    assert_eq!(overlaps[0].feature.as_deref(), Some("1 and 2"));
    let loc = overlaps[0].location.unwrap();
    assert!((-2.65..=-2.60).contains(&loc.lon), "{loc:?}");
    assert!(report.has_errors());
}

#[test]
fn validate_reports_an_invalid_polygon() {
    // A bow-tie: the ring crosses itself at (-2.60, 51.45).
    let bow = ring(&[
        (-2.70, 51.40),
        (-2.50, 51.50),
        (-2.50, 51.40),
        (-2.70, 51.50),
        (-2.70, 51.40),
    ]);
    let zones = zone_layer(&[("1", bow), ("2", square(-2.60, 51.40, -2.50, 51.50))]);
    let errors = errors_of(&validate_fixture(SCHEME, &zones), FindingKind::Geometry);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("feature 1") && e.contains("self-intersection")),
        "{errors:?}"
    );
}

#[test]
fn validate_reports_an_unknown_provider() {
    let scheme = SCHEME.replacen(r#"providers = ["gamma"]"#, r#"providers = ["delta"]"#, 1);
    let errors = errors_of(&validate_fixture(&scheme, &good_zones()), FindingKind::Rule);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("unknown provider \"delta\"") && e.contains("schemes/zoned.toml")),
        "{errors:?}"
    );
}

#[test]
fn validate_reports_overlapping_and_gappy_date_ranges_with_their_lines() {
    let overlapping = SCHEME.replacen(r#"to = "2019-03-31""#, r#"to = "2019-04-30""#, 1);
    let errors = errors_of(
        &validate_fixture(&overlapping, &good_zones()),
        FindingKind::Rule,
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("overlaps") && e.contains("line ")),
        "{errors:?}"
    );
    let holey = SCHEME.replacen(r#"to = "2019-03-31""#, r#"to = "2019-02-28""#, 1);
    let errors = errors_of(&validate_fixture(&holey, &good_zones()), FindingKind::Rule);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("no list between 2019-02-28 and 2019-04-01")),
        "{errors:?}"
    );
}

#[test]
fn validate_reports_a_rate_that_is_not_positive() {
    let scheme = SCHEME.replace("standard_hourly = 18.20", "standard_hourly = -1.0");
    let errors = errors_of(&validate_fixture(&scheme, &good_zones()), FindingKind::Rule);
    assert!(errors.iter().any(|e| e.contains("positive")), "{errors:?}");
}

#[test]
fn validate_reports_broken_toml_with_its_line() {
    let scheme = SCHEME.replacen("version = \"1\"", "version = ", 1);
    let errors = errors_of(&validate_fixture(&scheme, &good_zones()), FindingKind::File);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("schemes/zoned.toml") && e.contains("line 5")),
        "{errors:?}"
    );
}

#[test]
fn validate_reports_a_missing_layer_file() {
    let scheme = SCHEME.replace("boundaries/zones.geojson", "boundaries/nope.geojson");
    let report = validate_fixture(&scheme, &good_zones());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.file == "boundaries/nope.geojson"),
        "{:?}",
        report.findings
    );
}

#[test]
fn the_shipped_schemes_pass_validate() {
    let reports = validate(&DataSource::Embedded, &ValidateTarget::All).unwrap();
    let ids: Vec<&str> = reports.iter().map(|r| r.scheme.as_str()).collect();
    assert_eq!(ids, vec!["bristol", "norfolk"]);
    for r in &reports {
        assert!(!r.has_errors(), "{}: {:?}", r.scheme, r.findings);
    }
    // The embedded data also loads with every geometry check on.
    let ds = load_with(&DataSource::Embedded, GeometryCheck::Always).unwrap();
    assert_eq!(ds.schemes.len(), 2);
}
