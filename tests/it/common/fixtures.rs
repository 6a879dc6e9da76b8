//! Data folders for tests: small hand-made datasets written to a temporary directory, and
//! copies of the shipped `geodata/` to break on purpose.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use careband::data::load::sha256_hex;

/// The shipped data folder.
pub fn geodata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata")
}

/// A fresh copy of the shipped data folder, at `data/` in a temporary directory that lives as
/// long as the returned guard.
pub fn geodata_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&geodata(), &data);
    (dir, data)
}

/// Copies the tree at `from` to `to`, creating `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Writes a data folder into `dir`: each `(path, body)` file, a `manifest.toml` listing them
/// with their SHA-256, and the scheme file `schemes/<scheme_file>`.
pub fn write_data_dir<P: AsRef<str>>(
    dir: &Path,
    files: &[(P, String)],
    scheme_file: &str,
    scheme: &str,
) {
    let mut manifest = String::from("version = \"test-1\"\n");
    for (path, body) in files {
        let path = path.as_ref();
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, body).unwrap();
        writeln!(
            manifest,
            "[[files]]\npath = \"{path}\"\nsha256 = \"{}\"\nrows = 1",
            sha256_hex(body.as_bytes())
        )
        .unwrap();
    }
    fs::write(dir.join("manifest.toml"), manifest).unwrap();
    fs::create_dir_all(dir.join("schemes")).unwrap();
    fs::write(dir.join("schemes").join(scheme_file), scheme).unwrap();
}

/// A closed `GeoJSON` ring through `points` as given.
pub fn ring(points: &[(f64, f64)]) -> String {
    let pts: Vec<String> = points.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
    format!("[{}]", pts.join(","))
}

/// The ring of the box `x0..x1` by `y0..y1`, anticlockwise from its lower left corner.
pub fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

/// A `GeoJSON` polygon feature with `code` and `name` properties; the first ring is the
/// exterior, any others are holes.
pub fn feature(code: &str, name: &str, rings: &[String]) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"code":"{code}","name":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}"#,
        rings.join(",")
    )
}

/// A `GeoJSON` feature collection.
pub fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}
