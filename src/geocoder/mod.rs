//! The optional external geocoder: address text -> a point, from a Nominatim-compatible or an
//! OS Places-style service that a council configures. Off unless configured.
//!
//! Used only where it can change an answer ([`wants_geocoder`]): free text without a postcode
//! that reads as an address (a house number or name and a road) and that the offline gazetteer
//! cannot settle. Its point is then resolved by the same engine as every other point, and the
//! answer says so (`source: "geocoder:<kind>"`, with the service's attribution).
//!
//! What makes it safe to depend on:
//! 1. a timeout per request;
//! 2. bounded retries with exponential backoff (run by the `backon` crate), only for failures
//!    that may pass (timeouts, connection errors, 5xx, and 429), and not when a `Retry-After`
//!    asks for a longer pause than a caller should wait; never for other 4xx or an unreadable
//!    body;
//! 3. a response cache of bounded size and age, keyed by the normalised text;
//! 4. a circuit breaker that stops calling after repeated failures until a cooldown passes;
//! 5. on any failure the offline answer is given, with a note naming what happened.
//!
//! Privacy: nothing here logs the query text, an address, a postcode or a coordinate, and no
//! message quotes a URL (URLs carry the text and the key). The key lives in an [`ApiKey`],
//! whose `Debug` hides it.
//!
//! The client is async (reqwest on tokio); the HTTP server awaits it on its workers, and the
//! command line runs it on a small single-threaded runtime. Batch runs, whose rows are answered
//! on a thread pool, reach it through [`crate::batch::BlockingRefiner`], which waits for each
//! answer on the thread that asked, at most [`Geocoder::batch_rows`] rows a run.

pub mod breaker;
pub mod cache;
pub mod config;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::NaiveDate;
use geo::BoundingRect;

use crate::engine::answer::{Answer, AnswerSource, GeocodedFacts, PointAnswer, Precision};
use crate::engine::coord::{Bng, LonLat};
use crate::engine::dataset::Dataset;
use crate::engine::lookup::LookupError;
use crate::engine::resolve::{resolve, resolve_postcode};
use config::{ApiKey, GeocoderConfig, GeocoderKind};

pub use breaker::{BreakerState, Clock, ManualClock, SystemClock};
pub use wire::{GeocodedPlace, Position, WireError};

use breaker::Breaker;
use cache::ResponseCache;

/// First retry waits this long; each later one twice as long as the one before.
pub const BACKOFF_BASE_MS: u64 = 100;

/// Longest `Retry-After` honoured, milliseconds; a longer one ends the retries.
pub const MAX_RETRY_AFTER_MS: u64 = 2000;

/// Largest response body read, bytes (a few results are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Installs `ring` as the process's TLS crypto provider, if none is installed yet.
///
/// reqwest is built with rustls but without a provider of its own (its default, aws-lc-rs,
/// compiles a C library with cmake), and building any `reqwest::Client` without one panics, even
/// for plain http. [`Geocoder`] calls this itself; call it before building another client.
pub fn install_tls_provider() {
    // An error only means a provider is already installed, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a geocoder lookup failed. Messages name what happened, never the text, URL or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeocodeError {
    /// No answer within the timeout.
    #[error("timeout after {after_ms} ms")]
    Timeout {
        /// The timeout, milliseconds.
        after_ms: u64,
    },
    /// The service could not be reached.
    #[error("cannot connect to the service")]
    Connect,
    /// The service answered with an error status.
    #[error("the service answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The answer could not be read.
    #[error("unreadable answer: {0}")]
    Garbage(#[from] WireError),
    /// The answer was larger than [`MAX_BODY_BYTES`].
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// Another transport failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// The circuit breaker is open after repeated failures.
    #[error("paused after repeated failures")]
    BreakerOpen,
}

impl GeocodeError {
    /// Whether the failure may pass, so that trying again is worth it.
    fn retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Connect | Self::Transport(_) => true,
            Self::Status { status } => *status == 429 || *status >= 500,
            Self::Garbage(_) | Self::TooLarge | Self::BreakerOpen => false,
        }
    }
}

/// A failed attempt: what went wrong, and how long the service asked to be left alone
/// (`Retry-After`), which decides whether and when it is tried again.
#[derive(Debug)]
struct Failed {
    error: GeocodeError,
    retry_after: Option<Duration>,
}

impl From<GeocodeError> for Failed {
    fn from(error: GeocodeError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// The waits between attempts: [`BACKOFF_BASE_MS`], then twice the wait before, for at most
/// `retries` retries. No jitter, so the waits are exactly these.
fn backoff_policy(retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(BACKOFF_BASE_MS))
        .with_factor(2.0)
        // The settings allow too few retries to reach this; it only keeps the doubling bounded.
        .with_max_delay(Duration::from_millis(BACKOFF_BASE_MS << 10))
        .with_max_times(usize::try_from(retries).unwrap_or(usize::MAX))
}

/// How long to wait before the next attempt, or `None` to stop: when the retries are used up
/// (`backoff` is `None`), or when the service asked for a pause longer than
/// [`MAX_RETRY_AFTER_MS`] (a caller is waiting; the offline answer is better than a long wait).
/// A shorter `Retry-After` is honoured, never undercutting the backoff.
fn retry_wait(backoff: Option<Duration>, retry_after: Option<Duration>) -> Option<Duration> {
    let backoff = backoff?;
    match retry_after {
        Some(asked) if asked > Duration::from_millis(MAX_RETRY_AFTER_MS) => None,
        Some(asked) => Some(asked.max(backoff)),
        None => Some(backoff),
    }
}

/// Why a geocoder could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The settings were refused.
    #[error(transparent)]
    Config(#[from] config::SettingError),
    /// The HTTP client could not be built.
    #[error("cannot build the geocoder's HTTP client: {0}")]
    Client(String),
}

/// A geocoder's answer to one text.
#[derive(Debug, Clone)]
pub struct Geocoded {
    /// Results, the service's best first (possibly none).
    pub places: Arc<Vec<GeocodedPlace>>,
    /// True when it came from the cache.
    pub cached: bool,
}

/// A configured external geocoder, shared by all requests.
pub struct Geocoder {
    kind: GeocoderKind,
    base: reqwest::Url,
    key: Option<ApiKey>,
    client: reqwest::Client,
    timeout_ms: u64,
    retries: u32,
    cache: ResponseCache,
    breaker: Breaker,
    clock: Arc<dyn Clock>,
    use_viewbox: bool,
    bounded: bool,
    viewbox: Mutex<Option<[f64; 4]>>,
    attribution: Option<String>,
    batch_rows: u64,
    sent: AtomicU64,
    /// Calls of [`Geocoder::geocode`] by outcome, indexed as [`CallOutcome::ALL`].
    calls: [AtomicU64; CallOutcome::ALL.len()],
}

/// How one call of [`Geocoder::geocode`] ended: a closed set, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// Answered from the cache, nothing sent.
    Cached,
    /// The service answered.
    Ok,
    /// No answer within the timeout.
    Timeout,
    /// The service could not be reached.
    Connect,
    /// The service answered with an error status.
    Status,
    /// The answer could not be read, or was too large.
    Garbage,
    /// Another transport failure.
    Transport,
    /// Not sent: the circuit breaker is open.
    BreakerOpen,
}

impl CallOutcome {
    /// Every outcome.
    pub const ALL: [Self; 8] = [
        Self::Cached,
        Self::Ok,
        Self::Timeout,
        Self::Connect,
        Self::Status,
        Self::Garbage,
        Self::Transport,
        Self::BreakerOpen,
    ];

    /// The name used in the metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cached => "cached",
            Self::Ok => "ok",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Status => "status",
            Self::Garbage => "garbage",
            Self::Transport => "transport",
            Self::BreakerOpen => "breaker_open",
        }
    }

    fn of(e: &GeocodeError) -> Self {
        match e {
            GeocodeError::Timeout { .. } => Self::Timeout,
            GeocodeError::Connect => Self::Connect,
            GeocodeError::Status { .. } => Self::Status,
            GeocodeError::Garbage(_) | GeocodeError::TooLarge => Self::Garbage,
            GeocodeError::Transport(_) => Self::Transport,
            GeocodeError::BreakerOpen => Self::BreakerOpen,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

impl std::fmt::Debug for Geocoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geocoder")
            .field("kind", &self.kind)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Geocoder {
    /// A geocoder from checked settings: reads the key from the variable `key_env` names.
    ///
    /// # Errors
    /// [`BuildError`] when the settings are refused (see [`GeocoderConfig::check`]) or the
    /// HTTP client cannot be built.
    pub fn from_config(config: &GeocoderConfig) -> Result<Self, BuildError> {
        let key = config.check()?;
        Self::with_clock(config, key, Arc::new(SystemClock))
    }

    /// A geocoder with the given key and clock (tests move a [`ManualClock`]).
    ///
    /// # Errors
    /// [`BuildError::Client`] when the HTTP client cannot be built, [`BuildError::Config`]
    /// for a bad URL.
    pub fn with_clock(
        config: &GeocoderConfig,
        key: Option<ApiKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BuildError> {
        let mut base = reqwest::Url::parse(&config.url).map_err(|_| config::SettingError {
            field: "geocoder.url",
            message: format!("{:?} is not a URL", config.url),
        })?;
        if !base.path().ends_with('/') {
            // So that joining `search` keeps the last path segment of the base.
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        install_tls_provider();
        let timeout = Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(
                config
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| format!("careband/{}", env!("CARGO_PKG_VERSION"))),
            )
            .build()
            .map_err(|e| BuildError::Client(e.without_url().to_string()))?;
        Ok(Self {
            kind: config.kind,
            base,
            key,
            client,
            timeout_ms: config.timeout_ms,
            retries: config.retries,
            cache: ResponseCache::new(
                config.cache_entries,
                Duration::from_secs(config.cache_ttl_s),
            ),
            breaker: Breaker::new(
                config.failure_threshold,
                Duration::from_secs(config.cooldown_s),
            ),
            clock,
            use_viewbox: config.viewbox,
            bounded: config.bounded,
            viewbox: Mutex::new(None),
            attribution: config.attribution.clone(),
            batch_rows: config.batch_rows,
            sent: AtomicU64::new(0),
            calls: Default::default(),
        })
    }

    /// The wire format.
    #[must_use]
    pub fn kind(&self) -> GeocoderKind {
        self.kind
    }

    /// Rows of one batch run it may be asked about (`geocoder.batch_rows`).
    #[must_use]
    pub fn batch_rows(&self) -> u64 {
        self.batch_rows
    }

    /// The `source` of its answers: `geocoder:<kind>`.
    #[must_use]
    pub fn source(&self) -> AnswerSource {
        AnswerSource::Geocoder(self.kind.as_str())
    }

    /// HTTP requests sent so far (retries included; cache hits send none).
    #[must_use]
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Calls of [`Geocoder::geocode`] so far, by outcome, in the order of
    /// [`CallOutcome::ALL`].
    #[must_use]
    pub fn calls(&self) -> [(CallOutcome, u64); CallOutcome::ALL.len()] {
        CallOutcome::ALL.map(|o| (o, self.calls[o.index()].load(Ordering::Relaxed)))
    }

    fn count(&self, outcome: CallOutcome) {
        self.calls[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The circuit breaker's state now.
    #[must_use]
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state(self.clock.now())
    }

    /// Sets the area Nominatim is asked to prefer from the dataset's schemes (call again after
    /// a reload).
    pub fn set_coverage(&self, ds: &Dataset) {
        *self.viewbox.lock().unwrap_or_else(PoisonError::into_inner) = coverage_box(ds);
    }

    /// Geocodes `text`: from the cache, else from the service (with retries), unless the
    /// breaker is open.
    ///
    /// # Errors
    /// [`GeocodeError`] naming what failed.
    pub async fn geocode(&self, text: &str) -> Result<Geocoded, GeocodeError> {
        let key = cache::key(text);
        if let Some(places) = self.cache.get(&key, self.clock.now()) {
            self.count(CallOutcome::Cached);
            return Ok(Geocoded {
                places,
                cached: true,
            });
        }
        if !self.breaker.allow(self.clock.now()) {
            self.count(CallOutcome::BreakerOpen);
            return Err(GeocodeError::BreakerOpen);
        }
        match self.fetch(text).await {
            Ok(places) => {
                self.count(CallOutcome::Ok);
                self.breaker.success();
                let places = Arc::new(places);
                self.cache.put(key, Arc::clone(&places), self.clock.now());
                Ok(Geocoded {
                    places,
                    cached: false,
                })
            }
            Err(e) => {
                self.count(CallOutcome::of(&e));
                self.breaker.failure(self.clock.now());
                tracing::warn!(kind = self.kind.as_str(), error = %e, "external geocoder failed");
                Err(e)
            }
        }
    }

    fn url(&self, text: &str) -> Result<reqwest::Url, GeocodeError> {
        let viewbox = if self.use_viewbox {
            *self.viewbox.lock().unwrap_or_else(PoisonError::into_inner)
        } else {
            None
        };
        let (path, params) = wire::request_params(self.kind, text, viewbox, self.bounded);
        let mut url = self
            .base
            .join(path)
            .map_err(|_| GeocodeError::Transport("cannot form the request URL".into()))?;
        {
            let mut q = url.query_pairs_mut();
            q.extend_pairs(params);
            if let Some(k) = &self.key {
                q.append_pair("key", k.expose());
            }
        }
        Ok(url)
    }

    /// The service's answer to `text`, retried by [`backon`] under the policy of
    /// [`backoff_policy`] and [`retry_wait`]: only [`GeocodeError::retryable`] failures, at most
    /// `retries` times.
    async fn fetch(&self, text: &str) -> Result<Vec<GeocodedPlace>, GeocodeError> {
        let url = self.url(text)?;
        let mut attempt = 0_u32;
        (|| self.once(url.clone()))
            .retry(backoff_policy(self.retries))
            .sleep(backon::TokioSleeper)
            .when(|failed: &Failed| failed.error.retryable())
            .adjust(|failed, backoff| retry_wait(backoff, failed.retry_after))
            .notify(|failed, wait| {
                tracing::debug!(
                    kind = self.kind.as_str(),
                    error = %failed.error,
                    attempt,
                    wait_ms = wait.as_millis(),
                    "retrying the external geocoder"
                );
                attempt += 1;
            })
            .await
            .map_err(|failed| failed.error)
    }

    /// One request: the parsed answer, or the error with any `Retry-After` the service sent.
    async fn once(&self, url: reqwest::Url) -> Result<Vec<GeocodedPlace>, Failed> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::ACCEPT_LANGUAGE, "en-GB")
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            // Only the delay-seconds form is read; a date counts as absent (plain backoff).
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failed {
                error: GeocodeError::Status {
                    status: status.as_u16(),
                },
                retry_after,
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(GeocodeError::TooLarge.into());
        }
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        if body.len() > MAX_BODY_BYTES {
            return Err(GeocodeError::TooLarge.into());
        }
        Ok(wire::parse(self.kind, &body).map_err(GeocodeError::from)?)
    }

    /// A reqwest error as a [`GeocodeError`], without its URL.
    fn transport(&self, e: &reqwest::Error) -> GeocodeError {
        if e.is_timeout() {
            GeocodeError::Timeout {
                after_ms: self.timeout_ms,
            }
        } else if e.is_connect() {
            GeocodeError::Connect
        } else {
            // Only the kind of failure: the URL (text and key) is not part of the message.
            GeocodeError::Transport(if e.is_body() || e.is_decode() {
                "the answer was cut off".into()
            } else {
                "the request could not be completed".into()
            })
        }
    }

    fn attribution(&self, place: &GeocodedPlace) -> String {
        self.attribution
            .clone()
            .or_else(|| place.licence.clone())
            .unwrap_or_else(|| match self.kind {
                GeocoderKind::Nominatim => {
                    "Data © OpenStreetMap contributors, ODbL 1.0 (https://osm.org/copyright), via the configured Nominatim-compatible service".into()
                }
                GeocoderKind::OsPlaces => {
                    "Contains OS data © Crown copyright and database rights, via the configured OS Places service under its licence".into()
                }
            })
    }
}

/// The bounding box `[min_lon, min_lat, max_lon, max_lat]` of every loaded scheme's coverage
/// area, or `None` when no scheme is loaded.
#[must_use]
pub fn coverage_box(ds: &Dataset) -> Option<[f64; 4]> {
    let mut out: Option<[f64; 4]> = None;
    for s in &ds.schemes {
        let c = &s.scheme.coverage;
        let Some(layer) = s.layer(&c.layer) else {
            continue;
        };
        for (shape, f) in layer.index.iter() {
            if !c.features.is_empty() && !c.features.iter().any(|x| f.id == *x) {
                continue;
            }
            let Some(r) = shape.bounding_rect() else {
                continue;
            };
            let b = [r.min().x, r.min().y, r.max().x, r.max().y];
            out = Some(match out {
                None => b,
                Some(o) => [
                    o[0].min(b[0]),
                    o[1].min(b[1]),
                    o[2].max(b[2]),
                    o[3].max(b[3]),
                ],
            });
        }
    }
    out
}

/// Road-type words: with a house number or name they make text read as an address.
const ROAD_WORDS: &[&str] = &[
    "road", "rd", "street", "st", "lane", "ln", "la", "avenue", "ave", "av", "close", "cl",
    "drive", "dr", "way", "crescent", "cres", "court", "ct", "place", "pl", "gardens", "gdns",
    "terrace", "ter", "square", "sq", "grove", "gr", "hill", "row", "walk", "mews", "green",
    "yard", "parade", "loke", "chase", "rise", "view", "gate", "end", "common", "hollow",
];

/// Whether plain text reads as an address: a house number (`12`, `12a`, `flat 3`) followed,
/// later in the text, by a road-type word.
#[must_use]
pub fn looks_like_address(text: &str) -> bool {
    let plain = crate::engine::gazetteer::plain(text);
    let words: Vec<&str> = plain.split(' ').filter(|w| !w.is_empty()).collect();
    let number = words.iter().position(|w| {
        w.chars().next().is_some_and(|c| c.is_ascii_digit())
            && w.chars().filter(char::is_ascii_alphabetic).count() <= 1
    });
    number.is_some_and(|i| words[i + 1..].iter().any(|w| ROAD_WORDS.contains(w)))
}

/// Whether the external geocoder should be asked about `text`, given the offline answer.
///
/// The rule: the text reads as an address (a house number or name and a road), has no full
/// postcode (a postcode is always answered offline), and the offline gazetteer could not
/// settle it: it found nothing, or several equal candidates, or only a place or neighbourhood
/// point, or a road whose postcodes span more than one answer. A road that lies wholly in one
/// band is settled offline, so its houses are never sent out.
#[must_use]
pub fn wants_geocoder(text: &str, offline: &Result<Answer, LookupError>) -> bool {
    match offline {
        Ok(Answer::Places(p)) => {
            let address = p.understood.postcode.is_none()
                && ((p.understood.house.is_some() && p.understood.road.is_some())
                    || looks_like_address(text));
            let settled = p.clear
                && p.candidates.first().is_some_and(|c| {
                    c.precision.fineness() >= Precision::RoadPoint.fineness()
                        && !c.extent.spans_more_than_one
                });
            address && !settled
        }
        Err(LookupError::NoPlace { .. }) => looks_like_address(text),
        _ => false,
    }
}

/// Adds a note to an offline answer (or to its "no place" error).
pub(crate) fn with_note(
    offline: Result<Answer, LookupError>,
    note: String,
) -> Result<Answer, LookupError> {
    match offline {
        Ok(Answer::Places(mut p)) => {
            p.notes.push(note);
            Ok(Answer::Places(p))
        }
        Err(LookupError::NoPlace {
            text,
            suggestions,
            mut notes,
        }) => {
            notes.push(note);
            Err(LookupError::NoPlace {
                text,
                suggestions,
                notes,
            })
        }
        other => other,
    }
}

fn precision_note(p: Precision) -> &'static str {
    match p {
        Precision::AddressPoint => "the address's own point, from the external geocoder",
        Precision::RoadPoint => {
            "a point on the road from the external geocoder; a house elsewhere on the road may be in another band"
        }
        _ => "a place's point from the external geocoder, not the address itself",
    }
}

/// The answer to free text with the external geocoder's help: the offline answer unless
/// [`wants_geocoder`] says to ask, then the geocoder's first result resolved like any other
/// point (outside coverage included), or, when the geocoder fails, finds nothing or places
/// the text no better than the gazetteer, the offline answer with a note saying so.
///
/// # Errors
/// The offline answer's error, with a note when the geocoder was asked.
pub async fn refine(
    ds: &Dataset,
    geocoder: &Geocoder,
    text: &str,
    offline: Result<Answer, LookupError>,
    date: NaiveDate,
) -> Result<Answer, LookupError> {
    if !wants_geocoder(text, &offline) {
        return offline;
    }
    let kind = geocoder.kind.as_str();
    let found = match geocoder.geocode(text).await {
        Ok(g) => g,
        Err(e) => {
            return with_note(
                offline,
                format!("external geocoder unavailable ({e}): answered from the offline gazetteer"),
            );
        }
    };
    let Some(best) = found.places.first() else {
        return with_note(
            offline,
            format!(
                "the external geocoder ({kind}) found no match: answered from the offline gazetteer"
            ),
        );
    };
    // What the geocoder must beat: a clear candidate's precision; among several candidates, a
    // town's or neighbourhood's point is no better than the list, so it needs a road or better.
    let offline_best = match &offline {
        Ok(Answer::Places(p)) if p.clear => p.candidates.first().map(|c| c.precision),
        Ok(Answer::Places(_)) => Some(Precision::NeighbourhoodPoint),
        _ => None,
    };
    if let Some(o) = offline_best
        && best.precision.fineness() <= o.fineness()
    {
        return with_note(
            offline,
            format!(
                "the external geocoder ({kind}) placed the text no more precisely: answered from the offline gazetteer"
            ),
        );
    }
    let at = match best.position {
        Position::LonLat { lon, lat } => LonLat::new(lon, lat).ok(),
        Position::Bng { easting, northing } => Bng::new(easting, northing)
            .ok()
            .and_then(|b| ds.grid.to_lon_lat(b).ok()),
    };
    let Some(at) = at else {
        return with_note(
            offline,
            "external geocoder unavailable (its point is not a valid position): answered from the offline gazetteer".to_string(),
        );
    };
    let mut notes = Vec::new();
    if found.places.len() > 1 {
        notes.push(format!(
            "the external geocoder returned {} results; its first is used",
            found.places.len()
        ));
    }
    if found.cached {
        notes.push("the external geocoder's answer was taken from the cache".into());
    }
    // The address's postcode, when the table knows it and its centroid is near the
    // address point, decides the council by its ONS codes; the address point still
    // decides the band, zone and PCN. A postcode far from the point is not trusted.
    let resolution = match best
        .postcode
        .as_deref()
        .and_then(|p| match crate::engine::postcode::parse(p) {
            Ok(crate::engine::postcode::PostcodeQuery::Unit(pc)) => ds.postcodes.get(&pc),
            _ => None,
        })
        .filter(|rec| {
            rec.position
                .is_some_and(|p| p.distance_m(at) <= ADDRESS_POSTCODE_REACH_M)
        }) {
        Some(rec) => resolve_postcode(ds, rec, at, date),
        None => resolve(ds, at, date),
    };
    Ok(Answer::Point(PointAnswer {
        query: text.trim().to_string(),
        warnings: crate::engine::currency::point_warnings(&resolution),
        postcode: None,
        source: geocoder.source(),
        precision: best.precision,
        geocoded: Some(GeocodedFacts {
            provider: kind.to_string(),
            address: best.address.clone(),
            postcode: best.postcode.clone(),
            score: best.score,
            precision_note: precision_note(best.precision).into(),
            results: found.places.len(),
            attribution: geocoder.attribution(best),
        }),
        notes,
        resolution,
    }))
}

/// Farthest an external geocoder's address point may lie from the centroid of the postcode it
/// gives for that postcode's ONS codes to decide the council (metres): a postcode unit spans a
/// few hundred metres, rarely more than a kilometre or two in the country.
pub const ADDRESS_POSTCODE_REACH_M: f64 = 2_000.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_house_number_and_a_road_word_read_as_an_address() {
        assert!(looks_like_address("12 Mill Road, Aylsham"));
        assert!(looks_like_address("Flat 3, 12a Blickling Loke"));
        assert!(!looks_like_address("Mill Road, Aylsham"));
        assert!(!looks_like_address("Aylsham 12"));
    }

    #[test]
    fn the_backoff_doubles_from_the_base_for_the_configured_retries() {
        use backon::BackoffBuilder;
        let waits: Vec<u128> = backoff_policy(4).build().map(|d| d.as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
        assert_eq!(backoff_policy(0).build().next(), None);
    }

    #[test]
    fn a_short_retry_after_is_honoured_and_a_long_one_ends_the_retries() {
        let ms = Duration::from_millis;
        assert_eq!(retry_wait(Some(ms(100)), None), Some(ms(100)));
        assert_eq!(retry_wait(Some(ms(100)), Some(ms(1000))), Some(ms(1000)));
        assert_eq!(retry_wait(Some(ms(400)), Some(ms(0))), Some(ms(400)));
        assert_eq!(
            retry_wait(Some(ms(100)), Some(ms(MAX_RETRY_AFTER_MS))),
            Some(ms(2000))
        );
        assert_eq!(
            retry_wait(Some(ms(100)), Some(ms(MAX_RETRY_AFTER_MS + 1))),
            None
        );
        assert_eq!(retry_wait(None, Some(ms(1000))), None, "retries used up");
        assert_eq!(retry_wait(None, None), None);
    }
}
