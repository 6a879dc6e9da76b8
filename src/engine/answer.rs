//! The answer types: what resolve and lookup return, as every entry point serialises them.
//!
//! Plain data with no behaviour beyond building parts of an answer from the dataset's records.
//! Living below [`crate::engine::resolve`] and [`crate::engine::lookup`], they can be built
//! once at load (a scheme's provider tiers) and shared by every answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use crate::Text;
use crate::engine::coord::LonLat;
use crate::engine::dataset::{AreaMatch, PostcodeRecord, PostcodeStatus};
use crate::engine::gazetteer::{NameMatch, PlaceKind, PlaceSource, Understood};
use crate::engine::scheme::{AreaRole, ProviderList, Scheme, Service, Tier};

/// The full answer for one point on one date.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resolution {
    /// The point resolved.
    pub point: PointOut,
    /// The date rates and centres were taken for.
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: Text,
    /// True when at least one scheme covers the point.
    pub covered: bool,
    /// One answer per covering scheme, in scheme id order.
    pub schemes: Vec<SchemeAnswer>,
    /// Why nothing answered, when `covered` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_reason: Option<String>,
}

/// A WGS84 point in output.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointOut {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl From<LonLat> for PointOut {
    fn from(p: LonLat) -> Self {
        Self {
            lat: p.lat(),
            lon: p.lon(),
        }
    }
}

/// What one scheme says about the point.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemeAnswer {
    /// Scheme id.
    pub scheme: Text,
    /// Scheme name.
    pub name: Text,
    /// Scheme file version.
    pub scheme_version: Text,
    /// True when any part of this answer rests on illustrative data.
    pub illustrative: bool,
    /// The coverage polygon that matched.
    pub region: AreaMatch,
    /// What decided that this scheme answers: the postcode's ONS code, or the polygon.
    pub decided_by: DecidedBy,
    /// Boundaries within the scheme's edge tolerance of the point, across which the answer of
    /// a layer (coverage, banded region, zone, PCN, locality) would differ: a broker checks
    /// the exact address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub near_boundary: Vec<NearBoundary>,
    /// Banding evidence, for schemes that band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banding: Option<BandingAnswer>,
    /// The hourly rate in force, if the scheme has one for the date.
    pub rate: Option<RateAnswer>,
    /// Zones, PCNs, localities and other areas of the scheme's area layers that hold the point.
    pub areas: Vec<AreaAnswer>,
    /// Eligible providers per service, in contract preference order.
    pub providers: Vec<ProviderListAnswer>,
    /// Plain-language notes: choices the scheme made, caveats.
    pub notes: Vec<Text>,
    /// Problems with this answer that a user must see (no polygon matched, two overlap, ...).
    pub warnings: Vec<String>,
    /// What careband's papers confirm of the rate on the date (`None` when no rate is in
    /// force): see [`crate::engine::currency`].
    pub currency: Option<Currency>,
    /// Provider lists of the matched areas that are past what the papers confirm, or that
    /// ended before the date with no list after them.
    pub provider_currency: Vec<ProviderCurrency>,
    /// The dates of every layer the answer used, and whether the date is inside them.
    pub layer_dates: Vec<LayerDates>,
}

/// How far careband's papers vouch for a rate or provider list on the date asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CurrencyStatus {
    /// The papers confirm it on the date.
    InForce,
    /// It is the latest careband knows, but the date is past what the papers confirm: the
    /// one in force may differ.
    LatestKnown,
    /// It ended before the date and careband knows of nothing after it.
    Ended,
}

/// What is known of the rate period used for an answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Currency {
    /// `in_force` or `latest_known`.
    pub status: CurrencyStatus,
    /// First day of the rate period used (the latest careband knows when `latest_known`).
    pub latest_known_from: NaiveDate,
    /// The period's name (`2019/20`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The day the papers last confirmed the rates.
    pub confirmed: NaiveDate,
    /// The day the rates are next due for review, when the papers say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_due: Option<NaiveDate>,
    /// The last day careband takes the papers to confirm the rates on.
    pub confirmed_until: NaiveDate,
    /// The rule that gives `confirmed_until`.
    pub rule: &'static str,
    /// The warning, when the status is not `in_force`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What is known of the provider list of one service in one matched area.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderCurrency {
    /// The service.
    pub service: Service,
    /// Role of the area.
    pub area_role: AreaRole,
    /// Area id.
    pub area_id: Text,
    /// `latest_known` or `ended`.
    pub status: CurrencyStatus,
    /// First day of the latest list careband knows for the area.
    pub list_from: NaiveDate,
    /// Its last day, when it has one.
    pub list_to: Option<NaiveDate>,
    /// The last day careband takes the papers to confirm the list on.
    pub confirmed_until: NaiveDate,
    /// The warning.
    pub message: String,
}

/// Whether the date asked is inside a layer's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LayerStatus {
    /// Inside its dates, and within a year of its vintage (or it has none).
    InForce,
    /// Before the layer's areas existed.
    NotYet,
    /// After the layer's areas ended.
    Ended,
    /// Inside its dates but more than a year from the vintage: the areas then may differ.
    OtherVintage,
}

/// The dates of one layer an answer used.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LayerDates {
    /// Layer id.
    pub layer: Text,
    /// Its role, for area layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<AreaRole>,
    /// First day the areas exist.
    pub valid_from: Option<NaiveDate>,
    /// Last day they exist.
    pub valid_to: Option<NaiveDate>,
    /// The day the boundaries were drawn for.
    pub vintage: Option<NaiveDate>,
    /// The date asked against those dates.
    pub status: LayerStatus,
    /// The warning, when the status is not `in_force`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What decided that a scheme answers a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// The postcode's own ONS county or district code, listed in the scheme's
    /// `coverage.ons_codes`: `{"ons_code": "E10000020"}`.
    OnsCode(Text),
    /// The point's position in (or within the edge tolerance of) the coverage polygon:
    /// `{"polygon": "E10000020"}`, naming the feature.
    Polygon(Text),
}

/// Which layer of a scheme a [`NearBoundary`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BoundaryOf {
    /// The scheme's coverage (its council area).
    Coverage,
    /// The banded region (Norfolk's Central Belt).
    BandedRegion,
    /// An area layer, by its role.
    Area(AreaRole),
}

/// A boundary within the edge tolerance of the point: what lies on either side.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NearBoundary {
    /// Which of the scheme's layers.
    pub of: BoundaryOf,
    /// The layer id.
    pub layer: Text,
    /// Distance from the point to the boundary, metres (local planar approximation).
    pub distance_m: f64,
    /// What the answer is on the point's side (the name of the area that matched, or what
    /// applies outside).
    pub this_side: String,
    /// What it would be on the other side.
    pub other_side: String,
    /// One sentence for a person: `12 m from the edge of the Central Belt: outside it the spot
    /// price applies`.
    pub message: String,
}

/// One area (zone, PCN, locality...) that holds the point.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaAnswer {
    /// What kind of area (`zone`, `pcn`, `locality`, `night_zone`).
    pub role: AreaRole,
    /// The polygon that matched.
    #[serde(flatten)]
    pub matched: AreaMatch,
    /// True when the polygons are illustrative, not the council's own.
    pub illustrative: bool,
    /// How the layer was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Text>,
}

/// Providers for one service in one area, in preference order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderListAnswer {
    /// `day` or `night`.
    pub service: Service,
    /// Role of the area the list belongs to (`zone`, `locality`...).
    pub area_role: AreaRole,
    /// Area id.
    pub area_id: Text,
    /// First day the list applies.
    pub valid_from: NaiveDate,
    /// Last day, when set.
    pub valid_to: Option<NaiveDate>,
    /// Tiers in preference order (main, then secondary, then framework).
    pub tiers: Arc<[TierAnswer]>,
    /// True when the list is illustrative.
    pub illustrative: bool,
    /// Where the list comes from.
    pub source: Text,
    /// A caveat about the list, when the scheme gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
}

/// One contract tier and its providers.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierAnswer {
    /// `main`, `secondary` or `framework`.
    pub tier: Tier,
    /// Providers in this tier.
    pub providers: Vec<ProviderOut>,
}

/// A provider in output.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderOut {
    /// Provider id.
    pub id: Text,
    /// Provider name.
    pub name: Text,
}

/// Banding evidence.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandingAnswer {
    /// Name of the banded region.
    pub region_name: Text,
    /// The banded-region polygon that matched, if inside it.
    pub banded_region: Option<AreaMatch>,
    /// Whether the point is inside the banded region (else the standard/spot rate applies).
    pub in_banded_region: bool,
    /// Which centres count.
    pub centre_rule: Text,
    /// Nearest centre open on the date.
    pub nearest_centre: Option<CentreOut>,
    /// Geodesic distance to it, metres.
    pub distance_m: Option<f64>,
    /// The same in miles.
    pub distance_miles: Option<f64>,
    /// How distance is measured.
    pub distance_method: &'static str,
    /// The band, when inside the banded region and a centre was found.
    pub band: Option<BandOut>,
    /// All thresholds, miles.
    pub thresholds_miles: Vec<f64>,
    /// Which band a distance exactly on a threshold belongs to.
    pub on_threshold: crate::engine::scheme::OnThreshold,
    /// Distance to the nearest threshold.
    pub margin: Option<Margin>,
    /// True when the distance is within `near_threshold_m` of a threshold.
    pub near_threshold: bool,
    /// The tolerance used for `near_threshold`, metres.
    pub near_threshold_m: f64,
}

/// A centre in output.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CentreOut {
    /// ODS code.
    pub code: Text,
    /// Name.
    pub name: Text,
    /// Postcode.
    pub postcode: Text,
    /// Position.
    pub lat: f64,
    /// Position.
    pub lon: f64,
}

/// A band in output.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandOut {
    /// 1-based band number.
    pub number: usize,
    /// Name (`Band 1`).
    pub name: Text,
    /// Lower distance limit, miles.
    pub from_miles: f64,
    /// Upper distance limit, miles (`None` for the last band).
    pub to_miles: Option<f64>,
}

/// How far the distance is from the nearest band threshold.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Margin {
    /// The nearest threshold, miles.
    pub threshold_miles: f64,
    /// Absolute distance to it, metres.
    pub margin_m: f64,
    /// The same in miles.
    pub margin_miles: f64,
    /// The band on the other side of that threshold.
    pub other_band: Text,
}

/// The rate in force.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateAnswer {
    /// Pounds per hour.
    pub hourly: f64,
    /// Currency code.
    pub currency: Text,
    /// `band` or `standard`.
    pub kind: RateKind,
    /// What the rate is called (`Band 1`, `spot price`).
    pub name: Text,
    /// First day of the rate period.
    pub effective_from: NaiveDate,
    /// Last day, when set.
    pub effective_to: Option<NaiveDate>,
    /// Why this rate.
    pub reason: String,
    /// Where the figure comes from.
    pub source: Text,
}

/// Which kind of rate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    /// A distance band's rate.
    Band,
    /// The scheme's standard rate (spot price outside the banded region).
    Standard,
}

/// How exactly the point an answer was resolved at stands for what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The point asked for.
    ExactPoint,
    /// The centroid of a postcode unit (about 15 addresses).
    PostcodeCentroid,
    /// A point on a named road (OS Open Names): the house may be elsewhere on the road.
    RoadPoint,
    /// The centre of a settlement.
    PlaceCentre,
    /// A representative point of a neighbourhood of about 7,000 people.
    NeighbourhoodPoint,
    /// The point of one address (a building or delivery point), from an external geocoder.
    AddressPoint,
}

impl Precision {
    /// The name of the precision, as it is written in JSON (`postcode_centroid`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExactPoint => "exact_point",
            Self::PostcodeCentroid => "postcode_centroid",
            Self::RoadPoint => "road_point",
            Self::PlaceCentre => "place_centre",
            Self::NeighbourhoodPoint => "neighbourhood_point",
            Self::AddressPoint => "address_point",
        }
    }

    /// How finely the point places an address: higher is finer.
    #[must_use]
    pub fn fineness(self) -> u8 {
        match self {
            Self::ExactPoint | Self::AddressPoint => 4,
            Self::PostcodeCentroid => 3,
            Self::RoadPoint => 2,
            Self::NeighbourhoodPoint => 1,
            Self::PlaceCentre => 0,
        }
    }
}

/// What answered a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// The postcode table (a postcode's position).
    Postcode,
    /// The point as given.
    Point,
    /// The offline gazetteer of places and roads.
    Gazetteer,
    /// An external geocoder of this kind (`nominatim`, `os-places`).
    Geocoder(&'static str),
}

impl std::fmt::Display for AnswerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postcode => f.write_str("postcode"),
            Self::Point => f.write_str("point"),
            Self::Gazetteer => f.write_str("gazetteer"),
            Self::Geocoder(kind) => write!(f, "geocoder:{kind}"),
        }
    }
}

impl Serialize for AnswerSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl PartialEq<&str> for AnswerSource {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Self::Postcode => *other == "postcode",
            Self::Point => *other == "point",
            Self::Gazetteer => *other == "gazetteer",
            Self::Geocoder(kind) => other.strip_prefix("geocoder:") == Some(*kind),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AnswerSource {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "What answered: `postcode`, `point`, `gazetteer` or `geocoder:<kind>`",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AnswerSource {}

/// How much of the postcode a partial-postcode query gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SummaryLevel {
    /// A sector (`NR1 1`).
    Sector,
    /// A district (`NR1`).
    District,
    /// An area (`NR`).
    Area,
}

impl std::fmt::Display for SummaryLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Self::Sector => "sector",
            Self::District => "district",
            Self::Area => "area",
        })
    }
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// One point was resolved.
    Point(PointAnswer),
    /// A partial postcode: a summary of the bands its postcodes fall in.
    Area(AreaSummary),
    /// Free text naming a place or road: ranked candidates, each with its band.
    Places(PlacesAnswer),
}

/// The answer to free text without a postcode: every candidate the gazetteer found, ranked,
/// each with its band at its point and the bands across its extent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlacesAnswer {
    /// The text as asked.
    pub query: String,
    /// What answered: `gazetteer`.
    pub source: AnswerSource,
    /// What the text was read as.
    pub understood: Understood,
    /// True only when one candidate stands out, every part of its answer agrees across its
    /// postcodes (`differs` is empty), and nothing asked for was left unfound (`not_found` is
    /// empty).
    pub clear: bool,
    /// True when one candidate stands out (the others, if any, matched less well); false when
    /// several match equally and the user must choose.
    pub stands_out: bool,
    /// When one candidate stands out: the parts of its answer that differ across its
    /// postcodes (see [`ExtentSummary::differs`]).
    pub differs: Vec<AnswerPart>,
    /// Parts of the text read as a road or address that the gazetteer does not have
    /// (`Gloucester Road`); the candidates then answer only for the place named.
    pub not_found: Vec<String>,
    /// One sentence for a person: the pick, or that there is a choice to make.
    pub message: String,
    /// Candidates, best first.
    pub candidates: Vec<PlaceCandidate>,
    /// Notes on the reading (typos corrected, locality not found).
    pub notes: Vec<String>,
    /// Date used.
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: String,
}

/// One place or road that the text may mean.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceCandidate {
    /// 1 for the best.
    pub rank: usize,
    /// "Ollands Road, Reepham (road, Broadland)".
    pub label: String,
    /// Name as published.
    pub name: String,
    /// What it is.
    pub kind: PlaceKind,
    /// The settlement OS puts a road in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// The nearest settlement, for roads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near: Option<String>,
    /// District (or county for `GeoNames` places).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Where the entry comes from.
    pub source: PlaceSource,
    /// How its name matched the text.
    #[serde(rename = "match")]
    pub matched: NameMatch,
    /// What the resolved point is.
    pub precision: Precision,
    /// What that precision means for this entry.
    pub precision_note: String,
    /// The answer at the candidate's point.
    pub resolution: Resolution,
    /// The answers across the candidate's extent.
    pub extent: ExtentSummary,
}

/// What the postcodes across a candidate's extent resolve to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtentSummary {
    /// Which postcodes were counted.
    pub basis: String,
    /// Live postcodes in the extent.
    pub postcodes: usize,
    /// Of those, how many were resolved (all, unless the extent is large).
    pub resolved: usize,
    /// Resolved postcodes no scheme covers.
    pub outside_coverage: usize,
    /// Count per outcome (`Band 1 (GBP 18.24/h)`), over the resolved postcodes.
    pub outcomes: BTreeMap<String, usize>,
    /// True when the point and the extent's postcodes do not all give the same answer.
    pub spans_more_than_one: bool,
    /// One sentence: the single answer, or which answers the extent spans and what to give.
    pub verdict: String,
    /// The parts of the answer that are not the same at the point and every resolved
    /// postcode (`band`, `zone`, `providers.day`...); empty when every part agrees.
    pub differs: Vec<AnswerPart>,
    /// For each part in `differs`, the values met, in order (`Band 1`, `Band 2`).
    pub alternatives: Vec<PartValues>,
}

/// One part of an answer, as the extent check compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AnswerPart {
    /// Which schemes cover the point (or none).
    #[serde(rename = "coverage")]
    Coverage,
    /// The distance band.
    #[serde(rename = "band")]
    Band,
    /// The hourly rate in force and its name.
    #[serde(rename = "rate")]
    Rate,
    /// The day-care zone.
    #[serde(rename = "zone")]
    Zone,
    /// The night-care zone.
    #[serde(rename = "night_zone")]
    NightZone,
    /// The Primary Care Network.
    #[serde(rename = "pcn")]
    Pcn,
    /// The locality.
    #[serde(rename = "locality")]
    Locality,
    /// The council area.
    #[serde(rename = "county")]
    County,
    /// The day-care provider lists.
    #[serde(rename = "providers.day")]
    ProvidersDay,
    /// The night-care provider lists.
    #[serde(rename = "providers.night")]
    ProvidersNight,
    /// The rapid-response provider lists.
    #[serde(rename = "providers.rapid_response")]
    ProvidersRapidResponse,
}

impl AnswerPart {
    /// Every part, in the order answers list them.
    pub const ALL: [Self; 11] = [
        Self::Coverage,
        Self::Band,
        Self::Rate,
        Self::Zone,
        Self::NightZone,
        Self::Pcn,
        Self::Locality,
        Self::County,
        Self::ProvidersDay,
        Self::ProvidersNight,
        Self::ProvidersRapidResponse,
    ];

    /// The part's name in output (`providers.day`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coverage => "coverage",
            Self::Band => "band",
            Self::Rate => "rate",
            Self::Zone => "zone",
            Self::NightZone => "night_zone",
            Self::Pcn => "pcn",
            Self::Locality => "locality",
            Self::County => "county",
            Self::ProvidersDay => "providers.day",
            Self::ProvidersNight => "providers.night",
            Self::ProvidersRapidResponse => "providers.rapid_response",
        }
    }

    /// The part for a person (`night zone`, `day providers`).
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::Coverage => "coverage",
            Self::Band => "band",
            Self::Rate => "rate",
            Self::Zone => "zone",
            Self::NightZone => "night zone",
            Self::Pcn => "PCN",
            Self::Locality => "locality",
            Self::County => "council area",
            Self::ProvidersDay => "day providers",
            Self::ProvidersNight => "night providers",
            Self::ProvidersRapidResponse => "rapid-response providers",
        }
    }
}

impl std::fmt::Display for AnswerPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The values one part of an answer takes across a candidate's extent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartValues {
    /// The part.
    pub part: AnswerPart,
    /// Its values as a person reads them (`Band 1`, `Zone 4`, `outside coverage`), sorted.
    pub values: Vec<String>,
}

/// One resolved point and how it was found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointAnswer {
    /// What was asked, normalised (`NR1 1AA`, `52.63,1.29`, `E 624073 N 308352`).
    pub query: String,
    /// What a user must see first: a terminated postcode's last known position, rates past
    /// what careband's papers confirm. Also in the schemes' `warnings`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Facts about the postcode, when the query was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<PostcodeFacts>,
    /// What answered: `postcode`, `point`, or `geocoder:<kind>` for an address placed by
    /// the external geocoder.
    pub source: AnswerSource,
    /// What the resolved point is: the exact point asked, a postcode centroid, or the point
    /// an external geocoder gave.
    pub precision: Precision,
    /// For answers of the external geocoder: what it matched, and its attribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geocoded: Option<GeocodedFacts>,
    /// Notes on how the answer was reached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The resolution of the point.
    pub resolution: Resolution,
}

/// What an external geocoder matched a text to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeocodedFacts {
    /// The geocoder's kind (`nominatim`, `os-places`).
    pub provider: String,
    /// The address or name it matched, as it gives it.
    pub address: String,
    /// The postcode it gives, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// Its match score from 0 to 1, if it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// What the precision means for this answer.
    pub precision_note: String,
    /// How many results it returned (the first is used).
    pub results: usize,
    /// Whose data the point is, and under which terms.
    pub attribution: String,
}

/// Facts about a postcode.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostcodeFacts {
    /// Normalised postcode.
    pub postcode: String,
    /// Live or terminated.
    pub status: PostcodeStatus,
    /// True when the postcode is no longer live and its last known position was used.
    pub terminated: bool,
    /// BNG easting, metres.
    pub easting: Option<i32>,
    /// BNG northing, metres.
    pub northing: Option<i32>,
    /// Code-Point positional quality (10 = within the property).
    pub quality: Option<u8>,
    /// Admin county GSS code.
    pub county: Option<Text>,
    /// Admin district GSS code.
    pub district: Option<Text>,
    /// Admin ward GSS code.
    pub ward: Option<Text>,
    /// Where the position comes from.
    pub position_source: &'static str,
    /// What a user must know of the position (a terminated postcode's is its last known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl From<&PostcodeRecord> for PostcodeFacts {
    fn from(r: &PostcodeRecord) -> Self {
        Self {
            postcode: r.postcode.as_str().to_owned(),
            status: r.status,
            terminated: r.status == PostcodeStatus::Terminated,
            easting: r.bng.map(|b| b.0),
            northing: r.bng.map(|b| b.1),
            quality: r.quality,
            county: r.county.clone(),
            district: r.district.clone(),
            ward: r.ward.clone(),
            position_source: match r.status {
                PostcodeStatus::Live => "OS Code-Point Open (postcode unit centroid)",
                PostcodeStatus::Terminated => {
                    "ONS NSPL last known position (postcode no longer live)"
                }
            },
            warning: None,
        }
    }
}

/// What the postcodes of a sector, district or area resolve to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaSummary {
    /// The partial postcode, normalised.
    pub query: String,
    /// What answered: `postcode`.
    pub source: AnswerSource,
    /// `sector`, `district` or `area`.
    pub level: SummaryLevel,
    /// Live postcodes counted (terminated ones are left out).
    pub postcodes: usize,
    /// Live postcodes that no scheme covers.
    pub outside_coverage: usize,
    /// Per scheme: how many postcodes fall in each band or rate.
    pub schemes: Vec<SchemeSummary>,
    /// The single answer when every postcode agrees, else why there is none.
    pub verdict: String,
    /// Date used.
    pub date: NaiveDate,
    /// Dataset version used.
    pub dataset_version: String,
}

/// One scheme's share of an [`AreaSummary`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemeSummary {
    /// Scheme id.
    pub scheme: String,
    /// Postcodes this scheme covers.
    pub postcodes: usize,
    /// Count per outcome (`Band 1 (GBP 18.24/h)`, `spot price (GBP 18.24/h)`).
    pub outcomes: BTreeMap<String, usize>,
}

/// A provider list's tiers in output form, provider names looked up in the scheme (an unknown
/// id, which the scheme check refuses, would show as its own name).
#[must_use]
pub fn tier_answers(s: &Scheme, list: &ProviderList) -> Arc<[TierAnswer]> {
    list.tiers
        .iter()
        .map(|t| TierAnswer {
            tier: t.tier,
            providers: t
                .providers
                .iter()
                .map(|id| ProviderOut {
                    id: id.clone(),
                    name: s
                        .provider(id)
                        .map_or_else(|| id.clone(), |p| p.name.clone()),
                })
                .collect(),
        })
        .collect()
}
