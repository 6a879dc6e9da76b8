//! Helpers shared by the integration tests that build small data folders of their own.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::fs;
use std::path::Path;

use careband::data::load::sha256_hex;

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
        manifest.push_str(&format!(
            "[[files]]\npath = \"{path}\"\nsha256 = \"{}\"\nrows = 1\n",
            sha256_hex(body.as_bytes())
        ));
    }
    fs::write(dir.join("manifest.toml"), manifest).unwrap();
    fs::create_dir_all(dir.join("schemes")).unwrap();
    fs::write(dir.join("schemes").join(scheme_file), scheme).unwrap();
}
