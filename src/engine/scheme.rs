//! A council's rules as data: where a scheme applies, how bands are measured, which rates
//! apply on which dates.
//!
//! Pure: this module defines the scheme file format (deserialised from TOML by
//! [`crate::data::load`]) and checks its internal consistency; it reads no files and knows nothing of
//! geometry beyond layer and feature ids. See `geodata/schemes/README.md` for the format.

use crate::Text;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::engine::coord::METRES_PER_MILE;

/// One council scheme, as written in `geodata/schemes/<id>.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// Short stable id, used in URLs and output (`norfolk`).
    pub id: Text,
    /// Human name.
    pub name: Text,
    /// The council that owns the rules.
    pub council: String,
    /// Version of this scheme file, returned with every answer.
    pub version: Text,
    /// Currency of every rate (`GBP`).
    pub currency: Text,
    /// True when parts of the scheme are illustrative rather than the council's own data.
    #[serde(default)]
    pub illustrative: bool,
    /// Where each fact comes from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Plain-language notes returned with answers (choices the papers leave open, etc.).
    #[serde(default)]
    pub notes: Vec<Text>,
    /// Where the scheme applies at all.
    pub coverage: Coverage,
    /// Polygon layers the scheme refers to.
    #[serde(default, rename = "layers")]
    pub layers: Vec<LayerSpec>,
    /// Distance banding, when the scheme prices by distance from centres.
    #[serde(default)]
    pub banding: Option<Banding>,
    /// Effective-dated hourly rates.
    #[serde(default)]
    pub rates: Vec<RatePeriod>,
    /// Providers referred to by provider lists.
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Provider lists per service and area, effective-dated.
    #[serde(default)]
    pub provider_lists: Vec<ProviderList>,
}

/// Where a scheme applies.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// The layer whose polygons together are the scheme's region.
    pub layer: String,
    /// Only these feature ids of the layer (all when empty).
    #[serde(default)]
    pub features: Vec<String>,
    /// A point outside every coverage polygon but within this distance of one is treated as
    /// inside it, and the answer says so. Absorbs coastline generalisation of the boundary
    /// files; 0 turns it off.
    #[serde(default)]
    pub edge_tolerance_m: f64,
    /// ONS (GSS) codes of the council areas the scheme answers for: a county (`E10000020`)
    /// or a district or unitary (`E06000023`). A postcode whose county or district code is
    /// listed is answered by this scheme, wherever its centroid falls; a postcode with codes
    /// that are not listed is not, even within `edge_tolerance_m` of the polygons. Polygons
    /// decide only for points without codes. Empty (allowed, for a scheme drawn on its own
    /// polygons): the scheme's polygons decide for postcodes too.
    #[serde(default)]
    pub ons_codes: Vec<String>,
}

impl Coverage {
    /// The first of `codes` (a postcode's county, then its district) that this scheme lists.
    #[must_use]
    pub fn ons_code_of<'a>(&self, codes: [Option<&'a str>; 2]) -> Option<&'a str> {
        codes
            .into_iter()
            .flatten()
            .find(|c| self.ons_codes.iter().any(|o| o == c))
    }
}

/// Whether `code` looks like an English council's ONS (GSS) code: `E`, then `0` or `1`, then
/// seven digits (`E06000023`, `E10000020`).
#[must_use]
pub fn is_ons_council_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9
        && b[0] == b'E'
        && (b[1] == b'0' || b[1] == b'1')
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// A polygon layer: a GeoJSON file in any CRS, reprojected to WGS84 at load.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Layer id within the scheme (`ccg2019`).
    pub id: String,
    /// What the layer is.
    pub description: String,
    /// GeoJSON file, relative to the data directory.
    pub file: String,
    /// CRS of the file's coordinates, e.g. `EPSG:27700`; WGS84 lon/lat when absent (RFC 7946).
    #[serde(default)]
    pub crs: Option<String>,
    /// Feature property holding the stable feature id.
    pub id_property: String,
    /// Feature property holding the display name.
    pub name_property: String,
    /// True when the polygons are illustrative, not the council's own.
    #[serde(default)]
    pub illustrative: bool,
    /// How the layer was made, returned with answers that use it.
    #[serde(default)]
    pub method: Option<Text>,
    /// When set, every answer reports which feature of this layer holds the point, under this
    /// role.
    #[serde(default)]
    pub role: Option<AreaRole>,
    /// First day the layer's areas exist (PCNs: 1 July 2019). An answer for an earlier date
    /// still names the area but warns that it is not one in force then.
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the layer's areas exist (a CCG configuration replaced by mergers).
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// The day the boundaries were drawn for (the layer's version: PCNs of July 2022 are
    /// `2022-07-01`). A date more than a year either side of it, within the validity, gets a
    /// note that the areas in force then may differ.
    #[serde(default)]
    pub vintage: Option<NaiveDate>,
    /// Why the dates are what they are, returned with the warnings they cause.
    #[serde(default)]
    pub dates_note: Option<Text>,
}

/// A provider, referred to by id from provider lists.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Stable id (`comfort_call`).
    pub id: Text,
    /// Name as the council publishes it.
    pub name: Text,
    /// Optional contact line.
    #[serde(default)]
    pub contact: Option<String>,
    /// Optional self-declared coverage area: a layer id of this scheme whose features (all of
    /// them) are where the provider says it works.
    #[serde(default)]
    pub coverage_layer: Option<String>,
}

/// What an area layer's features are to a scheme: every answer reports the feature of each
/// role layer that holds the point, under the role's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AreaRole {
    /// A day-care commissioning zone (Bristol's zones 1-11).
    Zone,
    /// A night-care zone.
    NightZone,
    /// A Primary Care Network.
    Pcn,
    /// A locality (Norfolk's CCG-based localities).
    Locality,
    /// The council area itself.
    County,
}

impl AreaRole {
    /// Every role, in the order answers and batch columns list them.
    pub const ALL: [Self; 5] = [
        Self::Zone,
        Self::NightZone,
        Self::Pcn,
        Self::Locality,
        Self::County,
    ];

    /// The role's name in files and output (`night_zone`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::NightZone => "night_zone",
            Self::Pcn => "pcn",
            Self::Locality => "locality",
            Self::County => "county",
        }
    }
}

impl std::fmt::Display for AreaRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The service a provider list is for, in the order answers list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Day home care.
    Day,
    /// Night care.
    Night,
    /// A rapid-response service (Norfolk's Enhanced Home Support).
    RapidResponse,
}

impl Service {
    /// Every service, in answer order.
    pub const ALL: [Self; 3] = [Self::Day, Self::Night, Self::RapidResponse];

    /// The service's name in files and output (`rapid_response`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Night => "night",
            Self::RapidResponse => "rapid_response",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Provider-list date ranges by (service, layer, area), with the list's index: what the
/// overlap and hole checks walk.
type Spans<'a> = std::collections::BTreeMap<
    (&'a str, &'a str, &'a str),
    Vec<(NaiveDate, Option<NaiveDate>, usize)>,
>;

/// Contract tiers in preference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Main providers, offered first.
    Main,
    /// Secondary providers, offered when no main provider can take the package.
    Secondary,
    /// Framework providers, offered last.
    Framework,
}

impl Tier {
    /// Every tier, in preference order.
    pub const ALL: [Self; 3] = [Self::Main, Self::Secondary, Self::Framework];

    /// The tier's name in output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Secondary => "secondary",
            Self::Framework => "framework",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One tier of a provider list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    /// Which tier.
    pub tier: Tier,
    /// Provider ids, in the order they are offered within the tier.
    pub providers: Vec<Text>,
}

/// The providers for one service in some areas of one layer, for a date range.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderList {
    /// The service the list is for.
    pub service: Service,
    /// Layer whose features the list applies to.
    pub layer: String,
    /// Feature ids of that layer the list applies to.
    pub areas: Vec<String>,
    /// First day the list applies.
    pub from: NaiveDate,
    /// Last day, when set.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Tiers in preference order: main, then secondary, then framework.
    pub tiers: Vec<TierSpec>,
    /// True when the list is not the council's own published data.
    #[serde(default)]
    pub illustrative: bool,
    /// Where the list comes from.
    #[serde(default)]
    pub source: Text,
    /// A caveat returned with the list (for example: no order within a tier).
    #[serde(default)]
    pub note: Option<Text>,
    /// The day the source last confirmed the list (the paper's date); `from` when absent.
    #[serde(default)]
    pub confirmed: Option<NaiveDate>,
    /// The day the list is next due for review, when the papers say.
    #[serde(default)]
    pub review_due: Option<NaiveDate>,
    /// What is known of what came after the list's `to`, said when a date is past it.
    #[serde(default)]
    pub replaced_by: Option<Text>,
}

impl ProviderList {
    /// Whether the list applies on `date`.
    #[must_use]
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.from <= date && self.to.is_none_or(|to| date <= to)
    }
}

/// Distance banding from centre points.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Banding {
    /// Centre set: a CSV file of centres, relative to the data directory.
    pub centres_file: String,
    /// Only centres whose `scope` column is one of these count.
    pub centre_scopes: Vec<String>,
    /// Plain-language statement of which centres count, returned with answers.
    pub centre_rule: Text,
    /// Layer whose features form the banded region.
    pub region_layer: String,
    /// Feature ids of `region_layer` that form the banded region.
    pub region_features: Vec<String>,
    /// Name of the banded region.
    pub region_name: Text,
    /// Upper limits of each band but the last, in miles, ascending (`[3, 6]` gives 3 bands).
    pub thresholds_miles: Vec<f64>,
    /// One name per band (`thresholds_miles.len() + 1`).
    pub band_names: Vec<Text>,
    /// Which band a distance exactly on a threshold belongs to.
    pub on_threshold: OnThreshold,
    /// Distances within this many metres of a threshold are flagged `near_threshold`.
    pub near_threshold_m: f64,
    /// How the distance to a centre is measured (only [`DistanceMethod::GeodesicWgs84`] is
    /// built).
    #[serde(default)]
    pub distance_method: DistanceMethod,
    /// Centres outside the council's own area count when within this many miles of it: the
    /// importer builds the `near_*` centre scope at this distance. Only
    /// [`CENTRE_BUFFER_MILES`] is built; another value is refused.
    #[serde(default = "default_centre_buffer_miles")]
    pub centre_buffer_miles: f64,
}

/// The distance from a council's area within which the importer counts centres beyond it
/// (the `near_*` scope of the centre file), in miles.
pub const CENTRE_BUFFER_MILES: f64 = 10.0;

fn default_centre_buffer_miles() -> f64 {
    CENTRE_BUFFER_MILES
}

/// How the distance from a point to a centre is measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DistanceMethod {
    /// The straight-line geodesic on the WGS84 ellipsoid (not road distance).
    #[default]
    GeodesicWgs84,
}

impl DistanceMethod {
    /// The method in words, returned with every banded answer.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::GeodesicWgs84 => crate::engine::coord::DISTANCE_METHOD,
        }
    }
}

/// Which side a distance exactly on a threshold falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnThreshold {
    /// Exactly 3.000 miles is still Band 1 ("0-3 miles" includes 3).
    LowerBand,
    /// Exactly 3.000 miles is already Band 2.
    HigherBand,
}

/// Hourly rates in force from a date.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatePeriod {
    /// First day the rates apply.
    pub from: NaiveDate,
    /// Last day they apply; open-ended when absent (until the next period starts).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// One hourly rate per band, in band order (banded schemes only).
    #[serde(default)]
    pub band_hourly: Vec<f64>,
    /// Hourly rate where no band applies (outside the banded region, or unbanded schemes).
    pub standard_hourly: f64,
    /// What `standard_hourly` is called (`spot price`, `main provider rate`).
    pub standard_name: Text,
    /// Where the figures come from.
    pub source: Text,
    /// The period's name in words (`2019/20`), used in currency messages.
    #[serde(default)]
    pub label: Option<Text>,
    /// The day the source last confirmed the rates (the paper's date); `from` when absent.
    #[serde(default)]
    pub confirmed: Option<NaiveDate>,
    /// The day the rates are next due for review, when the papers say.
    #[serde(default)]
    pub review_due: Option<NaiveDate>,
}

/// Lowest hourly rate a scheme may state, in its currency. A home-care hour has cost more
/// than this everywhere in England since the National Minimum Wage began (1999); a smaller
/// figure is a typing slip (pence for pounds) or a placeholder.
pub const MIN_HOURLY_RATE: f64 = 1.0;

/// Highest hourly rate a scheme may state, in its currency: about ten times the 2019 English
/// home-care rates (GBP 14-22), so any real rate fits and a figure such as `1e300` or a
/// misplaced annual total is refused.
pub const MAX_HOURLY_RATE: f64 = 200.0;

/// A problem found by [`Scheme::check`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("scheme {scheme}: {what}")]
pub struct SchemeError {
    /// Scheme id.
    pub scheme: String,
    /// What is wrong, naming the field.
    pub what: String,
}

impl Scheme {
    /// The layer spec with this id.
    #[must_use]
    pub fn layer(&self, id: &str) -> Option<&LayerSpec> {
        self.layers.iter().find(|l| l.id == id)
    }

    /// The rate period in force on `date`, if any.
    #[must_use]
    pub fn rates_on(&self, date: NaiveDate) -> Option<&RatePeriod> {
        self.rates
            .iter()
            .filter(|r| r.from <= date && r.to.is_none_or(|to| date <= to))
            .max_by_key(|r| r.from)
    }

    /// Checks everything that can be checked without geometry: ids, layer references,
    /// thresholds, band names, rates (positive, one per band), and rate periods (sorted,
    /// not overlapping, no gaps between consecutive periods).
    ///
    /// # Errors
    /// Every problem found, not just the first.
    #[expect(
        clippy::too_many_lines,
        reason = "a flat list of independent checks, each a few lines; read top to bottom"
    )]
    pub fn check(&self) -> Result<(), Vec<SchemeError>> {
        let mut errors = Vec::new();
        let mut err = |what: String| {
            errors.push(SchemeError {
                scheme: self.id.to_string(),
                what,
            });
        };
        if self.id.is_empty()
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            err(format!(
                "id {:?} must be lower-case letters, digits, - or _",
                self.id
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for l in &self.layers {
            if !seen.insert(&l.id) {
                err(format!("layer id {:?} is used twice", l.id));
            }
        }
        if self.layer(&self.coverage.layer).is_none() {
            err(format!(
                "coverage.layer {:?} is not a layer of this scheme",
                self.coverage.layer
            ));
        }
        let mut codes_seen = std::collections::BTreeSet::new();
        for code in &self.coverage.ons_codes {
            if !is_ons_council_code(code) {
                err(format!(
                    "coverage.ons_codes: {code:?} is not an ONS council code (E0 or E1 and seven digits, e.g. E10000020)"
                ));
            }
            if !codes_seen.insert(code) {
                err(format!("coverage.ons_codes: {code:?} is listed twice"));
            }
        }
        if !(self.coverage.edge_tolerance_m >= 0.0 && self.coverage.edge_tolerance_m <= 5_000.0) {
            err(format!(
                "coverage.edge_tolerance_m {} must be between 0 and 5000",
                self.coverage.edge_tolerance_m
            ));
        }
        let bands = self
            .banding
            .as_ref()
            .map_or(0, |b| b.thresholds_miles.len() + 1);
        if let Some(b) = &self.banding {
            if self.layer(&b.region_layer).is_none() {
                err(format!(
                    "banding.region_layer {:?} is not a layer of this scheme",
                    b.region_layer
                ));
            }
            if (b.centre_buffer_miles - CENTRE_BUFFER_MILES).abs() > f64::EPSILON {
                err(format!(
                    "banding.centre_buffer_miles {} is not supported: the importer builds the \
                     near-area centre scope at {CENTRE_BUFFER_MILES} miles only",
                    b.centre_buffer_miles
                ));
            }
            if b.thresholds_miles.is_empty() {
                err("banding.thresholds_miles is empty".into());
            }
            if b.thresholds_miles
                .iter()
                .any(|t| !(t.is_finite() && *t > 0.0))
                || b.thresholds_miles.windows(2).any(|w| w[0] >= w[1])
            {
                err(format!(
                    "banding.thresholds_miles {:?} must be positive and strictly ascending",
                    b.thresholds_miles
                ));
            }
            if b.band_names.len() != bands {
                err(format!(
                    "banding.band_names has {} names for {bands} bands",
                    b.band_names.len()
                ));
            }
            if !(b.near_threshold_m >= 0.0 && b.near_threshold_m.is_finite()) {
                err("banding.near_threshold_m must be zero or positive".into());
            }
            if b.centre_scopes.is_empty() {
                err("banding.centre_scopes is empty: no centre would count".into());
            }
        }
        if self.rates.is_empty() {
            err("no [[rates]] periods".into());
        }
        for (i, r) in self.rates.iter().enumerate() {
            let at = format!("rates[{i}] (from {})", r.from);
            if r.band_hourly.len() != bands {
                err(format!(
                    "{at}: {} band rates for {bands} bands",
                    r.band_hourly.len()
                ));
            }
            if let Some(bad) = r
                .band_hourly
                .iter()
                .chain(std::iter::once(&r.standard_hourly))
                .find(|v| !(MIN_HOURLY_RATE..=MAX_HOURLY_RATE).contains(*v))
            {
                err(format!(
                    "{at}: rate {bad} is outside the sane range: every rate must be a positive number from {MIN_HOURLY_RATE:.2} to {MAX_HOURLY_RATE:.2} an hour"
                ));
            }
            if let Some(to) = r.to
                && to < r.from
            {
                err(format!("{at}: ends ({to}) before it starts"));
            }
        }
        for (i, w) in self.rates.windows(2).enumerate() {
            let (a, b) = (&w[0], &w[1]);
            if b.from <= a.from {
                err(format!(
                    "rates[{}] must start after rates[{i}] (periods in date order)",
                    i + 1
                ));
            } else if let Some(to) = a.to {
                if to >= b.from {
                    err(format!(
                        "rates[{i}] (to {to}) overlaps rates[{}] (from {})",
                        i + 1,
                        b.from
                    ));
                } else if to.succ_opt() != Some(b.from) {
                    err(format!(
                        "rates[{i}] ends {to} but rates[{}] starts {}: the days between have no rate",
                        i + 1,
                        b.from
                    ));
                }
            }
        }
        self.check_dates(&mut err);
        self.check_providers(&mut err);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The provider with this id.
    #[must_use]
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The currency and validity dates: a review is not due before its period starts, and a
    /// layer is not valid to a day before it is valid from.
    fn check_dates(&self, err: &mut impl FnMut(String)) {
        for (i, r) in self.rates.iter().enumerate() {
            if let Some(due) = r.review_due
                && due < r.from
            {
                err(format!(
                    "rates[{i}] (from {}): review_due {due} is before the period starts",
                    r.from
                ));
            }
        }
        for (i, l) in self.provider_lists.iter().enumerate() {
            if let Some(due) = l.review_due
                && due < l.from
            {
                err(format!(
                    "provider_lists[{i}] ({} {} from {}): review_due {due} is before the list starts",
                    l.service, l.layer, l.from
                ));
            }
        }
        for l in &self.layers {
            if let (Some(from), Some(to)) = (l.valid_from, l.valid_to)
                && to < from
            {
                err(format!(
                    "layer {:?}: valid_to {to} is before valid_from {from}",
                    l.id
                ));
            }
        }
    }

    fn check_providers(&self, err: &mut impl FnMut(String)) {
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.providers {
            if !seen.insert(&p.id) {
                err(format!("provider id {:?} is used twice", p.id));
            }
            if let Some(l) = &p.coverage_layer {
                // Parsed so the message can name it, but resolve does not read it yet: refuse
                // it rather than let a scheme promise what the answers do not do.
                err(format!(
                    "provider {:?}: coverage_layer {l:?} is not supported yet (answers do not \
                     filter providers by a declared area); remove it",
                    p.id
                ));
            }
        }
        // (service, layer, area) -> date ranges, to find overlaps and holes.
        let mut spans: Spans<'_> = std::collections::BTreeMap::new();
        for (i, list) in self.provider_lists.iter().enumerate() {
            let at = format!(
                "provider_lists[{i}] ({} {} from {})",
                list.service, list.layer, list.from
            );
            if self.layer(&list.layer).is_none() {
                err(format!(
                    "{at}: layer {:?} is not a layer of this scheme",
                    list.layer
                ));
            }
            if list.areas.is_empty() {
                err(format!("{at}: no areas"));
            }
            if let Some(to) = list.to
                && to < list.from
            {
                err(format!("{at}: ends ({to}) before it starts"));
            }
            if list.tiers.is_empty() {
                err(format!("{at}: no tiers"));
            }
            if list.tiers.windows(2).any(|w| w[0].tier >= w[1].tier) {
                err(format!(
                    "{at}: tiers must be in preference order main, secondary, framework, each once"
                ));
            }
            for t in &list.tiers {
                if t.providers.is_empty() {
                    err(format!("{at}: tier {} has no providers", t.tier.as_str()));
                }
                for id in &t.providers {
                    if self.provider(id).is_none() {
                        err(format!(
                            "{at}: tier {} names unknown provider {id:?}",
                            t.tier.as_str()
                        ));
                    }
                }
            }
            for area in &list.areas {
                spans
                    .entry((list.service.as_str(), list.layer.as_str(), area.as_str()))
                    .or_default()
                    .push((list.from, list.to, i));
            }
        }
        for ((service, layer, area), mut v) in spans {
            v.sort();
            for w in v.windows(2) {
                let ((_, a_to, ai), (b_from, _, bi)) = (w[0], w[1]);
                let what = format!("{service} providers for {layer} {area}");
                match a_to {
                    None => err(format!(
                        "{what}: provider_lists[{ai}] has no end date but provider_lists[{bi}] starts {b_from}: they overlap"
                    )),
                    Some(to) if to >= b_from => err(format!(
                        "{what}: provider_lists[{ai}] (to {to}) overlaps provider_lists[{bi}] (from {b_from})"
                    )),
                    Some(to) if to.succ_opt() != Some(b_from) => err(format!(
                        "{what}: no list between {to} and {b_from} (provider_lists[{ai}] and [{bi}])"
                    )),
                    Some(_) => {}
                }
            }
        }
    }
}

impl Banding {
    /// Band `i`'s span in miles: from (inclusive) and to (exclusive; `None` for the last band).
    #[must_use]
    pub fn span_miles(&self, i: usize) -> (f64, Option<f64>) {
        let from = i
            .checked_sub(1)
            .and_then(|j| self.thresholds_miles.get(j))
            .copied()
            .unwrap_or(0.0);
        (from, self.thresholds_miles.get(i).copied())
    }

    /// Threshold distances in metres.
    #[must_use]
    pub fn thresholds_m(&self) -> Vec<f64> {
        self.thresholds_miles
            .iter()
            .map(|t| t * METRES_PER_MILE)
            .collect()
    }

    /// The band index (0-based) for a distance in metres.
    ///
    /// ```
    /// # use careband::engine::scheme::{Banding, OnThreshold};
    /// # let b = Banding { centres_file: String::new(), centre_scopes: vec![], centre_rule: "".into(),
    /// #   region_layer: String::new(), region_features: vec![], region_name: "".into(),
    /// #   thresholds_miles: vec![3.0, 6.0], band_names: vec![], on_threshold: OnThreshold::LowerBand,
    /// #   near_threshold_m: 0.0, distance_method: Default::default(), centre_buffer_miles: 10.0 };
    /// assert_eq!(b.band_index(4828.032), 0); // exactly 3 miles: still Band 1
    /// assert_eq!(b.band_index(4828.033), 1);
    /// assert_eq!(b.band_index(20_000.0), 2);
    /// ```
    #[must_use]
    pub fn band_index(&self, distance_m: f64) -> usize {
        self.thresholds_m()
            .iter()
            .filter(|&&t| match self.on_threshold {
                OnThreshold::LowerBand => distance_m > t,
                OnThreshold::HigherBand => distance_m >= t,
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme(rates: &str) -> Scheme {
        toml::from_str(&scheme_toml(rates)).unwrap()
    }

    /// A banded scheme's TOML; `rates` is appended to its `[banding]` table (keys first, then
    /// `[[rates]]` tables).
    fn scheme_toml(rates: &str) -> String {
        format!(
            r#"
id = "t"
name = "T"
council = "C"
version = "1"
currency = "GBP"
[coverage]
layer = "region"
[[layers]]
id = "region"
description = "d"
file = "f.geojson"
id_property = "id"
name_property = "name"
[banding]
centres_file = "c.csv"
centre_scopes = ["a"]
centre_rule = "all"
region_layer = "region"
region_features = ["x"]
region_name = "R"
thresholds_miles = [3.0, 6.0]
band_names = ["Band 1", "Band 2", "Band 3"]
on_threshold = "lower_band"
near_threshold_m = 100.0
{rates}
"#
        )
    }

    const TWO_PERIODS: &str = r#"
[[rates]]
from = "2018-04-09"
band_hourly = [17.40, 19.68, 21.72]
standard_hourly = 17.28
standard_name = "spot"
source = "s"
[[rates]]
from = "2019-04-08"
band_hourly = [18.24, 19.68, 21.72]
standard_hourly = 18.24
standard_name = "spot"
source = "s"
"#;

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "rates parsed from decimal text equal the same decimal literals exactly"
    )]
    fn the_rate_period_in_force_is_picked_by_date() {
        let s = scheme(TWO_PERIODS);
        assert!(s.check().is_ok(), "{:?}", s.check());
        let d = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
        assert!(s.rates_on(d("2018-04-08")).is_none());
        assert_eq!(s.rates_on(d("2018-04-09")).unwrap().band_hourly[0], 17.40);
        assert_eq!(s.rates_on(d("2019-04-07")).unwrap().band_hourly[0], 17.40);
        assert_eq!(s.rates_on(d("2019-04-08")).unwrap().band_hourly[0], 18.24);
        assert_eq!(s.rates_on(d("2030-01-01")).unwrap().band_hourly[0], 18.24);
    }

    #[test]
    fn a_gap_between_rate_periods_is_reported() {
        let s = scheme(&TWO_PERIODS.replacen(
            "source = \"s\"",
            "source = \"s\"\nto = \"2019-03-31\"",
            1,
        ));
        let errs = s.check().unwrap_err();
        assert!(
            errs.iter().any(|e| e.what.contains("have no rate")),
            "{errs:?}"
        );
    }

    #[test]
    fn negative_rates_and_wrong_band_counts_are_reported() {
        let s = scheme(&TWO_PERIODS.replace("[18.24, 19.68, 21.72]", "[18.24, -1.0]"));
        let errs = s.check().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.what.contains("2 band rates for 3 bands")),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.what.contains("positive")), "{errs:?}");
    }

    #[test]
    fn distances_on_a_threshold_follow_the_scheme_rule() {
        let mut s = scheme(TWO_PERIODS);
        let b = s.banding.as_mut().unwrap();
        assert_eq!(b.band_index(3.0 * METRES_PER_MILE), 0);
        b.on_threshold = OnThreshold::HigherBand;
        assert_eq!(b.band_index(3.0 * METRES_PER_MILE), 1);
        assert_eq!(b.band_index(6.0 * METRES_PER_MILE - 0.001), 1);
        assert_eq!(b.band_index(0.0), 0);
    }

    #[test]
    fn a_centre_buffer_other_than_the_built_one_is_refused() {
        let s = scheme(&format!("centre_buffer_miles = 12.0\n{TWO_PERIODS}"));
        let errs = s.check().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.what.contains("centre_buffer_miles 12")),
            "{errs:?}"
        );
        let s = scheme(&format!("centre_buffer_miles = 10.0\n{TWO_PERIODS}"));
        assert!(s.check().is_ok(), "{:?}", s.check());
    }

    #[test]
    fn a_distance_method_that_is_not_built_does_not_parse() {
        let text = scheme_toml(&format!("distance_method = \"road\"\n{TWO_PERIODS}"));
        let message = toml::from_str::<Scheme>(&text).unwrap_err().to_string();
        assert!(message.contains("geodesic_wgs84"), "{message}");
        let s = scheme(&format!(
            "distance_method = \"geodesic_wgs84\"\n{TWO_PERIODS}"
        ));
        assert_eq!(
            s.banding.unwrap().distance_method,
            DistanceMethod::GeodesicWgs84
        );
    }

    #[test]
    fn a_role_or_service_that_is_not_built_does_not_parse() {
        let with_role = scheme_toml(TWO_PERIODS).replace(
            "name_property = \"name\"",
            "name_property = \"name\"\nrole = \"ward\"",
        );
        let message = toml::from_str::<Scheme>(&with_role)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("ward") && message.contains("night_zone"),
            "{message}"
        );
        let with_list = format!(
            "{}\n[[provider_lists]]\nservice = \"evening\"\nlayer = \"region\"\nareas = [\"x\"]\nfrom = \"2019-01-01\"\ntiers = []\n",
            scheme_toml(TWO_PERIODS)
        );
        let message = toml::from_str::<Scheme>(&with_list)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("evening") && message.contains("rapid_response"),
            "{message}"
        );
    }

    #[test]
    fn ons_codes_must_look_like_council_codes_and_be_listed_once() {
        let text = scheme_toml(TWO_PERIODS).replace(
            "[coverage]\nlayer = \"region\"\n",
            "[coverage]\nlayer = \"region\"\nons_codes = [\"E10000020\", \"E06000023\", \"E10000020\", \"W06000015\", \"E1000002\"]\n",
        );
        let s: Scheme = toml::from_str(&text).unwrap();
        let errors = s.check().unwrap_err();
        let about = |needle: &str| errors.iter().filter(|e| e.what.contains(needle)).count();
        assert_eq!(about("listed twice"), 1, "{errors:?}");
        assert_eq!(about("is not an ONS council code"), 2, "{errors:?}");
        assert!(is_ons_council_code("E06000023"));
        assert!(is_ons_council_code("E10000020"));
        assert!(!is_ons_council_code("E2000002X"));
        assert!(!is_ons_council_code("E20000020"));
    }

    #[test]
    fn a_scheme_picks_the_postcode_code_it_lists() {
        let mut s = scheme(TWO_PERIODS);
        s.coverage.ons_codes = vec!["E10000020".into()];
        assert_eq!(
            s.coverage
                .ons_code_of([Some("E10000020"), Some("E07000148")]),
            Some("E10000020")
        );
        assert_eq!(s.coverage.ons_code_of([None, Some("E06000025")]), None);
        s.coverage.ons_codes = vec!["E06000023".into()];
        assert_eq!(
            s.coverage.ons_code_of([None, Some("E06000023")]),
            Some("E06000023")
        );
    }

    #[test]
    fn a_declared_provider_coverage_is_refused_until_answers_use_it() {
        let text = format!(
            "{}\n[[providers]]\nid = \"p\"\nname = \"P\"\ncoverage_layer = \"region\"\n",
            scheme_toml(TWO_PERIODS)
        );
        let s: Scheme = toml::from_str(&text).unwrap();
        let errs = s.check().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.what.contains("coverage_layer") && e.what.contains("not supported")),
            "{errs:?}"
        );
    }
}
