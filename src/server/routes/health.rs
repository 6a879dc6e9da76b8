//! `GET /healthz` (the process answers), `GET /readyz` (a dataset is loaded and served) and
//! `GET /metrics` (Prometheus text).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::server::state::AppState;

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `alive`.
    pub status: &'static str,
}

/// Readiness: what is being served.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready` when a valid dataset is served; otherwise what is missing: `no_schemes`,
    /// `no_postcodes` or `no_centres` (a banded scheme without a centre to measure from).
    pub status: &'static str,
    /// Dataset version.
    pub dataset_version: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Scheme ids.
    pub schemes: Vec<String>,
    /// Postcodes known.
    pub postcodes: usize,
}

fn no_cache() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
}

/// Liveness: the process is up and answering.
///
/// Always `{"status": "alive"}` while the process runs; it does not look at the data (see
/// `/readyz`).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_cache())
        .json(Health { status: "alive" })
}

/// Readiness: a dataset is loaded and being served.
///
/// 503 when the dataset served could not answer: no scheme, no postcode, or a banded scheme
/// without centres. [`crate::data::load::load`] refuses such data, so this is 503 only for
/// a dataset built some other way; a server that is still loading does not listen yet.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The dataset could not answer (no scheme, postcode or centre)", body = Ready),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ds = state.dataset();
    let problem = ds.unservable();
    let ready = problem.is_none();
    let body = Ready {
        status: problem.unwrap_or("ready"),
        dataset_version: ds.version.to_string(),
        loaded_at: state.loaded_at(),
        schemes: ds.schemes.iter().map(|s| s.scheme.id.to_string()).collect(),
        postcodes: ds.postcodes.len(),
    };
    if ready {
        HttpResponse::Ok().insert_header(no_cache()).json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(no_cache())
            .json(body)
    }
}

/// Prometheus metrics.
///
/// `careband_http_requests_total{method,route,status}`,
/// `careband_http_request_duration_seconds{method,route}` (histogram),
/// `careband_http_requests_in_flight`, `careband_build_info{version}`,
/// `careband_dataset_info{version}`, `careband_dataset_loaded_timestamp_seconds`,
/// `careband_dataset_load_seconds`, `careband_reloads_total{outcome}`,
/// `careband_batch_rows_total{status}`, with an external geocoder
/// `careband_geocoder_calls_total{outcome}` and `careband_geocoder_breaker_state{state}`, and
/// on Linux the `process_*` metrics. Routes are patterns (`/v1/postcodes/{postcode}`), never
/// the paths asked; every label comes from a closed set.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics().sync_geocoder(state.geocoder());
    HttpResponse::Ok()
        .insert_header(no_cache())
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics().render())
}
