//! Query-string names checked against the ones a route takes, so that a misspelt parameter
//! (`dat=2018-06-01`) is refused, naming the nearest known one, instead of silently ignored.

use crate::server::error::{ApiError, ErrorCode};

/// Longest edit distance at which a known name is offered for an unknown one.
const NEAREST_MAX_EDITS: usize = 2;

/// The known name closest to `name` (Damerau-Levenshtein, case-insensitive), if one is near.
/// Of names equally near, the one sharing the longest start wins: `dat` is one edit from both
/// `lat` and `date`, and means `date`.
fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let shared = |k: &str| {
        lower
            .bytes()
            .zip(k.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&lower, k), *k))
        .filter(|(d, _)| *d <= NEAREST_MAX_EDITS)
        .min_by_key(|(d, k)| (*d, std::cmp::Reverse(shared(k))))
        .map(|(_, k)| k)
}

/// Refuses the first parameter of `query_string` (raw, as received) that is not in `known`,
/// with a message naming it and the nearest known name.
///
/// # Errors
/// A 400 `unknown_parameter` whose `field` is the parameter as given (percent-decoded).
pub(crate) fn check_known(query_string: &str, known: &[&str]) -> Result<(), ApiError> {
    for pair in query_string.split('&').filter(|p| !p.is_empty()) {
        let raw = pair.split_once('=').map_or(pair, |(k, _)| k);
        let name = decode(raw);
        if known.contains(&name.as_str()) {
            continue;
        }
        let hint = match (nearest(&name, known), known) {
            (Some(k), _) => format!(" (did you mean '{k}'?)"),
            (None, []) => " (this route takes no parameters)".to_string(),
            (None, _) => format!(" (the parameters are {})", known.join(", ")),
        };
        return Err(ApiError::bad(
            ErrorCode::UnknownParameter,
            Some(&name),
            format!("unknown parameter '{name}'{hint}"),
        ));
    }
    Ok(())
}

/// The first name given more than once in `query_string` (raw, as received), percent-decoded.
pub(crate) fn repeated(query_string: &str) -> Option<String> {
    // A set, not a list: a query string within the length limit can still hold thousands of
    // names, and this runs before anything else looks at it.
    let mut seen = std::collections::HashSet::new();
    for pair in query_string.split('&').filter(|p| !p.is_empty()) {
        let name = decode(pair.split_once('=').map_or(pair, |(k, _)| k));
        if seen.contains(&name) {
            return Some(name);
        }
        seen.insert(name);
    }
    None
}

/// A query-string name percent-decoded (`+` is a space); bytes that are not UTF-8 are
/// replaced.
fn decode(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_parameter_is_refused_naming_the_nearest() {
        let known = ["postcode", "lat", "lon", "q", "date"];
        let e = check_known("postcode=NR1%201AA&dat=2018-06-01", &known).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnknownParameter);
        assert_eq!(
            e.to_string(),
            "unknown parameter 'dat' (did you mean 'date'?)"
        );
        assert_eq!(e.detail().field.as_deref(), Some("dat"));
    }

    #[test]
    fn known_parameters_and_empty_pairs_pass() {
        assert!(check_known("q=a&date=2019-01-01&&", &["q", "date"]).is_ok());
        assert!(check_known("", &[]).is_ok());
        assert!(check_known("d%61te=1", &["date"]).is_ok());
    }

    #[test]
    fn a_repeated_name_is_found_however_it_is_written() {
        assert_eq!(repeated("q=a&date=1&q=b"), Some("q".to_string()));
        assert_eq!(repeated("date=1&d%61te=1"), Some("date".to_string()));
        assert_eq!(repeated("q=a&date=1&&"), None);
        assert_eq!(repeated(""), None);
    }

    #[test]
    fn a_name_far_from_every_known_one_lists_them() {
        let e = check_known("zzzzzz=1", &["q", "limit"]).unwrap_err();
        assert!(
            e.to_string().ends_with("(the parameters are q, limit)"),
            "{e}"
        );
        let e = check_known("x=1", &[]).unwrap_err();
        assert!(e.to_string().contains("takes no parameters"), "{e}");
        // Broken escapes do not panic.
        assert!(check_known("%=1&%4=2&%zz=3", &[]).is_err());
    }
}
