//! `GET /v1/schemes...`: what is loaded (schemes, versions, layers, rates) and the map layers
//! (`layers/{layer}.geojson`, `bands.geojson`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use geo::MultiPolygon;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::engine::bands_map::BandPlan;
use crate::engine::dataset::{Dataset, LoadedScheme};
use crate::engine::scheme::{RatePeriod, Scheme};

use crate::server::error::{ApiError, ErrorBody, ErrorCode};
use crate::server::routes::params::check_known;
use crate::server::state::AppState;

/// GeoJSON's media type (RFC 7946).
pub const GEOJSON: &str = "application/geo+json";

/// What the band-area features say about themselves.
pub const BANDS_NOTE: &str = "Drawn for display: circles are polygons through points at the exact geodesic distance from each open centre. The band of an address comes from the exact geodesic distance to its nearest open centre (GET /v1/lookup), not from these shapes.";

/// The loaded schemes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeList {
    /// Dataset version.
    pub dataset_version: String,
    /// `embedded` (the copy compiled into the binary) or `directory`.
    pub origin: String,
    /// Postcodes known.
    pub postcodes: usize,
    /// Schemes in id order.
    pub schemes: Vec<SchemeInfo>,
    /// The attribution the data's licences require, one line per source (the same lines
    /// every answer carries in its `Attribution` header, here with the copyright sign).
    pub attribution: Vec<crate::engine::attribution::Attribution>,
}

/// A scheme in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeInfo {
    /// Stable id, used in URLs.
    pub id: String,
    /// Name.
    pub name: String,
    /// The council.
    pub council: String,
    /// Scheme file version.
    pub version: String,
    /// Whether parts are illustrative.
    pub illustrative: bool,
    /// Currency of the rates.
    pub currency: String,
    /// Whether the scheme prices by distance bands (then `bands.geojson` draws them).
    pub banded: bool,
    /// Layers loaded.
    pub layers: Vec<LayerInfo>,
    /// Centres that count for banding, if the scheme bands.
    pub centres: Option<usize>,
    /// Effective-dated rates.
    pub rates: Vec<RatePeriod>,
    /// Where to read more.
    pub links: SchemeLinks,
}

/// A loaded layer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LayerInfo {
    /// Layer id.
    pub id: String,
    /// What it is.
    pub description: String,
    /// Polygons loaded.
    pub features: usize,
    /// Whether its polygons are illustrative.
    pub illustrative: bool,
    /// How it was made.
    pub method: Option<String>,
    /// Its GeoJSON.
    pub geojson: String,
}

/// Links of a scheme.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeLinks {
    /// The scheme's detail.
    #[serde(rename = "self")]
    pub this: String,
    /// Its band areas, for banded schemes.
    pub bands: Option<String>,
}

/// One scheme in full: its rules as loaded, and what was loaded for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeDetail {
    /// Dataset version.
    pub dataset_version: String,
    /// The scheme's rules, exactly as in its scheme file.
    pub scheme: Scheme,
    /// Layers loaded.
    pub layers: Vec<LayerInfo>,
    /// Centres that count for banding, if the scheme bands.
    pub centres: Option<usize>,
    /// Links.
    pub links: SchemeLinks,
}

/// Query of `bands.geojson`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BandsParams {
    /// Date (`YYYY-MM-DD`) whose open centres and rates are drawn; default today.
    #[param(value_type = Option<String>, format = Date, pattern = r"^(199[0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$")]
    pub date: Option<String>,
}

/// A GeoJSON FeatureCollection (RFC 7946).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureCollection {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The features, each with `geometry` and `properties`.
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<Value>,
}

fn origin(ds: &Dataset) -> String {
    // The directory path is the server's business, not the client's.
    if ds.origin == "embedded" {
        "embedded".into()
    } else {
        "directory".into()
    }
}

fn layers(s: &LoadedScheme) -> Vec<LayerInfo> {
    s.scheme
        .layers
        .iter()
        .map(|l| LayerInfo {
            id: l.id.clone(),
            description: l.description.clone(),
            features: s.layer(&l.id).map_or(0, |x| x.index.len()),
            illustrative: l.illustrative,
            method: l.method.as_deref().map(str::to_string),
            geojson: format!("/v1/schemes/{}/layers/{}.geojson", s.scheme.id, l.id),
        })
        .collect()
}

fn links(s: &LoadedScheme) -> SchemeLinks {
    SchemeLinks {
        this: format!("/v1/schemes/{}", s.scheme.id),
        bands: s
            .scheme
            .banding
            .as_ref()
            .map(|_| format!("/v1/schemes/{}/bands.geojson", s.scheme.id)),
    }
}

fn find<'a>(ds: &'a Dataset, id: &str) -> Result<&'a LoadedScheme, ApiError> {
    ds.scheme(id).ok_or_else(|| ApiError::NotFound {
        code: ErrorCode::SchemeNotFound,
        message: "no scheme with this id".into(),
        suggestions: Some(ds.schemes.iter().map(|s| s.scheme.id.to_string()).collect()),
    })
}

/// The loaded schemes.
///
/// Each scheme with its version, layers, centre count and effective-dated rates.
#[utoipa::path(
    get,
    path = "/v1/schemes",
    tag = "schemes",
    responses(
        (status = 200, description = "The loaded schemes", body = SchemeList),
        (status = 400, description = "An unknown parameter (this route takes none)", body = ErrorBody),
    )
)]
pub async fn list_schemes(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<SchemeList>, ApiError> {
    check_known(req.query_string(), &[])?;
    let ds = state.dataset();
    Ok(web::Json(SchemeList {
        dataset_version: ds.version.to_string(),
        origin: origin(&ds),
        postcodes: ds.postcodes.len(),
        schemes: ds
            .schemes
            .iter()
            .map(|s| SchemeInfo {
                id: s.scheme.id.to_string(),
                name: s.scheme.name.to_string(),
                council: s.scheme.council.clone(),
                version: s.scheme.version.to_string(),
                illustrative: s.scheme.illustrative,
                currency: s.scheme.currency.to_string(),
                banded: s.scheme.banding.is_some(),
                layers: layers(s),
                centres: s
                    .centres
                    .as_ref()
                    .map(crate::engine::geo_index::PointIndex::len),
                rates: s.scheme.rates.clone(),
                links: links(s),
            })
            .collect(),
        attribution: crate::engine::attribution::lines(&ds.files),
    }))
}

/// One scheme in full.
///
/// The scheme's rules exactly as loaded (coverage, banding, rates, sources, notes) and the
/// layers and centres loaded for it.
#[utoipa::path(
    get,
    path = "/v1/schemes/{id}",
    tag = "schemes",
    params(("id" = String, Path, description = "Scheme id, e.g. `norfolk`")),
    responses(
        (status = 200, description = "The scheme", body = SchemeDetail),
        (status = 400, description = "An unknown parameter (this route takes none)", body = ErrorBody),
        (status = 404, description = "No such scheme; `suggestions` lists the ids", body = ErrorBody),
    )
)]
pub async fn get_scheme(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<SchemeDetail>, ApiError> {
    check_known(req.query_string(), &[])?;
    let ds = state.dataset();
    let s = find(&ds, &id)?;
    Ok(web::Json(SchemeDetail {
        dataset_version: ds.version.to_string(),
        scheme: s.scheme.clone(),
        layers: layers(s),
        centres: s
            .centres
            .as_ref()
            .map(crate::engine::geo_index::PointIndex::len),
        links: links(s),
    }))
}

fn geometry(mp: &MultiPolygon<f64>) -> Value {
    serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(mp)))
        .unwrap_or(Value::Null)
}

fn geojson_response(features: Vec<Value>, extra: Map<String, Value>) -> HttpResponse {
    let mut fc = Map::new();
    fc.insert("type".into(), "FeatureCollection".into());
    fc.extend(extra);
    fc.insert("features".into(), Value::Array(features));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, GEOJSON))
        .json(Value::Object(fc))
}

/// A layer's polygons as GeoJSON.
///
/// WGS84 lon/lat (RFC 7946); each feature has `id` and `name` properties.
#[utoipa::path(
    get,
    path = "/v1/schemes/{id}/layers/{layer}.geojson",
    tag = "maps",
    params(
        ("id" = String, Path, description = "Scheme id"),
        ("layer" = String, Path, description = "Layer id, e.g. `ccg2019`"),
    ),
    responses(
        (status = 200, description = "The layer", body = FeatureCollection, content_type = "application/geo+json"),
        (status = 400, description = "An unknown parameter (this route takes none)", body = ErrorBody),
        (status = 404, description = "No such scheme or layer", body = ErrorBody),
    )
)]
pub async fn layer_geojson(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    check_known(req.query_string(), &[])?;
    let (id, layer_id) = path.into_inner();
    let ds = state.dataset();
    let s = find(&ds, &id)?;
    let layer = s.layer(&layer_id).ok_or_else(|| ApiError::NotFound {
        code: ErrorCode::LayerNotFound,
        message: format!("scheme {} has no layer with this id", s.scheme.id),
        suggestions: Some(s.scheme.layers.iter().map(|l| l.id.clone()).collect()),
    })?;
    let features = layer
        .index
        .iter()
        .map(|(shape, f)| {
            json!({
                "type": "Feature",
                "id": f.id,
                "geometry": geometry(shape),
                "properties": {
                    "id": f.id,
                    "name": f.name,
                    "layer": layer.id,
                    "scheme": s.scheme.id,
                    "illustrative": layer.illustrative,
                },
            })
        })
        .collect();
    let mut extra = Map::new();
    extra.insert(
        "careband".into(),
        json!({
            "scheme": s.scheme.id,
            "layer": layer.id,
            "description": layer.description,
            "illustrative": layer.illustrative,
            "method": layer.method,
            "dataset_version": ds.version,
        }),
    );
    Ok(geojson_response(features, extra))
}

/// Band areas around the open centres, for maps.
///
/// One feature per band (band 1 within the first threshold of the nearest open centre, and so
/// on), clipped to the banded region, and one point per open centre. **Drawn for display**:
/// the band of an address comes from the exact distance (`/v1/lookup`).
#[utoipa::path(
    get,
    path = "/v1/schemes/{id}/bands.geojson",
    tag = "maps",
    params(("id" = String, Path, description = "Scheme id"), BandsParams),
    responses(
        (status = 200, description = "Band areas and centres", body = FeatureCollection, content_type = "application/geo+json"),
        (status = 400, description = "Bad date, or an unknown parameter", body = ErrorBody),
        (status = 404, description = "No such scheme, or the scheme has no bands", body = ErrorBody),
        (status = 414, description = "Query string too long", body = ErrorBody),
        (status = 503, description = "Band areas not drawn yet while the queue for expensive work is full (`queue_full`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn bands_geojson(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<BandsParams>,
) -> Result<HttpResponse, ApiError> {
    check_known(req.query_string(), &["date"])?;
    let date = match params.into_inner().date {
        Some(d) => super::lookup::parse_date(&d)?,
        None => chrono::Local::now().date_naive(),
    };
    let (generation, ds) = state.snapshot();
    let s = find(&ds, &id)?;
    let Some(plan) = BandPlan::new(s, date) else {
        return Err(ApiError::not_found(
            ErrorCode::SchemeNotBanded,
            format!("scheme {} does not price by distance bands", s.scheme.id),
        ));
    };
    let banding = plan.banding;
    let open = &plan.open;
    let drawn = state
        .bands(generation, &s.scheme.id, plan.key(), plan.drawing())
        .await?;
    let rates = s.scheme.rates_on(date);
    let mut features: Vec<Value> = drawn
        .iter()
        .enumerate()
        .map(|(i, area)| {
            let (from, to) = banding.span_miles(i);
            json!({
                "type": "Feature",
                "geometry": geometry(area),
                "properties": {
                    "kind": "band",
                    "band": i + 1,
                    "name": banding.band_names.get(i),
                    "from_miles": from,
                    "to_miles": to,
                    "hourly": rates.and_then(|r| r.band_hourly.get(i)),
                    "currency": s.scheme.currency,
                    "date": date,
                    "display_only": true,
                    "note": BANDS_NOTE,
                },
            })
        })
        .collect();
    features.extend(open.iter().map(|(_, at, c)| {
        json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [at.lon(), at.lat()]},
            "properties": {
                "kind": "centre",
                "code": c.code,
                "name": c.name,
                "postcode": c.postcode,
            },
        })
    }));
    let mut extra = Map::new();
    extra.insert(
        "careband".into(),
        json!({
            "scheme": s.scheme.id,
            "date": date,
            "region": banding.region_name,
            "centre_rule": banding.centre_rule,
            "open_centres": open.len(),
            "dataset_version": ds.version,
            "display_only": true,
            "note": BANDS_NOTE,
        }),
    );
    Ok(geojson_response(features, extra))
}
