//! `GET /v1/postcodes/{postcode}`: what is known of one postcode (position, status, GSS area
//! codes, and the scheme polygons it falls in), without resolving bands or rates.

use actix_web::{HttpRequest, web};
use serde::Serialize;
use utoipa::ToSchema;

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
