//! Helpers shared by every test module: the embedded dataset (loaded once for the whole
//! binary), dates, lookups, data folders written for a test, the HTTP test client and the
//! command-line runner.

pub mod cli;
pub mod docs;
pub mod fixtures;
pub mod http;
pub mod log;
pub mod server;

use std::sync::{Arc, LazyLock};

use chrono::NaiveDate;

use careband::batch::{self, BatchOptions, InputFormat, Summary};
use careband::data::load::{DataSource, load};
use careband::engine::answer::{Answer, PointAnswer, SchemeAnswer};
use careband::engine::coord::LonLat;
use careband::engine::dataset::Dataset;
use careband::engine::lookup::lookup;
use careband::engine::query::Query;

/// The shipped dataset, as the binary embeds it. Loading takes seconds, so every test shares
/// one copy; the `Arc` is what the HTTP application state holds.
pub static DATASET: LazyLock<Arc<Dataset>> =
    LazyLock::new(|| Arc::new(load(&DataSource::Embedded).expect("the embedded dataset loads")));

/// A date written `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s:?} is a date: {e}"))
}

/// A checked WGS84 position.
pub fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap_or_else(|e| panic!("({lon}, {lat}) is a position: {e}"))
}

/// The embedded dataset's point answer for a full postcode on a date.
pub fn point(postcode: &str, on: &str) -> PointAnswer {
    match lookup(&DATASET, &Query::Postcode(postcode.into()), date(on)) {
        Ok(Answer::Point(p)) => p,
        other => panic!("{postcode}: expected a point answer, got {other:?}"),
    }
}

/// The answer of scheme `id` among `schemes`.
pub fn scheme<'a>(schemes: &'a [SchemeAnswer], id: &str) -> &'a SchemeAnswer {
    schemes
        .iter()
        .find(|s| s.scheme == id)
        .unwrap_or_else(|| panic!("no {id} answer among {schemes:#?}"))
}

/// A CSV batch run in memory on the embedded dataset, on date `on`: the output and its summary.
pub fn batch_csv(input: &[u8], on: &str) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let summary = batch::run(
        input,
        InputFormat::Csv,
        &mut out,
        &BatchOptions::new(date(on)),
        &DATASET,
        &|_| {},
    )
    .unwrap();
    (out, summary)
}
