//! Whole API answers through the production application, kept as snapshots that were read
//! and checked by hand (in `snapshots/`). Other tests pin single fields; these show any change
//! anywhere in an answer, which a reviewer then accepts (`cargo insta review`) or fixes.
//!
//! Every request names its date, so the answers do not change with the day the tests run.

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::common::http::get;

/// The JSON body of a `GET` that must succeed.
async fn answer(uri: &str) -> Value {
    let r = get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    r.json()
}

#[actix_web::test]
async fn a_norwich_postcode_is_answered_as_reviewed() {
    // Band 1 of the Central Belt, 0.45 miles from surgery Y02751, at the 2019/20 rate.
    insta::assert_json_snapshot!(answer("/v1/lookup?postcode=NR1%201AA&date=2019-06-01").await);
}

#[actix_web::test]
async fn a_bristol_postcode_is_answered_as_reviewed() {
    // Zone 7, its providers in tier order, the night provider, the PCN and the hourly rate.
    insta::assert_json_snapshot!(answer("/v1/lookup?postcode=BS1%205TR&date=2019-06-01").await);
}

#[actix_web::test]
async fn a_point_outside_coverage_is_answered_as_reviewed() {
    // Central London: no scheme covers it.
    insta::assert_json_snapshot!(
        answer("/v1/lookup?lat=51.5074&lon=-0.1278&date=2019-06-01").await
    );
}

#[actix_web::test]
async fn the_facts_of_a_norwich_postcode_are_as_reviewed() {
    // Live, at its Code-Point position, in Norfolk and NHS Norwich CCG (06W). As documented,
    // `areas` lists every polygon of every scheme's layers that covers the point, so Bristol's
    // district and PCN layers, which are national files, name Norwich's district and PCN too.
    insta::assert_json_snapshot!(answer("/v1/postcodes/NR1%201AA").await);
}
