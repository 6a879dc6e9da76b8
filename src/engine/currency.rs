//! What careband knows of a scheme's rates, provider lists and layers on a date: whether the
//! papers behind them confirm them then, or whether they are only the latest careband has.
//!
//! Pure: reads the scheme and the answer [`crate::engine::resolve`] built, and adds to it.
//!
//! The rules (also in `geodata/schemes/README.md`):
//! 1. A rate period or provider list with a `to` date is confirmed to that day.
//! 2. An open-ended one is confirmed to its `review_due` date when it has one, else to one
//!    year after its `confirmed` date (its `from` date when it has none): councils set home
//!    care rates once a year, so a paper more than a year old no longer vouches for them.
//! 3. A date after that is answered with the same figures, as `latest_known`, with a warning
//!    to confirm with the council.
//! 4. A provider list that ended before the date with no list after it is `ended`.
//! 5. A layer used on a date before its `valid_from` or after its `valid_to` still gives its
//!    area, with a warning; inside them, a date more than a year from its `vintage` gets a
//!    note that the areas then may differ.

use chrono::{Datelike, Months, NaiveDate};

use crate::Text;
use crate::engine::answer::{
    Currency, CurrencyStatus, LayerDates, LayerStatus, ProviderCurrency, Resolution, SchemeAnswer,
};
use crate::engine::dataset::LoadedScheme;
use crate::engine::scheme::{LayerSpec, ProviderList, RatePeriod, Scheme};

/// How rule 2 is stated in answers.
pub const RULE: &str = "confirmed to the period's end date; an open-ended period to its \
                        review_due date, else to one year after the date its source confirmed it";

/// The last day the papers confirm a period (rules 1 and 2).
fn confirmed_until(
    from: NaiveDate,
    to: Option<NaiveDate>,
    confirmed: Option<NaiveDate>,
    review_due: Option<NaiveDate>,
) -> NaiveDate {
    if let Some(to) = to {
        return to;
    }
    if let Some(due) = review_due {
        return due;
    }
    let base = confirmed.unwrap_or(from);
    base.checked_add_months(Months::new(12)).unwrap_or(base)
}

/// A date in words: `8 April 2019`.
#[must_use]
pub fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), d.format("%B"), d.year())
}

/// A month in words: `July 2022`.
fn month(d: NaiveDate) -> String {
    d.format("%B %Y").to_string()
}

/// What the papers confirm of the rate period `r` on `date`.
#[must_use]
pub fn rate_currency(s: &Scheme, r: &RatePeriod, date: NaiveDate) -> Currency {
    let until = confirmed_until(r.from, r.to, r.confirmed, r.review_due);
    let status = if date > until {
        CurrencyStatus::LatestKnown
    } else {
        CurrencyStatus::InForce
    };
    let message = (status == CurrencyStatus::LatestKnown).then(|| {
        format!(
            "careband's latest published {} rates are the {}rates from {}; the rate in force \
             on {} may differ: confirm with the council",
            s.council,
            r.label
                .as_ref()
                .map(|l| format!("{l} "))
                .unwrap_or_default(),
            long_date(r.from),
            long_date(date)
        )
    });
    Currency {
        status,
        latest_known_from: r.from,
        label: r.label.clone(),
        confirmed: r.confirmed.unwrap_or(r.from),
        review_due: r.review_due,
        confirmed_until: until,
        rule: RULE,
        message,
    }
}

/// Adds the currency of the rate, the provider lists and the layers to a scheme's answer,
/// with a warning for each that is past what the papers confirm.
pub fn annotate(ls: &LoadedScheme, date: NaiveDate, answer: &mut SchemeAnswer) {
    let s = &ls.scheme;
    answer.currency = answer
        .rate
        .as_ref()
        .and_then(|_| s.rates_on(date))
        .map(|r| rate_currency(s, r, date));
    if let Some(m) = answer.currency.as_ref().and_then(|c| c.message.clone()) {
        answer.warnings.push(m);
    }
    answer.provider_currency = provider_currency(s, answer, date);
    for p in &answer.provider_currency {
        answer.warnings.push(p.message.clone());
    }
    answer.layer_dates = layer_dates(s, answer, date);
    for l in &answer.layer_dates {
        if let Some(m) = &l.message {
            answer.warnings.push(m.clone());
        }
    }
}

/// For every (service, matched area) that has provider lists: the latest list if it is past
/// what its papers confirm, or the last one if it ended before the date with none after it.
fn provider_currency(s: &Scheme, answer: &SchemeAnswer, date: NaiveDate) -> Vec<ProviderCurrency> {
    let mut out: Vec<ProviderCurrency> = Vec::new();
    for a in &answer.areas {
        let mut services: Vec<_> = s
            .provider_lists
            .iter()
            .filter(|l| covers(l, &a.matched.layer, &a.matched.id))
            .map(|l| l.service)
            .collect();
        services.sort_unstable();
        services.dedup();
        for service in services {
            if out
                .iter()
                .any(|p| p.service == service && p.area_id == a.matched.id && p.area_role == a.role)
            {
                continue;
            }
            let lists = || {
                s.provider_lists.iter().filter(move |l| {
                    l.service == service && covers(l, &a.matched.layer, &a.matched.id)
                })
            };
            let (status, list) = if let Some(now) = lists().find(|l| l.applies_on(date)) {
                let until = confirmed_until(now.from, now.to, now.confirmed, now.review_due);
                if date <= until {
                    continue;
                }
                (CurrencyStatus::LatestKnown, now)
            } else if let Some(last) = lists()
                .filter(|l| l.to.is_some_and(|to| to < date))
                .max_by_key(|l| l.from)
            {
                if lists().any(|l| l.from > date) {
                    continue;
                }
                (CurrencyStatus::Ended, last)
            } else {
                continue;
            };
            let until = confirmed_until(list.from, list.to, list.confirmed, list.review_due);
            let area = &a.matched.name;
            let words = service.as_str().replace('_', " ");
            let message = match status {
                CurrencyStatus::Ended => format!(
                    "{}'s {words} provider list for {area} ended on {}{}; careband has no \
                     later list for {}: confirm providers with the council",
                    s.council,
                    long_date(until),
                    list.replaced_by
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    long_date(date)
                ),
                _ => format!(
                    "careband's latest published {} {words} provider list for {area} is \
                     the one from {}; the list in force on {} may differ: confirm with the \
                     council",
                    s.council,
                    long_date(list.from),
                    long_date(date)
                ),
            };
            out.push(ProviderCurrency {
                service,
                area_role: a.role,
                area_id: a.matched.id.clone(),
                status,
                list_from: list.from,
                list_to: list.to,
                confirmed_until: until,
                message,
            });
        }
    }
    out
}

fn covers(l: &ProviderList, layer: &str, id: &str) -> bool {
    l.layer == layer && l.areas.iter().any(|a| a.as_str() == id)
}

/// The dates of the layers the answer used (its area layers and the banded region's layer),
/// each once, in scheme order.
fn layer_dates(s: &Scheme, answer: &SchemeAnswer, date: NaiveDate) -> Vec<LayerDates> {
    let region = s.banding.as_ref().map(|b| b.region_layer.as_str());
    s.layers
        .iter()
        .filter(|l| {
            Some(l.id.as_str()) == region || answer.areas.iter().any(|a| a.matched.layer == l.id)
        })
        .map(|l| layer_on(l, date))
        .collect()
}

/// One layer's dates against `date` (rule 5).
#[must_use]
pub fn layer_on(l: &LayerSpec, date: NaiveDate) -> LayerDates {
    let name = l
        .role
        .map_or_else(|| l.id.clone(), |r| r.as_str().to_string());
    let vintage = l
        .vintage
        .map(|v| format!(" ({} layer)", month(v)))
        .unwrap_or_default();
    let why = l
        .dates_note
        .as_ref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    let (status, message) = match (l.valid_from, l.valid_to) {
        (Some(from), _) if date < from => (
            LayerStatus::NotYet,
            Some(format!(
                "the {name} areas{vintage} are valid from {}, after {}{why}",
                long_date(from),
                long_date(date)
            )),
        ),
        (_, Some(to)) if date > to => (
            LayerStatus::Ended,
            Some(format!(
                "the {name} areas{vintage} were valid until {}, before {}{why}",
                long_date(to),
                long_date(date)
            )),
        ),
        _ => match l.vintage {
            Some(v) if far_from(v, date) => (
                LayerStatus::OtherVintage,
                Some(format!(
                    "the {name} given is from the {} layer; the {name} areas in force on {} \
                     may differ",
                    month(v),
                    long_date(date)
                )),
            ),
            _ => (LayerStatus::InForce, None),
        },
    };
    LayerDates {
        layer: Text::from(l.id.as_str()),
        role: l.role,
        valid_from: l.valid_from,
        valid_to: l.valid_to,
        vintage: l.vintage,
        status,
        message,
    }
}

/// More than a year either side of `v`.
fn far_from(v: NaiveDate, date: NaiveDate) -> bool {
    let year = Months::new(12);
    v.checked_add_months(year).is_some_and(|end| date > end)
        || v.checked_sub_months(year).is_some_and(|start| date < start)
}

/// What a point answer shows before anything else: for every scheme whose rate is past what
/// its papers confirm, the currency warning.
#[must_use]
pub fn point_warnings(res: &Resolution) -> Vec<String> {
    res.schemes
        .iter()
        .filter_map(|s| s.currency.as_ref().and_then(|c| c.message.clone()))
        .collect()
}

/// The warning for a terminated postcode: its position is the last one the source gives, and
/// the source gives no termination date.
#[must_use]
pub fn terminated_warning(postcode: &str) -> String {
    format!(
        "{postcode} is no longer a live postcode: its position is the last one the ONS \
         Postcode Directory (NSPL, May 2025) gives, and careband's data has no termination \
         date for it (it is one of the NSPL postcodes not live in OS Code-Point Open, October \
         2025): check the address's current postcode"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> NaiveDate {
        NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_open_period_is_confirmed_for_a_year_after_its_paper() {
        let until = confirmed_until(d("2019-04-08"), None, Some(d("2019-04-08")), None);
        assert_eq!(until, d("2020-04-08"));
        assert_eq!(
            confirmed_until(d("2019-04-01"), None, None, None),
            d("2020-04-01")
        );
    }

    #[test]
    fn an_end_date_or_a_review_date_wins_over_the_year() {
        let to = Some(d("2019-04-07"));
        assert_eq!(
            confirmed_until(d("2018-04-09"), to, None, None),
            d("2019-04-07")
        );
        let due = Some(d("2019-10-01"));
        assert_eq!(
            confirmed_until(d("2019-04-08"), None, None, due),
            d("2019-10-01")
        );
    }

    #[test]
    fn a_vintage_is_far_more_than_a_year_either_side() {
        let v = d("2022-07-01");
        assert!(!far_from(v, d("2023-07-01")));
        assert!(far_from(v, d("2023-07-02")));
        assert!(!far_from(v, d("2021-07-01")));
        assert!(far_from(v, d("2021-06-30")));
    }

    #[test]
    fn dates_are_written_out() {
        assert_eq!(long_date(d("2026-12-01")), "1 December 2026");
        assert_eq!(month(d("2022-07-01")), "July 2022");
    }
}
