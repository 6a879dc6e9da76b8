//! The deployment files: the example settings file read through the real config parser, and
//! `careband healthcheck` against the built server.
//!
//! The example must list every setting the parser knows. The list of settings is not written
//! here by hand: it is what the settings types themselves hand to serde
//! (`Deserializer::deserialize_struct`'s field list), so a setting added to the code and not to
//! the file fails this test.

use std::path::Path;

use careband::server::config::{GeocoderConfig, GeocoderKind, Limits, ServeConfig};
use serde::de::{self, Deserialize, Visitor};

use crate::common::cli::careband;
use crate::common::server::Server;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/careband.example.toml");

/// A deserializer that answers nothing and keeps the field list of the struct asked for.
struct FieldNames(Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names taken")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldNames {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The settings `T` reads, as serde's derive lists them.
fn fields_of<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut names = FieldNames(Vec::new());
    assert!(T::deserialize(&mut names).is_err());
    assert!(!names.0.is_empty(), "no field names were taken");
    names.0
}

/// Whether `key` is set in the lines of `section` (`""`: the top level), as `key = ` or as a
/// commented-out `# key = `.
fn listed(text: &str, section: &str, key: &str) -> bool {
    let mut current = String::new();
    text.lines().any(|line| {
        let bare = line.trim_start_matches('#').trim();
        if let Some(name) = bare.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            current = name.to_string();
            return false;
        }
        current == section && bare.starts_with(&format!("{key} ="))
    })
}

#[test]
fn the_example_settings_are_the_defaults() {
    // Parsed by the parser `serve --config` uses: what it sets is exactly the defaults, so the
    // file documents the defaults and changes nothing as shipped.
    let parsed = ServeConfig::from_file(Path::new(EXAMPLE)).unwrap();
    assert_eq!(parsed, ServeConfig::default());
    parsed.check().unwrap();
}

#[test]
fn the_example_lists_every_setting() {
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let top = fields_of::<ServeConfig>();
    // The field lists themselves, checked against the struct definitions by name.
    assert!(top.contains(&"listen") && top.contains(&"limits") && top.contains(&"geocoder"));
    let limits = fields_of::<Limits>();
    assert!(limits.contains(&"max_connections") && limits.contains(&"retry_after_s"));
    let geocoder = fields_of::<GeocoderConfig>();
    assert!(geocoder.contains(&"kind") && geocoder.contains(&"attribution"));

    let mut missing = Vec::new();
    for key in top.iter().filter(|k| !matches!(**k, "limits" | "geocoder")) {
        if !listed(&text, "", key) {
            missing.push((*key).to_string());
        }
    }
    for (section, keys) in [("limits", &limits), ("geocoder", &geocoder)] {
        assert!(
            text.lines()
                .any(|l| l.trim_start_matches('#').trim() == format!("[{section}]")),
            "no [{section}] table"
        );
        for key in keys {
            if !listed(&text, section, key) {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "settings missing from {EXAMPLE}: {missing:?}"
    );
}

#[test]
fn the_commented_out_settings_parse_when_uncommented() {
    // Every "# key = value" line and the "# [geocoder]" header uncommented in place: the file
    // must still parse, so the values it shows for the absent settings are real ones.
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let is_setting = |bare: &str| {
        (bare.starts_with('[') && bare.ends_with(']'))
            || bare.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    };
    let file: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(bare) if is_setting(bare) => format!("{bare}\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    let parsed = ServeConfig::from_toml(&file).unwrap_or_else(|e| panic!("{e}\n---\n{file}"));
    assert_eq!(
        parsed.data_dir.as_deref(),
        Some(Path::new("/var/lib/careband/geodata"))
    );
    assert_eq!(parsed.admin_listen.as_deref(), Some("127.0.0.1:9180"));
    assert!(parsed.admin_token.is_some());
    let g = parsed.geocoder.as_ref().unwrap();
    assert_eq!(g.kind, GeocoderKind::Nominatim);
    // Apart from the optional values it shows, the geocoder table is at its defaults
    // (GeocoderConfig::new is the constructor the flags use, with every default).
    let mut defaults = GeocoderConfig::new(g.kind, g.url.clone());
    defaults.key_env.clone_from(&g.key_env);
    defaults.user_agent.clone_from(&g.user_agent);
    defaults.attribution.clone_from(&g.attribution);
    assert_eq!(*g, defaults);
    // And the rest is still the defaults.
    assert_eq!(parsed.limits, Limits::default());
}

#[test]
fn healthcheck_passes_on_a_running_server_and_fails_on_a_closed_port() {
    let server = Server::start(&[]);
    let addr = server.addr.to_string();
    let ok = careband(&["healthcheck", "--listen", &addr]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.contains("/healthz"), "{}", ok.stderr);
    let ready = careband(&["healthcheck", "--listen", &addr, "--ready"]);
    assert_eq!(ready.code, 0, "{}", ready.stderr);
    assert!(ready.stderr.contains("/readyz"), "{}", ready.stderr);
    // The unspecified address is asked on loopback, where the server is.
    let any = careband(&[
        "healthcheck",
        "--listen",
        &format!("0.0.0.0:{}", server.addr.port()),
    ]);
    assert_eq!(any.code, 0, "{}", any.stderr);
    drop(server);
    // The server is gone: nothing listens on its port.
    let down = careband(&["healthcheck", "--listen", &addr, "--timeout-ms", "500"]);
    assert_eq!(down.code, 1, "{}", down.stderr);
}

#[test]
fn healthcheck_refuses_a_bad_address_with_exit_2() {
    let bad = careband(&["healthcheck", "--listen", "not-an-address"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("not an address"), "{}", bad.stderr);
}
