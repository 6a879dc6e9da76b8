//! Issue 12, items 7 and 8: free text never pretends, "clear" means every part of the answer
//! agrees across the candidate's postcodes, and every batch summary counts its rows honestly.
//!
//! Expected values were worked out outside careband, with python3 over the shipped CSV and
//! GeoJSON files:
//! - extents: the live postcodes of `geodata/postcodes/postcodes.csv` whose BNG position lies
//!   in the place's OS box from `geodata/places/gazetteer.csv` (or, for a point without a box,
//!   within 750 m east-west and north-south of it);
//! - bands: the haversine distance (R = 6,371,008.8 m) from each postcode's WGS84 position to
//!   the nearest GP practice of `geodata/centres/gp_practices.csv` in scope `norfolk_waveney`
//!   or `near_norfolk` and open on the day, against the 3 and 6 mile thresholds of
//!   `geodata/schemes/norfolk.toml` (a distance on a threshold takes the lower band);
//! - zones, night zones, PCNs, localities and CCGs: a ray-casting point-in-polygon test of
//!   each postcode's position against the GeoJSON rings, written for the check.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test as actix_test;

use careband::batch::thousands;
use careband::engine::answer::{Answer, AnswerPart, PlacesAnswer, Precision};
use careband::engine::gazetteer::PlaceKind;
use careband::engine::lookup::lookup;
use careband::engine::query::Query;
use careband::server;

use crate::common::cli::careband_in;
use crate::common::http::{send, state};
use crate::common::{DATASET, date, scheme};

/// The day every lookup and batch here is made on: inside the 2019/20 rate period and the
/// locality provider lists (8 April to 21 October 2019).
const ON: &str = "2019-06-01";

fn places(text: &str) -> PlacesAnswer {
    match lookup(&DATASET, &Query::Text(text.into()), date(ON)) {
        Ok(Answer::Places(p)) => p,
        other => panic!("{text:?}: expected candidates, got {other:?}"),
    }
}

/// The values the first candidate's extent meets for `part`, if it differs there.
fn values(a: &PlacesAnswer, part: AnswerPart) -> Option<Vec<String>> {
    a.candidates[0]
        .extent
        .alternatives
        .iter()
        .find(|v| v.part == part)
        .map(|v| v.values.clone())
}

#[test]
fn a_road_the_gazetteer_cannot_find_is_not_answered_as_its_town() {
    // The gazetteer has Gloucester Roads in King's Lynn and South Gloucestershire, none in or
    // near Bristol. Bristol itself is a GeoNames point (E 358640 N 173086) with no box: 770
    // live postcodes lie within 750 m of it; by point-in-polygon 740 are in Zone 7 (night
    // zone Central and East) and 30 in Zone 4 (night zone North), and the point is in Zone 7.
    // BS7 8AA, on the real Gloucester Road, is in Zone 4.
    let a = places("Gloucester Road, Bristol");
    assert!(!a.clear, "{}", a.message);
    assert!(a.stands_out, "Bristol is the one place asked for");
    assert_eq!(a.not_found, ["Gloucester Road"]);
    assert!(
        a.notes.iter().any(|n| n.starts_with(
            "no road called Gloucester Road was found in or near Bristol in the gazetteer; \
             answering for Bristol as a place"
        )),
        "{:?}",
        a.notes
    );
    assert!(
        a.message.starts_with("no road called Gloucester Road"),
        "{}",
        a.message
    );
    let c = &a.candidates[0];
    assert_eq!((c.name.as_str(), c.kind), ("Bristol", PlaceKind::Place));
    assert_eq!(c.precision, Precision::PlaceCentre);
    assert_eq!(c.extent.postcodes, 770, "{:?}", c.extent.basis);
    // One rate everywhere in Bristol, so the rate agrees; the zones do not.
    for part in [
        AnswerPart::Zone,
        AnswerPart::NightZone,
        AnswerPart::ProvidersDay,
    ] {
        assert!(a.differs.contains(&part), "{part}: {:?}", a.differs);
    }
    assert!(!a.differs.contains(&AnswerPart::Rate), "{:?}", a.differs);
    assert_eq!(values(&a, AnswerPart::Zone).unwrap(), ["Zone 4", "Zone 7"]);
    assert!(c.extent.spans_more_than_one);
    assert!(!c.extent.verdict.contains("agree"), "{}", c.extent.verdict);
    assert!(
        c.extent.verdict.ends_with("give the postcode"),
        "{}",
        c.extent.verdict
    );
    // The postcode on the real road: Zone 4 by point-in-polygon, not the centre's Zone 7.
    let Ok(Answer::Point(p)) = lookup(&DATASET, &Query::Postcode("BS7 8AA".into()), date(ON))
    else {
        panic!("BS7 8AA")
    };
    let zone = scheme(&p.resolution.schemes, "bristol")
        .areas
        .iter()
        .find(|x| x.role.as_str() == "zone")
        .map(|x| x.matched.name.to_string());
    assert_eq!(zone.as_deref(), Some("Zone 4"));
}

#[test]
fn a_house_on_a_road_the_gazetteer_cannot_find_is_not_clear_either() {
    let a = places("12 Gloucester Road, Bristol");
    assert!(!a.clear, "{}", a.message);
    assert_eq!(a.not_found, ["Gloucester Road"]);
    assert_eq!(a.understood.house.as_deref(), Some("12"));
}

#[test]
fn a_village_whose_postcodes_span_two_bands_gives_no_single_band() {
    // Edgefield (village, North Norfolk): OS box E 609202-610059, N 334176-335365 holds 13
    // live postcodes. The nearest practice of every one is D82001; NR24 2RR is 2.783 miles
    // from it (Band 1), the other 12 between 3.015 and 3.436 miles (Band 2). The village's
    // point is 2.969 miles from D82001 (Band 1).
    let a = places("Edgefield");
    assert!(a.stands_out);
    assert!(!a.clear, "{}", a.message);
    let c = &a.candidates[0];
    assert_eq!((c.name.as_str(), c.kind), ("Edgefield", PlaceKind::Village));
    assert_eq!((c.extent.postcodes, c.extent.resolved), (13, 13));
    assert_eq!(values(&a, AnswerPart::Band).unwrap(), ["Band 1", "Band 2"]);
    assert_eq!(a.differs, [AnswerPart::Band, AnswerPart::Rate]);
    let counts: Vec<usize> = c.extent.outcomes.values().copied().collect();
    assert_eq!(counts, [1, 12], "{:?}", c.extent.outcomes);
    assert!(c.extent.verdict.starts_with("Edgefield spans Band 1"));
    // The one Band 1 postcode, asked by postcode, is Band 1; a Band 2 one is Band 2.
    for (pc, want) in [("NR24 2RR", "Band 1"), ("NR24 2AF", "Band 2")] {
        let Ok(Answer::Point(p)) = lookup(&DATASET, &Query::Postcode(pc.into()), date(ON)) else {
            panic!("{pc}")
        };
        let s = scheme(&p.resolution.schemes, "norfolk");
        let band = s.banding.as_ref().and_then(|b| b.band.as_ref()).unwrap();
        assert_eq!(&*band.name, want, "{pc}");
    }
}

#[test]
fn a_village_whose_postcodes_agree_in_every_part_stays_clear() {
    // Horsford (village, Broadland): its OS box holds 108 live postcodes, all 1.100 to 2.260
    // miles from their nearest practice (Band 1), all in PCN U62485, the North Norfolk
    // locality and CCG 06V, as is the village's point.
    let a = places("Horsford");
    assert!(a.clear, "{}", a.message);
    assert!(a.stands_out);
    assert!(a.differs.is_empty(), "{:?}", a.differs);
    assert!(a.not_found.is_empty());
    let c = &a.candidates[0];
    assert_eq!(c.extent.resolved, 108);
    assert!(c.extent.alternatives.is_empty());
    assert!(!c.extent.spans_more_than_one);
    assert!(c.extent.verdict.contains("agree"), "{}", c.extent.verdict);
}

#[test]
fn the_cli_gives_no_single_band_for_a_village_that_spans_two() {
    let dir = tempfile::tempdir().unwrap();
    let o = careband_in(dir.path(), &["lookup", "Edgefield", "--date", ON]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("Band 1 or Band 2: give the postcode"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("Band 1, GBP 18.24/hour"), "{}", o.stdout);
}

/// Five rows whose outcomes are known from the data files: NR1 1AA is live in Norfolk (county
/// E10000020); IP1 1AA is live in Suffolk (E10000029), where no scheme is loaded; NR1 9ZZ is a
/// well-formed postcode that `postcodes.csv` does not have; `nonsense` is no postcode; and one
/// line is blank.
const FIVE: &str = "id,postcode\n1,NR1 1AA\n2,IP1 1AA\n3,NR1 9ZZ\n4,nonsense\n\n";

#[test]
fn the_batch_summary_counts_every_outcome() {
    let (out, s) = crate::common::batch_csv(FIVE.as_bytes(), ON);
    assert_eq!(
        (
            s.rows,
            s.answered,
            s.outside_coverage,
            s.not_found,
            s.bad_input,
            s.blank
        ),
        (5, 1, 1, 1, 1, 1)
    );
    assert_eq!(
        s.counts_line(),
        "5 rows: 1 answered, 1 outside coverage, 1 not found, 1 bad input, 1 blank"
    );
    // The counts are those of the status column.
    let text = String::from_utf8(out).unwrap();
    let statuses: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap_or_default())
        .collect();
    assert_eq!(
        statuses,
        [
            "answered",
            "outside_coverage",
            "not_found",
            "bad_input",
            "blank"
        ]
    );
}

#[test]
fn counts_are_written_with_thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(2_007), "2,007");
    assert_eq!(thousands(1_396_000), "1,396,000");
}

#[test]
fn the_cli_batch_summary_says_every_outcome() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), FIVE).unwrap();
    let o = careband_in(
        dir.path(),
        &["batch", "in.csv", "-o", "out.csv", "--date", ON],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("5 rows: 1 answered, 1 outside coverage, 1 not found, 1 bad input, 1 blank"),
        "{}",
        o.stderr
    );
}

#[actix_web::test]
async fn the_batch_route_sends_the_counts_when_asked() {
    let app = actix_test::init_service(server::app(state())).await;
    let req = actix_test::TestRequest::post()
        .uri(&format!("/v1/batch?date={ON}&summary=true"))
        .insert_header((header::CONTENT_TYPE, "text/csv"))
        .set_payload(FIVE)
        .to_request();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        j["message"],
        "5 rows: 1 answered, 1 outside coverage, 1 not found, 1 bad input, 1 blank"
    );
    for (k, n) in [
        ("rows", 5),
        ("answered", 1),
        ("outside_coverage", 1),
        ("not_found", 1),
        ("bad_input", 1),
        ("blank", 1),
    ] {
        assert_eq!(j[k], n, "{k}: {j}");
    }
    assert_eq!(r.header("Careband-Rows"), "5");
    let req = actix_test::TestRequest::post()
        .uri("/v1/batch?summary=maybe")
        .insert_header((header::CONTENT_TYPE, "text/csv"))
        .set_payload(FIVE)
        .to_request();
    send(&app, req)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_parameter");
}
