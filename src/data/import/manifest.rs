//! Step 5 of the import: `manifest.toml`, the dataset version plus one entry per data file
//! (path, SHA-256, rows, description, sources, licence), in path order, and the `[bounds]`
//! every position lies in. The loader verifies every hash, so this is written last, from the
//! bytes actually written.

use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{DATASET_VERSION, ImportError, ImportReport, Output, write_atomically};

const MANIFEST_PATH: &str = "manifest.toml";
const MANIFEST_COMMENT: &str = "# written by `careband import`; do not edit by hand\n";

#[derive(Serialize)]
struct Manifest<'a> {
    version: &'a str,
    /// Every position the import writes lies in England; the loader refuses any outside.
    bounds: crate::data::load::Bounds,
    files: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    sha256: &'a str,
    rows: usize,
    description: &'a str,
    sources: &'a [&'a str],
    licence: &'a str,
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Writes `manifest.toml` for every file `out` has written.
pub(super) fn write(out: &mut Output, report: &mut ImportReport) -> Result<(), ImportError> {
    let mut written: Vec<_> = out.written.iter().collect();
    written.sort_by_key(|w| w.rel_path);
    let manifest = Manifest {
        version: DATASET_VERSION,
        bounds: crate::data::load::Bounds::ENGLAND,
        files: written
            .iter()
            .map(|w| Entry {
                path: w.rel_path,
                sha256: &w.sha256,
                rows: w.rows,
                description: w.meta.description,
                sources: w.meta.sources,
                licence: w.meta.licence,
            })
            .collect(),
    };
    let path = out.path(MANIFEST_PATH);
    let body = toml::to_string(&manifest).map_err(|e| ImportError::Serialise {
        path: path.clone(),
        source: Box::new(e),
    })?;
    let text = format!("{MANIFEST_COMMENT}{body}");
    write_atomically(&path, text.as_bytes())?;
    report.lines.push(format!(
        "{MANIFEST_PATH}: version {DATASET_VERSION}, {} files",
        manifest.files.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lowercase_hex_of_the_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
