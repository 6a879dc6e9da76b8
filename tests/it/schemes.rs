//! The shipped Norfolk and Bristol schemes on the real embedded data: zones, PCNs, localities
//! and providers, each checked against a second source that careband does not use to answer.
//!
//! - Bristol zones: a postcode's zone is found by point-in-polygon on the (illustrative) zone
//!   layer. The second method is Code-Point Open's own ward code for the postcode, mapped to a
//!   zone through the zone file's `ward_codes` property (the ward list each zone was built from).
//! - PCNs: the PCN layer is built from registered patients by LSOA. The second source is each
//!   practice's own PCN in NHS Digital's practice-to-PCN map (`centres/practice_pcn_2022-07.csv`):
//!   a practice's surgery usually sits in an LSOA most of whose patients are its own PCN's.
//! - Provider lists: the expected names come from DOMAIN.md (the councils' papers).

use std::collections::HashMap;

use careband::engine::answer::{PointAnswer, SchemeAnswer};
use careband::engine::resolve::resolve;
use careband::engine::scheme::{AreaRole, Service};

use crate::common::fixtures::geodata;
use crate::common::{DATASET, date, ll, point};

fn scheme<'a>(p: &'a PointAnswer, id: &str) -> &'a SchemeAnswer {
    crate::common::scheme(&p.resolution.schemes, id)
}

fn area<'a>(s: &'a SchemeAnswer, role: &str) -> Vec<&'a str> {
    s.areas
        .iter()
        .filter(|a| a.role.as_str() == role)
        .map(|a| a.matched.id.as_str())
        .collect()
}

/// `[(tier, [provider names])]` of the one list for `service`.
fn list(s: &SchemeAnswer, service: &str) -> Vec<(String, Vec<String>)> {
    let lists: Vec<_> = s
        .providers
        .iter()
        .filter(|l| l.service.as_str() == service)
        .collect();
    assert_eq!(lists.len(), 1, "{service}: {lists:?}");
    lists[0]
        .tiers
        .iter()
        .map(|t| {
            (
                t.tier.to_string(),
                t.providers.iter().map(|p| p.name.to_string()).collect(),
            )
        })
        .collect()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// Zone id by ward code, from the zone file's `ward_codes` property.
fn zone_of_ward() -> HashMap<String, String> {
    let text =
        std::fs::read_to_string(geodata().join("boundaries/bristol_zones_illustrative.geojson"))
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = HashMap::new();
    for f in v["features"].as_array().unwrap() {
        let zone = f["properties"]["zone"].as_str().unwrap();
        for w in f["properties"]["ward_codes"].as_str().unwrap().split(';') {
            out.insert(w.to_string(), zone.to_string());
        }
    }
    assert_eq!(out.len(), 34, "34 Bristol wards in 11 zones");
    out
}

#[test]
fn a_bristol_postcode_gets_its_zone_providers_in_order_night_provider_and_rate() {
    // BS1 5TR: Code-Point ward E05010905 (Hotwells and Harbourside), which the zone file puts
    // in zone 7; zones 6 and 7 are HSG zones (2017 paper) with no secondary provider in 2017.
    assert_eq!(zone_of_ward()["E05010905"], "7");
    let p = point("BS1 5TR", "2019-06-01");
    let s = scheme(&p, "bristol");
    assert_eq!(area(s, "zone"), vec!["7"]);
    assert_eq!(area(s, "night_zone"), vec!["N2"]);
    assert!(s.illustrative, "zones are illustrative");
    assert!(
        s.areas
            .iter()
            .any(|a| a.role == AreaRole::Zone && a.illustrative)
    );
    let rate = s.rate.as_ref().unwrap();
    assert_eq!(rate.hourly, 18.20);
    assert_eq!(rate.effective_from, date("2019-04-01"));
    let day_list = list(s, "day");
    assert_eq!(
        day_list.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        vec!["main", "secondary", "framework"]
    );
    assert_eq!(day_list[0].1, names(&["HSG"]));
    assert_eq!(day_list[1].1, names(&["Mears"]));
    assert_eq!(list(s, "night"), vec![("main".into(), names(&["Kumari"]))]);
    // The PCN comes with the method that made it.
    assert_eq!(area(s, "pcn").len(), 1);
    assert!(
        s.areas
            .iter()
            .find(|a| a.role == AreaRole::Pcn)
            .and_then(|a| a.method.as_deref())
            .is_some_and(|m| m.contains("LSOA") && m.contains("July 2022"))
    );
}

#[test]
fn bristol_lists_change_on_1_april_2019() {
    // Zone 5 is a Kumari zone with no secondary provider in 2017; Mears joins in 2019
    // (illustrative placement) with the open framework.
    let zone5 = zone_of_ward()
        .into_iter()
        .find(|(_, z)| z == "5")
        .map(|(w, _)| w)
        .unwrap();
    let text = std::fs::read_to_string(geodata().join("postcodes/postcodes.csv")).unwrap();
    let pc = text
        .lines()
        .find(|l| l.starts_with("BS") && l.contains(",live,") && l.ends_with(&zone5))
        .map(|l| l.split(',').next().unwrap().to_string())
        .unwrap();
    let before = point(&pc, "2019-03-31");
    let s = scheme(&before, "bristol");
    if area(s, "zone") == vec!["5"] {
        assert_eq!(list(s, "day"), vec![("main".into(), names(&["Kumari"]))]);
        assert!(s.rate.is_none(), "no published rate before 1 April 2019");
        let after = point(&pc, "2019-04-01");
        let s = scheme(&after, "bristol");
        let l = list(s, "day");
        assert_eq!(l[0], ("main".into(), names(&["Kumari"])));
        assert_eq!(l[1], ("secondary".into(), names(&["Mears"])));
        assert_eq!(l[2].0, "framework");
    } else {
        panic!(
            "{pc} (ward {zone5}) resolved to zones {:?}",
            area(s, "zone")
        );
    }
    // Before the 2017 contracts there is no list at all, and the answer says so.
    let early = point("BS1 5TR", "2017-03-31");
    let s = scheme(&early, "bristol");
    assert!(s.providers.is_empty());
    assert!(s.warnings.iter().any(|w| w.contains("no provider list")));
}

#[test]
fn bristol_zones_agree_with_code_point_ward_codes() {
    let zone_of = zone_of_ward();
    let (mut agree, mut total, mut no_zone) = (0, 0, 0);
    for r in DATASET.postcodes.records() {
        let (Some(pos), Some(ward)) = (r.position, r.ward.as_deref()) else {
            continue;
        };
        let Some(expected) = zone_of.get(ward) else {
            continue; // not a Bristol ward
        };
        if r.status != careband::engine::dataset::PostcodeStatus::Live {
            continue;
        }
        total += 1;
        let res = resolve(&DATASET, pos, date("2019-06-01"));
        let Some(s) = res.schemes.iter().find(|s| s.scheme == "bristol") else {
            no_zone += 1;
            continue;
        };
        let zones = area(s, "zone");
        if zones.is_empty() {
            no_zone += 1;
        } else if zones.contains(&expected.as_str()) {
            agree += 1;
        }
    }
    let share = f64::from(agree) / f64::from(total);
    eprintln!(
        "Bristol zones: {agree} of {total} live postcodes agree with their ward's zone ({:.2}%), {no_zone} in no zone",
        share * 100.0
    );
    assert!(total > 10_000, "{total}");
    // The ward layer is generalised to 200 m, so postcodes within a few hundred metres of a
    // ward boundary can fall on the other side; anything below 95% means a wrong zone file.
    assert!(share > 0.95, "{share}");
}

#[test]
fn a_norfolk_postcode_gets_its_pcn_locality_framework_list_band_and_rate() {
    let p = point("NR1 1AA", "2019-06-01");
    let s = scheme(&p, "norfolk");
    assert_eq!(area(s, "locality"), vec!["norwich_south_norfolk"]);
    assert_eq!(area(s, "pcn"), vec!["U13557"], "NORWICH PCN");
    assert!(s.areas.iter().any(|a| {
        a.role == AreaRole::Pcn
            && a.method
                .as_deref()
                .is_some_and(|m| m.contains("registered patients"))
    }));
    assert_eq!(s.rate.as_ref().unwrap().hourly, 18.24);
    assert_eq!(
        s.banding.as_ref().unwrap().band.as_ref().unwrap().name,
        "Band 1"
    );
    let fw = list(s, "day");
    assert_eq!(fw.len(), 1);
    assert_eq!(fw[0].0, "framework");
    assert_eq!(fw[0].1.len(), 20, "Norwich and South Norfolk: 20 providers");
    assert_eq!(fw[0].1[0], "All Hallows Homecare");
    assert_eq!(fw[0].1[19], "Westminster Homecare");
    assert_eq!(
        list(s, "rapid_response"),
        vec![(
            "main".into(),
            names(&["Allied Health Care", "Carers Trust", "Carewatch"])
        )]
    );
    assert!(!s.illustrative);

    // North Norfolk (Holt): its own eight framework providers.
    let holt = point("NR25 7PQ", "2019-06-01");
    let s = scheme(&holt, "norfolk");
    assert_eq!(area(s, "locality"), vec!["north_norfolk"]);
    let fw = list(s, "day");
    assert_eq!(fw[0].1.len(), 8);
    assert!(fw[0].1.contains(&"Taylor Care".to_string()));

    // After the PCN framework starts (22 October 2019) no published list applies.
    let later = point("NR1 1AA", "2019-11-01");
    let s = scheme(&later, "norfolk");
    assert!(s.providers.iter().all(|l| l.service != Service::Day));
}

#[test]
fn pcn_answers_agree_with_the_practices_own_pcn() {
    let mut position = HashMap::new();
    let mut rows = csv::Reader::from_path(geodata().join("centres/gp_practices.csv")).unwrap();
    for row in rows.records() {
        let row = row.unwrap();
        let (lat, lon): (f64, f64) = (row[3].parse().unwrap(), row[4].parse().unwrap());
        position.insert(row[0].to_string(), ll(lon, lat));
    }
    let (mut agree, mut total) = (0, 0);
    let mut disagree = Vec::new();
    let mut rows =
        csv::Reader::from_path(geodata().join("centres/practice_pcn_2022-07.csv")).unwrap();
    for row in rows.records() {
        let row = row.unwrap();
        let (code, pcn, ccg) = (&row[0], &row[2], &row[4]);
        if ccg != "26A" {
            continue;
        }
        let Some(&at) = position.get(code) else {
            continue;
        };
        let r = resolve(&DATASET, at, date("2022-07-01"));
        let Some(s) = r.schemes.iter().find(|s| s.scheme == "norfolk") else {
            continue; // a Waveney practice outside Norfolk county
        };
        total += 1;
        if area(s, "pcn").contains(&pcn) {
            agree += 1;
        } else {
            disagree.push(format!("{code} {pcn} -> {:?}", area(s, "pcn")));
        }
    }
    let share = f64::from(agree) / f64::from(total);
    eprintln!(
        "PCN: {agree} of {total} Norfolk practices sit in their own PCN's area ({:.1}%); others: {disagree:?}",
        share * 100.0
    );
    assert!(total > 80, "{total}");
    assert!(share > 0.9, "{share}: {disagree:?}");
}
