//! The JSON samples of `docs/http-api.md` against the real router: every sample that follows a
//! `curl` GET must be what careband answers for that request, so a sample can never drift from
//! the code (a scheme version, a count, a field renamed).
//!
//! A sample may leave things out, as the docs say, with `…`: a `…` value stands for any value;
//! a `…` where a key would be, or a `"…"` key, for the rest of an object; a trailing `…` in an
//! array for more elements; a string ending in `…` for any string that starts the same. Every
//! key a sample shows must be in the answer with the value shown (numbers to six significant
//! decimals).

use std::fmt::Write as _;

use serde_json::Value;

use crate::common::http::get;

/// What `…` becomes where a value goes.
const ANY: &str = "<any value>";
/// The key `…` becomes where a key goes.
const REST: &str = "<the rest>";

/// The sample's text as JSON, each `…` outside a string made a marker.
fn lenient(sample: &str) -> String {
    let mut out = String::with_capacity(sample.len());
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let last_significant = |out: &str| out.trim_end().chars().last();
    for c in sample.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                stack.push(c);
                out.push(c);
            }
            '}' | ']' => {
                stack.pop();
                out.push(c);
            }
            '…' => {
                let key_place =
                    stack.last() == Some(&'{') && matches!(last_significant(&out), Some('{' | ','));
                if key_place {
                    let _ = write!(out, "\"{REST}\": \"{ANY}\"");
                } else {
                    let _ = write!(out, "\"{ANY}\"");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Checks that `real` is what `sample` shows, saying where it is not.
fn check(sample: &Value, real: &Value, at: &str, errors: &mut Vec<String>) {
    match (sample, real) {
        (Value::String(s), _) if s == ANY => {}
        (Value::String(s), Value::String(r)) if s.ends_with('…') => {
            let prefix = s.trim_end_matches('…');
            if !r.starts_with(prefix) {
                errors.push(format!("{at}: the docs show {s:?}, careband answers {r:?}"));
            }
        }
        (Value::Object(s), Value::Object(r)) => {
            for (k, v) in s {
                if k == REST || k == "…" {
                    continue;
                }
                match r.get(k) {
                    Some(rv) => check(v, rv, &format!("{at}.{k}"), errors),
                    None => errors.push(format!(
                        "{at}: the docs show {k:?}, careband has no such field"
                    )),
                }
            }
        }
        (Value::Array(s), Value::Array(r)) => {
            let is_any = |v: &Value| v.as_str() == Some(ANY);
            if !s.iter().any(is_any) {
                if r.len() != s.len() {
                    errors.push(format!(
                        "{at}: the docs show {} elements, careband answers {}",
                        s.len(),
                        r.len()
                    ));
                }
                for (i, (sv, rv)) in s.iter().zip(r).enumerate() {
                    check(sv, rv, &format!("{at}[{i}]"), errors);
                }
                return;
            }
            // With `…` in it, the elements shown must come in this order, with any number
            // of others where a `…` is (and none before the first unless a `…` leads).
            let mut next = 0;
            let mut gap = false;
            for sv in s {
                if is_any(sv) {
                    gap = true;
                    continue;
                }
                let mut tries = if gap {
                    next..r.len()
                } else {
                    next..(next + 1).min(r.len())
                };
                let found = tries.find(|&i| {
                    let mut e = Vec::new();
                    check(sv, &r[i], "", &mut e);
                    e.is_empty()
                });
                let Some(i) = found else {
                    match r.get(next) {
                        Some(rv) if !gap => check(sv, rv, &format!("{at}[{next}]"), errors),
                        _ => errors.push(format!("{at}: no element from index {next} on is {sv}")),
                    }
                    return;
                };
                next = i + 1;
                gap = false;
            }
            if !gap && next != r.len() {
                errors.push(format!(
                    "{at}: the docs show {next} elements, careband answers {}",
                    r.len()
                ));
            }
        }
        (Value::Number(s), Value::Number(r)) => {
            let (a, b) = (s.as_f64().unwrap(), r.as_f64().unwrap());
            if (a - b).abs() > 1e-6 * a.abs().max(1.0) {
                errors.push(format!("{at}: the docs show {a}, careband answers {b}"));
            }
        }
        _ if sample == real => {}
        _ => errors.push(format!(
            "{at}: the docs show {sample}, careband answers {real}"
        )),
    }
}

/// The GET requests of a `sh` block: `curl 'http://127.0.0.1:8080/...'` lines without `-X`,
/// `-G` or a request body, as paths with their query.
fn get_paths(block: &str) -> Vec<String> {
    block
        .lines()
        .filter(|l| l.starts_with("curl ") && !l.contains(" -X") && !l.contains(" -G"))
        .filter_map(|l| {
            let start = l.find("'http://127.0.0.1:8080")? + "'http://127.0.0.1:8080".len();
            let end = start + l[start..].find('\'')?;
            Some(l[start..end].to_string())
        })
        .collect()
}

/// Every `sh` block of GET requests followed by a `json` block: (requests, sample, line).
fn samples() -> Vec<(Vec<String>, String, usize)> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/http-api.md"),
    )
    .unwrap();
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "```sh" {
            let end = i + 1 + lines[i + 1..].iter().position(|l| *l == "```").unwrap();
            let paths = get_paths(&lines[i + 1..end].join("\n"));
            let mut j = end + 1;
            while j < lines.len() && lines[j].trim().is_empty() {
                j += 1;
            }
            if !paths.is_empty() && j < lines.len() && lines[j] == "```json" {
                let close = j + 1 + lines[j + 1..].iter().position(|l| *l == "```").unwrap();
                out.push((paths, lines[j + 1..close].join("\n"), j + 1));
            }
            i = end;
        }
        i += 1;
    }
    out
}

#[actix_web::test]
async fn every_json_sample_after_a_get_is_what_careband_answers() {
    let samples = samples();
    assert!(samples.len() >= 6, "found only {} samples", samples.len());
    let mut failures = Vec::new();
    for (paths, text, line) in samples {
        let json = lenient(&text);
        let sample: Value = serde_json::from_str(&json).unwrap_or_else(|e| {
            panic!("docs/http-api.md line {line}: not JSON even with … read ({e}):\n{json}")
        });
        // The sample is the answer of one of the block's requests.
        let mut best: Option<Vec<String>> = None;
        for path in &paths {
            let r = get(path).await;
            let Ok(real) = serde_json::from_slice::<Value>(&r.body) else {
                continue;
            };
            let mut errors = Vec::new();
            check(&sample, &real, "", &mut errors);
            if best.as_ref().is_none_or(|b| errors.len() < b.len()) {
                best = Some(errors);
            }
        }
        match best {
            Some(errors) if errors.is_empty() => {}
            Some(errors) => failures.push(format!(
                "docs/http-api.md line {line} ({}):\n  {}",
                paths.join(" or "),
                errors.join("\n  ")
            )),
            None => failures.push(format!(
                "docs/http-api.md line {line}: no JSON answer from {paths:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_ellipsis_reads_as_any_value_or_the_rest_and_a_difference_is_found() {
    let sample: Value = serde_json::from_str(&lenient(
        r#"{"a": 1, "b": …, "c": ["x", …], "d": "Nor…", …}"#,
    ))
    .unwrap();
    let same: Value =
        serde_json::json!({"a": 1.000_000_1, "b": [1], "c": ["x", "y"], "d": "Norfolk", "e": 0});
    let mut errors = Vec::new();
    check(&sample, &same, "", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let other: Value = serde_json::json!({"a": 2, "b": null, "c": [], "d": "Bristol"});
    check(&sample, &other, "", &mut errors);
    assert_eq!(errors.len(), 3, "{errors:?}");
}
