//! `GET /openapi.json`: the OpenAPI document, generated from the handlers and types with
//! `utoipa`, then rewritten by [`normalise`] into the plain shapes client generators read.
//! Nothing in it needs the internet (the docs UI at `/docs` is served by careband itself).

pub mod normalise;

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::server::Server;
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
        postcodes::nearest_postcodes,
        postcodes::post_postcodes,
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
        page::docs,
        page::docs_file,
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
        postcodes::NearestPostcodes,
        lookup::BulkRequest,
        lookup::PostcodesBody,
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
        (name = "postcodes", description = "Facts about a postcode; the postcodes nearest a point; bulk lookups where postcodes.io clients send them"),
        (name = "schemes", description = "What is loaded"),
        (name = "maps", description = "GeoJSON layers for maps"),
        (name = "page", description = "The price band identification tool (a web page)"),
        (name = "operations", description = "Health, readiness, metrics, reload"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token `POST /admin/reload` needs (the operation names it), that every
/// other operation needs none (an empty requirement at the root), and that the API is served
/// from the document's own origin (`/`).
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.security = Some(vec![SecurityRequirement::default()]);
        openapi.servers = Some(vec![Server::new("/")]);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON, after [`normalise::normalise`].
///
/// # Errors
/// When utoipa's document does not serialise (it always does).
pub fn document() -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(ApiDoc::openapi())?;
    normalise::normalise(&mut doc);
    if let Some(paths) = doc
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        for op in paths
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            for o in op.values_mut() {
                // A body sent as `application/octet-stream` is a file's bytes: generators
                // make it a file parameter when the schema says so.
                if let Some(schema) =
                    o.pointer_mut("/requestBody/content/application~1octet-stream/schema")
                {
                    *schema = serde_json::json!({ "type": "string", "format": "binary" });
                }
                // Every route answers an over-long query string with a 414
                // (`middleware::limit_query`), before any handler.
                if let Some(responses) = o
                    .get_mut("responses")
                    .and_then(serde_json::Value::as_object_mut)
                {
                    responses.entry("414").or_insert_with(|| {
                        serde_json::json!({
                            "description": "Query string too long",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                        })
                    });
                    // Every answer carries its request id (`middleware::observe`).
                    for response in responses
                        .values_mut()
                        .filter_map(serde_json::Value::as_object_mut)
                    {
                        if let Some(headers) = response
                            .entry("headers")
                            .or_insert_with(|| serde_json::json!({}))
                            .as_object_mut()
                        {
                            headers.insert("X-Request-Id".into(), request_id_header());
                        }
                    }
                }
            }
        }
    }
    normalise::prune(&mut doc);
    Ok(doc)
}

/// The `X-Request-Id` response header, as every response describes it.
fn request_id_header() -> serde_json::Value {
    serde_json::json!({
        "description": "The request's id, also on every log line it wrote: the client's own `X-Request-Id` when it sent one of 1 to 64 letters, digits, `-`, `_`, `.` or `:`, else a fresh one of 16 hex digits",
        "schema": {"type": "string", "maxLength": super::middleware::MAX_REQUEST_ID_BYTES, "pattern": "^[A-Za-z0-9._:-]+$"}
    })
}

/// The document as JSON text, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    document()
        .and_then(|d| serde_json::to_string(&d))
        .unwrap_or_else(|e| {
            format!("{{\"error\": {{\"code\": \"internal\", \"message\": \"{e}\"}}}}")
        })
});

/// The OpenAPI document of this API.
///
/// OpenAPI 3.1, generated from the code; `/docs` shows it in a browser.
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
