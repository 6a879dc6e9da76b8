//! The offline gazetteer: settlements, neighbourhoods and named roads, and the reading of free
//! text ("Ollands Road, Reepham", "hetherset") into ranked candidates.
//!
//! Pure: no I/O, no HTTP. [`crate::data::load`] builds a [`Gazetteer`] from
//! `places/gazetteer.csv`; [`crate::engine::lookup`] turns its candidates into answers with bands.
//!
//! Names are compared in a canonical form ([`canonical`]): lower case, punctuation dropped,
//! and road-type words folded to one abbreviation, so "St Mary's Rd", "st marys road" and
//! "St. Marys Road" are the same key. Small typos are tolerated with the Damerau-Levenshtein
//! distance of the `strsim` crate.

use std::collections::{BTreeMap, HashMap};

use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use serde::Serialize;

use crate::engine::coord::LonLat;
use crate::engine::dataset::{PostcodeStatus, PostcodeTable};
use crate::engine::postcode::{self, Postcode, PostcodeQuery};

/// Most candidates a text query returns.
pub const MAX_CANDIDATES: usize = 8;

/// Most suggestions `suggest` returns.
pub const MAX_SUGGESTIONS: usize = 20;

/// How far (metres, BNG) a road may lie from a place of the asked locality and still count as
/// in it, when OS gives the road no locality of its own.
pub const LOCALITY_RADIUS_M: i32 = 3_000;

/// Most index entries an autocomplete prefix scan reads per key list, so a one-letter prefix
/// costs no more than a longer one.
const SCAN_CAP: usize = 4_000;

/// Half the side (metres) of the square around a point searched for postcodes when the entry
/// has no extent of its own (`GeoNames` places, neighbourhood names).
pub const POINT_EXTENT_HALF_SIDE_M: i32 = 750;

/// A road's extent is widened by this much (metres) on every side: postcode centroids sit
/// beside the road line, not on it.
pub const ROAD_EXTENT_MARGIN_M: i32 = 60;

/// What a gazetteer entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A city.
    City,
    /// A town.
    Town,
    /// A village.
    Village,
    /// A suburb (OS "Suburban Area", `GeoNames` PPLX).
    Suburb,
    /// A hamlet.
    Hamlet,
    /// Another settlement (OS "Other Settlement").
    Settlement,
    /// A populated place of `GeoNames` not otherwise classified.
    Place,
    /// A neighbourhood name (House of Commons Library MSOA names).
    Neighbourhood,
    /// A named road.
    Road,
}

impl PlaceKind {
    /// The name used in `gazetteer.csv` and in answers.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::Town => "town",
            Self::Village => "village",
            Self::Suburb => "suburb",
            Self::Hamlet => "hamlet",
            Self::Settlement => "settlement",
            Self::Place => "place",
            Self::Neighbourhood => "neighbourhood",
            Self::Road => "road",
        }
    }

    /// Parses [`PlaceKind::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "city" => Self::City,
            "town" => Self::Town,
            "village" => Self::Village,
            "suburb" => Self::Suburb,
            "hamlet" => Self::Hamlet,
            "settlement" => Self::Settlement,
            "place" => Self::Place,
            "neighbourhood" => Self::Neighbourhood,
            "road" => Self::Road,
            _ => return None,
        })
    }
}

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// Ordnance Survey Open Names (2019).
    OsOpenNames,
    /// `GeoNames` (2026).
    Geonames,
    /// House of Commons Library MSOA names.
    MsoaNames,
}

impl PlaceSource {
    /// The name used in `gazetteer.csv`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OsOpenNames => "os_open_names",
            Self::Geonames => "geonames",
            Self::MsoaNames => "msoa_names",
        }
    }

    /// Parses [`PlaceSource::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "os_open_names" => Self::OsOpenNames,
            "geonames" => Self::Geonames,
            "msoa_names" => Self::MsoaNames,
            _ => return None,
        })
    }
}

/// One gazetteer entry.
#[derive(Debug, Clone)]
pub struct Place {
    /// Name as published.
    pub name: String,
    /// What it is.
    pub kind: PlaceKind,
    /// The settlement OS places a road in, when it gives one.
    pub locality: Option<String>,
    /// The nearest settlement (computed at import), for roads.
    pub near: Option<String>,
    /// Local authority district name.
    pub district: Option<String>,
    /// WGS84 point: a road's or place's OS point, a `GeoNames` point, an MSOA representative
    /// point.
    pub at: LonLat,
    /// The same point in BNG metres.
    pub bng: (i32, i32),
    /// OS bounding box in BNG metres `[min_e, min_n, max_e, max_n]`, when the source has one.
    pub extent: Option<[i32; 4]>,
    /// Where it comes from.
    pub source: PlaceSource,
}

impl Place {
    /// "Ollands Road, Reepham (road, Broadland)".
    #[must_use]
    pub fn label(&self) -> String {
        let mut s = self.name.clone();
        if let Some(l) = self.locality.as_ref().or(self.near.as_ref())
            && !l.eq_ignore_ascii_case(&self.name)
        {
            s.push_str(", ");
            s.push_str(l);
        }
        s.push_str(" (");
        s.push_str(self.kind.as_str());
        if let Some(d) = &self.district {
            s.push_str(", ");
            s.push_str(d);
        }
        s.push(')');
        s
    }
}

/// How a name matched the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum NameMatch {
    /// The canonical forms are equal.
    Exact,
    /// The typed text starts the name (autocomplete only).
    Prefix,
    /// Within a few typing edits.
    Fuzzy {
        /// Damerau-Levenshtein edits between the canonical forms.
        edits: usize,
    },
}

/// What a free-text query was read as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Understood {
    /// A full postcode found in the text (it wins over everything else).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// A house number or name, which the gazetteer cannot place (only the road is placed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub house: Option<String>,
    /// The part read as a road.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub road: Option<String>,
    /// The part read as a town, village or neighbourhood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Parts that matched nothing and were ignored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// One candidate for a text query, before banding.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The entry.
    pub place: &'a Place,
    /// Index of the entry in the gazetteer.
    pub id: u32,
    /// How its name matched.
    pub matched: NameMatch,
    /// For a road asked with a locality: whether the road is in that locality.
    pub in_locality: Option<bool>,
}

/// The gazetteer's reading of a text query.
#[derive(Debug, Clone, Default)]
pub struct Found<'a> {
    /// What the text was read as.
    pub understood: Understood,
    /// Candidates, best first (at most [`MAX_CANDIDATES`]).
    pub candidates: Vec<Candidate<'a>>,
    /// How many candidates share the best rank (1 means a clear answer), counted before the
    /// list was cut to [`MAX_CANDIDATES`].
    pub best_tied: usize,
    /// Notes on the reading ("no Mill Road in Aylsham; other Mill Roads are listed").
    pub notes: Vec<String>,
    /// Parts of the text read as a road or address that were not found (`Gloucester Road`),
    /// as a person writes them: the candidates answer only for the place the text also names.
    pub not_found: Vec<String>,
}

/// One autocomplete suggestion.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// Display text: "Hethersett (village, South Norfolk)".
    pub label: String,
    /// Name as published.
    pub name: String,
    /// What it is.
    pub kind: PlaceKind,
    /// Locality (OS) or nearest settlement, for roads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// District.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Latitude of the entry's point.
    pub lat: f64,
    /// Longitude of the entry's point.
    pub lon: f64,
    /// How the name matched what was typed.
    #[serde(rename = "match")]
    pub matched: NameMatch,
    /// Text to send as `q` to `/v1/lookup` for this entry ("Ollands Road, Reepham").
    pub query: String,
}

type PostcodeEntry = GeomWithData<[i32; 2], u32>;

/// Every entry, indexed by canonical name (exact, prefix and fuzzy), plus a BNG index of the
/// postcode table for extents.
pub struct Gazetteer {
    places: Vec<Place>,
    /// (canonical name, id), sorted: exact lookups and prefix scans.
    by_canon: Vec<(Box<str>, u32)>,
    /// (plain-folded name, id), sorted: prefix scans of half-typed words ("church la").
    by_plain: Vec<(Box<str>, u32)>,
    /// Distinct canonical names by first character, for fuzzy matching.
    fuzzy: HashMap<char, Vec<Box<str>>>,
    /// Canonical locality and nearest-settlement keys per entry.
    loc_keys: Vec<[Option<Box<str>>; 2]>,
    /// Live postcodes with a BNG position: (easting, northing) -> index in the postcode table.
    postcodes: RTree<PostcodeEntry>,
}

/// Road-type and common words folded to one spelling on both sides of every comparison.
const FOLDS: &[(&str, &str)] = &[
    ("street", "st"),
    ("saint", "st"),
    ("road", "rd"),
    ("lane", "ln"),
    ("la", "ln"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("close", "cl"),
    ("drive", "dr"),
    ("crescent", "cres"),
    ("cresc", "cres"),
    ("court", "ct"),
    ("place", "pl"),
    ("gardens", "gdns"),
    ("terrace", "ter"),
    ("terr", "ter"),
    ("square", "sq"),
    ("grove", "gr"),
    ("great", "gt"),
    ("little", "lt"),
    ("mount", "mt"),
    ("park", "pk"),
    ("and", "&"),
];

/// Parts of an address that say nothing about the place within Norfolk or Bristol.
const IGNORED_PARTS: &[&str] = &[
    "uk",
    "united kingdom",
    "england",
    "gb",
    "great britain",
    "norfolk",
    "suffolk",
];

/// Lower case; letters and digits kept, apostrophes and full stops dropped, everything else a
/// single space.
#[must_use]
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '\u{2019}' | '.') {
            // "King's" -> "kings", "St." -> "st"
        } else if c == '&' {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push('&');
            space = true;
        } else {
            space = true;
        }
    }
    out
}

/// The canonical form names are compared in: [`plain`], then every word in [`FOLDS`] replaced
/// by its short form.
///
/// ```
/// # use careband::engine::gazetteer::canonical;
/// assert_eq!(canonical("St. Mary's Road"), "st marys rd");
/// assert_eq!(canonical("saint marys rd"), "st marys rd");
/// assert_eq!(canonical("Wells-next-the-Sea"), "wells next the sea");
/// ```
#[must_use]
pub fn canonical(text: &str) -> String {
    plain(text)
        .split(' ')
        .map(|w| {
            FOLDS
                .iter()
                .find(|(long, _)| *long == w)
                .map_or(w, |(_, short)| short)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn max_edits(key: &str) -> usize {
    match key.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Ranking of kinds for a bare name: bigger places first, roads last.
fn kind_rank(k: PlaceKind) -> u8 {
    match k {
        PlaceKind::City => 0,
        PlaceKind::Town => 1,
        PlaceKind::Village => 2,
        PlaceKind::Suburb => 3,
        PlaceKind::Neighbourhood => 4,
        PlaceKind::Hamlet => 5,
        PlaceKind::Settlement => 6,
        PlaceKind::Place => 7,
        PlaceKind::Road => 8,
    }
}

fn sorted_keys(places: &[Place], f: impl Fn(&str) -> String) -> Vec<(Box<str>, u32)> {
    let mut keys: Vec<(Box<str>, u32)> = places
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = u32::try_from(i).expect("fewer than 2^32 places");
            (f(&p.name).into_boxed_str(), id)
        })
        .collect();
    keys.sort();
    keys
}

/// A full postcode in text, if any (the last one wins, as postcodes end addresses), found
/// as [`crate::engine::query`] finds it, so the gazetteer never reads a postcode the query
/// reader did not.
fn postcode_in(text: &str) -> Option<Postcode> {
    let m = crate::engine::query::find_postcode(text)?;
    match postcode::parse(&m.postcode) {
        Ok(PostcodeQuery::Unit(p)) => Some(p),
        _ => None,
    }
}

/// Last words of a canonical part that make it read as a road ("gloucester rd", "the ave").
const ROAD_WORDS: &[&str] = &[
    "st", "rd", "ln", "ave", "cl", "dr", "cres", "ct", "pl", "gdns", "ter", "sq", "gr", "way",
    "walk", "row", "mews", "hill", "pk", "green", "wy", "loke", "yard", "drove", "chase",
];

/// Whether a canonical part ends in a road word.
fn looks_like_road(part: &str) -> bool {
    part.rsplit(' ')
        .next()
        .is_some_and(|w| ROAD_WORDS.contains(&w))
        && part.contains(' ')
}

/// A canonical part as a person writes it: words capitalised, and a short road word at the
/// end spelt out ("gloucester rd" -> "Gloucester Road").
fn display_name(part: &str) -> String {
    let words: Vec<&str> = part.split(' ').collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let long = if i == last && i > 0 {
                FOLDS
                    .iter()
                    .find(|(_, short)| short == w)
                    .map_or(*w, |(long, _)| long)
            } else {
                w
            };
            let mut c = long.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().chain(c).collect::<String>()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits off a leading house number ("12", "12a", "flat 3", "unit 4b") from a part.
fn strip_house_number(part: &str) -> (Option<String>, String) {
    let words: Vec<&str> = part.split(' ').collect();
    let is_number = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_digit())
            && w.chars().filter(char::is_ascii_alphabetic).count() <= 1
    };
    let mut n = 0;
    while n < words.len() {
        if is_number(words[n]) {
            n += 1;
        } else if matches!(words[n], "flat" | "unit" | "apartment" | "no")
            && words.get(n + 1).is_some_and(|w| is_number(w))
        {
            n += 2;
        } else {
            break;
        }
    }
    if n == 0 {
        (None, part.to_string())
    } else {
        (Some(words[..n].join(" ")), words[n..].join(" "))
    }
}

impl Gazetteer {
    /// Builds the indexes. `postcodes` is the table extents are measured against.
    ///
    /// # Runtime
    /// `O(n log n)` in entries plus postcodes.
    #[must_use]
    pub fn new(places: Vec<Place>, postcodes: &PostcodeTable) -> Self {
        let by_canon = sorted_keys(&places, canonical);
        let by_plain = sorted_keys(&places, plain);
        let mut fuzzy: HashMap<char, Vec<Box<str>>> = HashMap::new();
        for (key, _) in &by_canon {
            if let Some(c) = key.chars().next() {
                let bucket = fuzzy.entry(c).or_default();
                if bucket.last() != Some(key) {
                    bucket.push(key.clone());
                }
            }
        }
        let loc_keys = places
            .iter()
            .map(|p| {
                [
                    p.locality.as_deref().map(|l| canonical(l).into_boxed_str()),
                    p.near.as_deref().map(|l| canonical(l).into_boxed_str()),
                ]
            })
            .collect();
        let entries = postcodes
            .records()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == PostcodeStatus::Live)
            .filter(|(_, r)| r.position.is_some())
            .filter_map(|(i, r)| {
                let (e, n) = r.bng?;
                Some(GeomWithData::new([e, n], u32::try_from(i).ok()?))
            })
            .collect();
        Self {
            places,
            by_canon,
            by_plain,
            fuzzy,
            loc_keys,
            postcodes: RTree::bulk_load(entries),
        }
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Every entry, in file order.
    #[must_use]
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The entry with this id.
    #[must_use]
    pub fn get(&self, id: u32) -> Option<&Place> {
        self.places.get(id as usize)
    }

    /// Ids of entries whose canonical name is exactly `key`.
    fn exact(&self, key: &str) -> impl Iterator<Item = u32> {
        let start = self.by_canon.partition_point(|(k, _)| k.as_ref() < key);
        self.by_canon[start..]
            .iter()
            .take_while(move |(k, _)| k.as_ref() == key)
            .map(|&(_, id)| id)
    }

    /// Canonical names within the typo allowance of `key`, with their edit counts (the
    /// fewest-edit names only).
    fn fuzzy_keys(&self, key: &str) -> Vec<(&str, usize)> {
        let limit = max_edits(key);
        let Some(first) = key.chars().next() else {
            return Vec::new();
        };
        if limit == 0 {
            return Vec::new();
        }
        let len = key.chars().count();
        let mut best = usize::MAX;
        let mut out = Vec::new();
        for k in self.fuzzy.get(&first).into_iter().flatten() {
            if k.chars().count().abs_diff(len) > limit {
                continue;
            }
            let d = strsim::damerau_levenshtein(key, k);
            if d == 0 || d > limit || d > best {
                continue;
            }
            if d < best {
                best = d;
                out.clear();
            }
            out.push((k.as_ref(), d));
        }
        out
    }

    /// Whether any non-road entry has this canonical name.
    fn is_place_name(&self, key: &str) -> bool {
        self.exact(key)
            .any(|id| self.places[id as usize].kind != PlaceKind::Road)
    }

    /// Whether any road has this canonical name.
    fn is_road_name(&self, key: &str) -> bool {
        self.exact(key)
            .any(|id| self.places[id as usize].kind == PlaceKind::Road)
    }

    /// Whether OS puts the road `id` in the locality `loc` (canonical), or `loc` is its
    /// nearest settlement.
    fn named_locality(&self, id: u32, loc: &str) -> bool {
        self.loc_keys[id as usize]
            .iter()
            .flatten()
            .any(|k| k.as_ref() == loc)
    }

    /// Whether the road `id` lies within [`LOCALITY_RADIUS_M`] of a place called `loc`.
    fn near_locality(&self, id: u32, loc: &str) -> bool {
        let (e, n) = self.places[id as usize].bng;
        self.exact(loc).any(|pid| {
            let p = &self.places[pid as usize];
            p.kind != PlaceKind::Road
                && (p.bng.0 - e).abs() <= LOCALITY_RADIUS_M
                && (p.bng.1 - n).abs() <= LOCALITY_RADIUS_M
        })
    }

    /// Reads free text into ranked candidates.
    ///
    /// Steps:
    /// 1. a full postcode anywhere in the text is noted in [`Understood::postcode`] and nothing
    ///    else is done (the caller answers the postcode);
    /// 2. the text is split into parts at commas (or, without commas, tried whole and then as
    ///    "road words + locality words"); house numbers are split off;
    /// 3. the first part that names a road is the road, a later (or any other) part that names
    ///    a settlement or neighbourhood is the locality, earlier unmatched parts are the house;
    /// 4. candidates: roads of that name in the locality, else all roads of that name (with a
    ///    note), else places of the locality's name; when nothing matches exactly, the nearest
    ///    names within a few typing edits;
    /// 5. ranked by match quality, then size of place, then name and district.
    ///
    /// Every entry counts as inside coverage here; [`Gazetteer::find_preferring`] ranks the
    /// entries inside the loaded schemes' coverage first among equals.
    #[must_use]
    pub fn find(&self, text: &str) -> Found<'_> {
        self.find_preferring(text, |_| true)
    }

    /// [`Gazetteer::find`], with candidates of equal match quality ranked inside coverage
    /// (`inside` is true) before outside it, then by size of place, name and district. A
    /// Norfolk "Mill Road" thus comes before a Somerset one, whatever their district names.
    #[must_use]
    pub fn find_preferring(&self, text: &str, inside: impl Fn(&Place) -> bool) -> Found<'_> {
        let mut found = Found::default();
        if let Some(p) = postcode_in(text) {
            found.understood.postcode = Some(p.to_string());
            return found;
        }
        let mut parts: Vec<String> = text
            .split([',', ';', '\n'])
            .map(canonical)
            .filter(|p| !p.is_empty() && !IGNORED_PARTS.contains(&p.as_str()))
            .collect();
        let mut house = Vec::new();
        for p in &mut parts {
            let (number, rest) = strip_house_number(p);
            house.extend(number);
            *p = rest;
        }
        parts.retain(|p| !p.is_empty());
        if parts.len() == 1 {
            // No commas: "ollands rd reepham" -> road "ollands rd" + locality "reepham".
            let whole = parts[0].clone();
            if !self.is_place_name(&whole) && !self.is_road_name(&whole) {
                let words: Vec<&str> = whole.split(' ').collect();
                for cut in (1..words.len()).rev() {
                    let (a, b) = (words[..cut].join(" "), words[cut..].join(" "));
                    if self.is_road_name(&a) && self.is_place_name(&b) {
                        parts = vec![a, b];
                        break;
                    }
                }
            }
        }
        let road_at = parts.iter().position(|p| self.is_road_name(p));
        let loc_at = parts
            .iter()
            .enumerate()
            .rev()
            .find(|&(i, p)| Some(i) != road_at && self.is_place_name(p))
            .map(|(i, _)| i);
        for (i, p) in parts.iter().enumerate() {
            if Some(i) == road_at || Some(i) == loc_at {
                continue;
            }
            if road_at.is_some_and(|r| i < r) {
                house.push(p.clone());
            } else {
                found.understood.ignored.push(p.clone());
            }
        }
        if !house.is_empty() {
            found.understood.house = Some(house.join(", "));
        }
        match (road_at, loc_at) {
            (Some(r), loc) => {
                let road = &parts[r];
                found.understood.road = Some(road.clone());
                let loc = loc.map(|l| parts[l].clone());
                found.understood.locality.clone_from(&loc);
                self.roads(road, loc.as_deref(), NameMatch::Exact, &mut found);
            }
            (None, Some(l)) => {
                let loc = parts[l].clone();
                found.understood.locality = Some(loc.clone());
                self.named(&loc, NameMatch::Exact, &mut found);
                // A part before the place ("gloucester rd, bristol"), or one that reads as a
                // road wherever it is, asked for something smaller than the place: say it was
                // not found rather than answer the place as if it were that road.
                let unfound: Vec<&String> = parts
                    .iter()
                    .enumerate()
                    .filter(|&(i, p)| i != l && (i < l || looks_like_road(p)))
                    .map(|(_, p)| p)
                    .collect();
                if !unfound.is_empty() && !found.candidates.is_empty() {
                    let place = display_name(&loc);
                    for p in unfound {
                        let shown = display_name(p);
                        found.notes.push(format!(
                            "no {} called {shown} was found in the gazetteer; answering for {place} as a place",
                            if looks_like_road(p) { "road" } else { "road or place" }
                        ));
                        found.not_found.push(shown);
                    }
                }
            }
            (None, None) => self.fuzzy_find(&parts, &mut found),
        }
        Self::rank(&mut found, inside);
        found
    }

    /// Roads named `road`, restricted to `loc` when some are in it.
    fn roads<'a>(&'a self, road: &str, loc: Option<&str>, how: NameMatch, found: &mut Found<'a>) {
        let all: Vec<u32> = self
            .exact(road)
            .filter(|&id| self.places[id as usize].kind == PlaceKind::Road)
            .collect();
        let Some(loc) = loc else {
            found
                .candidates
                .extend(all.into_iter().map(|id| self.candidate(id, how, None)));
            return;
        };
        // Roads OS places in the locality (or whose nearest settlement it is) first; only when
        // there are none, roads within a few kilometres of a place of that name.
        let mut inside: Vec<u32> = all
            .iter()
            .copied()
            .filter(|&id| self.named_locality(id, loc))
            .collect();
        if inside.is_empty() {
            inside = all
                .iter()
                .copied()
                .filter(|&id| self.near_locality(id, loc))
                .collect();
        }
        if inside.is_empty() {
            let (shown, place) = (display_name(road), display_name(loc));
            found.notes.push(format!(
                "no road called {shown} was found in or near {place} in the gazetteer; answering for {place} as a place (roads of that name elsewhere are listed too)"
            ));
            found.not_found.push(shown);
            found.candidates.extend(
                all.into_iter()
                    .map(|id| self.candidate(id, how, Some(false))),
            );
            self.named(loc, how, found);
        } else {
            found.candidates.extend(
                inside
                    .into_iter()
                    .map(|id| self.candidate(id, how, Some(true))),
            );
        }
    }

    /// Non-road entries named `key`.
    fn named<'a>(&'a self, key: &str, how: NameMatch, found: &mut Found<'a>) {
        let ids: Vec<u32> = self
            .exact(key)
            .filter(|&id| self.places[id as usize].kind != PlaceKind::Road)
            .collect();
        found
            .candidates
            .extend(ids.into_iter().map(|id| self.candidate(id, how, None)));
    }

    fn candidate(&self, id: u32, matched: NameMatch, in_locality: Option<bool>) -> Candidate<'_> {
        Candidate {
            place: &self.places[id as usize],
            id,
            matched,
            in_locality,
        }
    }

    /// Nothing matched exactly: the part (whole text first) with the closest names.
    fn fuzzy_find<'a>(&'a self, parts: &[String], found: &mut Found<'a>) {
        let mut best: Option<(usize, usize, Vec<&str>)> = None; // (edits, part, keys)
        for (i, part) in parts.iter().enumerate() {
            let keys = self.fuzzy_keys(part);
            let Some(&(_, d)) = keys.first() else {
                continue;
            };
            if best.as_ref().is_none_or(|(bd, _, _)| d < *bd) {
                best = Some((d, i, keys.into_iter().map(|(k, _)| k).collect()));
            }
        }
        let Some((edits, part, keys)) = best else {
            found.understood.ignored = parts.to_vec();
            return;
        };
        found.understood.ignored = parts
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != part)
            .map(|(_, p)| p.clone())
            .collect();
        let how = NameMatch::Fuzzy { edits };
        // A road part followed by a locality part keeps the locality filter.
        let loc = parts
            .iter()
            .enumerate()
            .rev()
            .find(|&(i, p)| i != part && self.is_place_name(p))
            .map(|(_, p)| p.clone());
        for key in keys {
            if self.is_road_name(key) && !self.is_place_name(key) {
                found.understood.road = Some(key.to_string());
                found.understood.locality.clone_from(&loc);
                self.roads(key, loc.as_deref(), how, found);
            } else {
                found.understood.locality = Some(key.to_string());
                self.named(key, how, found);
                let roads: Vec<u32> = self
                    .exact(key)
                    .filter(|&id| self.places[id as usize].kind == PlaceKind::Road)
                    .collect();
                found
                    .candidates
                    .extend(roads.into_iter().map(|id| self.candidate(id, how, None)));
            }
        }
        found.understood.ignored.retain(|p| Some(p) != loc.as_ref());
        if let Some(first) = found.candidates.first() {
            found.notes.push(format!(
                "nothing is called exactly {:?}; read as {:?} ({edits} typing edit{})",
                parts[part],
                first.place.name,
                if edits == 1 { "" } else { "s" }
            ));
        }
    }

    /// Sorts, removes duplicates, truncates, and counts the ties at the top.
    fn rank(found: &mut Found<'_>, inside: impl Fn(&Place) -> bool) {
        let key = |c: &Candidate<'_>| {
            (
                c.matched,
                c.in_locality == Some(false),
                !inside(c.place),
                kind_rank(c.place.kind),
                c.place.source,
                c.place.name.clone(),
                c.place.district.clone(),
                c.id,
            )
        };
        // Cached: `inside` may test polygons.
        found.candidates.sort_by_cached_key(key);
        found.candidates.dedup_by_key(|c| c.id);
        let tie = |c: &Candidate<'_>| (c.matched, c.in_locality == Some(false));
        found.best_tied = match found.candidates.first() {
            None => 0,
            Some(first) => {
                let t = tie(first);
                // Two entries of different kinds with the same name (a village and a
                // hamlet) are still two places: a tie is the same match quality.
                found.candidates.iter().filter(|c| tie(c) == t).count()
            }
        };
        // A town's own entry beats a neighbourhood or GeoNames duplicate of itself only when
        // they are far apart; near duplicates are dropped.
        if found.best_tied > 1 {
            let mut kept: Vec<Candidate<'_>> = Vec::new();
            for c in found.candidates.drain(..) {
                let dup = kept.iter().any(|k| {
                    k.place.kind != PlaceKind::Road
                        && c.place.kind != PlaceKind::Road
                        && canonical(&k.place.name) == canonical(&c.place.name)
                        && (k.place.bng.0 - c.place.bng.0).abs() <= LOCALITY_RADIUS_M
                        && (k.place.bng.1 - c.place.bng.1).abs() <= LOCALITY_RADIUS_M
                });
                if !dup {
                    kept.push(c);
                }
            }
            found.candidates = kept;
            if let Some(first) = found.candidates.first() {
                let t = tie(first);
                found.best_tied = found.candidates.iter().filter(|c| tie(c) == t).count();
            }
        }
        // Counted before truncating, so "12 match equally" stays true when 8 are listed.
        found.candidates.truncate(MAX_CANDIDATES);
    }

    /// Autocomplete: entries whose name starts with the typed text (a trailing ", locality"
    /// filters by locality), then, for four or more letters, names within a typing edit.
    /// Ranked: exact name, then prefix, then fuzzy; within each, bigger places first.
    #[must_use]
    pub fn suggest(&self, text: &str, limit: usize) -> Vec<Suggestion> {
        let limit = limit.min(MAX_SUGGESTIONS);
        let (name_part, loc_part) = match text.split_once(',') {
            Some((a, b)) => (a, Some(plain(b))),
            None => (text, None),
        };
        let typed_plain = plain(name_part);
        let typed_canon = canonical(name_part);
        if typed_plain.is_empty() || limit == 0 {
            return Vec::new();
        }
        let loc_ok = |id: u32| -> bool {
            let Some(l) = loc_part.as_deref().filter(|l| !l.is_empty()) else {
                return true;
            };
            let p = &self.places[id as usize];
            [&p.locality, &p.near, &p.district]
                .into_iter()
                .flatten()
                .any(|x| plain(x).starts_with(l))
        };
        // (match, kind rank, name length, id)
        let mut hits: BTreeMap<u32, NameMatch> = BTreeMap::new();
        for (keys, typed) in [
            (&self.by_plain, &typed_plain),
            (&self.by_canon, &typed_canon),
        ] {
            let start = keys.partition_point(|(k, _)| k.as_ref() < typed.as_str());
            for (k, id) in keys[start..]
                .iter()
                .take_while(|(k, _)| k.starts_with(typed.as_str()))
                .take(SCAN_CAP)
            {
                if !loc_ok(*id) {
                    continue;
                }
                let m = if k.as_ref() == typed.as_str() {
                    NameMatch::Exact
                } else {
                    NameMatch::Prefix
                };
                let e = hits.entry(*id).or_insert(m);
                *e = (*e).min(m);
            }
        }
        if hits.len() < limit {
            for (key, edits) in self.fuzzy_keys(&typed_canon) {
                for id in self.exact(key) {
                    if loc_ok(id) {
                        hits.entry(id).or_insert(NameMatch::Fuzzy { edits });
                    }
                }
            }
        }
        let mut ranked: Vec<(NameMatch, u8, usize, u32)> = hits
            .into_iter()
            .map(|(id, m)| {
                let p = &self.places[id as usize];
                (m, kind_rank(p.kind), p.name.len(), id)
            })
            .collect();
        ranked.sort_unstable();
        ranked
            .into_iter()
            .take(limit)
            .map(|(m, _, _, id)| {
                let p = &self.places[id as usize];
                let loc = p.locality.clone().or_else(|| p.near.clone());
                let query = match (&loc, p.kind) {
                    (Some(l), PlaceKind::Road) => format!("{}, {l}", p.name),
                    _ => p.name.clone(),
                };
                Suggestion {
                    label: p.label(),
                    name: p.name.clone(),
                    kind: p.kind,
                    locality: loc,
                    district: p.district.clone(),
                    lat: p.at.lat(),
                    lon: p.at.lon(),
                    matched: m,
                    query,
                }
            })
            .collect()
    }

    /// Postcode-table indexes of the live postcodes in the entry's extent, and a description of
    /// that extent. Roads: their OS box widened by [`ROAD_EXTENT_MARGIN_M`]; places with an OS
    /// box: the box; others: a square around the point.
    #[must_use]
    pub fn extent_postcodes(&self, place: &Place) -> (Vec<u32>, String) {
        let (bbox, basis) = match (place.extent, place.kind) {
            (Some([a, b, c, d]), PlaceKind::Road) => (
                [
                    a - ROAD_EXTENT_MARGIN_M,
                    b - ROAD_EXTENT_MARGIN_M,
                    c + ROAD_EXTENT_MARGIN_M,
                    d + ROAD_EXTENT_MARGIN_M,
                ],
                format!(
                    "live postcodes within {ROAD_EXTENT_MARGIN_M} m of the road's OS bounding box"
                ),
            ),
            (Some(b), _) => (
                b,
                "live postcodes inside the place's OS bounding box".into(),
            ),
            (None, _) => {
                let (e, n) = place.bng;
                let h = POINT_EXTENT_HALF_SIDE_M;
                (
                    [e - h, n - h, e + h, n + h],
                    format!(
                        "live postcodes within {h} m (east-west and north-south) of the point; the source gives no extent"
                    ),
                )
            }
        };
        let env = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        let mut ids: Vec<u32> = self
            .postcodes
            .locate_in_envelope(&env)
            .map(|e| e.data)
            .collect();
        ids.sort_unstable();
        (ids, basis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, kind: PlaceKind, locality: Option<&str>, e: i32, n: i32) -> Place {
        Place {
            name: name.into(),
            kind,
            locality: locality.map(str::to_string),
            near: None,
            district: Some("Testshire".into()),
            at: LonLat::new(1.0, 52.0).unwrap(),
            bng: (e, n),
            extent: None,
            source: PlaceSource::OsOpenNames,
        }
    }

    fn gazetteer() -> Gazetteer {
        Gazetteer::new(
            vec![
                place("Hethersett", PlaceKind::Village, None, 615_290, 305_052),
                place("Reepham", PlaceKind::Town, None, 610_000, 323_000),
                place(
                    "Ollands Road",
                    PlaceKind::Road,
                    Some("Reepham"),
                    610_196,
                    323_134,
                ),
                place(
                    "Ollands Road",
                    PlaceKind::Road,
                    Some("Attleborough"),
                    604_479,
                    294_435,
                ),
                place("Church Lane", PlaceKind::Road, None, 610_500, 322_000),
                place("Church Lane", PlaceKind::Road, None, 500_000, 200_000),
                place("Thorpe", PlaceKind::Village, None, 600_000, 300_000),
                place("Thorpe", PlaceKind::Hamlet, None, 650_000, 290_000),
            ],
            &PostcodeTable::new(Vec::new()),
        )
    }

    #[test]
    fn abbreviations_case_and_punctuation_fold_together() {
        assert_eq!(canonical("OLLANDS ROAD"), canonical("ollands rd."));
        assert_eq!(canonical("Church La"), canonical("church lane"));
        assert_eq!(canonical("King's Lynn"), "kings lynn");
    }

    #[test]
    fn a_village_name_is_the_village() {
        let g = gazetteer();
        let f = g.find("hethersett");
        assert_eq!(f.candidates.len(), 1);
        assert_eq!(f.candidates[0].place.name, "Hethersett");
        assert_eq!(f.best_tied, 1);
    }

    #[test]
    fn a_road_with_its_locality_picks_that_road() {
        let g = gazetteer();
        for text in [
            "Ollands Road, Reepham",
            "ollands rd reepham",
            "12 Ollands Rd, REEPHAM",
        ] {
            let f = g.find(text);
            assert_eq!(f.candidates.len(), 1, "{text}");
            assert_eq!(f.candidates[0].place.locality.as_deref(), Some("Reepham"));
            assert_eq!(f.best_tied, 1);
        }
        assert_eq!(
            g.find("12 Ollands Rd, Reepham").understood.house.as_deref(),
            Some("12")
        );
    }

    #[test]
    fn a_road_without_locality_lists_every_road_of_the_name() {
        let g = gazetteer();
        let f = g.find("Ollands Road");
        assert_eq!(f.candidates.len(), 2);
        assert_eq!(f.best_tied, 2);
    }

    #[test]
    fn a_road_near_a_place_counts_as_in_it() {
        let g = gazetteer();
        let f = g.find("Church Lane, Reepham");
        assert_eq!(f.candidates.len(), 1);
        assert_eq!(f.candidates[0].place.bng, (610_500, 322_000));
    }

    #[test]
    fn a_typo_is_read_as_the_nearest_name_and_said() {
        let g = gazetteer();
        let f = g.find("Hetherset");
        assert_eq!(f.candidates[0].place.name, "Hethersett");
        assert_eq!(f.candidates[0].matched, NameMatch::Fuzzy { edits: 1 });
        assert!(!f.notes.is_empty());
    }

    #[test]
    fn two_places_of_one_name_are_both_given() {
        let g = gazetteer();
        let f = g.find("Thorpe");
        assert_eq!(f.candidates.len(), 2);
        assert_eq!(f.best_tied, 2);
    }

    #[test]
    fn unknown_text_finds_nothing() {
        let g = gazetteer();
        assert!(g.find("Xyzzyplugh").candidates.is_empty());
        assert!(g.find("").candidates.is_empty());
        assert!(g.find(",,,;").candidates.is_empty());
    }

    #[test]
    fn a_postcode_in_the_text_wins() {
        let g = gazetteer();
        let f = g.find("Ollands Road, Reepham NR10 4EJ");
        assert_eq!(f.understood.postcode.as_deref(), Some("NR10 4EJ"));
        assert!(f.candidates.is_empty());
    }

    #[test]
    fn suggestions_complete_half_typed_words_and_rank_places_first() {
        let g = gazetteer();
        let s = g.suggest("ollands ro", 10);
        assert_eq!(s.len(), 2);
        let s = g.suggest("Church La, reep", 10);
        assert_eq!(s.len(), 0, "the second Church Lane has no locality");
        let s = g.suggest("thor", 10);
        assert_eq!(s[0].kind, PlaceKind::Village);
        assert!(g.suggest("", 10).is_empty());
        assert_eq!(g.suggest("hethersetr", 10)[0].name, "Hethersett");
    }
}
