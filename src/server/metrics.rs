//! Request metrics in the Prometheus text format; [`crate::server::middleware::observe`]
//! records them.
//!
//! Requests are labelled by route *pattern* (`/v1/postcodes/{postcode}`), never by the path
//! asked, so no postcode reaches the metrics, and by method from a closed set ([`method_label`]),
//! so the number of series stays fixed whatever a client sends. The status is a closed set
//! too ([`status_label`]): the codes careband answers with, else the status class.
//!
//! Besides the requests: `careband_build_info{version}` (1), `careband_dataset_info{version}`
//! (1) with `careband_dataset_loaded_timestamp_seconds` and `careband_dataset_load_seconds`,
//! `careband_http_requests_in_flight`, `careband_reloads_total{outcome}`,
//! `careband_batch_rows_total{status}` (the `status` column's values), and with an external
//! geocoder `careband_geocoder_calls_total{outcome}` ([`crate::geocoder::CallOutcome`]) and
//! `careband_geocoder_breaker_state{state}` (1 for the state it is in, 0 for the others).
//!
//! On Linux the registry also holds the prometheus crate's process collector:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and the
//! rest, read from `/proc` at each scrape.

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::batch::Summary;
use crate::geocoder::{BreakerState, Geocoder};

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
    loaded_at: Gauge,
    load_seconds: Gauge,
    in_flight: IntGauge,
    reloads: IntCounterVec,
    batch_rows: IntCounterVec,
    geocoder_calls: IntCounterVec,
    breaker: IntGaugeVec,
}

/// A request being handled: counted in `careband_http_requests_in_flight` until dropped.
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A collector whose constant definition cannot be refused.
fn valid<T>(made: prometheus::Result<T>) -> T {
    made.expect("valid constant metric definition")
}

/// A counter with one label, from constants.
fn counter_vec(name: &str, help: &str, label: &str) -> IntCounterVec {
    valid(IntCounterVec::new(Opts::new(name, help), &[label]))
}

/// A gauge with one label, from constants.
fn gauge_vec(name: &str, help: &str, label: &str) -> IntGaugeVec {
    valid(IntGaugeVec::new(Opts::new(name, help), &[label]))
}

impl Metrics {
    /// Creates and registers the collectors.
    ///
    /// # Panics
    /// Never: the names and labels of the request, dataset and reload collectors are valid
    /// constants, each registered once in a fresh registry, so those steps cannot fail. The
    /// process collector's definitions come from the prometheus crate, so its registration is
    /// not assumed: a failure is logged and the metrics go on without it.
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
        let dataset = gauge_vec(
            "careband_dataset_info",
            "The dataset being served (value is always 1)",
            "version",
        );
        let reloads = counter_vec(
            "careband_reloads_total",
            "Dataset reloads by outcome",
            "outcome",
        );
        let build = gauge_vec(
            "careband_build_info",
            "The careband binary serving (value is always 1)",
            "version",
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let loaded_at = valid(Gauge::new(
            "careband_dataset_loaded_timestamp_seconds",
            "When the dataset being served was loaded, seconds since the Unix epoch",
        ));
        let load_seconds = valid(Gauge::new(
            "careband_dataset_load_seconds",
            "How long loading the dataset being served took, seconds",
        ));
        let in_flight = valid(IntGauge::new(
            "careband_http_requests_in_flight",
            "HTTP requests being handled now (until their answer starts)",
        ));
        let batch_rows = counter_vec(
            "careband_batch_rows_total",
            "Rows of POST /v1/batch answered, by the status column's value",
            "status",
        );
        for status in BATCH_STATUSES {
            batch_rows.with_label_values(&[status]);
        }
        let geocoder_calls = counter_vec(
            "careband_geocoder_calls_total",
            "Lookups of the external geocoder by outcome (cached: no request sent)",
            "outcome",
        );
        let breaker = gauge_vec(
            "careband_geocoder_breaker_state",
            "The external geocoder's circuit breaker: 1 for the state it is in",
            "state",
        );
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(dataset.clone()),
            Box::new(reloads.clone()),
            Box::new(build),
            Box::new(loaded_at.clone()),
            Box::new(load_seconds.clone()),
            Box::new(in_flight.clone()),
            Box::new(batch_rows.clone()),
            Box::new(geocoder_calls.clone()),
            Box::new(breaker.clone()),
        ] {
            registry
                .register(c)
                .expect("each collector is registered once in a fresh registry");
        }
        #[cfg(target_os = "linux")]
        if let Err(e) = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            tracing::warn!(error = %e, "process metrics are not available");
        }
        Self {
            registry,
            requests,
            latency,
            dataset,
            loaded_at,
            load_seconds,
            in_flight,
            reloads,
            batch_rows,
            geocoder_calls,
            breaker,
        }
    }

    /// Counts a request as in flight until the returned guard is dropped.
    #[must_use]
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Records one finished request. `method` is labelled through [`method_label`]; `route`
    /// must come from a closed set (a route pattern or a fixed name), never from the request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, status_label(status)])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Sets the dataset being served: its version and when it was loaded.
    pub fn set_dataset(&self, version: &str, loaded_at: DateTime<Utc>) {
        self.dataset.reset();
        self.dataset.with_label_values(&[version]).set(1);
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since 1970 are far below 2^53"
        )]
        self.loaded_at
            .set(loaded_at.timestamp_millis() as f64 / 1000.0);
    }

    /// Sets how long loading the dataset being served took.
    pub fn set_load_seconds(&self, seconds: f64) {
        self.load_seconds.set(seconds);
    }

    /// Counts the rows of one batch by status.
    pub fn count_batch(&self, summary: &Summary) {
        for (status, rows) in BATCH_STATUSES.into_iter().zip([
            summary.answered,
            summary.not_found,
            summary.outside_coverage,
            summary.bad_input,
            summary.blank,
        ]) {
            self.batch_rows.with_label_values(&[status]).inc_by(rows);
        }
    }

    /// Brings the geocoder's series up to date with `geocoder`'s own counts and breaker state
    /// (called before each scrape; nothing without a geocoder).
    pub fn sync_geocoder(&self, geocoder: Option<&Geocoder>) {
        let Some(g) = geocoder else { return };
        for (outcome, calls) in g.calls() {
            let counter = self.geocoder_calls.with_label_values(&[outcome.as_str()]);
            // The geocoder's counts only grow, so the difference is what happened since.
            counter.inc_by(calls.saturating_sub(counter.get()));
        }
        let now = g.breaker_state();
        for (state, name) in [
            (BreakerState::Closed, "closed"),
            (BreakerState::Open, "open"),
            (BreakerState::HalfOpen, "half_open"),
        ] {
            self.breaker
                .with_label_values(&[name])
                .set(i64::from(state == now));
        }
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

/// The values of a batch row's `status` column, in the order [`Metrics::count_batch`] reads
/// them from a [`Summary`].
const BATCH_STATUSES: [&str; 5] = [
    "answered",
    "not_found",
    "outside_coverage",
    "bad_input",
    "blank",
];

/// The `method` label of a request: the method itself when it is one of HTTP's standard
/// methods, else `other`. HTTP lets a client send any token as a method, and each new label
/// value would be a new series kept for the life of the process.
#[must_use]
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

/// The `status` label of a response: the code itself when careband answers with it (the
/// statuses of [`crate::server::ErrorCode`], 200, and the few actix's own layers send), else
/// its class (`2xx` ... `5xx`, or `other`). A handler can only answer a fixed set, but the
/// label must not depend on that staying true.
#[must_use]
pub fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 21] = [
        (200, "200"),
        (204, "204"),
        (206, "206"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (413, "413"),
        (414, "414"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    if let Some((_, label)) = KNOWN.iter().find(|(code, _)| *code == status) {
        return label;
    }
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_any_other_token_is_other() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("get"), "other", "methods are case-sensitive");
        assert_eq!(method_label("BREW"), "other");
    }

    #[test]
    fn statuses_careband_answers_keep_their_code_and_others_their_class() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(408), "408");
        assert_eq!(status_label(429), "429");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(299), "2xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(999), "other");
        for code in crate::server::ErrorCode::ALL {
            let status = code.status().as_u16();
            assert_eq!(status_label(status), status.to_string(), "{code}");
        }
    }
}
