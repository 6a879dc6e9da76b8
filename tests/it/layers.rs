//! The tree's layers, checked: a module uses only its own layer and the layers below it, and
//! the pure core names no I/O, HTTP or PROJ crate.
//!
//! Layers, lowest first: `engine` (pure core), `data` (files, PROJ), `geocoder` (an external
//! service), `batch` (files of rows), `server` (HTTP). The binary sits on top and may use all.
//! Only code counts: comment and doc lines (which may link to any layer) are skipped.

use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: [&str; 5] = ["engine", "data", "geocoder", "batch", "server"];

/// Crates and modules the pure core must not name.
const NOT_IN_ENGINE: [&str; 9] = [
    "actix_web",
    "actix_cors",
    "reqwest",
    "tokio",
    "proj::",
    "std::fs",
    "std::net",
    "std::process",
    "include_dir",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code lines of a file: comment and doc lines left out.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// Every `crate::<layer>` a line names.
fn layers_named(line: &str) -> Vec<&'static str> {
    LAYERS
        .iter()
        .filter(|layer| {
            line.match_indices(&format!("crate::{layer}"))
                .any(|(i, m)| {
                    let next = line[i + m.len()..].chars().next();
                    !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
        })
        .copied()
        .collect()
}

/// `path:line: what it names`, for every use of a higher layer.
fn upward_edges(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (rank, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        for file in files {
            for (n, line) in code_lines(&file) {
                for named in layers_named(&line) {
                    let named_rank = LAYERS.iter().position(|l| *l == named).unwrap();
                    if named_rank > rank {
                        found.push(format!("{}:{n}: {layer} uses {named}", file.display()));
                    }
                }
                if *layer == "engine" {
                    for banned in NOT_IN_ENGINE {
                        if line.contains(banned) {
                            found.push(format!("{}:{n}: engine names {banned}", file.display()));
                        }
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = upward_edges(&src);
    assert!(
        edges.is_empty(),
        "edges against the flow:\n{}",
        edges.join("\n")
    );
}

#[test]
fn the_check_finds_an_upward_edge_and_a_banned_crate() {
    // A scratch tree with one edge of each kind the check must catch.
    let dir = tempfile::tempdir().unwrap();
    for layer in LAYERS {
        fs::create_dir_all(dir.path().join(layer)).unwrap();
    }
    fs::write(
        dir.path().join("engine/bad.rs"),
        "//! Links to [`crate::server`] in a doc line are fine.\nuse crate::server::AppState;\nuse std::fs::read;\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("batch/ok.rs"),
        "use crate::engine::dataset::Dataset;\nuse crate::geocoder::Geocoder;\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("batch/bad.rs"),
        "fn f() { crate::server::router; }\n",
    )
    .unwrap();
    let edges = upward_edges(dir.path());
    assert_eq!(edges.len(), 3, "{edges:#?}");
    assert!(
        edges[0].ends_with("engine/bad.rs:2: engine uses server"),
        "{edges:#?}"
    );
    assert!(
        edges[1].ends_with("engine/bad.rs:3: engine names std::fs"),
        "{edges:#?}"
    );
    assert!(
        edges[2].ends_with("batch/bad.rs:1: batch uses server"),
        "{edges:#?}"
    );
}
