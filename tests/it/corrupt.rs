//! The corrupt-data table (issue 18, item 6): each way a data folder can lie, made from a copy
//! of the shipped `geodata/`, is refused both by `careband validate` (exit 2, naming the file
//! and the line or feature) and by the loader that `serve`, `lookup`, `batch` and reloads use.
//!
//! Files changed on purpose get their true SHA-256 written back into the manifest, so that
//! each case is refused for what it is, not for a checksum mismatch.

use std::fs;
use std::path::Path;

use careband::data::load::{DataSource, load, sha256_hex};

use crate::common::cli::careband;
use crate::common::fixtures::geodata_copy;

/// Writes the true SHA-256 of `rel` into the manifest of `data`.
fn rehash(data: &Path, rel: &str) {
    let manifest = data.join("manifest.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    let sha = sha256_hex(&fs::read(data.join(rel)).unwrap());
    let mut out = Vec::new();
    let mut next_is_ours = false;
    for line in text.lines() {
        if next_is_ours && line.starts_with("sha256 = ") {
            out.push(format!("sha256 = \"{sha}\""));
            next_is_ours = false;
            continue;
        }
        next_is_ours |= line == format!("path = \"{rel}\"");
        out.push(line.to_string());
    }
    fs::write(manifest, out.join("\n") + "\n").unwrap();
}

/// Replaces `from` with `to` in the file `rel` (which must contain it) and rehashes it.
fn edit(data: &Path, rel: &str, from: &str, to: &str) {
    let path = data.join(rel);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    if rel.starts_with("schemes/") {
        return;
    }
    rehash(data, rel);
}

/// Keeps only the header line of the CSV file `rel`.
fn header_only(data: &Path, rel: &str) {
    let path = data.join(rel);
    let text = fs::read_to_string(&path).unwrap();
    let header = text.lines().next().unwrap();
    fs::write(&path, format!("{header}\n")).unwrap();
    rehash(data, rel);
}

/// Asserts that both `validate` and the loader refuse the folder, each naming every needle.
fn refused(data: &Path, needles: &[&str]) {
    let run = careband(&["validate", "--data", data.to_str().unwrap()]);
    assert_eq!(run.code, 2, "validate:\n{}{}", run.stdout, run.stderr);
    for n in needles {
        assert!(
            run.stdout.contains(n),
            "validate does not say {n:?}:\n{}",
            run.stdout
        );
    }
    let err = load(&DataSource::Dir(data.to_path_buf()))
        .err()
        .expect("the loader refuses the folder");
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "load does not say {n:?}: {msg}");
    }
}

#[test]
fn a_copy_of_the_shipped_data_passes_validate_and_loads() {
    let (_dir, data) = geodata_copy();
    let run = careband(&["validate", "--data", data.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let ds = load(&DataSource::Dir(data)).unwrap();
    assert_eq!(ds.schemes.len(), 2);
    assert!(ds.unservable().is_none());
}

#[test]
fn a_postcode_listed_twice_is_refused_naming_both_lines() {
    let (_dir, data) = geodata_copy();
    let rel = "postcodes/postcodes.csv";
    let text = fs::read_to_string(data.join(rel)).unwrap();
    let first = text
        .lines()
        .position(|l| l.starts_with("NR1 1AA,"))
        .unwrap()
        + 1;
    let lines = text.lines().count();
    // NR1 1AA again, at a Bristol position.
    fs::write(
        data.join(rel),
        format!("{text}NR1 1AA,live,358000,173000,51.450000,-2.650000,10,,E06000023,\n"),
    )
    .unwrap();
    rehash(&data, rel);
    refused(
        &data,
        &[
            rel,
            &format!("line {}", lines + 1),
            &format!("also on line {first}"),
        ],
    );
}

#[test]
fn two_scheme_files_with_one_id_are_refused() {
    // Next year's Norfolk rates drafted in a copy inside the data folder.
    let (_dir, data) = geodata_copy();
    fs::copy(
        data.join("schemes/norfolk.toml"),
        data.join("schemes/norfolk_2020.toml"),
    )
    .unwrap();
    refused(
        &data,
        &[
            "schemes/norfolk_2020.toml",
            "line 3",
            "also the id of schemes/norfolk.toml",
        ],
    );
}

#[test]
fn a_data_file_the_manifest_does_not_list_is_refused() {
    let (_dir, data) = geodata_copy();
    fs::copy(
        data.join("boundaries/ccg_2019.geojson"),
        data.join("boundaries/ccg_2020.geojson"),
    )
    .unwrap();
    refused(
        &data,
        &["boundaries/ccg_2020.geojson", "not listed in manifest.toml"],
    );
}

#[test]
fn a_manifest_entry_without_its_file_is_refused() {
    let (_dir, data) = geodata_copy();
    fs::remove_file(data.join("places/gazetteer.csv")).unwrap();
    refused(
        &data,
        &[
            "places/gazetteer.csv",
            "listed in manifest.toml but not in the data folder",
        ],
    );
}

#[test]
fn an_empty_postcode_table_is_refused() {
    let (_dir, data) = geodata_copy();
    header_only(&data, "postcodes/postcodes.csv");
    refused(&data, &["postcodes/postcodes.csv", "no postcodes"]);
}

#[test]
fn an_empty_centre_table_is_refused() {
    let (_dir, data) = geodata_copy();
    header_only(&data, "centres/gp_practices.csv");
    refused(&data, &["centres/gp_practices.csv", "no centres"]);
}

#[test]
fn swapped_lat_and_lon_columns_are_refused() {
    let (_dir, data) = geodata_copy();
    edit(
        &data,
        "postcodes/postcodes.csv",
        "postcode,status,easting,northing,lat,lon,",
        "postcode,status,easting,northing,lon,lat,",
    );
    refused(
        &data,
        &[
            "postcodes/postcodes.csv",
            "line 2",
            "outside the dataset's bounds",
            "look swapped",
        ],
    );
}

#[test]
fn a_centre_outside_the_bounds_is_refused() {
    // Holbeach Medical Centre with its lat and lon swapped.
    let (_dir, data) = geodata_copy();
    edit(
        &data,
        "centres/gp_practices.csv",
        "PE12 7EE,52.804602,0.015627,",
        "PE12 7EE,0.015627,52.804602,",
    );
    refused(
        &data,
        &[
            "centres/gp_practices.csv",
            "line 2",
            "centre C83028",
            "look swapped",
        ],
    );
}

#[test]
fn a_nan_easting_is_refused() {
    let (_dir, data) = geodata_copy();
    edit(
        &data,
        "postcodes/postcodes.csv",
        "BS0 1ZZ,terminated,333439,",
        "BS0 1ZZ,terminated,NaN,",
    );
    refused(&data, &["postcodes/postcodes.csv", "line 2", "easting NaN"]);
}

#[test]
fn a_rate_of_1e300_is_refused() {
    let (_dir, data) = geodata_copy();
    edit(
        &data,
        "schemes/norfolk.toml",
        "standard_hourly = 17.28",
        "standard_hourly = 1e300",
    );
    refused(
        &data,
        &[
            "schemes/norfolk.toml",
            "line ",
            "outside the sane range",
            "200.00",
        ],
    );
}

#[test]
fn an_unclosed_polygon_ring_is_refused() {
    let (_dir, data) = geodata_copy();
    let rel = "boundaries/bristol_night_zones_illustrative.geojson";
    let mut fc: serde_json::Value =
        serde_json::from_slice(&fs::read(data.join(rel)).unwrap()).unwrap();
    // The first ring of feature #0's first polygon: its last position moved off its first.
    let ring = fc["features"][0]["geometry"]["coordinates"][0][0]
        .as_array_mut()
        .unwrap();
    let start = ring[0].clone();
    let last = ring.len() - 1;
    ring[last] = serde_json::json!([
        start[0].as_f64().unwrap() + 0.001,
        start[1].as_f64().unwrap()
    ]);
    fs::write(data.join(rel), serde_json::to_vec(&fc).unwrap()).unwrap();
    rehash(&data, rel);
    refused(&data, &[rel, "feature #0", "is not closed"]);
}
