//! End-to-end import over tiny hand-made inputs written to a temporary folder.
//!
//! The fixture "Norfolk" is a lon/lat square (1.0..1.5 E, 52.5..52.8 N). Real Code-Point
//! positions are used where they matter: NR1 1AA (Norwich) lies inside the square and BS2 8HW
//! (Bristol) far away; 600000,308000 lies about 3 km west of the square and 560000,308000 about
//! 43 km west.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use geo::{MultiPolygon, polygon};

use super::boundaries::NorfolkBng;
use super::csvio::normalise_postcode;
use super::manifest::sha256_hex;
use super::*;

const EPRACCUR_HEADER: &str = "organisation_code,name,national_grouping,\
high_level_health_geography,address_line_1,address_line_2,address_line_3,address_line_4,\
address_line_5,postcode,open_date,close_date,status_code,organisation_sub_type_code,\
commissioner,join_provider_purchaser_date,left_provider_purchaser_date,contact_telephone_number,\
null_19,null_20,null_21,amended_record_indicator,null_23,provider_purchaser,null_25,\
prescribing_setting,null_27";

/// One `epraccur` record from `code|name|postcode|open|close|status|commissioner|setting`; the
/// fields the import does not read are left empty.
fn epraccur(spec: &str) -> String {
    let f: Vec<&str> = spec.split('|').collect();
    let [
        code,
        name,
        postcode,
        open,
        close,
        status,
        commissioner,
        setting,
    ] = f[..]
    else {
        panic!("bad fixture spec {spec:?}");
    };
    format!(
        "{code},{name},Y60,QMM,,,,,,{postcode},{open},{close},{status},B,{commissioner},,,,,,,0,,\
         {commissioner},,{setting},"
    )
}

fn square(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> String {
    format!(
        r#"{{"type":"Polygon","coordinates":[[[{lon0},{lat0}],[{lon1},{lat0}],[{lon1},{lat1}],[{lon0},{lat1}],[{lon0},{lat0}]]]}}"#
    )
}

fn collection(features: &[(&str, String)]) -> String {
    let features: Vec<String> = features
        .iter()
        .map(|(props, geometry)| {
            format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#)
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

fn put(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Writes a complete, tiny open data folder.
fn write_opendata(root: &Path) {
    write_boundaries(root);
    write_postcodes(root);
    write_practices(root);
}

fn write_boundaries(root: &Path) {
    let norfolk = square(1.0, 52.5, 1.5, 52.8);
    let bristol = square(-2.7, 51.4, -2.5, 51.55);
    put(
        root,
        "boundaries/admin/norfolk_county_apr2019_bgc.geojson",
        &collection(&[(
            r#"{"AREACD":"E10000020","AREANM":"Norfolk","GlobalID":"dropped"}"#,
            norfolk.clone(),
        )]),
    );
    // Out of code order on purpose: the output is sorted by AREACD.
    put(
        root,
        "boundaries/admin/lad_apr2019_bgc_norfolk_bristol.geojson",
        &collection(&[
            (
                r#"{"AREACD":"E07000148","AREANM":"Norwich"}"#,
                norfolk.clone(),
            ),
            (
                r#"{"AREACD":"E06000023","AREANM":"Bristol, City of"}"#,
                bristol.clone(),
            ),
        ]),
    );
    put(
        root,
        "boundaries/nhs/ccg_apr2019_bgc_norfolk_waveney_bnssg.geojson",
        &collection(&[(
            r#"{"AREACD":"E38000218","AREANM":"NHS Norwich CCG","CCG19CDH":"06W"}"#,
            norfolk.clone(),
        )]),
    );
    put(
        root,
        "boundaries/electoral/wards_dec2023_bsc_bristol.geojson",
        &collection(&[(
            r#"{"WD23CD":"E05010885","WD23NM":"Ashley","LAD23CD":"E06000023","BNG_E":359752}"#,
            bristol.clone(),
        )]),
    );
    put(
        root,
        "boundaries/statistical/lsoa2011_bgc_norfolk_waveney.geojson",
        &collection(&[(
            r#"{"LSOA11CD":"E01026419","LSOA11NM":"Breckland 010A","LAD11CD":"E07000143"}"#,
            norfolk,
        )]),
    );
    put(
        root,
        "boundaries/statistical/lsoa2011_bgc_bristol.geojson",
        &collection(&[(
            r#"{"LSOA11CD":"E01014485","LSOA11NM":"Bristol 023A","LAD11CD":"E06000023"}"#,
            bristol,
        )]),
    );
}

fn write_postcodes(root: &Path) {
    put(
        root,
        "postcodes/codepoint_open_2025-10_NR_IP_PE_BS.csv",
        "postcode,positional_quality_indicator,eastings,northings,country_code,\
         nhs_regional_ha_code,nhs_ha_code,admin_county_code,admin_district_code,admin_ward_code\n\
         NR1 1BA,10,624198,308376,E92000001,E19000001,E18000006,E10000020,E07000148,E05012910\n\
         nr11aa,10,624073,308352,E92000001,E19000001,E18000006,E10000020,E07000148,E05012910\n\
         BS2 8HW,10,358679,173525,E92000001,E19000001,E18000006,,E06000023,E05010892\n",
    );
    put(
        root,
        "postcodes/nspl_2025-05_not_live_in_codepoint_NR_IP_PE_BS.csv",
        "postcode,lat,long\nNR1 1AB,52.62667,1.30928\nNR1 9ZZ,,0.00000\nNR1 9ZY,99.999999,0.00000\n",
    );

    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(
        b"postcode,positional_quality_indicator,eastings,northings,country_code,\
admin_county_code,admin_district_code,admin_ward_code\n\
AB43 1AJ,90,0,0,S92000003,,S12000034,S13002864\n\
BS2 8HW,10,358679,173525,E92000001,,E06000023,E05010892\n\
NR1 1AA,10,624073,308352,E92000001,E10000020,E07000148,E05012910\n\
PE1 1AA,10,600000,308000,E92000001,,,\n\
PE1 1AB,10,560000,308000,E92000001,,,\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("national")).unwrap();
    fs::write(
        root.join("national/codepoint_gb_2025-10.csv.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
}

fn write_practices(root: &Path) {
    let rows_2025 = [
        epraccur("D82001|NORWICH PRACTICE|NR1 1AA|20040401||A|26A|4"),
        epraccur("L81001|BRISTOL PRACTICE|BS2 8HW|19740401||A|15C|4"),
        epraccur("D81001|NEAR PRACTICE|PE1 1AA|19740401|20200331|C|06H|4"),
        epraccur("E82001|FAR PRACTICE|PE1 1AB|19740401||A|06H|4"),
        epraccur("D82002|LOST PRACTICE|NR99 9ZZ|19740401||A|26A|4"),
        epraccur("D82003|DORMANT PRACTICE|NR1 1AA|19740401||D|26A|4"),
        epraccur("Y00001|NOT A PRACTICE|NR1 1AA|19740401||A|26A|0"),
        epraccur("L81002|MOVED PRACTICE|BS2 8HW|19740401||A|QXX|4"),
    ];
    put(
        root,
        "gp/epraccur_2025-09_england_wales.csv",
        &format!("{EPRACCUR_HEADER}\n{}\n", rows_2025.join("\n")),
    );
    let rows_2019 = [
        epraccur("D82001|OLD NAME|NR1 1AA|20040401||A|06W|4"),
        epraccur("D82004|GONE PRACTICE|NR1 1AB|19740401|20190101|C|06W|4"),
        epraccur("L81002|MOVED PRACTICE|BS2 8HW|19740401||A|15C|4"),
    ];
    put(
        root,
        "gp/epraccur_2019-12_england_wales.csv",
        &format!("{EPRACCUR_HEADER}\n{}\n", rows_2019.join("\n")),
    );
    put(
        root,
        "gp/ebranchs_2017-08_norfolk_bristol_geocoded.csv",
        "branch_code,name,postcode,open_date,close_date,parent_practice_code,\
         parent_commissioner_2019_or_2025,cpo_eastings,cpo_northings,nspl_lat,nspl_long\n\
         D82001002,\"BRANCH, WITH COMMA\",NR1 1BA,20040401,,D82001,26A,624198,308376,52.62,1.29\n\
         D82001001,NSPL ONLY,NR1 1AB,20040401,20100101,D82001,,,,52.62667,1.30928\n\
         E82001001,FAR BRANCH,PE1 1AB,20040401,,E82001,06H,560000,308000,,\n\
         E82001002,NOWHERE,NR9 9ZZ,20040401,,E82001,06H,,,,\n",
    );
}

fn run_into(opendata: &Path, out: &Path) -> Result<ImportReport, ImportError> {
    run(&ImportOptions {
        opendata: opendata.to_owned(),
        out: out.to_owned(),
    })
}

fn read(dir: &Path, rel: &str) -> String {
    fs::read_to_string(dir.join(rel)).unwrap()
}

/// Column `name` of every data row of a CSV text.
fn column(csv_text: &str, name: &str) -> Vec<String> {
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().get(i).unwrap().to_owned())
        .collect()
}

#[test]
fn practices_are_kept_by_commissioner_or_distance_and_the_rest_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    let report = run_into(&opendata, &out).unwrap();

    let text = read(&out, "centres/gp_practices.csv");
    assert_eq!(
        text.lines().next().unwrap(),
        "code,name,postcode,lat,lon,easting,northing,open_date,close_date,status,commissioner,\
         ccg_2019,scope,distance_to_norfolk_m"
    );
    assert_eq!(
        column(&text, "code"),
        ["D81001", "D82001", "D82004", "L81001", "L81002"]
    );
    assert_eq!(
        column(&text, "scope"),
        [
            "near_norfolk",
            "norfolk_waveney",
            "norfolk_waveney",
            "bnssg",
            "bnssg"
        ]
    );
    let norwich = text.lines().find(|l| l.starts_with("D82001,")).unwrap();
    assert!(
        norwich.starts_with("D82001,NORWICH PRACTICE,NR1 1AA,52.6"),
        "{norwich}"
    );
    assert!(
        norwich.ends_with(",624073,308352,2004-04-01,,A,26A,06W,norfolk_waveney,0"),
        "{norwich}"
    );
    // Only in the 2019 file, placed by the not-live NSPL row.
    let gone = text.lines().find(|l| l.starts_with("D82004,")).unwrap();
    assert!(
        gone.contains(",52.626670,1.309280,") && gone.contains(",2019-01-01,C,06W,06W,"),
        "{gone}"
    );
    let near: f64 = column(&text, "distance_to_norfolk_m")[0].parse().unwrap();
    assert!((1_000.0..NEAR_NORFOLK_RADIUS_M).contains(&near), "{near}");
    let bristol: f64 = column(&text, "distance_to_norfolk_m")[3].parse().unwrap();
    assert!(bristol > 200_000.0, "{bristol}");

    let all = report.lines.join("\n");
    assert!(all.contains("dropped 1: commissioned outside"), "{all}");
    assert!(all.contains("D82002"), "{all}");
    assert!(all.contains("skipped 2 other organisations"), "{all}");
}

#[test]
fn branch_surgeries_use_code_point_then_nspl_and_are_scoped_like_practices() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    let report = run_into(&opendata, &out).unwrap();

    let text = read(&out, "centres/branch_surgeries_2017.csv");
    assert_eq!(
        text.lines().next().unwrap(),
        "code,name,postcode,lat,lon,easting,northing,open_date,close_date,parent_code,scope,\
         distance_to_norfolk_m"
    );
    assert_eq!(column(&text, "code"), ["D82001001", "D82001002"]);
    assert_eq!(column(&text, "name"), ["NSPL ONLY", "BRANCH, WITH COMMA"]);
    assert_eq!(
        column(&text, "scope"),
        ["norfolk_waveney", "norfolk_waveney"]
    );
    assert_eq!(column(&text, "close_date"), ["2010-01-01", ""]);
    // No Code-Point position: NSPL lat/long as given, easting/northing computed.
    assert_eq!(column(&text, "lat")[0], "52.626670");
    assert_eq!(column(&text, "lon")[0], "1.309280");
    // A Code-Point position wins over NSPL.
    assert!(text.contains(",624198,308376,"), "{text}");
    let all = report.lines.join("\n");
    assert!(
        all.contains("E82001001") && all.contains("E82001002"),
        "{all}"
    );
}

#[test]
fn postcodes_combine_live_and_terminated_sorted_with_fixed_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    run_into(&opendata, &out).unwrap();

    let text = read(&out, "postcodes/postcodes.csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "postcode,status,easting,northing,lat,lon,quality,county,district,ward"
    );
    assert_eq!(
        column(&text, "postcode"),
        [
            "BS2 8HW", "NR1 1AA", "NR1 1AB", "NR1 1BA", "NR1 9ZY", "NR1 9ZZ"
        ]
    );
    assert!(lines[2].starts_with("NR1 1AA,live,624073,308352,52.6"));
    assert!(lines[2].ends_with(",10,E10000020,E07000148,E05012910"));
    assert!(lines[3].starts_with("NR1 1AB,terminated,"));
    assert!(lines[3].ends_with(",52.626670,1.309280,,,,"));
    // NSPL's "no grid reference" placeholders become empty positions.
    assert_eq!(lines[5], "NR1 9ZY,terminated,,,,,,,,");
    assert_eq!(lines[6], "NR1 9ZZ,terminated,,,,,,,,");
    for lat in column(&text, "lat").iter().filter(|l| !l.is_empty()) {
        assert_eq!(lat.split('.').nth(1).unwrap().len(), 6, "{lat}");
    }
    assert!(!text.contains('\r'));
}

#[test]
fn boundaries_keep_only_listed_properties_sorted_by_code() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    run_into(&opendata, &out).unwrap();

    let lad = read(&out, "boundaries/lad_2019.geojson");
    assert!(lad.starts_with(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"AREACD":"E06000023","AREANM":"Bristol, City of"},"geometry":{"type":"Polygon","coordinates":[[[-2.7,51.4],"#
    ), "{lad}");
    let county = read(&out, "boundaries/norfolk_county_2019.geojson");
    assert!(!county.contains("GlobalID"));
    let wards = read(&out, "boundaries/bristol_wards_2023.geojson");
    assert!(wards.contains(r#""properties":{"WD23CD":"E05010885","WD23NM":"Ashley"}"#));
    assert!(!wards.contains("BNG_E"));
    let lsoa = read(&out, "boundaries/lsoa2011_norfolk_waveney_bristol.geojson");
    let bristol_at = lsoa.find("E01014485").unwrap();
    let breckland_at = lsoa.find("E01026419").unwrap();
    assert!(bristol_at < breckland_at);
}

#[test]
fn the_manifest_lists_every_file_with_its_hash_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    run_into(&opendata, &out).unwrap();

    let text = read(&out, "manifest.toml");
    assert!(text.starts_with("# written by `careband import`; do not edit by hand\n"));
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(manifest["version"].as_str(), Some(DATASET_VERSION));
    let files = manifest["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "boundaries/bristol_wards_2023.geojson",
            "boundaries/ccg_2019.geojson",
            "boundaries/lad_2019.geojson",
            "boundaries/lsoa2011_norfolk_waveney_bristol.geojson",
            "boundaries/norfolk_county_2019.geojson",
            "centres/branch_surgeries_2017.csv",
            "centres/gp_practices.csv",
            "postcodes/postcodes.csv",
        ]
    );
    for f in files {
        let path = f["path"].as_str().unwrap();
        let bytes = fs::read(out.join(path)).unwrap();
        assert_eq!(
            f["sha256"].as_str(),
            Some(sha256_hex(&bytes).as_str()),
            "{path}"
        );
        assert!(!f["sources"].as_array().unwrap().is_empty());
        assert!(f["licence"].as_str().unwrap().contains("OGL"));
    }
    let rows = |p: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str() == Some(p))
            .unwrap()["rows"]
            .as_integer()
    };
    assert_eq!(rows("postcodes/postcodes.csv"), Some(6));
    assert_eq!(rows("boundaries/lad_2019.geojson"), Some(2));
    assert_eq!(rows("centres/gp_practices.csv"), Some(5));
}

#[test]
fn a_second_run_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let opendata = dir.path().join("opendata");
    write_opendata(&opendata);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_into(&opendata, &a).unwrap();
    run_into(&opendata, &b).unwrap();
    let manifest = read(&a, "manifest.toml");
    assert_eq!(manifest, read(&b, "manifest.toml"));
    let table: toml::Table = toml::from_str(&manifest).unwrap();
    for f in table["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        assert_eq!(
            fs::read(a.join(path)).unwrap(),
            fs::read(b.join(path)).unwrap(),
            "{path}"
        );
    }
}

#[test]
fn a_duplicate_postcode_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let opendata = dir.path().join("opendata");
    write_opendata(&opendata);
    put(
        &opendata,
        "postcodes/nspl_2025-05_not_live_in_codepoint_NR_IP_PE_BS.csv",
        "postcode,lat,long\nNR1 1AB,52.62667,1.30928\nNR11AA,52.6,1.3\n",
    );
    let err = run_into(&opendata, &dir.path().join("out")).unwrap_err();
    assert!(matches!(err, ImportError::DuplicateKey { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("nspl_2025-05") && message.contains("line 3"),
        "{message}"
    );
    assert!(message.contains("NR1 1AA"), "{message}");
}

#[test]
fn a_missing_column_is_an_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let opendata = dir.path().join("opendata");
    write_opendata(&opendata);
    put(
        &opendata,
        "gp/epraccur_2019-12_england_wales.csv",
        "organisation_code,name\nA1,X\n",
    );
    let err = run_into(&opendata, &dir.path().join("out")).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::MissingColumn {
                column: "postcode",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_bad_date_is_an_error_naming_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let opendata = dir.path().join("opendata");
    write_opendata(&opendata);
    let row = epraccur("D82001|X|NR1 1AA|20231301||A|26A|4");
    put(
        &opendata,
        "gp/epraccur_2019-12_england_wales.csv",
        &format!("{EPRACCUR_HEADER}\n{row}\n"),
    );
    let message = run_into(&opendata, &dir.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("epraccur_2019-12")
            && message.contains("line 2")
            && message.contains("20231301"),
        "{message}"
    );
}

#[test]
fn an_open_ring_is_an_error_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let opendata = dir.path().join("opendata");
    write_opendata(&opendata);
    put(
        &opendata,
        "boundaries/electoral/wards_dec2023_bsc_bristol.geojson",
        &collection(&[(
            r#"{"WD23CD":"E05010885","WD23NM":"Ashley"}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#.to_owned(),
        )]),
    );
    let err = run_into(&opendata, &dir.path().join("out")).unwrap_err();
    assert!(
        matches!(err, ImportError::Feature { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn commissioner_scope_prefers_norfolk_and_waveney() {
    assert_eq!(
        Scope::by_commissioner(["15C", "06M"]),
        Some(Scope::NorfolkWaveney)
    );
    assert_eq!(Scope::by_commissioner(["QXX", "15C"]), Some(Scope::Bnssg));
    assert_eq!(Scope::by_commissioner(["06H", ""]), None);
}

#[test]
fn distance_to_norfolk_is_zero_inside_and_planar_outside() {
    let shape = MultiPolygon::new(vec![polygon![
        (x: 0.0, y: 0.0), (x: 1000.0, y: 0.0), (x: 1000.0, y: 1000.0), (x: 0.0, y: 1000.0),
    ]]);
    let norfolk = NorfolkBng::from_bng(shape).unwrap();
    assert!(norfolk.distance_m(500.0, 500.0).abs() < f64::EPSILON);
    assert!((norfolk.distance_m(1300.0, 1400.0) - 500.0).abs() < 1e-9);
    assert_eq!(
        norfolk.within(1000.0 + 16_000.0, 500.0, NEAR_NORFOLK_RADIUS_M),
        Some(16_000.0)
    );
    assert_eq!(
        norfolk.within(1000.0 + 16_100.0, 500.0, NEAR_NORFOLK_RADIUS_M),
        None
    );
    assert_eq!(
        norfolk.within(500.0, 100_000.0, NEAR_NORFOLK_RADIUS_M),
        None
    );
}

#[test]
fn fixture_postcodes_are_canonical() {
    assert_eq!(normalise_postcode("nr11aa").as_deref(), Some("NR1 1AA"));
}

#[test]
fn long_coordinates_are_copied_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (opendata, out) = (dir.path().join("opendata"), dir.path().join("geodata"));
    write_opendata(&opendata);
    // Mantissas this long are where a fast float parser can land one ULP off.
    let source = ["0.9255758757235", "52.581448238475204", "0.927133439994527"];
    let ring = format!(
        r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},52.59],[{a},{b}]]]}}"#,
        a = source[0],
        b = source[1],
        c = source[2]
    );
    put(
        &opendata,
        "boundaries/statistical/lsoa2011_bgc_norfolk_waveney.geojson",
        &collection(&[(
            r#"{"LSOA11CD":"E01026419","LSOA11NM":"Breckland 010A","LAD11CD":"E07000143"}"#,
            ring,
        )]),
    );
    run_into(&opendata, &out).unwrap();
    let text = read(&out, "boundaries/lsoa2011_norfolk_waveney_bristol.geojson");
    let at = text.find(r#""coordinates":[[[0.92"#).unwrap() + r#""coordinates":[[["#.len();
    let first: Vec<f64> = text[at..]
        .split(']')
        .next()
        .unwrap()
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(
        first,
        [
            source[0].parse::<f64>().unwrap(),
            source[1].parse().unwrap()
        ]
    );
}
