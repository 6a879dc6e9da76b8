//! What a user gave, read as a query: a postcode (full or partial), a WGS84 or BNG point, or
//! free text, in which a full postcode is looked for.
//!
//! Pure: no I/O. Every entry point (the command line, the HTTP API, batch rows) reads its
//! input through these functions, so an input means the same thing everywhere.

use serde::Serialize;

use crate::engine::postcode::{self, PostcodeQuery};

/// A lookup as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Postcode text, full or partial, any case and spacing.
    Postcode(String),
    /// A WGS84 point.
    Point {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// A British National Grid point, metres.
    Bng {
        /// Easting.
        easting: f64,
        /// Northing.
        northing: f64,
    },
    /// Free text: an address, a road and locality, or a place name. A full postcode in it wins.
    Text(String),
}

/// Where in free text the postcode was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextMatch {
    /// The text as given at that place (`nr1 1aa`).
    pub text: String,
    /// Its start, in characters from the start of `q`.
    pub start: usize,
    /// Its end (exclusive), in characters.
    pub end: usize,
    /// The postcode it was read as (`NR1 1AA`).
    pub postcode: String,
}

/// Finds the last full postcode in free text, written with or without its space
/// (`..., Norwich NR1 1AA`, `nr11aa`).
///
/// Postcodes normally end an address, so the last one wins; house numbers and flat letters
/// before it cannot be mistaken for one because a match needs a whole outward code and a
/// whole inward code (digit + two letters).
///
/// ```
/// # use careband::engine::query::find_postcode;
/// let m = find_postcode("Flat 2, 10 Rose Lane, Norwich nr1 1aa, UK").unwrap();
/// assert_eq!(m.postcode, "NR1 1AA");
/// assert_eq!(m.text, "nr1 1aa");
/// assert!(find_postcode("10 Rose Lane, Norwich").is_none());
/// ```
#[must_use]
pub fn find_postcode(text: &str) -> Option<TextMatch> {
    // Runs of ASCII letters and digits, with their char offsets and byte spans.
    let mut tokens: Vec<(usize, usize, usize, usize)> = Vec::new(); // (char start, char end, byte start, byte end)
    let mut current: Option<(usize, usize)> = None;
    let mut chars = 0;
    for (byte, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            current.get_or_insert((chars, byte));
        } else if let Some((cs, bs)) = current.take() {
            tokens.push((cs, chars, bs, byte));
        }
        chars += 1;
    }
    if let Some((cs, bs)) = current {
        tokens.push((cs, chars, bs, text.len()));
    }
    let unit = |s: &str| match postcode::parse(s) {
        Ok(PostcodeQuery::Unit(p)) => Some(p.to_string()),
        _ => None,
    };
    for i in (0..tokens.len()).rev() {
        let (cs, ce, bs, be) = tokens[i];
        let here = &text[bs..be];
        if let Some(&(_, ce2, bs2, be2)) = tokens.get(i + 1) {
            let next = &text[bs2..be2];
            // Only a single space may separate the two halves ("NR1 1AA"), not a comma.
            let gap = &text[be..bs2];
            if next.len() == 3
                && (2..=4).contains(&here.len())
                && gap.chars().all(char::is_whitespace)
                && let Some(p) = unit(&format!("{here} {next}"))
            {
                return Some(TextMatch {
                    text: text[bs..be2].to_string(),
                    start: cs,
                    end: ce2,
                    postcode: p,
                });
            }
        }
        if (5..=7).contains(&here.len())
            && let Some(p) = unit(here)
        {
            return Some(TextMatch {
                text: here.to_string(),
                start: cs,
                end: ce,
                postcode: p,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::postcode::tests::{any_case, valid_postcode};
    use proptest::prelude::*;

    #[test]
    fn the_postcode_at_the_end_of_an_address_is_found() {
        let m = find_postcode("12 High St, Wymondham, NR18 0AA").unwrap();
        assert_eq!(m.postcode, "NR18 0AA");
        assert_eq!((m.start, m.end), (23, 31));
        assert_eq!(m.text, "NR18 0AA");
    }

    #[test]
    fn a_postcode_without_its_space_is_found() {
        let m = find_postcode("Norwich nr11aa").unwrap();
        assert_eq!(m.postcode, "NR1 1AA");
        assert_eq!(m.text, "nr11aa");
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let m = find_postcode("Café Row — NR1 1AA").unwrap();
        assert_eq!((m.start, m.end), (11, 18));
        assert_eq!(m.text, "NR1 1AA");
    }

    #[test]
    fn house_numbers_and_partial_codes_are_not_postcodes() {
        assert!(find_postcode("Flat 2A, 10 Rose Lane").is_none());
        assert!(find_postcode("NR1").is_none());
        assert!(find_postcode("").is_none());
        // A comma between the halves is not a postcode's space.
        assert!(find_postcode("NR1, 1AA").is_none());
    }

    #[test]
    fn the_last_postcode_wins() {
        assert_eq!(
            find_postcode("from NR1 1AA to NR2 2BB").unwrap().postcode,
            "NR2 2BB"
        );
    }

    /// The characters `start..end` of `text`.
    fn chars(text: &str, start: usize, end: usize) -> String {
        text.chars().skip(start).take(end - start).collect()
    }

    /// A valid postcode as it might end an address: random case, written with its space (or
    /// another run of whitespace) or without one; and the normalised postcode.
    fn written_postcode() -> impl Strategy<Value = (String, String)> {
        (
            valid_postcode(),
            prop_oneof![Just(""), Just(" "), Just("  "), Just("\t"), Just("\u{a0}")],
        )
            .prop_flat_map(|(code, space)| {
                let written = code.replacen(' ', space, 1);
                (any_case(written), Just(code))
            })
    }

    /// Text of any Unicode characters, with runs of ASCII letters and digits mixed in so that
    /// postcode-like tokens (and real postcodes) turn up.
    fn address_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![any::<String>(), "[A-Za-z0-9]{1,7}", "[ ,.\t—é]{1,2}"],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn a_postcode_after_a_separator_is_found_where_it_stands(
            before in address_like(),
            separator in "[^A-Za-z0-9]{1,3}",
            (written, code) in written_postcode(),
            after in "[^A-Za-z0-9]{0,3}",
        ) {
            let text = format!("{before}{separator}{written}{after}");
            let m = find_postcode(&text);
            prop_assert!(m.is_some(), "{text:?}");
            let m = m.unwrap();
            prop_assert_eq!(&m.postcode, &code);
            prop_assert_eq!(&m.text, &written);
            let start = before.chars().count() + separator.chars().count();
            prop_assert_eq!((m.start, m.end), (start, start + written.chars().count()));
            prop_assert_eq!(chars(&text, m.start, m.end), written);
        }

        #[test]
        fn any_text_is_read_without_panicking_and_a_match_slices_back(text in address_like()) {
            if let Some(m) = find_postcode(&text) {
                prop_assert!(m.start < m.end);
                prop_assert_eq!(chars(&text, m.start, m.end), m.text.clone());
                let parsed = postcode::parse(&m.text);
                prop_assert!(
                    matches!(&parsed, Ok(PostcodeQuery::Unit(p)) if p.as_str() == m.postcode),
                    "{:?}: {parsed:?}",
                    m.text
                );
            }
        }
    }
}
