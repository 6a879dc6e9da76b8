//! careband's integration tests, in one binary: one build, one link, and the embedded dataset
//! loaded once for all of them.
//!
//! Each module tests one thing from outside the library: `api` the HTTP routes, `api_batch`
//! `POST /v1/batch`, `answers` whole API answers as reviewed snapshots, `batch` batch files in
//! the library and the command line, `cli` the built binary, `docs_samples` the JSON samples of docs/http-api.md against the router, `deploy`
//! the example settings file and `careband healthcheck`, `data`, `places` and `schemes`
//! known answers on the shipped data, `engine` and `validate` small hand-made datasets, `free_text` issue 12's free-text and
//! batch-count answers,
//! `geocoder` the external geocoder against a local server, `integrators` HEAD, nearest
//! postcodes, postcodes.io bulk bodies, attribution, the docs page and the generator-ready
//! `OpenAPI` document, `layers` the layering of `src/`,
//! `malformed` the malformed-request table against the built server,
//! `serve` the built server under slow clients and at shutdown,
//! `web` the page, and `workbooks` brokers' messy workbooks both ways. Shared helpers are in `common`.

// What tests do by nature, allowed once here rather than file by file.
#![expect(
    clippy::panic,
    reason = "a test fails by panicking, with a message saying what was expected"
)]
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions unwrap: there a failure is the test's failure"
)]
#![expect(
    clippy::float_cmp,
    reason = "rates and thresholds are compared with the decimal the data file gives, which \
              parses to the same f64"
)]

mod common;

mod answers;
mod api;
mod api_batch;
mod batch;
mod cli;
mod consistency;
mod corrupt;
mod councils;
mod currency;
mod data;
mod deploy;
mod docs_samples;
mod engine;
mod free_text;
mod geocoder;
mod integrators;
mod layers;
mod malformed;
mod observe;
mod places;
mod pool;
mod reload;
mod schemes;
// Needs prlimit and the 127.0.0.0/8 loopback range.
#[cfg(target_os = "linux")]
mod serve;
mod sheets;
mod validate;
mod web;
mod workbooks;
