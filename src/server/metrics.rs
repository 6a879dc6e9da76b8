//! Request metrics in the Prometheus text format; [`crate::server::middleware::observe`]
//! records them.
//!
//! Requests are labelled by route *pattern* (`/v1/postcodes/{postcode}`), never by the path
//! asked, so no postcode reaches the metrics, and by method from a closed set ([`method_label`]),
//! so the number of series stays fixed whatever a client sends.
//!
//! On Linux the registry also holds the prometheus crate's process collector:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and the
//! rest, read from `/proc` at each scrape.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

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
            reloads,
        }
    }

    /// Records one finished request. `method` is labelled through [`method_label`]; `route`
    /// must come from a closed set (a route pattern or a fixed name), never from the request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
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
}
