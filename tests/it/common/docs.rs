//! The error table of docs/http-api.md, read once for the tests that check the docs against the
//! code and the entry points against the docs.

use std::path::Path;

/// One row's code of the docs' error table, with the row's HTTP status, CLI exit and batch
/// status (`None` for `—`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentedError {
    pub code: String,
    pub status: u16,
    pub exit: Option<i32>,
    pub batch: Option<String>,
}

/// Every code of the docs' error table (a row with several codes gives one entry for each).
pub fn error_table() -> Vec<DocumentedError> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/http-api.md"))
            .unwrap();
    let table = doc
        .split("| status | code | CLI exit | batch status | when |")
        .nth(1)
        .expect("docs/http-api.md has the error table with CLI and batch columns");
    let mut out = Vec::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let status: u16 = cells[1].parse().unwrap();
        let exit = cells[3].parse::<i32>().ok();
        // The first code in backticks: the status of a row that is not blank.
        let batch = cells[4].split('`').nth(1).map(str::to_string);
        for code in cells[2].split(',') {
            out.push(DocumentedError {
                code: code.trim().trim_matches('`').to_string(),
                status,
                exit,
                batch: batch.clone(),
            });
        }
    }
    out
}
