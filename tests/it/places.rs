//! Free text on the real embedded data: places, roads, typos, ambiguity, precision and roads
//! whose postcodes span two bands.
//!
//! Expected answers were worked out outside careband: the OS Open Names points of the places
//! and roads were read from the open data CSV by hand, and the nearest open Norfolk GP
//! practice and its distance were computed as a planar British National Grid distance (a
//! second method: careband measures geodesic distance on WGS84; the two agree to well under
//! 1% at these ranges) from `geodata/centres/gp_practices.csv`.

use careband::engine::answer::{Answer, PlacesAnswer, Precision, SchemeAnswer};
use careband::engine::gazetteer::{NameMatch, PlaceKind};
use careband::engine::lookup::{LookupError, lookup};
use careband::engine::query::Query;

use crate::common::{DATASET, date, scheme};

/// The day every lookup here is made on.
const ON: &str = "2019-06-01";

fn places(text: &str) -> PlacesAnswer {
    match lookup(&DATASET, &Query::Text(text.into()), date(ON)) {
        Ok(Answer::Places(p)) => p,
        other => panic!("{text:?}: expected candidates, got {other:?}"),
    }
}

fn norfolk(s: &[SchemeAnswer]) -> &SchemeAnswer {
    scheme(s, "norfolk")
}

/// (band name, nearest centre code, distance in miles) of the Norfolk answer.
fn band(s: &SchemeAnswer) -> (String, String, f64) {
    let b = s.banding.as_ref().unwrap();
    (
        b.band.as_ref().unwrap().name.to_string(),
        b.nearest_centre.as_ref().unwrap().code.to_string(),
        b.distance_miles.unwrap(),
    )
}

#[test]
fn hethersett_is_the_village_with_its_band() {
    let a = places("Hethersett");
    assert!(a.clear, "{}", a.message);
    let c = &a.candidates[0];
    assert_eq!(
        (c.name.as_str(), c.kind),
        ("Hethersett", PlaceKind::Village)
    );
    assert_eq!(c.district.as_deref(), Some("South Norfolk"));
    assert_eq!(c.precision, Precision::PlaceCentre);
    assert_eq!(c.matched, NameMatch::Exact);
    // OS point E 615290 N 305052; nearest practice D82064 Humbleyard Practice at 2.485 miles
    // (planar BNG): Band 1.
    let (name, centre, miles) = band(norfolk(&c.resolution.schemes));
    assert_eq!((name.as_str(), centre.as_str()), ("Band 1", "D82064"));
    assert!((miles - 2.485).abs() < 0.02, "{miles}");
    assert!(c.extent.postcodes > 50, "{:?}", c.extent);
}

#[test]
fn case_punctuation_and_abbreviations_do_not_matter() {
    for text in [
        "ollands road, reepham",
        "OLLANDS RD REEPHAM",
        "Ollands Rd., Reepham, Norfolk",
        "12 Ollands Road, Reepham",
    ] {
        let a = places(text);
        assert!(a.clear, "{text}: {}", a.message);
        assert_eq!(a.candidates[0].name, "Ollands Road", "{text}");
        assert_eq!(
            a.candidates[0].locality.as_deref(),
            Some("Reepham"),
            "{text}"
        );
    }
    assert_eq!(
        places("12 Ollands Road, Reepham")
            .understood
            .house
            .as_deref(),
        Some("12")
    );
}

#[test]
fn a_road_and_locality_give_that_road_with_its_band() {
    let a = places("Ollands Road, Reepham");
    let c = &a.candidates[0];
    assert_eq!(c.kind, PlaceKind::Road);
    assert_eq!(c.precision, Precision::RoadPoint);
    assert_eq!(c.district.as_deref(), Some("Broadland"));
    // OS point E 610196 N 323134; nearest practice D82030 Reepham & Aylsham Medical Practice
    // at 0.257 miles (planar BNG): Band 1.
    let (name, centre, miles) = band(norfolk(&c.resolution.schemes));
    assert_eq!((name.as_str(), centre.as_str()), ("Band 1", "D82030"));
    assert!((miles - 0.257).abs() < 0.01, "{miles}");
    // There is another Ollands Road, in Attleborough: it is not offered for Reepham.
    assert!(
        a.candidates
            .iter()
            .all(|c| c.locality.as_deref() == Some("Reepham"))
    );
    let both = places("Ollands Road");
    assert!(!both.clear);
    let mut localities: Vec<_> = both
        .candidates
        .iter()
        .filter_map(|c| c.locality.clone())
        .collect();
    localities.sort();
    assert_eq!(localities, ["Attleborough", "Reepham"]);
}

#[test]
fn a_typo_is_corrected_and_said() {
    let a = places("Hetherset");
    let c = &a.candidates[0];
    assert_eq!(c.name, "Hethersett");
    assert_eq!(c.matched, NameMatch::Fuzzy { edits: 1 });
    assert!(
        a.notes.iter().any(|n| n.contains("typing edit")),
        "{:?}",
        a.notes
    );
}

#[test]
fn an_ambiguous_name_lists_every_candidate_with_its_band() {
    let a = places("Church Lane");
    assert!(!a.clear, "{}", a.message);
    assert!(a.candidates.len() > 2);
    assert!(a.message.contains("choose one"), "{}", a.message);
    for c in &a.candidates {
        assert_eq!(c.name, "Church Lane");
        assert!(c.resolution.covered || c.resolution.outside_reason.is_some());
        assert!(!c.extent.verdict.is_empty());
    }
}

#[test]
fn unknown_text_is_a_clear_not_found() {
    let e = lookup(&DATASET, &Query::Text("Qwxyzzy Zzkq".into()), date(ON)).unwrap_err();
    assert!(matches!(e, LookupError::NoPlace { .. }), "{e}");
    assert!(e.is_not_found());
    let e = lookup(&DATASET, &Query::Text(" ,; ".into()), date(ON)).unwrap_err();
    assert!(matches!(e, LookupError::EmptyText), "{e}");
}

#[test]
fn a_postcode_in_the_text_wins_and_is_a_centroid() {
    let a = lookup(
        &DATASET,
        &Query::Text("Ollands Road, Reepham NR1 1AA".into()),
        date(ON),
    )
    .unwrap();
    let Answer::Point(p) = a else { panic!("{a:?}") };
    assert_eq!(p.query, "NR1 1AA");
    assert_eq!(p.precision, Precision::PostcodeCentroid);
}

#[test]
fn a_road_whose_postcodes_span_two_bands_says_so() {
    // The Street, Ashwellthorpe: OS box E 613422-615656, N 297504-297682. Of the 14 live
    // postcodes within 60 m of it, NR16 1HF is 2.674 miles from D82624 (Band 1) and NR16 1EU
    // 3.607 miles from D82045 (Band 2), planar BNG.
    let a = places("The Street, Ashwellthorpe");
    // One road stands out, but it is not clear: its postcodes differ in band (issue 12).
    assert!(a.stands_out, "{}", a.message);
    assert!(!a.clear, "{}", a.message);
    let c = &a.candidates[0];
    assert_eq!(c.locality.as_deref(), Some("Ashwellthorpe"));
    assert_eq!(c.extent.postcodes, 14, "{:?}", c.extent);
    assert!(c.extent.spans_more_than_one, "{:?}", c.extent);
    let v = &c.extent.verdict;
    assert!(v.starts_with("The Street spans Band 1"), "{v}");
    assert!(
        v.contains("Band 2") && v.ends_with("give the house's postcode"),
        "{v}"
    );
    // The two ends, asked by postcode (the postcode path of the engine), agree.
    for (pc, want) in [("NR16 1HF", "Band 1"), ("NR16 1EU", "Band 2")] {
        let Ok(Answer::Point(p)) = lookup(&DATASET, &Query::Postcode(pc.into()), date(ON)) else {
            panic!("{pc}")
        };
        assert_eq!(band(norfolk(&p.resolution.schemes)).0, want, "{pc}");
    }
}

#[test]
fn a_village_inside_one_band_says_all_its_postcodes_agree() {
    let a = places("Ollands Road, Reepham");
    let c = &a.candidates[0];
    assert!(!c.extent.spans_more_than_one, "{:?}", c.extent);
    assert!(c.extent.verdict.contains("agree"), "{}", c.extent.verdict);
}

/// Issue 7: among equally good matches, places inside a loaded scheme's coverage come first.
/// The gazetteer has a village called Sutton in East Cambridgeshire (outside every scheme) and
/// one in North Norfolk; by name and district alone East Cambridgeshire would be listed first.
#[test]
fn equal_matches_inside_coverage_rank_before_those_outside() {
    // Without the coverage preference (`find` counts every entry as inside), name and district
    // decide, and the one outside coverage comes first.
    let plain = DATASET.places.find("Sutton");
    assert_eq!(
        plain.candidates[0].place.district.as_deref(),
        Some("East Cambridgeshire")
    );
    let p = places("Sutton");
    assert!(!p.clear, "two villages match equally");
    let first = &p.candidates[0];
    assert_eq!(first.district.as_deref(), Some("North Norfolk"));
    assert!(first.resolution.covered);
    let cambs = p
        .candidates
        .iter()
        .position(|c| c.district.as_deref() == Some("East Cambridgeshire"))
        .expect("the other Sutton is still listed");
    assert!(!p.candidates[cambs].resolution.covered);
    // Roads too: Acacia Grove in Sheringham before the one in March (Fenland).
    let p = places("Acacia Grove");
    assert_eq!(p.candidates[0].locality.as_deref(), Some("Sheringham"));
    assert_eq!(p.candidates[1].locality.as_deref(), Some("March"));
}
