//! Request metrics (Prometheus text format) and the middleware that records them and writes the
//! access log.
//!
//! Requests are labelled by route *pattern* (`/v1/postcodes/{postcode}`), never by the path
//! asked, so no postcode reaches the metrics or the log, and the number of series stays fixed.
//! The access log line has method, route pattern, status and latency; the query itself is
//! logged only when `log_queries` is on.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::error::ApiError;
use super::state::AppState;

/// Route label for requests no route matched (kept as one series, whatever the path).
const UNMATCHED: &str = "unmatched";

/// Latency buckets, seconds: 100 µs to about 3 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0,
];

/// The collectors of one server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    dataset: IntGaugeVec,
    reloads: IntCounterVec,
}

impl Metrics {
    /// Creates and registers the collectors.
    ///
    /// # Panics
    /// Never: the names and labels are constants that are valid and registered once.
    #[must_use]
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "careband_http_requests_total",
                "HTTP requests by route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid constant metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "careband_http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid constant metric definition");
        let dataset = IntGaugeVec::new(
            Opts::new(
                "careband_dataset_info",
                "The dataset being served (value is always 1)",
            ),
            &["version"],
        )
        .expect("valid constant metric definition");
        let reloads = IntCounterVec::new(
            Opts::new("careband_reloads_total", "Dataset reloads by outcome"),
            &["outcome"],
        )
        .expect("valid constant metric definition");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(dataset.clone()),
            Box::new(reloads.clone()),
        ] {
            registry
                .register(c)
                .expect("each collector is registered once in a fresh registry");
        }
        Self {
            registry,
            requests,
            latency,
            dataset,
            reloads,
        }
    }

    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Sets the dataset version being served.
    pub fn set_dataset(&self, version: &str) {
        self.dataset.reset();
        self.dataset.with_label_values(&[version]).set(1);
    }

    /// Counts a reload (`ok` or `refused`).
    pub fn count_reload(&self, outcome: &str) {
        self.reloads.with_label_values(&[outcome]).inc();
    }

    /// Everything, in the Prometheus text exposition format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: refuses over-long query strings, then records metrics and writes the access
/// log for every request, including the ones no route matched.
pub(crate) async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let start = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let query = state
        .as_ref()
        .filter(|s| s.config().log_queries)
        .map(|_| format!("{}?{}", req.path(), req.query_string()));
    let max_query = state
        .as_ref()
        .map_or(crate::config::DEFAULT_MAX_QUERY_BYTES, |s| {
            s.config().limits.max_query_bytes
        });

    let res = if req.query_string().len() > max_query {
        let (http_req, _) = req.into_parts();
        let e = ApiError::UriTooLong { limit: max_query };
        ServiceResponse::new(http_req, e.error_response()).map_into_right_body()
    } else {
        match next.call(req).await {
            Ok(res) => match cors_refusal(&res) {
                // A preflight CORS refused (origin, method or header not allowed) is answered
                // by the CORS middleware in plain text: give it the API's error shape.
                Some(api) => {
                    let status = res.status();
                    let mut refused = api.error_response();
                    *refused.status_mut() = status;
                    let (http_req, _) = res.into_parts();
                    ServiceResponse::new(http_req, refused).map_into_right_body()
                }
                None => res.map_into_left_body(),
            },
            Err(e) => {
                // An error a middleware (CORS) raised instead of answering: give it the API's
                // error shape, keeping its status.
                let status = e.as_response_error().status_code();
                let api = if status.is_client_error() {
                    ApiError::bad("request_refused", None, e.to_string())
                } else {
                    ApiError::Internal(e.to_string())
                };
                log_request(
                    state.as_ref(),
                    &method,
                    UNMATCHED,
                    status.as_u16(),
                    start,
                    query,
                );
                return Err(with_status(api, status));
            }
        }
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED.to_string());
    log_request(
        state.as_ref(),
        &method,
        &route,
        res.status().as_u16(),
        start,
        query,
    );
    Ok(res)
}

/// The API error for a response the CORS middleware made to refuse a preflight request.
fn cors_refusal<B>(res: &ServiceResponse<B>) -> Option<ApiError> {
    let refused = res
        .response()
        .error()?
        .as_error::<actix_cors::CorsError>()?;
    Some(ApiError::bad(
        "request_refused",
        None,
        format!("this cross-origin request is not allowed: {refused}"),
    ))
}

fn log_request(
    state: Option<&web::Data<AppState>>,
    method: &str,
    route: &str,
    status: u16,
    start: Instant,
    query: Option<String>,
) {
    let seconds = start.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics().observe(method, route, status, seconds);
    }
    // Two decimals are plenty for a log line.
    let ms = (seconds * 1e5).round() / 100.0;
    match query {
        Some(query) => tracing::info!(method, route, status, ms, query, "request"),
        None => tracing::info!(method, route, status, ms, "request"),
    }
}

/// An [`ApiError`] answered with another status (for errors raised by middleware).
fn with_status(e: ApiError, status: actix_web::http::StatusCode) -> actix_web::Error {
    let mut res = e.error_response();
    *res.status_mut() = status;
    actix_web::error::InternalError::from_response(e, res).into()
}
