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
//! log_queries = false                  # true logs postcodes and points: debugging only
//! admin_token = "a-long-random-string" # enables POST /admin/reload
//!
//! [limits]
//! max_body_bytes = 262144
//! max_query_bytes = 2048
//! client_request_timeout_ms = 5000
//! keep_alive_s = 5
//! workers = 0                          # 0: one per CPU core
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

/// The address `careband serve` listens on when nothing else is set.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Default largest request body, bytes (a bulk request of [`crate::api::BULK_CAP`] postcode
/// queries is well under this).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Default longest query string, bytes.
pub const DEFAULT_MAX_QUERY_BYTES: usize = 2048;

/// Default time a client has to send its request headers, milliseconds.
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT_MS: u64 = 5000;

/// Default keep-alive of idle connections, seconds.
pub const DEFAULT_KEEP_ALIVE_S: u64 = 5;

/// Default log filter (`tracing` env-filter syntax).
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// Default time one geocoder request may take, milliseconds.
pub const DEFAULT_GEOCODER_TIMEOUT_MS: u64 = 2000;

/// Longest geocoder timeout accepted, milliseconds (a lookup waits for it).
pub const MAX_GEOCODER_TIMEOUT_MS: u64 = 30_000;

/// Default retries of a failed geocoder request (timeouts, connection errors, 5xx, 429).
pub const DEFAULT_GEOCODER_RETRIES: u32 = 1;

/// Most retries accepted.
pub const MAX_GEOCODER_RETRIES: u32 = 5;

/// Default geocoder answers cached.
pub const DEFAULT_GEOCODER_CACHE_ENTRIES: usize = 1000;

/// Default time a cached geocoder answer is used, seconds (one day).
pub const DEFAULT_GEOCODER_CACHE_TTL_S: u64 = 86_400;

/// Default consecutive failures that open the geocoder's circuit breaker.
pub const DEFAULT_GEOCODER_FAILURE_THRESHOLD: u32 = 5;

/// Default time the breaker stays open before one probe request, seconds.
pub const DEFAULT_GEOCODER_COOLDOWN_S: u64 = 30;

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
    /// Log the query (postcode, address text, coordinates) of each lookup. Off by default
    /// because a query is a person's address.
    pub log_queries: bool,
    /// Bearer token for `POST /admin/reload`; the route answers 404 when unset.
    pub admin_token: Option<String>,
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
            log_queries: false,
            admin_token: None,
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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_query_bytes: DEFAULT_MAX_QUERY_BYTES,
            client_request_timeout_ms: DEFAULT_CLIENT_REQUEST_TIMEOUT_MS,
            keep_alive_s: DEFAULT_KEEP_ALIVE_S,
            workers: 0,
        }
    }
}

/// The wire format of an external geocoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeocoderKind {
    /// A Nominatim-compatible `/search` endpoint (`format=jsonv2`).
    Nominatim,
    /// An OS Places-style `/find` endpoint (`results[].DPA`).
    OsPlaces,
}

impl GeocoderKind {
    /// The name used in settings and in answers' `source` (`geocoder:<name>`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nominatim => "nominatim",
            Self::OsPlaces => "os-places",
        }
    }
}

impl std::str::FromStr for GeocoderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "nominatim" => Ok(Self::Nominatim),
            "os-places" => Ok(Self::OsPlaces),
            other => Err(format!(
                "{other:?} is not a geocoder kind: use \"nominatim\" or \"os-places\""
            )),
        }
    }
}

/// Settings of the optional external geocoder (the `[geocoder]` table).
///
/// The API key is never written in the file: `key_env` names the environment variable that
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeocoderConfig {
    /// Wire format.
    pub kind: GeocoderKind,
    /// Base URL; `search` (Nominatim) or `find` (OS Places) is appended.
    pub url: String,
    /// Name of the environment variable holding the API key (required for `os-places`).
    #[serde(default)]
    pub key_env: Option<String>,
    /// Time one request may take, milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of a request that timed out, could not connect, or got a 5xx or 429.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Answers cached (0 turns the cache off).
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// Time a cached answer is used, seconds.
    #[serde(default = "default_cache_ttl_s")]
    pub cache_ttl_s: u64,
    /// Consecutive failed lookups that open the circuit breaker.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Time the breaker stays open before one probe, seconds.
    #[serde(default = "default_cooldown_s")]
    pub cooldown_s: u64,
    /// `User-Agent` sent (Nominatim's usage policy asks for one that identifies the
    /// application); default `careband/<version>`.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Nominatim: send the loaded schemes' bounding box as `viewbox`, preferring results in it.
    #[serde(default = "default_true")]
    pub viewbox: bool,
    /// Nominatim: only accept results inside that box (`bounded=1`).
    #[serde(default)]
    pub bounded: bool,
    /// Attribution shown with the geocoder's answers; default: the service's own licence line
    /// if it sends one, else the usual one for the kind.
    #[serde(default)]
    pub attribution: Option<String>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_GEOCODER_TIMEOUT_MS
}
fn default_retries() -> u32 {
    DEFAULT_GEOCODER_RETRIES
}
fn default_cache_entries() -> usize {
    DEFAULT_GEOCODER_CACHE_ENTRIES
}
fn default_cache_ttl_s() -> u64 {
    DEFAULT_GEOCODER_CACHE_TTL_S
}
fn default_failure_threshold() -> u32 {
    DEFAULT_GEOCODER_FAILURE_THRESHOLD
}
fn default_cooldown_s() -> u64 {
    DEFAULT_GEOCODER_COOLDOWN_S
}
fn default_true() -> bool {
    true
}

impl GeocoderConfig {
    /// Settings for `kind` at `url`, everything else at its default.
    #[must_use]
    pub fn new(kind: GeocoderKind, url: impl Into<String>) -> Self {
        Self {
            kind,
            url: url.into(),
            key_env: None,
            timeout_ms: DEFAULT_GEOCODER_TIMEOUT_MS,
            retries: DEFAULT_GEOCODER_RETRIES,
            cache_entries: DEFAULT_GEOCODER_CACHE_ENTRIES,
            cache_ttl_s: DEFAULT_GEOCODER_CACHE_TTL_S,
            failure_threshold: DEFAULT_GEOCODER_FAILURE_THRESHOLD,
            cooldown_s: DEFAULT_GEOCODER_COOLDOWN_S,
            user_agent: None,
            viewbox: true,
            bounded: false,
            attribution: None,
        }
    }

    /// Checks the values and reads the API key from the environment variable `key_env` names.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting: a URL that is not http(s), a key sent over
    /// plain http to another machine, out-of-range numbers, an `os-places` geocoder without
    /// `key_env`, or a `key_env` variable that is unset or empty. The key itself is never
    /// part of a message.
    pub fn check(&self) -> Result<Option<ApiKey>, ConfigError> {
        let invalid = |field, message: String| ConfigError::Invalid { field, message };
        let url = reqwest::Url::parse(&self.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(
                    "geocoder.url",
                    format!(
                        "{:?} is not an http(s) URL like https://nominatim.example/",
                        self.url
                    ),
                )
            })?;
        if !(1..=MAX_GEOCODER_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(invalid(
                "geocoder.timeout_ms",
                format!("must be from 1 to {MAX_GEOCODER_TIMEOUT_MS}"),
            ));
        }
        if self.retries > MAX_GEOCODER_RETRIES {
            return Err(invalid(
                "geocoder.retries",
                format!("must be at most {MAX_GEOCODER_RETRIES}"),
            ));
        }
        if self.failure_threshold == 0 {
            return Err(invalid(
                "geocoder.failure_threshold",
                "must be above 0".into(),
            ));
        }
        let Some(var) = self.key_env.as_deref() else {
            if self.kind == GeocoderKind::OsPlaces {
                return Err(invalid(
                    "geocoder.key_env",
                    "an os-places geocoder needs an API key: name the environment variable that holds it".into(),
                ));
            }
            return Ok(None);
        };
        let loopback = url.host_str().is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        });
        if url.scheme() == "http" && !loopback {
            return Err(invalid(
                "geocoder.url",
                "an API key is only sent over https (plain http is allowed to this machine only)"
                    .into(),
            ));
        }
        match std::env::var(var) {
            Ok(k) if !k.trim().is_empty() => Ok(Some(ApiKey(k.trim().to_string()))),
            Ok(_) => Err(invalid(
                "geocoder.key_env",
                format!(
                    "environment variable {var} is empty; it should hold the geocoder's API key"
                ),
            )),
            Err(_) => Err(invalid(
                "geocoder.key_env",
                format!(
                    "environment variable {var} is not set; it should hold the geocoder's API key"
                ),
            )),
        }
    }
}

/// A geocoder API key. Its `Debug` form hides it, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key, for the request only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<hidden>)")
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
    fn a_missing_key_variable_is_named_and_the_key_never_shown() {
        let mut g = GeocoderConfig::new(GeocoderKind::OsPlaces, "https://api.example/places/");
        let e = g.check().unwrap_err().to_string();
        assert!(
            e.contains("geocoder.key_env") && e.contains("API key"),
            "{e}"
        );
        g.key_env = Some("CAREBAND_TEST_GEOCODER_KEY_THAT_IS_NOT_SET".into());
        let e = g.check().unwrap_err().to_string();
        assert!(
            e.contains(
                "environment variable CAREBAND_TEST_GEOCODER_KEY_THAT_IS_NOT_SET is not set"
            ),
            "{e}"
        );
        // A variable every test run has, standing in for a key.
        g.key_env = Some("PATH".into());
        let key = g.check().unwrap().unwrap();
        assert!(!format!("{key:?}").contains('/'), "{key:?}");
    }

    #[test]
    fn a_key_goes_over_plain_http_only_to_this_machine() {
        let mut g = GeocoderConfig::new(GeocoderKind::Nominatim, "http://geocoder.example/");
        g.key_env = Some("PATH".into());
        let e = g.check().unwrap_err().to_string();
        assert!(e.contains("https"), "{e}");
        g.url = "http://127.0.0.1:8088/".into();
        assert!(g.check().is_ok());
        g.url = "ftp://geocoder.example/".into();
        assert!(g.check().is_err());
    }

    #[test]
    fn geocoder_numbers_out_of_range_name_the_setting() {
        let mut g = GeocoderConfig::new(GeocoderKind::Nominatim, "https://x.example/");
        g.retries = MAX_GEOCODER_RETRIES + 1;
        assert!(
            g.check()
                .unwrap_err()
                .to_string()
                .contains("geocoder.retries")
        );
        g.retries = 0;
        g.timeout_ms = 0;
        assert!(
            g.check()
                .unwrap_err()
                .to_string()
                .contains("geocoder.timeout_ms")
        );
    }
}
