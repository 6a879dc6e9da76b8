//! Currency: what careband's papers confirm of a rate, a provider list or a layer on a date
//! (`careband::engine::currency`), and a terminated postcode's warning.
//!
//! Expected values are worked out by hand from the scheme files and the papers, never by the
//! code under test:
//! - Norfolk's 2019/20 rates are from 8 April 2019 (`geodata/schemes/norfolk.toml`, the
//!   council's 2019/20 rates paper); the period is open-ended with `confirmed = "2019-04-08"`,
//!   so by the one-year rule the papers confirm it to 8 April 2020.
//! - Bristol's GBP 18.20 is "as of 1 April 2019" (Home Care Provider Forum, 8 April 2019,
//!   seed 000/001 papers; `bristol.toml`): confirmed to 8 April 2020.
//! - Norfolk's framework lists by locality end on 21 October 2019 (replaced by the PCN-based
//!   framework from 22 October 2019, DOMAIN.md and seed 004); the rapid-response pilot list
//!   ends on 4 February 2021 (opened 5 February 2018, three years).
//! - PCNs exist from 1 July 2019 (NHS England); the PCN layer is the July 2022 vintage.
//! - The April 2019 CCGs 06V, 06W, 06Y merged into 26A on 1 April 2020
//!   (`/work/shared/opendata/PROVENANCE.md`), so the layer is valid to 31 March 2020.
//! - NR1 1AB is `terminated` with a position (52.626670, 1.309280) in
//!   `geodata/postcodes/postcodes.csv`: `awk -F, '$2=="terminated" && $5!="" && $1 ~ /^NR1 /'`.

use careband::engine::answer::{CurrencyStatus, LayerStatus, PointAnswer};
use careband::engine::scheme::{AreaRole, Service};

use crate::common::cli::careband;
use crate::common::{date, point, scheme};

const NORFOLK_2026: &str = "careband's latest published Norfolk County Council rates are the \
                            2019/20 rates from 8 April 2019; the rate in force on 1 December \
                            2026 may differ: confirm with the council";

const BRISTOL_2026: &str = "careband's latest published Bristol City Council rates are the \
                            2019/20 rates from 1 April 2019; the rate in force on 1 December \
                            2026 may differ: confirm with the council";

fn has(p: &PointAnswer, id: &str, text: &str) -> bool {
    scheme(&p.resolution.schemes, id)
        .warnings
        .iter()
        .any(|w| w.contains(text))
}

/// The scheme's answer is the latest known rate, from `from` and confirmed until `until`, with
/// `message` as its currency note, in the scheme's warnings and in the answer's.
fn assert_latest_known(
    p: &PointAnswer,
    id: &str,
    hourly: f64,
    from: &str,
    until: &str,
    message: &str,
) {
    let s = scheme(&p.resolution.schemes, id);
    assert_eq!(s.rate.as_ref().unwrap().hourly, hourly);
    let c = s.currency.as_ref().unwrap();
    assert_eq!(c.status, CurrencyStatus::LatestKnown);
    assert_eq!(c.latest_known_from, date(from));
    assert_eq!(c.confirmed_until, date(until));
    assert_eq!(c.message.as_deref(), Some(message));
    assert!(s.warnings.iter().any(|w| w == message), "{:?}", s.warnings);
    assert!(p.warnings.iter().any(|w| w == message), "{:?}", p.warnings);
}

#[test]
fn a_norfolk_rate_in_2026_is_the_latest_known_with_a_warning() {
    let p = point("NR1 1AA", "2026-12-01");
    assert_latest_known(
        &p,
        "norfolk",
        18.24,
        "2019-04-08",
        "2020-04-08",
        NORFOLK_2026,
    );
    let c = scheme(&p.resolution.schemes, "norfolk")
        .currency
        .as_ref()
        .unwrap();
    assert_eq!(c.confirmed, date("2019-04-08"));
    // First in the answer, before the postcode's facts.
    assert_eq!(p.warnings, [NORFOLK_2026]);
}

#[test]
fn a_norfolk_rate_in_june_2019_is_in_force_with_no_warning() {
    let p = point("NR1 1AA", "2019-06-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let c = s.currency.as_ref().unwrap();
    assert_eq!(c.status, CurrencyStatus::InForce);
    assert!(c.message.is_none());
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert!(!has(&p, "norfolk", "latest published"), "{:?}", s.warnings);
}

#[test]
fn the_papers_confirm_an_open_rate_for_one_year_from_their_date() {
    // 8 April 2020 is one year after the 8 April 2019 paper: still confirmed; the day after
    // is not.
    let on = |d: &str| {
        scheme(&point("NR1 1AA", d).resolution.schemes, "norfolk")
            .currency
            .as_ref()
            .unwrap()
            .status
    };
    assert_eq!(on("2020-04-08"), CurrencyStatus::InForce);
    assert_eq!(on("2020-04-09"), CurrencyStatus::LatestKnown);
    // The 2018/19 period ends on 7 April 2019: its own end confirms it.
    assert_eq!(on("2019-04-07"), CurrencyStatus::InForce);
}

#[test]
fn a_bristol_rate_in_2026_is_the_latest_known_and_in_2019_in_force() {
    let p = point("BS1 5TR", "2026-12-01");
    assert_latest_known(
        &p,
        "bristol",
        18.20,
        "2019-04-01",
        "2020-04-08",
        BRISTOL_2026,
    );

    let p = point("BS1 5TR", "2019-06-01");
    let s = scheme(&p.resolution.schemes, "bristol");
    assert_eq!(s.currency.as_ref().unwrap().status, CurrencyStatus::InForce);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn bristol_provider_lists_past_their_papers_say_so_on_the_list() {
    // 2026: the 2019 day list (paper of 8 April 2019) and the 2017 night list (paper of 27
    // March 2017) are both only the latest known.
    let p = point("BS1 5TR", "2026-12-01");
    let s = scheme(&p.resolution.schemes, "bristol");
    let day = s
        .provider_currency
        .iter()
        .find(|c| c.service == Service::Day)
        .unwrap();
    assert_eq!(day.status, CurrencyStatus::LatestKnown);
    assert_eq!(day.list_from, date("2019-04-01"));
    let night = s
        .provider_currency
        .iter()
        .find(|c| c.service == Service::Night)
        .unwrap();
    assert_eq!(night.list_from, date("2017-04-01"));
    assert_eq!(night.confirmed_until, date("2018-03-27"));
    // June 2019: the day list is confirmed (to 8 April 2020), the 2017 night list is not.
    let p = point("BS1 5TR", "2019-06-01");
    let s = scheme(&p.resolution.schemes, "bristol");
    let services: Vec<Service> = s.provider_currency.iter().map(|c| c.service).collect();
    assert_eq!(services, [Service::Night]);
}

#[test]
fn norfolk_provider_lists_that_ended_are_stated() {
    // 1 November 2019: after the locality framework lists ended (21 October 2019), with no
    // list for the PCN-based framework; the rapid-response pilot still runs.
    let p = point("NR1 1AA", "2019-11-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    assert_eq!(s.provider_currency.len(), 1, "{:?}", s.provider_currency);
    let day = &s.provider_currency[0];
    assert_eq!(
        (day.service, day.area_role, day.area_id.as_str()),
        (Service::Day, AreaRole::Locality, "norwich_south_norfolk")
    );
    assert_eq!(day.status, CurrencyStatus::Ended);
    assert_eq!(day.list_to, Some(date("2019-10-21")));
    assert!(
        day.message.contains("ended on 21 October 2019")
            && day
                .message
                .contains("Home Support Framework based on PCN areas"),
        "{}",
        day.message
    );
    // 2026: the rapid-response list ended on 4 February 2021 too.
    let p = point("NR1 1AA", "2026-12-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let rapid = s
        .provider_currency
        .iter()
        .find(|c| c.service == Service::RapidResponse)
        .unwrap();
    assert_eq!(rapid.status, CurrencyStatus::Ended);
    assert_eq!(rapid.list_to, Some(date("2021-02-04")));
}

#[test]
fn a_pcn_for_2018_is_given_with_a_warning_that_pcns_did_not_exist() {
    for (postcode, id) in [("NR1 1AA", "norfolk"), ("BS1 5TR", "bristol")] {
        let p = point(postcode, "2018-06-01");
        let s = scheme(&p.resolution.schemes, id);
        // Still given: the network the point is in today.
        assert!(
            s.areas.iter().any(|a| a.role == AreaRole::Pcn),
            "{postcode}: no PCN"
        );
        let pcn = s
            .layer_dates
            .iter()
            .find(|l| l.role == Some(AreaRole::Pcn))
            .unwrap();
        assert_eq!(pcn.status, LayerStatus::NotYet);
        assert_eq!(pcn.valid_from, Some(date("2019-07-01")));
        assert_eq!(pcn.vintage, Some(date("2022-07-01")));
        let m = pcn.message.as_deref().unwrap();
        assert!(
            m.contains("July 2022 layer")
                && m.contains("valid from 1 July 2019, after 1 June 2018")
                && m.contains("not one in force"),
            "{m}"
        );
        assert!(
            s.warnings.iter().any(|w| w == m),
            "{postcode}: {:?}",
            s.warnings
        );
    }
}

#[test]
fn a_pcn_in_2026_is_noted_as_the_july_2022_network() {
    let p = point("NR1 1AA", "2026-12-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let pcn = s
        .layer_dates
        .iter()
        .find(|l| l.role == Some(AreaRole::Pcn))
        .unwrap();
    assert_eq!(pcn.status, LayerStatus::OtherVintage);
    // Within a year of the July 2022 vintage: no note.
    let p = point("NR1 1AA", "2023-01-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let pcn = s
        .layer_dates
        .iter()
        .find(|l| l.role == Some(AreaRole::Pcn))
        .unwrap();
    assert_eq!(pcn.status, LayerStatus::InForce);
}

#[test]
fn the_central_belt_after_the_ccg_merger_says_its_ccgs_ended() {
    let p = point("NR1 1AA", "2026-12-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let ccg = s.layer_dates.iter().find(|l| l.layer == "ccg2019").unwrap();
    assert_eq!(ccg.status, LayerStatus::Ended);
    assert_eq!(ccg.valid_to, Some(date("2020-03-31")));
    assert!(
        ccg.message
            .as_deref()
            .unwrap()
            .contains("were valid until 31 March 2020"),
        "{ccg:?}"
    );
    // Inside the April 2019 configuration: nothing to say.
    let p = point("NR1 1AA", "2019-06-01");
    let s = scheme(&p.resolution.schemes, "norfolk");
    let ccg = s.layer_dates.iter().find(|l| l.layer == "ccg2019").unwrap();
    assert_eq!(ccg.status, LayerStatus::InForce);
}

#[test]
fn a_terminated_postcode_warns_that_its_position_is_the_last_known() {
    let p = point("NR1 1AB", "2019-06-01");
    let facts = p.postcode.as_ref().unwrap();
    assert!(facts.terminated);
    let w = facts.warning.as_deref().unwrap();
    for part in [
        "NR1 1AB is no longer a live postcode",
        "last one the ONS Postcode Directory (NSPL, May 2025) gives",
        "no termination date",
        "not live in OS Code-Point Open, October 2025",
    ] {
        assert!(w.contains(part), "no {part:?} in {w}");
    }
    assert_eq!(p.warnings.first().map(String::as_str), Some(w));
    assert!(has(&p, "norfolk", "no termination date"));
    // A live postcode has none.
    assert!(
        point("NR1 1AA", "2019-06-01")
            .postcode
            .unwrap()
            .warning
            .is_none()
    );
}

#[test]
fn careband_lookup_shows_the_currency_warning_on_its_first_lines() {
    let text = careband(&["lookup", "NR1 1AA", "--date", "2026-12-01"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let first: Vec<&str> = text.stdout.lines().take(3).collect();
    assert_eq!(
        first[2],
        format!("WARNING: {NORFOLK_2026}"),
        "{}",
        text.stdout
    );

    let json = careband(&["lookup", "NR1 1AA", "--date", "2026-12-01", "--json"]);
    let first: String = json.stdout.lines().take(6).collect();
    assert!(
        first.contains("\"warnings\"") && first.contains(NORFOLK_2026),
        "{first}"
    );

    for args in [
        &["lookup", "NR1 1AA", "--date", "2019-06-01"][..],
        &["lookup", "NR1 1AA", "--date", "2019-06-01", "--json"][..],
    ] {
        let run = careband(args);
        assert!(!run.stdout.contains("latest published"), "{}", run.stdout);
    }
}

#[test]
fn the_batch_rate_currency_column_says_whether_the_papers_confirm_the_rate() {
    let column = |on: &str| {
        let (out, _) = crate::common::batch_csv(b"postcode\nNR1 1AA\n", on);
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        let i = header.iter().position(|h| *h == "rate_currency").unwrap();
        row[i].to_string()
    };
    assert_eq!(column("2026-12-01"), "latest_known");
    assert_eq!(column("2019-06-01"), "in_force");
}
