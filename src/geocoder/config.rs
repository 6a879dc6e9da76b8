//! Settings of the optional external geocoder: the `[geocoder]` table of the server's
//! config file, also given by flags to `careband lookup`.

use serde::Deserialize;

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

/// Default rows of one batch run sent to the geocoder at most: none, so a file of clients'
/// addresses goes to a third party only when a council says so.
pub const DEFAULT_GEOCODER_BATCH_ROWS: u64 = 0;

/// Most rows of one batch run that may be sent to the geocoder.
pub const MAX_GEOCODER_BATCH_ROWS: u64 = 100_000;

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
    /// Rows of one batch run (a file or an upload) sent to the geocoder at most; later rows
    /// that would be sent are answered offline with a note. 0, the default: batch never
    /// sends addresses to it.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: u64,
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
fn default_batch_rows() -> u64 {
    DEFAULT_GEOCODER_BATCH_ROWS
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
            batch_rows: DEFAULT_GEOCODER_BATCH_ROWS,
            user_agent: None,
            viewbox: true,
            bounded: false,
            attribution: None,
        }
    }

    /// Checks the values and reads the API key from the environment variable `key_env` names.
    ///
    /// # Errors
    /// [`SettingError`] naming the setting: a URL that is not http(s), a key sent over
    /// plain http to another machine, out-of-range numbers, an `os-places` geocoder without
    /// `key_env`, or a `key_env` variable that is unset or empty. The key itself is never
    /// part of a message.
    pub fn check(&self) -> Result<Option<ApiKey>, SettingError> {
        let invalid = |field, message: String| SettingError { field, message };
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
        if self.batch_rows > MAX_GEOCODER_BATCH_ROWS {
            return Err(invalid(
                "geocoder.batch_rows",
                format!("must be at most {MAX_GEOCODER_BATCH_ROWS}"),
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

/// A setting with an unusable value.
#[derive(Debug, thiserror::Error)]
#[error("setting {field}: {message}")]
pub struct SettingError {
    /// The setting's name, as in the config file (`geocoder.timeout_ms`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
