//! UK postcodes as people type them: parsing, normalising and classifying.
//!
//! Pure: no I/O. A full postcode ("unit") is an outward code (area letters + district) and an
//! inward code (sector digit + two unit letters): `NR1 1AA`, `NR25 7PQ`, `SW1A 1AA`. People also
//! type partial codes: the outward code (`NR1`), a sector (`NR1 1`) or an area (`NR`); these are
//! recognised as such so callers can answer them honestly instead of guessing.

use std::fmt;

/// A valid, normalised full postcode: upper case, one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode(String);

impl Postcode {
    /// The normalised text, e.g. `NR1 1AA`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code (`NR1`).
    #[must_use]
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or_default()
    }

    /// The sector (`NR1 1`).
    #[must_use]
    pub fn sector(&self) -> &str {
        &self.0[..self.0.len() - 2]
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a typed postcode-like string turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostcodeQuery {
    /// A complete postcode.
    Unit(Postcode),
    /// A postcode sector such as `NR1 1` (outward code + sector digit).
    Sector(String),
    /// An outward code (postcode district) such as `NR1` or `NR25`.
    District(String),
    /// A postcode area: one or two letters such as `NR`.
    Area(String),
}

impl PostcodeQuery {
    /// The normalised text of the query (`NR1 1AA`, `NR1 1`, `NR1`, `NR`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unit(p) => p.as_str(),
            Self::Sector(s) | Self::District(s) | Self::Area(s) => s,
        }
    }
}

/// Why a string is not a UK postcode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PostcodeError {
    /// Nothing but spaces.
    #[error("the postcode is empty")]
    Empty,
    /// A character no postcode contains.
    #[error("{0:?} cannot appear in a UK postcode (only letters, digits and spaces)")]
    BadCharacter(char),
    /// Longer than any UK postcode.
    #[error("{0:?} is too long for a UK postcode (at most 7 letters and digits)")]
    TooLong(String),
    /// The outward code is malformed.
    #[error("{text:?} is not a UK postcode: {why}")]
    BadOutward {
        /// The normalised input.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The inward code is malformed.
    #[error(
        "{text:?} is not a UK postcode: the last part must be a digit and two letters, like \"1AA\""
    )]
    BadInward {
        /// The normalised input.
        text: String,
    },
}

/// Letters never used in the inward code's unit letters (Royal Mail rule).
const NOT_IN_INWARD: &[u8] = b"CIKMOV";

/// Parses a postcode as a person might type it: any case, any spacing.
///
/// A string with a space in the middle is split there; without one, a 5-7 character string is
/// read as a full postcode and a shorter one as an outward code (`NR11` is district NR11, not
/// sector `NR1 1`: type the space for a sector).
///
/// # Errors
/// [`PostcodeError`] saying what is wrong.
///
/// ```
/// # use careband::engine::postcode::{parse, PostcodeQuery};
/// assert_eq!(parse(" nr11aa ").unwrap().as_str(), "NR1 1AA");
/// assert_eq!(parse("nr1  1").unwrap(), PostcodeQuery::Sector("NR1 1".into()));
/// assert_eq!(parse("NR25").unwrap(), PostcodeQuery::District("NR25".into()));
/// assert!(parse("NR1 1A!").is_err());
/// ```
pub fn parse(input: &str) -> Result<PostcodeQuery, PostcodeError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PostcodeError::Empty);
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !c.is_whitespace())
    {
        return Err(PostcodeError::BadCharacter(c));
    }
    // Upper-cased letters and digits without the spaces, on the stack: a postcode has at most
    // seven, and every character is ASCII by now.
    let mut buf = [0u8; 7];
    let mut len = 0;
    let mut words = 0;
    let mut first_len = 0;
    for word in trimmed.split_whitespace() {
        for b in word.bytes() {
            let Some(slot) = buf.get_mut(len) else {
                return Err(PostcodeError::TooLong(trimmed.to_string()));
            };
            *slot = b.to_ascii_uppercase();
            len += 1;
        }
        if words == 0 {
            first_len = word.len();
        }
        words += 1;
    }
    let compact = std::str::from_utf8(&buf[..len]).map_err(|_| PostcodeError::Empty)?;
    let (first, rest) = compact.split_at(first_len.min(len));
    match (words, rest.len()) {
        (1, _) if len >= 5 => {
            let (out, inw) = compact.split_at(len - 3);
            unit(out, inw)
        }
        (1, _) => outward_or_area(compact),
        (2, 3) => unit(first, rest),
        (2, 1) => {
            check_outward(first)?;
            if rest.as_bytes()[0].is_ascii_digit() {
                Ok(PostcodeQuery::Sector(format!("{first} {rest}")))
            } else {
                Err(PostcodeError::BadInward {
                    text: format!("{first} {rest}"),
                })
            }
        }
        _ => {
            // Odd internal spacing such as "N R 1 1AA": fall back to the compact form.
            if len >= 5 {
                let (out, inw) = compact.split_at(len - 3);
                unit(out, inw)
            } else {
                outward_or_area(compact)
            }
        }
    }
}

fn unit(out: &str, inw: &str) -> Result<PostcodeQuery, PostcodeError> {
    if out == "GIR" && inw == "0AA" {
        return Ok(PostcodeQuery::Unit(Postcode("GIR 0AA".into())));
    }
    check_outward(out)?;
    let b = inw.as_bytes();
    let ok = b.len() == 3
        && b[0].is_ascii_digit()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphabetic() && !NOT_IN_INWARD.contains(c));
    let mut code = String::with_capacity(out.len() + 1 + inw.len());
    code.push_str(out);
    code.push(' ');
    code.push_str(inw);
    if !ok {
        return Err(PostcodeError::BadInward { text: code });
    }
    Ok(PostcodeQuery::Unit(Postcode(code)))
}

fn outward_or_area(s: &str) -> Result<PostcodeQuery, PostcodeError> {
    if (1..=2).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphabetic()) {
        return Ok(PostcodeQuery::Area(s.to_string()));
    }
    check_outward(s)?;
    Ok(PostcodeQuery::District(s.to_string()))
}

/// Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A.
fn check_outward(s: &str) -> Result<(), PostcodeError> {
    let b = s.as_bytes();
    let bad = |why| {
        Err(PostcodeError::BadOutward {
            text: s.to_string(),
            why,
        })
    };
    if !(2..=4).contains(&b.len()) {
        return bad("the first part must be 2 to 4 letters and digits, like \"NR1\" or \"NR25\"");
    }
    if !b[0].is_ascii_alphabetic() {
        return bad("it must start with a letter");
    }
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if letters > 2 {
        return bad("the area at the start has at most two letters");
    }
    let rest = &b[letters..];
    let shape_ok = match rest {
        [d] => d.is_ascii_digit(),
        [d1, x] => d1.is_ascii_digit() && (x.is_ascii_digit() || x.is_ascii_alphabetic()),
        _ => false,
    };
    if !shape_ok {
        return bad(
            "after the area letters comes a district number, like \"NR1\", \"NR25\" or \"SW1A\"",
        );
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit_str(s: &str) -> String {
        match parse(s) {
            Ok(PostcodeQuery::Unit(p)) => p.to_string(),
            other => panic!("{s:?} should be a unit, got {other:?}"),
        }
    }

    #[test]
    fn case_and_spacing_are_normalised() {
        for input in [
            "NR1 1AA",
            "nr11aa",
            " nr1 1aa ",
            "NR1   1AA",
            "Nr1\t1aA",
            "N R 1 1 A A",
        ] {
            assert_eq!(unit_str(input), "NR1 1AA", "input {input:?}");
        }
        assert_eq!(unit_str("nr257pq"), "NR25 7PQ");
        assert_eq!(unit_str("sw1a1aa"), "SW1A 1AA");
        assert_eq!(unit_str("bs11aa"), "BS1 1AA");
        assert_eq!(unit_str("gir0aa"), "GIR 0AA");
    }

    #[test]
    fn partial_codes_are_classified() {
        assert_eq!(parse("NR").unwrap(), PostcodeQuery::Area("NR".into()));
        assert_eq!(parse("nr1").unwrap(), PostcodeQuery::District("NR1".into()));
        assert_eq!(
            parse("NR25").unwrap(),
            PostcodeQuery::District("NR25".into())
        );
        assert_eq!(
            parse("nr1 1").unwrap(),
            PostcodeQuery::Sector("NR1 1".into())
        );
        assert_eq!(
            parse("NR25 7").unwrap(),
            PostcodeQuery::Sector("NR25 7".into())
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(parse("   "), Err(PostcodeError::Empty));
        assert_eq!(parse("NR1-1AA"), Err(PostcodeError::BadCharacter('-')));
        assert!(matches!(parse("NR1 1AAAA"), Err(PostcodeError::TooLong(_))));
        assert!(matches!(
            parse("1NR 1AA"),
            Err(PostcodeError::BadOutward { .. })
        ));
        assert!(matches!(
            parse("NRX1 1AA"),
            Err(PostcodeError::BadOutward { .. })
        ));
        assert!(matches!(
            parse("NR1 AAA"),
            Err(PostcodeError::BadInward { .. })
        ));
        // C, I, K, M, O and V never appear in the unit letters.
        assert!(matches!(
            parse("NR1 1AC"),
            Err(PostcodeError::BadInward { .. })
        ));
        assert!(matches!(
            parse("NR1 X"),
            Err(PostcodeError::BadInward { .. })
        ));
        assert!(parse("hello").is_err());
        assert!(parse("NR1 1AA extra").is_err());
        assert!(matches!(
            parse("12345"),
            Err(PostcodeError::BadOutward { .. })
        ));
    }

    #[test]
    fn outward_and_sector_of_a_unit() {
        let PostcodeQuery::Unit(p) = parse("NR25 7PQ").unwrap() else {
            panic!("unit expected")
        };
        assert_eq!(p.outward(), "NR25");
        assert_eq!(p.sector(), "NR25 7");
    }

    /// A valid full postcode, normalised: an outward code of each of the six shapes with an
    /// inward code whose unit letters are ones Royal Mail uses, or the one exception GIR 0AA.
    pub(crate) fn valid_postcode() -> impl Strategy<Value = String> {
        let outward = prop_oneof![
            "[A-Z][0-9]",
            "[A-Z][0-9]{2}",
            "[A-Z]{2}[0-9]",
            "[A-Z]{2}[0-9]{2}",
            "[A-Z][0-9][A-Z]",
            "[A-Z]{2}[0-9][A-Z]",
        ];
        let inward = "[0-9][ABD-HJLNP-UW-Z]{2}";
        prop_oneof![
            20 => (outward, inward).prop_map(|(o, i)| format!("{o} {i}")),
            1 => Just("GIR 0AA".to_string()),
        ]
    }

    /// `code` with each letter in a random case.
    pub(crate) fn any_case(code: String) -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<bool>(), code.len()).prop_map(move |lower| {
            code.chars()
                .zip(lower)
                .map(|(c, l)| if l { c.to_ascii_lowercase() } else { c })
                .collect()
        })
    }

    /// A run of 0 to `max` whitespace characters, Unicode ones included.
    fn blanks(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![Just(' '), Just('\t'), Just('\u{a0}'), Just('\u{3000}')],
            0..=max,
        )
        .prop_map(String::from_iter)
    }

    /// A valid postcode in random case with whitespace before, after and between any of its
    /// characters (its own space included or not), and the normalised postcode.
    fn typed_postcode() -> impl Strategy<Value = (String, String)> {
        valid_postcode().prop_flat_map(|code| {
            let compact: String = code.chars().filter(|c| *c != ' ').collect();
            let gaps = proptest::collection::vec(blanks(2), compact.len() + 1);
            (any_case(compact), gaps, Just(code)).prop_map(|(chars, gaps, code)| {
                let mut typed = String::new();
                for (c, gap) in chars.chars().zip(&gaps) {
                    typed.push_str(gap);
                    typed.push(c);
                }
                typed.push_str(&gaps[gaps.len() - 1]);
                (typed, code)
            })
        })
    }

    /// Short strings of the characters postcodes are made of, to reach every branch.
    fn postcode_like() -> impl Strategy<Value = String> {
        "[A-Za-z0-9 \t]{0,10}"
    }

    proptest! {
        #[test]
        fn any_case_and_spacing_of_a_valid_postcode_parses_to_it(
            (typed, code) in typed_postcode(),
        ) {
            let words: Vec<&str> = typed.split_whitespace().collect();
            // Two words with a lone character last is a sector's shape ("NR1 1"), so a full
            // postcode typed that way ("NR11A A") is refused: see the next property.
            prop_assume!(!(words.len() == 2 && words[1].len() == 1));
            let parsed = parse(&typed);
            prop_assert!(
                matches!(&parsed, Ok(PostcodeQuery::Unit(p)) if p.as_str() == code),
                "{typed:?}: {parsed:?}"
            );
        }

        #[test]
        fn a_postcode_whose_last_letter_is_typed_apart_is_refused_not_misread(
            code in valid_postcode(),
            gap in "[ \t]{1,3}",
        ) {
            let compact: String = code.chars().filter(|c| *c != ' ').collect();
            let (head, last) = compact.split_at(compact.len() - 1);
            let typed = format!("{head}{gap}{last}");
            prop_assert!(parse(&typed).is_err(), "{typed:?}: {:?}", parse(&typed));
        }

        #[test]
        fn parse_never_panics(text in any::<String>(), near in postcode_like()) {
            let _ = parse(&text);
            let _ = parse(&near);
        }

        #[test]
        fn a_normalised_answer_parses_to_itself(text in postcode_like()) {
            if let Ok(q) = parse(&text) {
                prop_assert_eq!(parse(q.as_str()), Ok(q.clone()), "from {:?}", text);
                prop_assert_eq!(q.as_str(), q.as_str().to_ascii_uppercase());
                prop_assert!(!q.as_str().contains("  "));
            }
        }
    }
}
