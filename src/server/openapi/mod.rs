//! `GET /openapi.json`: the OpenAPI document, generated from the handlers and types with
//! `utoipa`. Nothing in it needs the internet (no hosted UI).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, batch, error, health, lookup, page, places, postcodes, schemes, state};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "careband",
        description = "Home-care price bands, hourly rates, zones and providers for any UK postcode or point, with the evidence behind every answer. Errors always have the shape {\"error\": {\"code\", \"message\", \"field\"}}.",
    ),
    paths(
        lookup::get_lookup,
        lookup::post_lookup,
        batch::post_batch,
        places::get_places,
        postcodes::get_postcode,
        schemes::list_schemes,
        schemes::get_scheme,
        schemes::layer_geojson,
        schemes::bands_geojson,
        health::healthz,
        health::readyz,
        health::metrics,
        openapi_json,
        admin::reload,
        page::index,
        page::static_file,
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        error::ErrorCode,
        lookup::LookupRequest,
        lookup::LookupResponse,
        crate::engine::query::TextMatch,
        lookup::BulkResponse,
        lookup::BulkResult,
        crate::engine::answer::Answer,
        places::PlacesResponse,
        postcodes::PostcodeResponse,
        schemes::SchemeList,
        schemes::SchemeDetail,
        schemes::FeatureCollection,
        health::Health,
        health::Ready,
        state::ReloadReport,
    )),
    modifiers(&AdminToken),
    tags(
        (name = "lookup", description = "Band, rate and evidence for a postcode, point, place or address; place autocomplete"),
        (name = "postcodes", description = "Facts about a postcode"),
        (name = "schemes", description = "What is loaded"),
        (name = "maps", description = "GeoJSON layers for maps"),
        (name = "page", description = "The price band identification tool (a web page)"),
        (name = "operations", description = "Health, readiness, metrics, reload"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token `POST /admin/reload` needs.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi().to_json().unwrap_or_else(|e| {
        format!("{{\"error\": {{\"code\": \"internal\", \"message\": \"{e}\"}}}}")
    })
});

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
