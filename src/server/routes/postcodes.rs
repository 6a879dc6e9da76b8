//! `GET /v1/postcodes/{postcode}`: what is known of one postcode (position, status, GSS area
//! codes, and the scheme polygons it falls in), without resolving bands or rates.
//! `GET /v1/postcodes?lat=&lon=` (or `easting=&northing=`): the nearest live postcodes to a
//! point, with their distances. `POST /v1/postcodes`: the bulk lookup of `POST /v1/lookup`,
//! where postcodes.io clients send it.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::engine::coord::Bng;
use crate::engine::query::{Given, Query, read};
use crate::server::routes::lookup::{BulkRequest, BulkResponse, bulk, parse_number};
use crate::server::strict_json::StrictValue;

use crate::engine::answer::PointOut;
use crate::engine::answer::PostcodeFacts;
use crate::engine::dataset::AreaMatch;
use crate::engine::lookup::SUGGESTIONS;
use crate::engine::postcode::{self, PostcodeQuery};

use crate::server::error::{ApiError, ErrorBody, ErrorCode};
use crate::server::routes::params::check_known;
use crate::server::state::AppState;

/// Facts about one postcode.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostcodeResponse {
    /// Status, BNG position, quality and GSS codes.
    #[serde(flatten)]
    pub facts: PostcodeFacts,
    /// WGS84 position, when known.
    pub position: Option<PointOut>,
    /// Every polygon of the layers of the schemes that answer the postcode (picked by its ONS
    /// codes) that covers the position.
    pub areas: Vec<SchemeArea>,
    /// Dataset version used.
    pub dataset_version: String,
}

/// A scheme polygon covering a postcode.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeArea {
    /// The scheme whose layer this is.
    pub scheme: String,
    /// The layer, feature and how it matched.
    #[serde(flatten)]
    pub area: AreaMatch,
}

/// Facts about one postcode.
///
/// Position, live or terminated status, Code-Point quality, GSS county/district/ward codes and
/// the scheme polygons (counties, CCGs, zones) it lies in.
// The documented pattern is an outward code (A9, A99, AA9, AA99, A9A, AA9A), optional spaces and
// an inward code (a digit and two of the letters Royal Mail uses there), or GIR 0AA, any case:
// stricter than `postcode::parse`, which also reads odd spacing such as `N R1 1AA`.
#[utoipa::path(
    get,
    path = "/v1/postcodes/{postcode}",
    tag = "postcodes",
    params(("postcode" = String, Path, description = "A full postcode, any case, with or without its space (`NR1 1AA`, `nr11aa`)", pattern = "^ *([A-Za-z]{1,2}[0-9][A-Za-z0-9]? *[0-9][ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}|[Gg][Ii][Rr] *0[Aa][Aa]) *$", example = "NR1 1AA")),
    responses(
        (status = 200, description = "The postcode's facts", body = PostcodeResponse),
        (status = 400, description = "Not a full postcode (a correctable one with the correction in `suggestions`), or an unknown parameter", body = ErrorBody),
        (status = 404, description = "Unknown postcode, with `suggestions` from the same sector", body = ErrorBody),
    )
)]
pub async fn get_postcode(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<PostcodeResponse>, ApiError> {
    check_known(req.query_string(), &[])?;
    let text = path.into_inner();
    let field = Some("postcode");
    let pc = match postcode::parse(&text) {
        Ok(PostcodeQuery::Unit(pc)) => pc,
        Ok(partial) => {
            return Err(ApiError::bad(
                ErrorCode::PartialPostcode,
                field,
                format!(
                    "{} is a partial postcode: give a full one, or use /v1/lookup?postcode= for a summary",
                    partial.as_str()
                ),
            ));
        }
        Err(e) => return Err(ApiError::bad(ErrorCode::BadPostcode, field, e.to_string())),
    };
    let ds = state.dataset();
    let Some(rec) = ds.postcodes.get(&pc) else {
        let suggestions = ds
            .postcodes
            .suggestions(&pc, SUGGESTIONS)
            .iter()
            .map(|r| r.postcode.to_string())
            .collect();
        return Err(ApiError::NotFound {
            code: ErrorCode::PostcodeNotFound,
            message: format!("postcode {pc} was not found"),
            suggestions: Some(suggestions),
        });
    };
    // Only the layers of the schemes that answer this postcode (by its ONS codes), so a
    // Norwich postcode lists no Bristol layer.
    let answering = crate::engine::resolve::schemes_of_postcode(&ds, rec, rec.position);
    let areas = rec
        .position
        .map(|at| {
            answering
                .iter()
                .flat_map(|s| {
                    s.scheme.layers.iter().flat_map(move |spec| {
                        s.layer(&spec.id)
                            .map(|l| l.matching(at, &[], 0.0))
                            .unwrap_or_default()
                            .into_iter()
                            .map(|area| SchemeArea {
                                scheme: s.scheme.id.to_string(),
                                area,
                            })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(web::Json(PostcodeResponse {
        facts: rec.into(),
        position: rec.position.map(PointOut::from),
        areas,
        dataset_version: ds.version.to_string(),
    }))
}

/// Postcodes given when `limit` is not.
pub const NEAREST_DEFAULT_LIMIT: usize = 10;
/// Most postcodes one nearest-postcode request gives.
pub const NEAREST_MAX_LIMIT: usize = 100;
/// Search radius when `radius` is not given, metres.
pub const NEAREST_DEFAULT_RADIUS_M: f64 = 100.0;
/// Largest search radius, metres.
pub const NEAREST_MAX_RADIUS_M: f64 = 2000.0;

/// The parameters `GET /v1/postcodes` takes; any other is refused.
pub const NEAREST_PARAMS: &[&str] = &["lat", "lon", "easting", "northing", "limit", "radius"];

/// Query parameters of `GET /v1/postcodes`: a WGS84 or a BNG point, checked as
/// `GET /v1/lookup` checks them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearestParams {
    /// WGS84 latitude, decimal degrees (with `lon`).
    #[param(value_type = Option<f64>, minimum = -90, maximum = 90)]
    pub lat: Option<String>,
    /// WGS84 longitude, decimal degrees (with `lat`).
    #[param(value_type = Option<f64>, minimum = -180, maximum = 180)]
    pub lon: Option<String>,
    /// British National Grid easting, metres (with `northing`).
    #[param(value_type = Option<f64>)]
    pub easting: Option<String>,
    /// British National Grid northing, metres (with `easting`).
    #[param(value_type = Option<f64>)]
    pub northing: Option<String>,
    /// Most postcodes to give, 1 to 100 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Search radius in metres, above 0 and at most 2000 (default 100).
    #[param(value_type = Option<f64>, exclusive_minimum = 0, maximum = 2000)]
    pub radius: Option<String>,
}

/// The live postcodes nearest a point.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestPostcodes {
    /// The point searched around, WGS84 (a BNG point converted).
    pub position: PointOut,
    /// The search radius, metres.
    pub radius_m: f64,
    /// Number of postcodes given.
    pub count: usize,
    /// Nearest first (ties in postcode order); empty when none is within the radius.
    pub postcodes: Vec<NearPostcode>,
    /// Dataset version used.
    pub dataset_version: String,
}

/// One postcode near the point.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearPostcode {
    /// The postcode, normalised (`NR1 1AA`).
    pub postcode: String,
    /// Geodesic distance (WGS84 ellipsoid) from the point to the postcode's position, metres,
    /// to the decimetre.
    pub distance_m: f64,
    /// The postcode's WGS84 position (its Code-Point Open point).
    pub position: PointOut,
}

fn pair(
    a: Option<&str>,
    b: Option<&str>,
    na: &'static str,
    nb: &'static str,
) -> Result<Option<(f64, f64)>, ApiError> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((parse_number(na, a)?, parse_number(nb, b)?))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::bad(
            ErrorCode::MissingParameter,
            Some(nb),
            format!("{na} needs {nb}"),
        )),
        (None, Some(_)) => Err(ApiError::bad(
            ErrorCode::MissingParameter,
            Some(na),
            format!("{nb} needs {na}"),
        )),
    }
}

/// The live postcodes nearest a point (reverse geocoding).
///
/// Give `lat`+`lon` or `easting`+`northing`. The answer lists the live postcodes whose
/// position is within `radius` metres of the point, nearest first, with the geodesic distance
/// to each; terminated postcodes are left out. No postcode within the radius is a 200 with an
/// empty list.
#[utoipa::path(
    get,
    path = "/v1/postcodes",
    tag = "postcodes",
    params(NearestParams),
    responses(
        (status = 200, description = "The nearest live postcodes (possibly none)", body = NearestPostcodes),
        (status = 400, description = "No point, half a point, both kinds of point, a coordinate out of range, a bad `limit` or `radius`, or an unknown parameter; `field` names it", body = ErrorBody),
        (status = 414, description = "Query string too long", body = ErrorBody),
    )
)]
pub async fn nearest_postcodes(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<NearestParams>,
) -> Result<web::Json<NearestPostcodes>, ApiError> {
    check_known(req.query_string(), NEAREST_PARAMS)?;
    let p = params.into_inner();
    let point = pair(p.lat.as_deref(), p.lon.as_deref(), "lat", "lon")?;
    let bng = pair(
        p.easting.as_deref(),
        p.northing.as_deref(),
        "easting",
        "northing",
    )?;
    let (given, field) = match (point, bng) {
        (Some((lat, lon)), None) => (Given::LatLon { lat, lon }, "lat"),
        (None, Some((easting, northing))) => {
            (Given::EastingNorthing { easting, northing }, "easting")
        }
        (None, None) => {
            return Err(ApiError::bad(
                ErrorCode::MissingQuery,
                None,
                "give lat and lon, or easting and northing",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                ErrorCode::AmbiguousQuery,
                None,
                "give only one of: lat and lon, or easting and northing",
            ));
        }
    };
    let limit = match p.limit {
        None => NEAREST_DEFAULT_LIMIT,
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if (1..=NEAREST_MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad(
                    ErrorCode::BadLimit,
                    Some("limit"),
                    format!("limit must be a whole number from 1 to {NEAREST_MAX_LIMIT}"),
                ));
            }
        },
    };
    let radius_m = match p.radius {
        None => NEAREST_DEFAULT_RADIUS_M,
        Some(t) => match parse_number("radius", &t)? {
            r if r > 0.0 && r <= NEAREST_MAX_RADIUS_M => r,
            _ => {
                return Err(ApiError::bad(
                    ErrorCode::BadNumber,
                    Some("radius"),
                    format!("radius must be above 0 and at most {NEAREST_MAX_RADIUS_M} metres"),
                ));
            }
        },
    };
    // The lookup's own reading of a point: the same ranges, the same errors.
    let reading = read(given).map_err(|e| ApiError::from_query(&e, field))?;
    let ds = state.dataset();
    let at = match reading.query {
        Query::Point { lat, lon } => crate::engine::coord::LonLat::new(lon, lat)
            .map_err(|e| ApiError::from_lookup(e.into(), field))?,
        Query::Bng { easting, northing } => Bng::new(easting, northing)
            .map_err(crate::engine::lookup::LookupError::from)
            .and_then(|b| {
                ds.grid
                    .to_lon_lat(b)
                    .map_err(crate::engine::lookup::LookupError::from)
            })
            .map_err(|e| ApiError::from_lookup(e, field))?,
        _ => {
            return Err(ApiError::bad(
                ErrorCode::MissingQuery,
                None,
                "give lat and lon, or easting and northing",
            ));
        }
    };
    let postcodes: Vec<NearPostcode> = ds
        .postcodes
        .nearest_live(at, radius_m, limit)
        .into_iter()
        .filter_map(|(rec, d)| {
            Some(NearPostcode {
                postcode: rec.postcode.to_string(),
                distance_m: (d * 10.0).round() / 10.0,
                position: PointOut::from(rec.position?),
            })
        })
        .collect();
    Ok(web::Json(NearestPostcodes {
        position: PointOut::from(at),
        radius_m,
        count: postcodes.len(),
        postcodes,
        dataset_version: ds.version.to_string(),
    }))
}

/// Look up many postcodes at once (postcodes.io's bulk route).
///
/// The same as `POST /v1/lookup`, where postcodes.io clients send it: the body is
/// `{"postcodes": [...]}` of up to 1000 postcodes, or an array of up to 1000 queries. The
/// answer is careband's: one result per query, in order, each with its status and its answer
/// or error.
#[utoipa::path(
    post,
    path = "/v1/postcodes",
    tag = "postcodes",
    request_body(content = BulkRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "One result per query, in order", body = BulkResponse),
        (status = 400, description = "The body is not valid JSON", body = ErrorBody),
        (status = 413, description = "More than 1000 queries, or the body is too large; `limit` says the cap", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "Valid JSON, but neither an array nor `{\"postcodes\": [...]}`", body = ErrorBody),
        (status = 503, description = "The queue for expensive work is full (`queue_full`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn post_postcodes(
    state: web::Data<AppState>,
    body: web::Json<StrictValue>,
) -> Result<HttpResponse, ApiError> {
    bulk(&state, body.into_inner().0).await
}
