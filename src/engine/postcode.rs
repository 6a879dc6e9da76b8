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
    /// The letters and digits of a postcode with a space in the wrong place (`NR11 AA`). It
    /// is not read as the postcode it may be: the space may be right and a character wrong.
    #[error("{text:?} has a space in the wrong place: did you mean {suggestion}?")]
    Misspaced {
        /// The input, trimmed.
        text: String,
        /// The postcode its letters and digits make (`NR1 1AA`).
        suggestion: String,
    },
    /// The two parts of a postcode joined by punctuation where the space belongs
    /// (`NR18-0UR`, `NR1, 1AA`).
    #[error(
        "{text:?} has {found:?} where the space of a postcode belongs: did you mean {suggestion}?"
    )]
    Separated {
        /// The input, trimmed.
        text: String,
        /// The first punctuation character between the parts.
        found: char,
        /// The postcode with a space instead (`NR18 0UR`).
        suggestion: String,
    },
    /// A letter O or I where only a digit fits (`PE3O 1EX`).
    #[error("{text:?} has the letter O or I where only a digit fits: did you mean {suggestion}?")]
    LetterForDigit {
        /// The input, trimmed.
        text: String,
        /// The postcode with digits there (`PE30 1EX`).
        suggestion: String,
    },
}

impl PostcodeError {
    /// The corrected postcode, for errors where the input can be corrected only one way.
    #[must_use]
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Self::Misspaced { suggestion, .. }
            | Self::Separated { suggestion, .. }
            | Self::LetterForDigit { suggestion, .. } => Some(suggestion),
            _ => None,
        }
    }
}

/// Punctuation people type between the two parts of a postcode instead of its space.
const SEPARATORS: &[char] = &['-', ',', '.', '/', '_'];

/// Most letters O and I tried as digits when looking for a correction.
const MAX_LETTER_FIXES: usize = 4;

/// Letters never used in the inward code's unit letters (Royal Mail rule).
const NOT_IN_INWARD: &[u8] = b"CIKMOV";

/// Parses a postcode as a person might type it: any case, and spacing that can be read only
/// one way.
///
/// Case, spaces around the postcode and a run of spaces in place of its one space are
/// normalised. A string with a space in the middle is split there; without one, a 5-7
/// character string is read as a full postcode and a shorter one as an outward code (`NR11` is
/// district NR11, not sector `NR1 1`: type the space for a sector).
///
/// Input that could be a postcode only if something were changed is refused, with the
/// corrected form in the error ([`PostcodeError::suggestion`]), never answered as that
/// postcode: a space in the wrong place (`NR11 AA`), punctuation where the space belongs
/// (`NR18-0UR`), and the letter O or I where only a digit fits (`PE3O 1EX`).
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
/// assert_eq!(parse("NR11 AA").unwrap_err().suggestion(), Some("NR1 1AA"));
/// assert_eq!(parse("NR18-0UR").unwrap_err().suggestion(), Some("NR18 0UR"));
/// assert_eq!(parse("PE3O 1EX").unwrap_err().suggestion(), Some("PE30 1EX"));
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
        return Err(separated(trimmed).unwrap_or(PostcodeError::BadCharacter(c)));
    }
    strict(trimmed).map_err(|e| letter_for_digit(trimmed).unwrap_or(e))
}

/// Two parts of a full postcode with punctuation (and perhaps spaces) between them and
/// nothing else: the error that suggests the postcode.
fn separated(trimmed: &str) -> Option<PostcodeError> {
    let (head, tail) = trimmed.split_once(|c: char| SEPARATORS.contains(&c))?;
    let found = trimmed[head.len()..].chars().next()?;
    let tail = tail.trim_start_matches(|c: char| c.is_whitespace() || SEPARATORS.contains(&c));
    let (head, tail) = (head.trim_end(), tail.trim_start());
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !word(head) || !word(tail) {
        return None;
    }
    match strict(&format!("{head} {tail}")) {
        Ok(PostcodeQuery::Unit(p)) => Some(PostcodeError::Separated {
            text: trimmed.to_string(),
            found,
            suggestion: p.to_string(),
        }),
        _ => None,
    }
}

/// The input read with some of its letters O and I as 0 and 1, where that (and nothing
/// less) makes a postcode: the error that suggests it. The first character is always a
/// letter, so it is never changed.
fn letter_for_digit(trimmed: &str) -> Option<PostcodeError> {
    let spots: Vec<usize> = trimmed
        .char_indices()
        .skip(1)
        .filter(|(_, c)| matches!(c.to_ascii_uppercase(), 'O' | 'I'))
        .map(|(i, _)| i)
        .take(MAX_LETTER_FIXES)
        .collect();
    let mut best: Option<(u32, String)> = None;
    for mask in 1u32..(1 << spots.len()) {
        let fixes = mask.count_ones();
        if best.as_ref().is_some_and(|(n, _)| *n <= fixes) {
            continue;
        }
        let mut bytes = trimmed.as_bytes().to_vec();
        for (bit, &i) in spots.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                bytes[i] = if bytes[i].eq_ignore_ascii_case(&b'O') {
                    b'0'
                } else {
                    b'1'
                };
            }
        }
        if let Ok(text) = String::from_utf8(bytes)
            && let Ok(q) = strict(&text)
        {
            best = Some((fixes, q.as_str().to_string()));
        }
    }
    best.map(|(_, suggestion)| PostcodeError::LetterForDigit {
        text: trimmed.to_string(),
        suggestion,
    })
}

/// The reading of letters, digits and whitespace, trimmed: case and runs of spaces are
/// normalised, anything else wrong is an error.
fn strict(trimmed: &str) -> Result<PostcodeQuery, PostcodeError> {
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
        (1, _) => compact_reading(compact),
        (2, 3) => unit(first, rest),
        (2, 1) if check_outward(first).is_ok() => {
            if rest.as_bytes()[0].is_ascii_digit() {
                Ok(PostcodeQuery::Sector(format!("{first} {rest}")))
            } else {
                Err(PostcodeError::BadInward {
                    text: format!("{first} {rest}"),
                })
            }
        }
        _ => {
            // A space anywhere but before the inward code ("NR11 AA", "N R1 1AA", "NR11A A"):
            // the letters and digits may make a postcode, but a misplaced space is as likely
            // a sign of a wrong character as of a slip of the space bar, so it is only
            // suggested.
            let q = compact_reading(compact)?;
            Err(PostcodeError::Misspaced {
                text: trimmed.to_string(),
                suggestion: q.as_str().to_string(),
            })
        }
    }
}

/// Letters and digits without spaces: a full postcode from five characters, else an outward
/// code or an area.
fn compact_reading(compact: &str) -> Result<PostcodeQuery, PostcodeError> {
    if compact.len() >= 5 {
        let (out, inw) = compact.split_at(compact.len() - 3);
        unit(out, inw)
    } else {
        outward_or_area(compact)
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
        // Royal Mail never ends an outward code with the letters I or O (they would read as
        // 1 and 0), so `PE3O` is refused and its correction suggested.
        [d1, x] => {
            d1.is_ascii_digit()
                && (x.is_ascii_digit() || (x.is_ascii_alphabetic() && !b"IO".contains(x)))
        }
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
            "nr1  1aa",
            " NR1 1AA\n",
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
        assert_eq!(parse("NR1!1AA"), Err(PostcodeError::BadCharacter('!')));
        assert_eq!(parse("NR1 1AA-"), Err(PostcodeError::BadCharacter('-')));
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

    /// The suggestion of a refused input, failing the test if there is none.
    fn suggestion(input: &str) -> String {
        match parse(input) {
            Err(e) => e
                .suggestion()
                .unwrap_or_else(|| panic!("{input:?}: no suggestion in {e:?}"))
                .to_string(),
            Ok(q) => panic!("{input:?} should be refused, got {q:?}"),
        }
    }

    #[test]
    fn a_space_in_the_wrong_place_is_refused_with_the_postcode_suggested() {
        // careband issue 12: these were answered as NR1 1AA and IP1 4AA.
        assert!(matches!(
            parse("NR11 AA"),
            Err(PostcodeError::Misspaced { .. })
        ));
        assert_eq!(suggestion("NR11 AA"), "NR1 1AA");
        assert_eq!(suggestion("IP14 AA"), "IP1 4AA");
        assert_eq!(suggestion("N R 1 1 A A"), "NR1 1AA");
        assert_eq!(suggestion("NR11A A"), "NR1 1AA");
        assert_eq!(suggestion("NR 1"), "NR1");
        // A space that makes a sector is read as one.
        assert_eq!(
            parse("NR11 1").unwrap(),
            PostcodeQuery::Sector("NR11 1".into())
        );
    }

    #[test]
    fn punctuation_where_the_space_belongs_is_refused_with_the_postcode_suggested() {
        assert_eq!(
            parse("NR18-0UR"),
            Err(PostcodeError::Separated {
                text: "NR18-0UR".into(),
                found: '-',
                suggestion: "NR18 0UR".into()
            })
        );
        assert_eq!(suggestion("NR1, 1AA"), "NR1 1AA");
        assert_eq!(suggestion("nr1 - 1aa"), "NR1 1AA");
        assert_eq!(suggestion("NR1/1AA"), "NR1 1AA");
        // Punctuation that does not join two parts of a postcode is just a bad character.
        assert_eq!(parse("NR1-1A"), Err(PostcodeError::BadCharacter('-')));
        assert_eq!(parse("NR-1"), Err(PostcodeError::BadCharacter('-')));
    }

    #[test]
    fn o_and_i_where_only_a_digit_fits_are_refused_with_the_postcode_suggested() {
        assert!(matches!(
            parse("PE3O 1EX"),
            Err(PostcodeError::LetterForDigit { .. })
        ));
        assert_eq!(suggestion("PE3O 1EX"), "PE30 1EX");
        assert_eq!(suggestion("NR1 IAA"), "NR1 1AA");
        assert_eq!(suggestion("nri 1aa"), "NR1 1AA");
        assert_eq!(suggestion("NR18 OUR"), "NR18 0UR");
        // Where a letter fits, O and I are letters: PO is Portsmouth's area.
        assert_eq!(unit_str("PO1 1AA"), "PO1 1AA");
    }

    /// A valid full postcode, normalised: an outward code of each of the six shapes with an
    /// inward code whose unit letters are ones Royal Mail uses, or the one exception GIR 0AA.
    pub(crate) fn valid_postcode() -> impl Strategy<Value = String> {
        let outward = prop_oneof![
            "[A-Z][0-9]",
            "[A-Z][0-9]{2}",
            "[A-Z]{2}[0-9]",
            "[A-Z]{2}[0-9]{2}",
            "[A-Z][0-9][A-HJ-NP-Z]",
            "[A-Z]{2}[0-9][A-HJ-NP-Z]",
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

    /// A valid postcode in random case with whitespace before and after it and none, one or
    /// a run of spaces where its own space is, and the normalised postcode.
    fn typed_postcode() -> impl Strategy<Value = (String, String)> {
        (valid_postcode(), blanks(2), blanks(2), blanks(2)).prop_flat_map(
            |(code, before, middle, after)| {
                let typed = format!("{before}{}{after}", code.replacen(' ', &middle, 1));
                (any_case(typed), Just(code))
            },
        )
    }

    /// Short strings of the characters postcodes are made of, to reach every branch.
    fn postcode_like() -> impl Strategy<Value = String> {
        "[A-Za-z0-9 \t]{0,10}"
    }

    proptest! {
        #[test]
        fn any_case_and_spacing_that_reads_one_way_parses_to_the_postcode(
            (typed, code) in typed_postcode(),
        ) {
            let parsed = parse(&typed);
            prop_assert!(
                matches!(&parsed, Ok(PostcodeQuery::Unit(p)) if p.as_str() == code),
                "{typed:?}: {parsed:?}"
            );
        }

        // Before issue 12 a space anywhere was dropped and the rest read as a postcode
        // ("NR11 AA" as NR1 1AA); only the last letter typed apart ("NR11A A", a sector's
        // shape) was refused. Now every misplaced space is refused, with the postcode
        // suggested.
        #[test]
        fn a_space_anywhere_but_before_the_inward_code_is_refused_with_the_postcode_suggested(
            code in valid_postcode(),
            at in any::<proptest::sample::Index>(),
            gap in "[ \t]{1,3}",
        ) {
            let compact: String = code.chars().filter(|c| *c != ' ').collect();
            // Between two characters, not where the postcode's own space goes.
            let places: Vec<usize> = (1..compact.len()).filter(|&i| i != compact.len() - 3).collect();
            let i = places[at.index(places.len())];
            let typed = format!("{}{gap}{}", &compact[..i], &compact[i..]);
            let parsed = parse(&typed);
            prop_assert!(
                matches!(&parsed, Err(PostcodeError::Misspaced { suggestion, .. }) if *suggestion == code),
                "{typed:?}: {parsed:?}"
            );
        }

        #[test]
        fn punctuation_between_the_two_parts_is_refused_with_the_postcode_suggested(
            code in valid_postcode(),
            sep in "[ ]?[-,./][ ]?",
        ) {
            let typed = code.replacen(' ', &sep, 1);
            let parsed = parse(&typed);
            prop_assert!(
                matches!(&parsed, Err(PostcodeError::Separated { suggestion, .. }) if *suggestion == code),
                "{typed:?}: {parsed:?}"
            );
        }

        #[test]
        fn o_or_i_for_the_inward_digit_is_refused_with_the_postcode_suggested(
            code in valid_postcode(),
        ) {
            let (out, inw) = code.split_at(code.len() - 3);
            prop_assume!(!out.contains(['O', 'I']));
            let letter = match inw.as_bytes()[0] {
                b'0' => 'O',
                b'1' => 'I',
                _ => return Ok(()),
            };
            let typed = format!("{out}{letter}{}", &inw[1..]);
            let parsed = parse(&typed);
            prop_assert!(
                matches!(&parsed, Err(PostcodeError::LetterForDigit { suggestion, .. }) if *suggestion == code),
                "{typed:?}: {parsed:?}"
            );
        }

        #[test]
        fn a_suggestion_always_parses(text in "[A-Za-z0-9OoIi ,./-]{0,10}") {
            if let Err(e) = parse(&text)
                && let Some(s) = e.suggestion()
            {
                prop_assert!(parse(s).is_ok(), "{text:?} suggested {s:?}: {:?}", parse(s));
            }
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
