//! `GET /v1/places?q=`: autocomplete over the offline gazetteer, fast enough to call on every
//! keystroke. Suggestions carry no band (resolving costs more than matching); send a chosen
//! suggestion's `query` to `GET /v1/lookup?q=` for its band and evidence.

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::engine::gazetteer::{MAX_SUGGESTIONS, Suggestion};

use crate::server::error::{ApiError, ErrorBody, ErrorCode};
use crate::server::routes::params::check_known;
use crate::server::state::AppState;

/// Suggestions given when `limit` is not.
pub const DEFAULT_LIMIT: usize = 10;

/// Longest `q` accepted, in characters.
pub const MAX_Q_CHARS: usize = 100;

/// The parameters `GET /v1/places` takes; any other is refused.
pub const PLACES_PARAMS: &[&str] = &["q", "limit"];

/// Query parameters of `GET /v1/places`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacesParams {
    /// What has been typed so far: the start of a place or road name, optionally followed by
    /// `, ` and the start of a locality (`church la, reep`). Any case and punctuation;
    /// abbreviations such as `Rd`, `St` and `Ln` are understood. Required (it may be empty,
    /// which gives no suggestions); at most 100 characters.
    #[param(required = true, value_type = String, max_length = 100)]
    pub q: Option<String>,
    /// Most suggestions to return, 1 to 20 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 20)]
    pub limit: Option<String>,
}

/// Ranked suggestions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacesResponse {
    /// `q` as given.
    pub query: String,
    /// Number of suggestions.
    pub count: usize,
    /// Best first: exact names, then names starting with `q`, then names a typing edit away;
    /// within each, towns before villages before roads.
    pub suggestions: Vec<Suggestion>,
    /// Dataset version used.
    pub dataset_version: String,
}

/// Autocomplete place and road names.
///
/// Matches the start of names (and of the locality after a comma), tolerating case,
/// punctuation, abbreviations and, from four letters, one typing slip. Empty `q` gives no
/// suggestions.
#[utoipa::path(
    get,
    path = "/v1/places",
    tag = "lookup",
    params(PlacesParams),
    responses(
        (status = 200, description = "Ranked suggestions (possibly none)", body = PlacesResponse),
        (status = 400, description = "Missing `q`, `q` too long, a bad `limit`, or an unknown parameter", body = ErrorBody),
        (status = 414, description = "Query string too long", body = ErrorBody),
    )
)]
pub async fn get_places(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<PlacesParams>,
) -> Result<web::Json<PlacesResponse>, ApiError> {
    check_known(req.query_string(), PLACES_PARAMS)?;
    let PlacesParams { q, limit } = params.into_inner();
    let Some(q) = q else {
        return Err(ApiError::bad(
            ErrorCode::MissingParameter,
            Some("q"),
            "give q, the text typed so far",
        ));
    };
    if q.chars().count() > MAX_Q_CHARS {
        return Err(ApiError::bad(
            ErrorCode::TooLong,
            Some("q"),
            format!("q is longer than {MAX_Q_CHARS} characters"),
        ));
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_SUGGESTIONS).contains(&n) => n,
            _ => {
                return Err(ApiError::bad(
                    ErrorCode::BadLimit,
                    Some("limit"),
                    format!("limit must be a whole number from 1 to {MAX_SUGGESTIONS}"),
                ));
            }
        },
    };
    let ds = state.dataset();
    let suggestions = ds.places.suggest(&q, limit);
    Ok(web::Json(PlacesResponse {
        query: q,
        count: suggestions.len(),
        suggestions,
        dataset_version: ds.version.to_string(),
    }))
}
