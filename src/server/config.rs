//! Settings of `careband serve`: where to listen, which data to serve, CORS, limits, logging.
//!
//! Settings come from three places, later ones winning: the defaults below, an optional TOML
//! file, then the command line and `CAREBAND_*` environment variables (merged by the binary,
//! which owns the flags). This module only defines the settings, reads the file and checks the
//! result; it starts nothing.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data_dir = "/srv/careband/geodata"   # absent: the data embedded in the binary
//! cors_origins = ["https://council.example"]   # ["*"] allows any origin
//! log_level = "info"
//! log_format = "text"                  # or "json": one JSON object a line
//! log_queries = false                  # true logs postcodes and points: debugging only
//! admin_token = "a-long-random-string" # enables POST /admin/reload
//! admin_listen = "127.0.0.1:9180"      # a separate listener for /admin/reload and /metrics
//!
//! [limits]
//! max_body_bytes = 262144
//! max_query_bytes = 2048
//! client_request_timeout_ms = 5000
//! keep_alive_s = 5
//! workers = 0                          # 0: one per CPU core
//! body_idle_timeout_ms = 10000         # longest pause between two pieces of a body (then 408)
//! request_deadline_ms = 120000         # the whole body must have arrived by then (then 408)
//! max_connections = 4096               # open connections, all workers together
//! max_connections_per_ip = 128         # open connections from one client address; 0: no cap
//! pressure_percent = 75                # above this share of max_connections open: under pressure
//! pressure_body_timeout_ms = 1000      # under pressure, a body not all there by then: 408
//! min_body_bytes_per_s = 1024          # slower bodies (after the grace): 408; 0: no minimum
//! min_body_rate_grace_ms = 10000       # time a body gets before its rate is checked
//! shutdown_timeout_s = 30              # drain after SIGTERM before cutting requests
//! pool_threads = 0                     # expensive work; 0: one fewer than the cores (at least 1)
//! pool_low_priority = true             # run expensive work at the lowest OS priority
//! pool_queue = 16                      # bulk/area/place/band requests running or waiting
//! batch_concurrency = 2                # batch uploads read and answered at once
//! batch_queue = 4                      # batch uploads waiting for a turn (bodies unread)
//! work_budget = 50000                  # postcodes one request may resolve
//! retry_after_s = 5                    # Retry-After of a 503 queue_full
//!
//! [geocoder]                           # absent: no external geocoder (the default)
//! kind = "nominatim"                   # or "os-places"
//! url = "https://nominatim.example/"   # base URL; /search or /find is added
//! key_env = "CAREBAND_GEOCODER_KEY"    # the variable holding the API key, if one is needed
//! timeout_ms = 2000
//! retries = 1
//! cache_entries = 1000
//! cache_ttl_s = 86400
//! failure_threshold = 5
//! cooldown_s = 30
//! user_agent = "careband (council.example)"
//! viewbox = true                       # Nominatim: prefer the loaded schemes' area
//! bounded = false                      # Nominatim: only results inside that area
//! attribution = "..."                  # shown with its answers; default per kind
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::geocoder::config::{
    DEFAULT_GEOCODER_TIMEOUT_MS, GeocoderConfig, GeocoderKind, SettingError,
};

/// The address `careband serve` listens on when nothing else is set.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Default largest request body, bytes (a bulk request of [`crate::server::BULK_CAP`] postcode
/// queries is well under this).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Default longest query string, bytes.
pub const DEFAULT_MAX_QUERY_BYTES: usize = 2048;

/// Default time a client has to send its request headers, milliseconds.
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT_MS: u64 = 5000;

/// Default keep-alive of idle connections, seconds.
pub const DEFAULT_KEEP_ALIVE_S: u64 = 5;

/// Default longest pause between two pieces of a request body, milliseconds.
pub const DEFAULT_BODY_IDLE_TIMEOUT_MS: u64 = 10_000;

/// Default time from the end of a request's headers by which its whole body must have
/// arrived, milliseconds. Long enough for a 32 MiB batch upload at about 2 Mbit/s.
pub const DEFAULT_REQUEST_DEADLINE_MS: u64 = 120_000;

/// Default cap on open connections, all workers together.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Default cap on open connections from one client IP address.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 128;

/// Default share of [`DEFAULT_MAX_CONNECTIONS`] (percent) above which the server is under
/// pressure and request bodies get [`DEFAULT_PRESSURE_BODY_TIMEOUT_MS`].
pub const DEFAULT_PRESSURE_PERCENT: u64 = 75;

/// Default time a request body gets, from its first read, while the server is under pressure,
/// milliseconds. A lookup body (256 KiB at most) takes well under that on any link that is
/// not trickling.
pub const DEFAULT_PRESSURE_BODY_TIMEOUT_MS: u64 = 1000;

/// Default slowest average rate of a request body after [`DEFAULT_MIN_BODY_RATE_GRACE_MS`],
/// bytes a second (8 kbit/s: a fifth of the slowest mobile data link).
pub const DEFAULT_MIN_BODY_BYTES_PER_S: u64 = 1024;

/// Default time a request body gets before its average rate is checked, milliseconds.
pub const DEFAULT_MIN_BODY_RATE_GRACE_MS: u64 = 10_000;

/// Default time requests in flight get to finish after a stop signal, seconds.
pub const DEFAULT_SHUTDOWN_TIMEOUT_S: u64 = 30;
/// Default number of bulk, area-summary, place-search and band-drawing requests running or
/// waiting on the expensive-work pool at once; more get 503.
pub const DEFAULT_POOL_QUEUE: usize = 16;

/// Default number of batch uploads read and answered at once (each may hold up to
/// [`crate::server::BATCH_MAX_BYTES`] of body in memory).
pub const DEFAULT_BATCH_CONCURRENCY: usize = 2;

/// Default number of batch uploads waiting for a turn, their bodies not yet read; more get
/// 503.
pub const DEFAULT_BATCH_QUEUE: usize = 4;

/// Default number of postcodes one request may resolve for area summaries and place extents
/// (the largest postcode area of the shipped data, BS, has about 47,000 postcodes).
pub const DEFAULT_WORK_BUDGET: u64 = 50_000;

/// Default `Retry-After` of a 503 `queue_full`, seconds.
pub const DEFAULT_RETRY_AFTER_S: u64 = 5;

/// Default log filter (`tracing` env-filter syntax).
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// How `careband serve` writes its log lines (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `key=value` text, in colour on a terminal unless `NO_COLOR` is set.
    #[default]
    Text,
    /// One JSON object a line, never coloured.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "{other:?} is not a log format: use \"text\" or \"json\""
            )),
        }
    }
}

/// Whether log text is coloured: only on a terminal, and not when the `NO_COLOR` variable is
/// set to anything but the empty string (<https://no-color.org>).
#[must_use]
pub fn use_colour(no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Everything `careband serve` needs to start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Socket address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: String,
    /// Data directory laid out like `geodata/`; `None` serves the embedded copy.
    pub data_dir: Option<PathBuf>,
    /// Origins allowed to call the API from a browser; `*` allows any; empty allows none.
    pub cors_origins: Vec<String>,
    /// Request limits and timeouts.
    pub limits: Limits,
    /// Log filter, e.g. `info` or `careband=debug,actix_web=warn`.
    pub log_level: String,
    /// How log lines are written: `text` (key=value) or `json` (one object a line).
    pub log_format: LogFormat,
    /// Log the query (postcode, address text, coordinates) of each lookup. Off by default
    /// because a query is a person's address.
    pub log_queries: bool,
    /// Bearer token for `POST /admin/reload`; the route answers 404 when unset.
    pub admin_token: Option<String>,
    /// A second listener for the operator's routes (`/admin/reload`, `/metrics`, and the
    /// health routes). When set, the public listener answers 404 for `/admin/reload` and
    /// `/metrics`. When unset, they are on the public listener, `/admin/reload` only if that
    /// listens on a loopback address (see [`ServeConfig::admin_on_public`]).
    pub admin_listen: Option<String>,
    /// The optional external geocoder; `None` (the default) answers everything offline.
    pub geocoder: Option<GeocoderConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            data_dir: None,
            cors_origins: Vec::new(),
            limits: Limits::default(),
            log_level: DEFAULT_LOG_LEVEL.into(),
            log_format: LogFormat::Text,
            log_queries: false,
            admin_token: None,
            admin_listen: None,
            geocoder: None,
        }
    }
}

/// Request limits and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Longest query string, bytes (longer: 414).
    pub max_query_bytes: usize,
    /// Time a client has to send its request headers, milliseconds (then 408).
    pub client_request_timeout_ms: u64,
    /// How long an idle keep-alive connection stays open, seconds (0 turns keep-alive off).
    pub keep_alive_s: u64,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Longest pause between two pieces of a request body, milliseconds (then 408 and the
    /// connection is closed).
    pub body_idle_timeout_ms: u64,
    /// Time from the first read of a request's body (just after its headers; for a batch
    /// waiting for its turn, when the turn comes) by which all of it must have arrived,
    /// milliseconds (then 408 and the connection is closed). The headers themselves have
    /// `client_request_timeout_ms`.
    pub request_deadline_ms: u64,
    /// Open connections, all workers together; further clients wait in the listen backlog
    /// until one closes. Lowered at start-up to fit under the open-file limit.
    pub max_connections: usize,
    /// Open connections from one client IP address; a request on a connection over the cap
    /// gets 429 and the connection is closed. 0 turns the cap off (behind a reverse proxy
    /// every client has the proxy's address).
    pub max_connections_per_ip: usize,
    /// Share of `max_connections` (percent, 1 to 100) above which the server is under
    /// pressure (and stays so for twice `pressure_body_timeout_ms` after): request bodies then get
    /// `pressure_body_timeout_ms` and answers close their connections. 0 turns this off.
    pub pressure_percent: u64,
    /// Under pressure, the time from a request body's first read by which all of it must
    /// have arrived, milliseconds (then 408 and the connection is closed).
    pub pressure_body_timeout_ms: u64,
    /// Slowest average rate of a request body, bytes a second, checked once it has been read
    /// for `min_body_rate_grace_ms` (slower: 408 and the connection is closed). 0 turns the
    /// check off.
    pub min_body_bytes_per_s: u64,
    /// Time a request body is read before its average rate is checked, milliseconds.
    pub min_body_rate_grace_ms: u64,
    /// After SIGTERM, the time requests in flight get to finish, seconds; then
    /// their connections are closed without the rest of the answer.
    pub shutdown_timeout_s: u64,
    /// Threads of the pool that runs expensive work (batches, bulk requests, area summaries,
    /// place searches, band drawings); 0 means one fewer than the CPU cores, at least 1, so
    /// single lookups always have a core.
    pub pool_threads: usize,
    /// Run the expensive-work threads at the lowest OS priority (niceness 19), so they take
    /// the CPU only when single lookups leave it idle.
    pub pool_low_priority: bool,
    /// Bulk, area-summary, place-search and band-drawing requests running or waiting on the
    /// pool at once; more get 503 `queue_full`.
    pub pool_queue: usize,
    /// Batch uploads read and answered at once.
    pub batch_concurrency: usize,
    /// Batch uploads waiting for a turn, their bodies not yet read; more get 503 `queue_full`.
    pub batch_queue: usize,
    /// Postcodes one request may resolve for area summaries and place extents (shared by the
    /// queries of a bulk request); more: 400 `over_budget`.
    pub work_budget: u64,
    /// `Retry-After` of a 503 `queue_full`, seconds.
    pub retry_after_s: u64,
}

impl Limits {
    /// The expensive-work pool's thread count: [`Limits::pool_threads`], or for 0 one fewer
    /// than the CPU cores, at least 1.
    #[must_use]
    pub fn pool_thread_count(&self) -> usize {
        if self.pool_threads > 0 {
            return self.pool_threads;
        }
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .saturating_sub(1)
            .max(1)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_query_bytes: DEFAULT_MAX_QUERY_BYTES,
            client_request_timeout_ms: DEFAULT_CLIENT_REQUEST_TIMEOUT_MS,
            keep_alive_s: DEFAULT_KEEP_ALIVE_S,
            workers: 0,
            body_idle_timeout_ms: DEFAULT_BODY_IDLE_TIMEOUT_MS,
            request_deadline_ms: DEFAULT_REQUEST_DEADLINE_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            pressure_percent: DEFAULT_PRESSURE_PERCENT,
            pressure_body_timeout_ms: DEFAULT_PRESSURE_BODY_TIMEOUT_MS,
            min_body_bytes_per_s: DEFAULT_MIN_BODY_BYTES_PER_S,
            min_body_rate_grace_ms: DEFAULT_MIN_BODY_RATE_GRACE_MS,
            shutdown_timeout_s: DEFAULT_SHUTDOWN_TIMEOUT_S,
            pool_threads: 0,
            pool_low_priority: true,
            pool_queue: DEFAULT_POOL_QUEUE,
            batch_concurrency: DEFAULT_BATCH_CONCURRENCY,
            batch_queue: DEFAULT_BATCH_QUEUE,
            work_budget: DEFAULT_WORK_BUDGET,
            retry_after_s: DEFAULT_RETRY_AFTER_S,
        }
    }
}

/// Why the settings were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("config file {}: {message}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A geocoder setting has an unusable value.
    #[error(transparent)]
    Geocoder(#[from] SettingError),
    /// A setting has an unusable value.
    #[error("setting {field}: {message}")]
    Invalid {
        /// The setting's name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ServeConfig {
    /// Reads settings from a TOML file; settings it leaves out keep their defaults.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`] (unknown keys are refused, so a typo
    /// does not go unnoticed).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses settings from TOML text.
    ///
    /// # Errors
    /// The parser's message when the text is not valid settings.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Checks values that parse but cannot work, and returns the listen address.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting.
    pub fn check(&self) -> Result<SocketAddr, ConfigError> {
        let invalid = |field, message: String| ConfigError::Invalid { field, message };
        let addr: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            )
        })?;
        if self.limits.max_body_bytes == 0 {
            return Err(invalid("limits.max_body_bytes", "must be above 0".into()));
        }
        if self.limits.max_query_bytes == 0 {
            return Err(invalid("limits.max_query_bytes", "must be above 0".into()));
        }
        for (field, zero) in [
            (
                "limits.body_idle_timeout_ms",
                self.limits.body_idle_timeout_ms == 0,
            ),
            (
                "limits.request_deadline_ms",
                self.limits.request_deadline_ms == 0,
            ),
            ("limits.max_connections", self.limits.max_connections == 0),
            (
                "limits.pressure_body_timeout_ms",
                self.limits.pressure_body_timeout_ms == 0,
            ),
            (
                "limits.min_body_rate_grace_ms",
                self.limits.min_body_rate_grace_ms == 0,
            ),
            ("limits.pool_queue", self.limits.pool_queue == 0),
            (
                "limits.batch_concurrency",
                self.limits.batch_concurrency == 0,
            ),
            ("limits.work_budget", self.limits.work_budget == 0),
        ] {
            if zero {
                return Err(invalid(field, "must be above 0".into()));
            }
        }
        if self.limits.pressure_percent > 100 {
            return Err(invalid(
                "limits.pressure_percent",
                format!(
                    "{} is not a share of max_connections from 1 to 100 (0 turns it off)",
                    self.limits.pressure_percent
                ),
            ));
        }
        self.admin_addr()?;
        for o in &self.cors_origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(invalid(
                    "cors_origins",
                    format!("{o:?} is not \"*\" or an origin like https://council.example"),
                ));
            }
        }
        if let Some(g) = &self.geocoder {
            g.check()?;
        }
        if self.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "admin_token",
                "must be at least 16 characters".into(),
            ));
        }
        Ok(addr)
    }

    /// The admin listener's address, when one is set.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `admin_listen` is not a socket address.
    pub fn admin_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.admin_listen
            .as_deref()
            .map(|a| {
                a.parse().map_err(|_| ConfigError::Invalid {
                    field: "admin_listen",
                    message: format!("{a:?} is not an address like 127.0.0.1:9180"),
                })
            })
            .transpose()
    }

    /// Whether the public listener serves `POST /admin/reload`: only when no admin listener
    /// is set and the public listener is on a loopback address, so that no address reachable
    /// from another machine offers the admin route unless `admin_listen` says so.
    #[must_use]
    pub fn admin_on_public(&self) -> bool {
        self.admin_listen.is_none()
            && self
                .listen
                .parse::<SocketAddr>()
                .is_ok_and(|a| a.ip().is_loopback())
    }

    /// Whether the public listener serves `GET /metrics`: when no admin listener is set.
    #[must_use]
    pub fn metrics_on_public(&self) -> bool {
        self.admin_listen.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let c = ServeConfig::from_toml("").unwrap();
        assert_eq!(c, ServeConfig::default());
        assert_eq!(c.check().unwrap().to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn a_file_overrides_only_what_it_names() {
        let c = ServeConfig::from_toml(
            "listen = \"0.0.0.0:9000\"\ncors_origins = [\"*\"]\n[limits]\nmax_body_bytes = 10\n",
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.cors_origins, ["*"]);
        assert_eq!(c.limits.max_body_bytes, 10);
        assert_eq!(c.limits.max_query_bytes, DEFAULT_MAX_QUERY_BYTES);
        assert!(!c.log_queries);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = ServeConfig::from_toml("listn = \"x\"").unwrap_err();
        assert!(e.contains("listn"), "{e}");
    }

    #[test]
    fn unusable_values_name_the_setting() {
        let c = ServeConfig {
            listen: "localhost".into(),
            ..ServeConfig::default()
        };
        assert!(matches!(
            c.check(),
            Err(ConfigError::Invalid {
                field: "listen",
                ..
            })
        ));
        let c = ServeConfig {
            cors_origins: vec!["council.example".into()],
            ..ServeConfig::default()
        };
        assert!(matches!(
            c.check(),
            Err(ConfigError::Invalid {
                field: "cors_origins",
                ..
            })
        ));
    }

    #[test]
    fn the_admin_route_is_public_only_on_a_loopback_listener_without_admin_listen() {
        let mut c = ServeConfig::default();
        assert!(c.admin_on_public() && c.metrics_on_public());
        c.listen = "[::1]:8080".into();
        assert!(c.admin_on_public());
        c.listen = "0.0.0.0:8080".into();
        assert!(!c.admin_on_public(), "reachable from other machines");
        assert!(c.metrics_on_public());
        let c = ServeConfig::from_toml("admin_listen = \"127.0.0.1:9180\"\n").unwrap();
        assert!(!c.admin_on_public() && !c.metrics_on_public());
        assert_eq!(
            c.admin_addr().unwrap().unwrap().to_string(),
            "127.0.0.1:9180"
        );
        let c = ServeConfig {
            admin_listen: Some("localhost".into()),
            ..ServeConfig::default()
        };
        assert!(matches!(
            c.check(),
            Err(ConfigError::Invalid {
                field: "admin_listen",
                ..
            })
        ));
    }

    #[test]
    fn connection_and_body_limits_have_safe_defaults_and_refuse_zero() {
        let l = Limits::default();
        assert_eq!(l.max_connections_per_ip, DEFAULT_MAX_CONNECTIONS_PER_IP);
        assert!(l.body_idle_timeout_ms < l.request_deadline_ms);
        let c = ServeConfig::from_toml("[limits]\nbody_idle_timeout_ms = 0\n").unwrap();
        assert!(matches!(
            c.check(),
            Err(ConfigError::Invalid {
                field: "limits.body_idle_timeout_ms",
                ..
            })
        ));
        let c = ServeConfig::from_toml(
            "[limits]\nmax_connections_per_ip = 0\nshutdown_timeout_s = 5\n",
        )
        .unwrap();
        assert!(c.check().is_ok(), "0 turns the per-address cap off");
        assert_eq!(c.limits.shutdown_timeout_s, 5);
    }

    #[test]
    fn admission_settings_have_safe_defaults_and_refuse_unusable_values() {
        let l = Limits::default();
        assert_eq!(l.pressure_percent, 75);
        // A slow mobile link (50 KB/s) is far above the minimum rate, and the pressure timeout
        // is far below the idle timeout it shortens.
        assert!(l.min_body_bytes_per_s < 50_000 / 10);
        assert!(l.pressure_body_timeout_ms < l.body_idle_timeout_ms);
        let c =
            ServeConfig::from_toml("[limits]\npressure_percent = 0\nmin_body_bytes_per_s = 0\n")
                .unwrap();
        assert!(c.check().is_ok(), "0 turns each off");
        for (text, field) in [
            ("pressure_percent = 101", "limits.pressure_percent"),
            (
                "pressure_body_timeout_ms = 0",
                "limits.pressure_body_timeout_ms",
            ),
            (
                "min_body_rate_grace_ms = 0",
                "limits.min_body_rate_grace_ms",
            ),
        ] {
            let c = ServeConfig::from_toml(&format!("[limits]\n{text}\n")).unwrap();
            match c.check() {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_geocoder_is_off_unless_its_table_is_given() {
        assert!(ServeConfig::from_toml("").unwrap().geocoder.is_none());
        let c = ServeConfig::from_toml(
            "[geocoder]\nkind = \"nominatim\"\nurl = \"https://nominatim.example/\"\n",
        )
        .unwrap();
        let g = c.geocoder.as_ref().unwrap();
        assert_eq!(g.kind, GeocoderKind::Nominatim);
        assert_eq!(g.timeout_ms, DEFAULT_GEOCODER_TIMEOUT_MS);
        assert_eq!(g.check().unwrap(), None, "no key needed");
    }

    #[test]
    fn unknown_geocoder_keys_and_kinds_are_refused() {
        let e = ServeConfig::from_toml(
            "[geocoder]\nkind = \"nominatim\"\nurl = \"https://x.example/\"\napi_key = \"k\"\n",
        )
        .unwrap_err();
        assert!(e.contains("api_key"), "{e}");
        let e =
            ServeConfig::from_toml("[geocoder]\nkind = \"google\"\nurl = \"https://x.example/\"\n")
                .unwrap_err();
        assert!(e.contains("google"), "{e}");
    }

    #[test]
    fn log_format_reads_text_or_json_and_colour_follows_no_color() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
        let c: ServeConfig = toml::from_str("log_format = \"json\"").unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(ServeConfig::default().log_format, LogFormat::Text);
        let on = std::ffi::OsStr::new("1");
        assert!(use_colour(None, true));
        assert!(use_colour(Some(std::ffi::OsStr::new("")), true));
        assert!(!use_colour(Some(on), true));
        assert!(!use_colour(None, false));
    }
}
