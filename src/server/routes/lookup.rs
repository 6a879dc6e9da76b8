//! `GET /v1/lookup` (one query) and `POST /v1/lookup` (up to [`BULK_CAP`] queries).
//!
//! A query is exactly one of: a postcode (full or partial), a WGS84 `lat`+`lon`, a BNG
//! `easting`+`northing`, or free text `q` in which a full postcode is looked for. Each may
//! carry a `date`. The answer is the library's [`Answer`] as is, so fields the engine gains
//! appear here without change.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::engine::answer::Answer;
use crate::engine::budget::Budget;
use crate::engine::dataset::Dataset;
use crate::engine::lookup::{lookup, lookup_within};
use crate::engine::query::{Given, Query, ReadingKind, TextMatch, read};
use crate::geocoder;

use crate::server::error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use crate::server::routes::params::check_known;
use crate::server::state::AppState;
use crate::server::strict_json::StrictValue;

/// Most queries in one bulk request.
pub const BULK_CAP: usize = 1000;

/// Most partial-postcode queries (area summaries) in one bulk request: each resolves every
/// postcode of its sector, district or area, so they cost far more than a full postcode.
pub const BULK_AREA_CAP: usize = 10;

/// Longest postcode or free-text value accepted, in characters (the command line's limit too).
pub use crate::engine::query::MAX_TEXT_CHARS;

/// The parameters `GET /v1/lookup` takes; any other is refused.
pub const LOOKUP_PARAMS: &[&str] = &["postcode", "lat", "lon", "easting", "northing", "q", "date"];

/// Query parameters of `GET /v1/lookup`. Numbers arrive as text and are checked here so that
/// an error can name the parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// A full postcode (`NR1 1AA`, any case, spacing that reads one way) or a partial one: a
    /// sector (`NR1 1`), district (`NR1`) or area (`NR`), which gives a summary of the bands in
    /// it. A postcode that must be corrected first (`NR11 AA`) is a 400 with the correction.
    pub postcode: Option<String>,
    /// WGS84 latitude, decimal degrees (with `lon`).
    #[param(value_type = Option<f64>)]
    pub lat: Option<String>,
    /// WGS84 longitude, decimal degrees (with `lat`).
    #[param(value_type = Option<f64>)]
    pub lon: Option<String>,
    /// British National Grid easting, metres (with `northing`).
    #[param(value_type = Option<f64>)]
    pub easting: Option<String>,
    /// British National Grid northing, metres (with `easting`).
    #[param(value_type = Option<f64>)]
    pub northing: Option<String>,
    /// Free text such as an address line. A full postcode found in it is used and the
    /// answer's `text_match` says which part of the text that was; without one, the text is
    /// read as a place, a road and locality, or an address, and the answer (`kind: places`)
    /// lists the ranked candidates, each with its band and whether its extent spans bands.
    /// When an external geocoder is configured and the text is an address the gazetteer cannot
    /// settle, the geocoder's point is resolved instead (`kind: point`,
    /// `source: geocoder:<kind>`); if it fails, the gazetteer's answer carries a note.
    pub q: Option<String>,
    /// The date to answer for (rates and open surgeries on that day), `YYYY-MM-DD`; default
    /// today.
    #[param(value_type = Option<String>, format = Date, pattern = r"^(199[0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub date: Option<String>,
}

/// One query of a bulk request: the same fields as the `GET` parameters, numbers as JSON
/// numbers. Unknown fields are refused (per item), so a misspelt field is not ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// A full or partial postcode.
    pub postcode: Option<String>,
    /// WGS84 latitude.
    pub lat: Option<f64>,
    /// WGS84 longitude.
    pub lon: Option<f64>,
    /// BNG easting, metres.
    pub easting: Option<f64>,
    /// BNG northing, metres.
    pub northing: Option<f64>,
    /// Free text: an address (a full postcode in it wins), a road and locality, or a place.
    pub q: Option<String>,
    /// `YYYY-MM-DD`; default today.
    #[schema(value_type = Option<String>, format = Date, pattern = r"^(199[0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub date: Option<String>,
}

/// The answer to one lookup: the engine's answer, plus which part of the text was used for a
/// free-text query.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupResponse {
    /// The engine's answer (`kind` is `point` or `area`).
    #[serde(flatten)]
    pub answer: Answer,
    /// For `q` queries: the part of the text read as the postcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_match: Option<TextMatch>,
}

/// The answer to a bulk request: one result per query, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    /// Number of results (equals the number of queries).
    pub count: usize,
    /// Queries answered (status 200).
    pub answered: usize,
    /// Results in request order.
    pub results: Vec<BulkResult>,
}

/// One bulk result: an answer or an error, never both.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// Position of the query in the request (0-based).
    pub index: usize,
    /// The status the query would have had on its own (200, 400, 404).
    pub status: u16,
    /// The answer, when `status` is 200.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<LookupResponse>,
    /// The error, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// A query ready to run.
struct Prepared {
    query: Query,
    kind: ReadingKind,
    date: NaiveDate,
    text_field: &'static str,
    text_match: Option<TextMatch>,
}

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

pub(crate) fn parse_number(field: &'static str, text: &str) -> Result<f64, ApiError> {
    text.trim().parse::<f64>().map_err(|_| {
        ApiError::bad(
            ErrorCode::BadNumber,
            Some(field),
            format!("{field} must be a decimal number"),
        )
    })
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, ApiError> {
    crate::engine::date::parse_date(text)
        .map_err(|e| ApiError::bad(ErrorCode::BadDate, Some("date"), format!("date: {e}")))
}

/// Which single query the fields make, or a 400 saying what is missing or extra.
fn prepare(r: LookupRequest, default_date: NaiveDate) -> Result<Prepared, ApiError> {
    let LookupRequest {
        postcode,
        lat,
        lon,
        easting,
        northing,
        q,
        date,
    } = r;
    let date = date.as_deref().map(parse_date).transpose()?;
    let pair = |a: Option<f64>, b: Option<f64>, na: &'static str, nb: &'static str| match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
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
    };
    let point = pair(lat, lon, "lat", "lon")?;
    let bng = pair(easting, northing, "easting", "northing")?;
    let given = usize::from(postcode.is_some())
        + usize::from(point.is_some())
        + usize::from(bng.is_some())
        + usize::from(q.is_some());
    if given == 0 {
        return Err(ApiError::bad(
            ErrorCode::MissingQuery,
            None,
            "give one of: postcode, lat and lon, easting and northing, or q",
        ));
    }
    if given > 1 {
        return Err(ApiError::bad(
            ErrorCode::AmbiguousQuery,
            None,
            "give only one of: postcode, lat and lon, easting and northing, or q",
        ));
    }
    let date = date.unwrap_or(default_date);
    let (given, text_field) = if let Some(p) = postcode.as_deref() {
        (Given::Postcode(p), "postcode")
    } else if let Some((lat, lon)) = point {
        (Given::LatLon { lat, lon }, "lat")
    } else if let Some((easting, northing)) = bng {
        (Given::EastingNorthing { easting, northing }, "easting")
    } else {
        (Given::Text(q.as_deref().unwrap_or_default()), "q")
    };
    let reading = read(given).map_err(|e| ApiError::from_query(&e, text_field))?;
    Ok(Prepared {
        query: reading.query,
        kind: reading.kind,
        date,
        text_field,
        text_match: reading.text_match,
    })
}

fn run(ds: &Dataset, p: Prepared, budget: &Budget) -> Result<LookupResponse, ApiError> {
    lookup_within(ds, &p.query, p.date, budget)
        .map(|answer| LookupResponse {
            answer,
            text_match: p.text_match,
        })
        .map_err(|e| ApiError::from_lookup(e, p.text_field))
}

/// Look up one postcode, point or address.
///
/// Give exactly one of `postcode`, `lat`+`lon`, `easting`+`northing` or `q`. A partial
/// postcode (`NR1`, `NR1 1`) answers with a summary of its postcodes (`kind: area`). A point
/// outside every scheme is a 200 with `covered: false`.
#[utoipa::path(
    get,
    path = "/v1/lookup",
    tag = "lookup",
    params(LookupParams),
    responses(
        (status = 200, description = "The answer (`kind` `point`, `area` or `places`)", body = LookupResponse),
        (status = 400, description = "Bad, missing or unknown parameter; `field` names it. A postcode that must be corrected first (`NR11 AA`, `NR18-0UR`, `PE3O 1EX`) or two postcodes in `q` are a `bad_postcode` with the correction in `suggestions`. An area summary or place search that needs more postcodes resolved than the work budget is an `over_budget`", body = ErrorBody),
        (status = 404, description = "Unknown postcode, area or place (with `suggestions`)", body = ErrorBody),
        (status = 405, description = "Method not allowed", body = ErrorBody),
        (status = 414, description = "Query string too long", body = ErrorBody),
        (status = 503, description = "An area summary or place search while the queue for expensive work is full (`queue_full`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn get_lookup(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<LookupParams>,
) -> Result<web::Json<LookupResponse>, ApiError> {
    check_known(req.query_string(), LOOKUP_PARAMS)?;
    let p = params.into_inner();
    let num = |field, v: Option<String>| v.map(|t| parse_number(field, &t)).transpose();
    let request = LookupRequest {
        postcode: p.postcode,
        lat: num("lat", p.lat)?,
        lon: num("lon", p.lon)?,
        easting: num("easting", p.easting)?,
        northing: num("northing", p.northing)?,
        q: p.q,
        date: p.date,
    };
    let Prepared {
        query,
        kind,
        date,
        text_field,
        text_match,
    } = prepare(request, today())?;
    let ds = state.dataset();
    let text = match &query {
        Query::Text(t) => Some(t.clone()),
        _ => None,
    };
    let offline = if is_costly(kind) {
        // A partial postcode or a place resolves many postcodes: run it on the expensive-work
        // pool, within the request's work budget.
        let ds = Arc::clone(&ds);
        let budget = Budget::new(state.config().limits.work_budget);
        state
            .work()
            .run(move || lookup_within(&ds, &query, date, &budget))
            .await?
    } else {
        lookup(&ds, &query, date)
    };
    let answer = match (state.geocoder(), text) {
        // Awaited on the worker: the request is async and does not hold a thread.
        (Some(g), Some(text)) => geocoder::refine(&ds, g, &text, offline, date).await,
        _ => offline,
    };
    answer
        .map(|answer| web::Json(LookupResponse { answer, text_match }))
        .map_err(|e| ApiError::from_lookup(e, text_field))
}

/// Partial postcodes and place texts resolve every postcode of an area.
fn is_costly(kind: ReadingKind) -> bool {
    kind.is_partial_postcode() || kind == ReadingKind::PlaceText
}

/// One bulk item: its JSON turned into a prepared query, or the per-item error.
fn prepare_item(item: Value, default_date: NaiveDate) -> Result<Prepared, ApiError> {
    if !item.is_object() {
        return Err(ApiError::bad(
            ErrorCode::BadItem,
            None,
            "each query must be a JSON object such as {\"postcode\": \"NR1 1AA\"}",
        ));
    }
    let r: LookupRequest = serde_json::from_value(item).map_err(|e| {
        ApiError::bad(
            ErrorCode::BadItem,
            None,
            format!("this query is not valid: {e}"),
        )
    })?;
    prepare(r, default_date)
}

/// Look up many postcodes, points or addresses at once.
///
/// The body is a JSON array of up to 1000 queries, each an object with the fields of the `GET`
/// parameters (numbers as JSON numbers), or, as postcodes.io takes it, an object
/// `{"postcodes": [...]}` of up to 1000 postcodes. The response has one result per query, in the same
/// order; a query that fails has its error inside the 200 response. At most 10 of the queries
/// may be partial postcodes (area summaries); further ones get a per-query 400. The request
/// runs on the expensive-work pool, and its area summaries and place searches share one work
/// budget: a query that no longer fits in it gets a per-query 400 `over_budget`.
#[utoipa::path(
    post,
    path = "/v1/lookup",
    tag = "lookup",
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
pub async fn post_lookup(
    state: web::Data<AppState>,
    body: web::Json<StrictValue>,
) -> Result<HttpResponse, ApiError> {
    bulk(&state, body.into_inner().0).await
}

/// The body of a bulk request in the postcodes.io shape: `{"postcodes": ["NR1 1AA", ...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostcodesBody {
    /// Up to 1000 postcodes, full or partial (each as the `postcode` of a query).
    #[schema(max_items = 1000)]
    pub postcodes: Vec<String>,
}

/// The body of a bulk request: an array of queries, or the postcodes.io shape.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BulkRequest {
    /// Up to 1000 queries, each with the fields of the `GET` parameters.
    Queries(Vec<LookupRequest>),
    /// `{"postcodes": [...]}`, as postcodes.io takes it.
    Postcodes(PostcodesBody),
}

/// The items of a bulk body: the queries of an array as they are, the postcodes of a
/// `{"postcodes": [...]}` as `{"postcode": ...}` queries (one that is not a string is that
/// item's error), or a 422 for any other shape.
fn bulk_items(body: Value) -> Result<Vec<Result<Value, ApiError>>, ApiError> {
    let shape = || {
        ApiError::Unprocessable {
        message: "the body must be a JSON array of queries, or {\"postcodes\": [...]} with an array of postcodes".into(),
    }
    };
    match body {
        Value::Array(items) => Ok(items.into_iter().map(Ok).collect()),
        Value::Object(mut o) => {
            let Some(Value::Array(postcodes)) = o.remove("postcodes") else {
                return Err(shape());
            };
            if !o.is_empty() {
                return Err(ApiError::Unprocessable {
                    message: "a {\"postcodes\": [...]} body has no other keys".into(),
                });
            }
            Ok(postcodes
                .into_iter()
                .map(|p| match p {
                    Value::String(text) => Ok(serde_json::json!({ "postcode": text })),
                    _ => Err(ApiError::bad(
                        ErrorCode::BadItem,
                        Some("postcode"),
                        "each of postcodes must be a string such as \"NR1 1AA\"",
                    )),
                })
                .collect())
        }
        _ => Err(shape()),
    }
}

/// `POST /v1/lookup` and `POST /v1/postcodes`: the body read strictly (an object naming a key
/// twice is refused with a 422, not answered for the last of the two), each query answered.
pub(crate) async fn bulk(state: &AppState, body: Value) -> Result<HttpResponse, ApiError> {
    let items = bulk_items(body)?;
    if items.len() > BULK_CAP {
        return Err(ApiError::TooLarge {
            message: format!(
                "at most {BULK_CAP} queries per request, got {}: split the batch",
                items.len()
            ),
            limit: BULK_CAP,
        });
    }
    let ds = state.dataset();
    let default_date = today();
    // One budget for the whole request, so ten area queries cannot do ten times the work.
    let budget = Budget::new(state.config().limits.work_budget);
    let response = state.work().run(move || {
        let mut areas = 0;
        let mut area_budget = |p: Prepared| {
            if is_costly(p.kind) {
                areas += 1;
                if areas > BULK_AREA_CAP {
                    return Err(ApiError::bad(
                        ErrorCode::TooManyAreaQueries,
                        Some(p.text_field),
                        format!(
                            "at most {BULK_AREA_CAP} partial postcodes or place names per bulk request; ask for the rest in another request or give full postcodes"
                        ),
                    ));
                }
            }
            Ok(p)
        };
        let results: Vec<BulkResult> = items
            .into_iter()
            .enumerate()
            .map(
                |(index, item)| match item
                    .and_then(|item| prepare_item(item, default_date))
                    .and_then(&mut area_budget)
                    .and_then(|p| run(&ds, p, &budget))
                {
                    Ok(answer) => BulkResult {
                        index,
                        status: 200,
                        answer: Some(answer),
                        error: None,
                    },
                    Err(e) => BulkResult {
                        index,
                        status: actix_web::ResponseError::status_code(&e).as_u16(),
                        answer: None,
                        error: Some(e.detail()),
                    },
                },
            )
            .collect();
        BulkResponse {
            count: results.len(),
            answered: results.iter().filter(|r| r.status == 200).count(),
            results,
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_taken_are_the_documented_ones() {
        let documented: Vec<String> = <LookupParams as IntoParams>::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, LOOKUP_PARAMS);
        let documented: Vec<String> =
            <crate::server::routes::places::PlacesParams as IntoParams>::into_params(|| None)
                .into_iter()
                .map(|p| p.name)
                .collect();
        assert_eq!(documented, crate::server::routes::places::PLACES_PARAMS);
    }

    #[test]
    fn exactly_one_query_kind_is_required() {
        let d = NaiveDate::from_ymd_opt(2019, 6, 1).unwrap();
        let e = prepare(LookupRequest::default(), d).err().unwrap();
        assert_eq!(e.code(), "missing_query");
        let both = LookupRequest {
            postcode: Some("NR1 1AA".into()),
            lat: Some(1.0),
            lon: Some(2.0),
            ..LookupRequest::default()
        };
        assert_eq!(prepare(both, d).err().unwrap().code(), "ambiguous_query");
        let half = LookupRequest {
            lat: Some(52.0),
            ..LookupRequest::default()
        };
        let e = prepare(half, d).err().unwrap();
        assert_eq!(e.detail().field.as_deref(), Some("lon"));
    }
}
