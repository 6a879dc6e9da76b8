//! The one reader of a date a user gives: `--date` on the command line, `date=` on every HTTP
//! route, the `date` of a bulk query. Pure: no clock, no I/O.
//!
//! A date is exactly `YYYY-MM-DD` (four digits, two, two, ASCII hyphens, nothing around them)
//! naming a real calendar day from [`MIN_DATE`] to [`MAX_DATE`]. chrono's own `%Y-%m-%d`
//! reading is looser (`2019-6-1`, `+2019-06-01`, `-2019-01-01` and year 0 all pass), so it is
//! not used for input.

use chrono::NaiveDate;

/// The earliest date accepted: well before any scheme's first rate period.
pub const MIN_DATE: NaiveDate = NaiveDate::from_ymd_opt(1990, 1, 1).expect("1990-01-01 is a date");

/// The latest date accepted.
pub const MAX_DATE: NaiveDate =
    NaiveDate::from_ymd_opt(2100, 12, 31).expect("2100-12-31 is a date");

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not written `YYYY-MM-DD`.
    #[error("a date must be written YYYY-MM-DD, e.g. 2019-04-08")]
    Format,
    /// Written `YYYY-MM-DD` but no such day (`2019-02-30`, month 13).
    #[error("there is no such day: a date must be a real calendar day written YYYY-MM-DD")]
    NoSuchDay,
    /// A real day outside [`MIN_DATE`]..=[`MAX_DATE`].
    #[error("the date must be from {MIN_DATE} to {MAX_DATE}")]
    OutOfRange,
}

/// Reads a date written exactly `YYYY-MM-DD`, from [`MIN_DATE`] to [`MAX_DATE`].
///
/// # Errors
/// [`DateError`] saying what is wrong with the text.
///
/// ```
/// # use careband::engine::date::{parse_date, DateError};
/// assert_eq!(parse_date("2019-04-08").unwrap().to_string(), "2019-04-08");
/// assert_eq!(parse_date("2019-6-1"), Err(DateError::Format));
/// assert_eq!(parse_date("2019-02-29"), Err(DateError::NoSuchDay));
/// assert_eq!(parse_date("0000-01-01"), Err(DateError::OutOfRange));
/// ```
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return Err(DateError::Format);
    }
    if !digits(5..7) || !digits(8..10) {
        return Err(DateError::Format);
    }
    let number =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let year = i32::try_from(number(0..4)).map_err(|_| DateError::Format)?;
    let date =
        NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)).ok_or(DateError::NoSuchDay)?;
    if (MIN_DATE..=MAX_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    #[test]
    fn the_loose_forms_chrono_accepts_are_refused() {
        for text in [
            "2019-6-1",
            "-2019-01-01",
            "+2019-01-01",
            "2019-06-01 ",
            " 2019-06-01",
            "20190601",
            "2019/06/01",
            "2019-06-01T00:00",
            "2019-06-1",
            "2019-٠٦-01",
            "",
        ] {
            assert_eq!(parse_date(text), Err(DateError::Format), "{text:?}");
        }
    }

    #[test]
    fn the_range_ends_are_in_and_the_days_beyond_are_out() {
        assert_eq!(parse_date("1990-01-01"), Ok(MIN_DATE));
        assert_eq!(parse_date("2100-12-31"), Ok(MAX_DATE));
        assert_eq!(parse_date("1989-12-31"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("2101-01-01"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("0000-01-01"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("9999-12-31"), Err(DateError::OutOfRange));
    }

    #[test]
    fn days_that_do_not_exist_are_refused() {
        assert_eq!(parse_date("2019-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2020-02-29").map(|d| d.day()), Ok(29));
        assert_eq!(parse_date("2019-13-01"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2019-00-10"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2019-04-31"), Err(DateError::NoSuchDay));
    }

    proptest! {
        /// Every day in range, written with chrono's own formatting, reads back as itself.
        #[test]
        fn every_day_in_range_round_trips(offset in 0..=(MAX_DATE - MIN_DATE).num_days()) {
            let day = MIN_DATE + chrono::Duration::days(offset);
            let text = day.format("%Y-%m-%d").to_string();
            prop_assert_eq!(parse_date(&text), Ok(day));
        }

        /// Any text that reads is exactly ten characters and is the day's own `YYYY-MM-DD`.
        #[test]
        fn whatever_reads_is_the_canonical_form_of_its_day(text in "\\PC{0,12}|[-+0-9 ]{8,12}") {
            if let Ok(day) = parse_date(&text) {
                prop_assert_eq!(day.format("%Y-%m-%d").to_string(), text);
                prop_assert!((MIN_DATE..=MAX_DATE).contains(&day));
            }
        }

        /// Numbers of any size in the three places: read exactly when they name a day in range.
        #[test]
        fn numbers_in_place_read_exactly_when_they_name_a_day_in_range(
            y in 0u32..10_000, m in 0u32..100, d in 0u32..100,
        ) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            let want = i32::try_from(y)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
                .filter(|day| (MIN_DATE..=MAX_DATE).contains(day));
            prop_assert_eq!(parse_date(&text).ok(), want);
        }
    }
}
