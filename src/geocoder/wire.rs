//! The two wire formats: how a request is written and how a response body is read.
//!
//! Pure: no HTTP, no clock. Building a URL and parsing a body are plain functions so that every
//! shape a service may send (including garbage) is tested without a server.
//!
//! Fields read, and nothing else:
//! - **Nominatim** (`format=jsonv2`): a JSON array; per item `lat` and `lon` (strings, as
//!   Nominatim sends them, or numbers), `display_name`, `place_rank` (30 = a house or
//!   building, 26-27 = a road), `addresstype` (used when `place_rank` is absent),
//!   `address.postcode` and `licence`.
//! - **OS Places** (`/find`): `results[].DPA` with `ADDRESS`, `POSTCODE`, `UPRN`, `MATCH`, and
//!   the position from `LAT`/`LNG` when present (output in EPSG:4326), else
//!   `X_COORDINATE`/`Y_COORDINATE` (British National Grid, metres). A body with no `results`
//!   is an empty answer, as OS Places sends it.

use serde::Deserialize;
use serde_json::Value;

use crate::engine::answer::Precision;

use super::GeocoderKind;

/// Most results asked of the service.
pub const MAX_RESULTS: usize = 3;

/// A position as the service gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// WGS84 degrees.
    LonLat {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
    /// British National Grid, metres.
    Bng {
        /// Easting.
        easting: f64,
        /// Northing.
        northing: f64,
    },
}

/// One result of the service, read.
#[derive(Debug, Clone, PartialEq)]
pub struct GeocodedPlace {
    /// The address or name as the service gives it.
    pub address: String,
    /// Where it is.
    pub position: Position,
    /// What the position stands for.
    pub precision: Precision,
    /// The postcode the service gives, if any.
    pub postcode: Option<String>,
    /// The service's own licence line, if it sends one (Nominatim does).
    pub licence: Option<String>,
    /// The service's match score from 0 to 1, if it sends one (OS Places does).
    pub score: Option<f64>,
}

/// Why a body could not be read. The message never quotes the body (it may hold addresses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not JSON at all.
    #[error("the response is not JSON")]
    NotJson,
    /// JSON, but not the expected shape.
    #[error("the response is not a {kind} answer: {what}")]
    Shape {
        /// The format expected.
        kind: &'static str,
        /// What was wrong, without any of the body's values.
        what: &'static str,
    },
}

/// The path and query parameters of a search request (the key is added by the caller, and
/// never logged). `viewbox` is `[min_lon, min_lat, max_lon, max_lat]`.
#[must_use]
pub fn request_params(
    kind: GeocoderKind,
    text: &str,
    viewbox: Option<[f64; 4]>,
    bounded: bool,
) -> (&'static str, Vec<(&'static str, String)>) {
    match kind {
        GeocoderKind::Nominatim => {
            let mut p = vec![
                ("q", text.to_string()),
                ("format", "jsonv2".to_string()),
                ("countrycodes", "gb".to_string()),
                ("addressdetails", "1".to_string()),
                ("limit", MAX_RESULTS.to_string()),
            ];
            if let Some([x0, y0, x1, y1]) = viewbox {
                // Nominatim's order: left, top, right, bottom.
                p.push(("viewbox", format!("{x0:.5},{y1:.5},{x1:.5},{y0:.5}")));
                if bounded {
                    p.push(("bounded", "1".to_string()));
                }
            }
            ("search", p)
        }
        GeocoderKind::OsPlaces => (
            "find",
            vec![
                ("query", text.to_string()),
                ("maxresults", MAX_RESULTS.to_string()),
            ],
        ),
    }
}

/// Reads a response body of the given kind.
///
/// # Errors
/// [`WireError`] when the body is not JSON or not the expected shape. An empty list of results
/// is not an error.
pub fn parse(kind: GeocoderKind, body: &[u8]) -> Result<Vec<GeocodedPlace>, WireError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| WireError::NotJson)?;
    match kind {
        GeocoderKind::Nominatim => parse_nominatim(value),
        GeocoderKind::OsPlaces => parse_os_places(value),
    }
}

/// A number sent as a JSON number or as a string of one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    N(f64),
    S(String),
}

impl Num {
    fn get(&self) -> Option<f64> {
        let v = match self {
            Self::N(n) => *n,
            Self::S(s) => s.trim().parse().ok()?,
        };
        v.is_finite().then_some(v)
    }
}

#[derive(Deserialize)]
struct NominatimItem {
    lat: Num,
    lon: Num,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    place_rank: Option<u32>,
    #[serde(default)]
    addresstype: Option<String>,
    #[serde(default)]
    address: Option<NominatimAddress>,
    #[serde(default)]
    licence: Option<String>,
}

#[derive(Deserialize)]
struct NominatimAddress {
    #[serde(default)]
    postcode: Option<String>,
}

const NOMINATIM: &str = "Nominatim jsonv2";
const OS_PLACES: &str = "OS Places";

fn parse_nominatim(value: Value) -> Result<Vec<GeocodedPlace>, WireError> {
    let shape = |what| WireError::Shape {
        kind: NOMINATIM,
        what,
    };
    if !value.is_array() {
        return Err(shape("the body is not a JSON array"));
    }
    let items: Vec<NominatimItem> =
        serde_json::from_value(value).map_err(|_| shape("an item lacks lat or lon"))?;
    items
        .into_iter()
        .map(|i| {
            let (Some(lat), Some(lon)) = (i.lat.get(), i.lon.get()) else {
                return Err(shape("an item's lat or lon is not a number"));
            };
            #[expect(
                clippy::match_same_arms,
                reason = "the arms read as the table of rank and address type to precision"
            )]
            let precision = match (i.place_rank, i.addresstype.as_deref()) {
                (Some(r), _) if r >= 28 => Precision::AddressPoint,
                (Some(26 | 27), _) => Precision::RoadPoint,
                (Some(_), _) => Precision::PlaceCentre,
                (None, Some("house" | "building")) => Precision::AddressPoint,
                (None, Some("road")) => Precision::RoadPoint,
                (None, _) => Precision::PlaceCentre,
            };
            Ok(GeocodedPlace {
                address: i.display_name.unwrap_or_default(),
                position: Position::LonLat { lon, lat },
                precision,
                postcode: i.address.and_then(|a| a.postcode),
                licence: i.licence,
                score: None,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct OsPlacesBody {
    #[serde(default)]
    results: Option<Vec<OsPlacesResult>>,
}

#[derive(Deserialize)]
struct OsPlacesResult {
    #[serde(rename = "DPA")]
    dpa: Option<Dpa>,
}

#[derive(Deserialize)]
struct Dpa {
    #[serde(rename = "ADDRESS")]
    address: String,
    #[serde(rename = "POSTCODE", default)]
    postcode: Option<String>,
    #[serde(rename = "X_COORDINATE", default)]
    x: Option<Num>,
    #[serde(rename = "Y_COORDINATE", default)]
    y: Option<Num>,
    #[serde(rename = "LAT", default)]
    lat: Option<Num>,
    #[serde(rename = "LNG", default)]
    lng: Option<Num>,
    #[serde(rename = "MATCH", default)]
    score: Option<Num>,
}

fn parse_os_places(value: Value) -> Result<Vec<GeocodedPlace>, WireError> {
    let shape = |what| WireError::Shape {
        kind: OS_PLACES,
        what,
    };
    if !value.is_object() {
        return Err(shape("the body is not a JSON object"));
    }
    let body: OsPlacesBody =
        serde_json::from_value(value).map_err(|_| shape("results is not a list of DPA records"))?;
    let mut out = Vec::new();
    // Only DPA (delivery point) records are read; LPI records, if asked for, are skipped.
    for dpa in body
        .results
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.dpa)
    {
        let num = |n: &Option<Num>| n.as_ref().and_then(Num::get);
        let position = match (num(&dpa.lat), num(&dpa.lng), num(&dpa.x), num(&dpa.y)) {
            (Some(lat), Some(lon), _, _) => Position::LonLat { lon, lat },
            (_, _, Some(easting), Some(northing)) => Position::Bng { easting, northing },
            _ => return Err(shape("a DPA record has no usable coordinates")),
        };
        out.push(GeocodedPlace {
            address: dpa.address,
            position,
            precision: Precision::AddressPoint,
            postcode: dpa.postcode,
            licence: None,
            score: num(&dpa.score),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `jsonv2` answer as Nominatim gives it for a house (values rounded, trimmed to the
    /// fields a real answer has).
    const NOMINATIM_HOUSE: &str = r#"[
      {"place_id": 123456789, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
       "osm_type": "way", "osm_id": 987654321, "lat": "52.7960", "lon": "1.2535",
       "category": "building", "type": "house", "place_rank": 30, "importance": 0.00001,
       "addresstype": "building", "name": "",
       "display_name": "12, Mill Road, Aylsham, Broadland, Norfolk, England, NR11 6XX, United Kingdom",
       "address": {"house_number": "12", "road": "Mill Road", "town": "Aylsham", "county": "Norfolk",
                   "ISO3166-2-lvl4": "GB-ENG", "postcode": "NR11 6XX", "country": "United Kingdom", "country_code": "gb"},
       "boundingbox": ["52.7959", "52.7961", "1.2534", "1.2536"]},
      {"place_id": 2, "lat": "52.79", "lon": "1.25", "place_rank": 26, "addresstype": "road",
       "display_name": "Mill Road, Aylsham"}
    ]"#;

    const OS_PLACES_FIND: &str = r#"{
      "header": {"uri": "https://api.example/search/places/v1/find?query=12%20mill%20road", "query": "query=12 mill road",
                 "offset": 0, "totalresults": 1, "format": "JSON", "dataset": "DPA", "lr": "EN,CY",
                 "maxresults": 3, "matchprecision": 1, "epoch": "110", "output_srs": "EPSG:27700"},
      "results": [{"DPA": {"UPRN": "100090000000", "UDPRN": "12345678", "ADDRESS": "12, MILL ROAD, AYLSHAM, NORWICH, NR11 6XX",
        "BUILDING_NUMBER": "12", "THOROUGHFARE_NAME": "MILL ROAD", "POST_TOWN": "NORWICH", "POSTCODE": "NR11 6XX",
        "RPC": "1", "X_COORDINATE": 619050.0, "Y_COORDINATE": 327020.0, "STATUS": "APPROVED",
        "LOGICAL_STATUS_CODE": "1", "CLASSIFICATION_CODE": "RD04", "LOCAL_CUSTODIAN_CODE": 2605,
        "COUNTRY_CODE": "E", "LANGUAGE": "EN", "MATCH": 1.0, "MATCH_DESCRIPTION": "EXACT"}}]
    }"#;

    #[test]
    fn a_nominatim_house_is_an_address_point_with_its_licence() {
        let r = parse(GeocoderKind::Nominatim, NOMINATIM_HOUSE.as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].position,
            Position::LonLat {
                lon: 1.2535,
                lat: 52.796
            }
        );
        assert_eq!(r[0].precision, Precision::AddressPoint);
        assert_eq!(r[0].postcode.as_deref(), Some("NR11 6XX"));
        assert!(r[0].licence.as_deref().unwrap().contains("OpenStreetMap"));
        assert_eq!(r[1].precision, Precision::RoadPoint);
    }

    #[test]
    fn numbers_may_come_as_numbers() {
        let r = parse(
            GeocoderKind::Nominatim,
            br#"[{"lat": 52.5, "lon": 1.5, "addresstype": "house"}]"#,
        )
        .unwrap();
        assert_eq!(r[0].precision, Precision::AddressPoint);
        assert_eq!(r[0].address, "");
    }

    #[test]
    fn an_os_places_dpa_gives_its_bng_point() {
        let r = parse(GeocoderKind::OsPlaces, OS_PLACES_FIND.as_bytes()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].position,
            Position::Bng {
                easting: 619_050.0,
                northing: 327_020.0
            }
        );
        assert_eq!(r[0].score, Some(1.0));
        assert_eq!(r[0].address, "12, MILL ROAD, AYLSHAM, NORWICH, NR11 6XX");
    }

    #[test]
    fn os_places_lat_lng_win_over_bng() {
        let body = r#"{"results": [{"DPA": {"ADDRESS": "A", "X_COORDINATE": 1, "Y_COORDINATE": 2, "LAT": 52.1, "LNG": 1.1}}]}"#;
        let r = parse(GeocoderKind::OsPlaces, body.as_bytes()).unwrap();
        assert_eq!(
            r[0].position,
            Position::LonLat {
                lon: 1.1,
                lat: 52.1
            }
        );
    }

    #[test]
    fn no_results_is_an_empty_answer_not_an_error() {
        assert!(parse(GeocoderKind::Nominatim, b"[]").unwrap().is_empty());
        let os = br#"{"header": {"totalresults": 0}}"#;
        assert!(parse(GeocoderKind::OsPlaces, os).unwrap().is_empty());
    }

    #[test]
    fn garbage_is_refused_without_quoting_it() {
        for (kind, body) in [
            (GeocoderKind::Nominatim, &b"<html>busy</html>"[..]),
            (GeocoderKind::Nominatim, br#"{"error": "x"}"#),
            (
                GeocoderKind::Nominatim,
                br#"[{"lat": "north", "lon": "1"}]"#,
            ),
            (
                GeocoderKind::Nominatim,
                br#"[{"display_name": "12 Secret Lane"}]"#,
            ),
            (GeocoderKind::OsPlaces, b"[]"),
            (
                GeocoderKind::OsPlaces,
                br#"{"results": [{"DPA": {"ADDRESS": "12 Secret Lane"}}]}"#,
            ),
            (GeocoderKind::OsPlaces, br#"{"results": "none"}"#),
        ] {
            let e = parse(kind, body).unwrap_err();
            assert!(!e.to_string().contains("Secret"), "{e}");
        }
    }

    #[test]
    fn nominatim_requests_ask_for_gb_and_the_viewbox() {
        let (path, p) = request_params(
            GeocoderKind::Nominatim,
            "12 Mill Road",
            Some([1.0, 52.0, 2.0, 53.0]),
            true,
        );
        assert_eq!(path, "search");
        assert!(p.contains(&("format", "jsonv2".into())));
        assert!(p.contains(&("countrycodes", "gb".into())));
        assert!(p.contains(&("viewbox", "1.00000,53.00000,2.00000,52.00000".into())));
        assert!(p.contains(&("bounded", "1".into())));
        let (path, p) = request_params(GeocoderKind::OsPlaces, "12 Mill Road", None, false);
        assert_eq!(path, "find");
        assert_eq!(p[0], ("query", "12 Mill Road".into()));
    }
}
