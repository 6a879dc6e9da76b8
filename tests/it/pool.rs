//! Lookups first (issue 18): expensive work runs on its own bounded pool. Through the
//! production application: a full queue is a 503 `queue_full` with `Retry-After` and the JSON
//! error body, single lookups still answer while the pool is full, batches wait for a turn
//! before their body is read, and the work budget refuses an area summary that is too big.
//!
//! The pool is filled with jobs that wait on a channel the test holds, so "full" is exact and
//! never depends on timing.

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::json;
use tokio::sync::oneshot;

use careband::data::load::DataSource;
use careband::engine::answer::Answer;
use careband::engine::lookup::lookup;
use careband::engine::query::Query;
use careband::server::config::{Limits, ServeConfig};
use careband::server::{self, AppState};

use crate::common::http::{Reply, send, state_with};
use crate::common::{DATASET, date};

/// A postcode in central Norwich.
const NORWICH: &str = "NR1 1AA";

fn with_limits(limits: Limits) -> AppState {
    state_with(
        ServeConfig {
            limits,
            ..ServeConfig::default()
        },
        DataSource::Embedded,
    )
}

/// Takes `jobs` places on the pool with jobs that each wait until their sender is used or
/// dropped; returns the senders. Waits until the jobs hold their places.
async fn occupy(state: &AppState, jobs: usize) -> Vec<oneshot::Sender<()>> {
    let before = state.work().queue_free();
    let mut releases = Vec::new();
    for _ in 0..jobs {
        let (tx, rx) = oneshot::channel::<()>();
        releases.push(tx);
        let s = state.clone();
        actix_web::rt::spawn(async move {
            let _ = s
                .work()
                .run(move || {
                    let _ = rx.blocking_recv();
                })
                .await;
        });
    }
    while state.work().queue_free() > before - jobs {
        actix_web::rt::task::yield_now().await;
    }
    releases
}

/// A GET request for `uri`.
fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

fn busy(r: &Reply, retry_after: &str) {
    r.error(StatusCode::SERVICE_UNAVAILABLE, "queue_full");
    assert_eq!(r.header("retry-after"), retry_after);
}

#[actix_web::test]
async fn a_full_queue_is_a_503_with_retry_after_and_single_lookups_still_answer() {
    let state = with_limits(Limits {
        pool_threads: 1,
        pool_queue: 2,
        retry_after_s: 7,
        ..Limits::default()
    });
    let app = test::init_service(server::app(state.clone())).await;
    let releases = occupy(&state, 2).await;

    // Area summaries, place searches and bulk requests are refused at once...
    let area = send(&app, get("/v1/lookup?postcode=NR1").to_request()).await;
    busy(&area, "7");
    let place = send(&app, get("/v1/lookup?q=Wymondham").to_request()).await;
    busy(&place, "7");
    let bulk = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/lookup")
            .set_json(json!([{ "postcode": NORWICH }]))
            .to_request(),
    )
    .await;
    busy(&bulk, "7");
    let bands = send(
        &app,
        get("/v1/schemes/norfolk/bands.geojson?date=2019-06-01").to_request(),
    )
    .await;
    busy(&bands, "7");

    // ...while a single lookup answers as the library does.
    let single = send(
        &app,
        get("/v1/lookup?postcode=NR1%201AA&date=2019-06-01").to_request(),
    )
    .await;
    assert_eq!(single.status, StatusCode::OK, "{}", single.text());
    let expected = lookup(
        &DATASET,
        &Query::Postcode(NORWICH.into()),
        date("2019-06-01"),
    )
    .unwrap();
    assert_eq!(single.json(), serde_json::to_value(&expected).unwrap());

    // Once the pool has room again, the area summary is answered.
    drop(releases);
    while state.work().queue_free() < 2 {
        actix_web::rt::task::yield_now().await;
    }
    let area = send(&app, get("/v1/lookup?postcode=NR1").to_request()).await;
    assert_eq!(area.status, StatusCode::OK, "{}", area.text());
    assert_eq!(area.json()["kind"], "area");
}

#[actix_web::test]
async fn a_job_that_waits_its_turn_is_answered_not_refused() {
    // One thread, room for two: the second job queues behind the first instead of a 503.
    let state = with_limits(Limits {
        pool_threads: 1,
        pool_queue: 2,
        ..Limits::default()
    });
    let app = test::init_service(server::app(state.clone())).await;
    let release = occupy(&state, 1).await;
    let waiting = {
        let app = &app;
        async move {
            send(
                app,
                test::TestRequest::get()
                    .uri("/v1/lookup?postcode=NR1%201")
                    .to_request(),
            )
            .await
        }
    };
    let (r, ()) = tokio::join!(waiting, async {
        // Let the request take its place in the queue before the pool is freed.
        while state.work().queue_free() > 0 {
            actix_web::rt::task::yield_now().await;
        }
        drop(release);
    });
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["kind"], "area");
}

const CSV: &str = "id,postcode\n1,NR1 1AA\n2,NR2 4SF\n";

fn batch_request() -> test::TestRequest {
    test::TestRequest::post()
        .uri("/v1/batch?date=2019-06-01")
        .insert_header(("content-type", "text/csv"))
        .set_payload(CSV)
}

#[actix_web::test]
async fn batches_beyond_the_running_and_waiting_ones_are_a_503() {
    let state = with_limits(Limits {
        batch_concurrency: 1,
        batch_queue: 1,
        retry_after_s: 3,
        ..Limits::default()
    });
    let app = test::init_service(server::app(state.clone())).await;
    // The one turn is taken: the next batch waits, the one after is refused.
    let turn = state.work().batch_turn().await.unwrap();
    let waiting = async { send(&app, batch_request().to_request()).await };
    let (waited, ()) = tokio::join!(waiting, async {
        while state.work().batch_queue_free() > 0 {
            actix_web::rt::task::yield_now().await;
        }
        let refused = send(&app, batch_request().to_request()).await;
        busy(&refused, "3");
        drop(turn);
    });
    assert_eq!(waited.status, StatusCode::OK, "{}", waited.text());
    assert_eq!(waited.text().lines().count(), 3, "{}", waited.text());
    // Every turn is given back once the batches end: the driver's thread gives its turn back
    // just after the last byte is sent, so allow it a moment (at most 5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while state.work().batch_queue_free() < 2 && std::time::Instant::now() < deadline {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(state.work().batch_queue_free(), 2);
}

/// Live postcodes of a partial postcode, as the library's summary counts them.
fn postcodes_in(partial: &str) -> u64 {
    match lookup(
        &DATASET,
        &Query::Postcode(partial.into()),
        date("2019-06-01"),
    ) {
        Ok(Answer::Area(a)) => a.postcodes as u64,
        other => panic!("{partial}: expected an area summary, got {other:?}"),
    }
}

#[actix_web::test]
async fn an_area_summary_over_the_work_budget_is_a_400_and_one_within_it_is_answered() {
    let sector = postcodes_in("NR1 1");
    assert!(sector > 10, "the sector has {sector} postcodes");
    // A budget one short of the sector refuses it; exactly the sector's size answers it.
    let short = with_limits(Limits {
        work_budget: sector - 1,
        ..Limits::default()
    });
    let app = test::init_service(server::app(short)).await;
    let r = send(&app, get("/v1/lookup?postcode=NR1%201").to_request()).await;
    let e = r.error(StatusCode::BAD_REQUEST, "over_budget");
    assert_eq!(e["field"], "postcode");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{sector} postcodes")),
        "{message}"
    );
    assert!(message.contains(&format!("{}", sector - 1)), "{message}");
    // A full postcode costs nothing and still answers.
    let r = send(&app, get("/v1/lookup?postcode=NR1%201AA").to_request()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let exact = with_limits(Limits {
        work_budget: sector,
        ..Limits::default()
    });
    let app = test::init_service(server::app(exact)).await;
    let r = send(&app, get("/v1/lookup?postcode=NR1%201").to_request()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["postcodes"], sector);
}

#[actix_web::test]
async fn a_place_search_over_the_work_budget_is_a_400() {
    let state = with_limits(Limits {
        work_budget: 1,
        ..Limits::default()
    });
    let app = test::init_service(server::app(state)).await;
    let r = send(&app, get("/v1/lookup?q=Wymondham").to_request()).await;
    let e = r.error(StatusCode::BAD_REQUEST, "over_budget");
    assert_eq!(e["field"], "q");
}

#[actix_web::test]
async fn a_bulk_request_shares_one_budget_across_its_queries() {
    let sector = postcodes_in("NR1 1");
    // Room for one summary of the sector, not two.
    let state = with_limits(Limits {
        work_budget: sector + sector / 2,
        ..Limits::default()
    });
    let app = test::init_service(server::app(state)).await;
    let r = send(
        &app,
        test::TestRequest::post()
            .uri("/v1/lookup")
            .set_json(json!([
                { "postcode": "NR1 1", "date": "2019-06-01" },
                { "postcode": "NR1 1", "date": "2019-06-01" },
                { "postcode": NORWICH, "date": "2019-06-01" }
            ]))
            .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[1]["error"]["code"], "over_budget");
    assert_eq!(results[2]["status"], 200, "a full postcode costs nothing");
    assert_eq!(body["answered"], 2);
}
