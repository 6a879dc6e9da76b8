//! The price band identification tool: the public web page at `/` and its static files.
//!
//! The page, its script and its style sheet are hand-written files in `web/`, compiled into
//! the binary. The map library (Leaflet) is installed from npm into `web/node_modules` and
//! embedded by the build script when it is there; without it `/static/vendor/*` answers 404
//! and the page works without its map, saying so. Nothing is fetched from the internet: the
//! map draws careband's own GeoJSON routes, and a background tile layer is only used when the
//! page is given a tile URL.
//!
//! `/docs` is the API's docs page: Swagger UI (from npm, embedded the same way) over
//! `/openapi.json`, every file served from here.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use super::batch::{BATCH_MAX_BYTES, BATCH_MAX_ROWS};
use crate::engine::attribution::Attribution;
use crate::server::error::ApiError;
use crate::server::error::ErrorCode;
use crate::server::state::AppState;

/// A map library's files, embedded at build time.
pub(crate) struct Vendor {
    /// The npm package version.
    pub version: &'static str,
    /// The script.
    pub js: &'static [u8],
    /// The style sheet.
    pub css: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_vendor.rs"));
include!(concat!(env!("OUT_DIR"), "/docs_vendor.rs"));

const INDEX_TEMPLATE: &str = include_str!("../../../web/index.html");
const APP_JS: &str = include_str!("../../../web/app.js");
const APP_CSS: &str = include_str!("../../../web/app.css");

/// What the page is allowed to load: only careband itself, except map tile images, which may
/// come from the tile server the page is configured with. Framing is allowed (embed mode).
const CSP: &str = "default-src 'self'; img-src 'self' data: https:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'";

/// The page with its limits and map availability filled in.
static INDEX: LazyLock<String> = LazyLock::new(|| {
    let (map_head, map_version) = match &LEAFLET {
        Some(v) => (
            "<link rel=\"stylesheet\" href=\"static/vendor/leaflet.css\">\n  \
             <script src=\"static/vendor/leaflet.js\" defer></script>"
                .to_string(),
            v.version.to_string(),
        ),
        None => (String::new(), String::new()),
    };
    INDEX_TEMPLATE
        .replace("{{MAP_HEAD}}", &map_head)
        .replace("{{MAP_VERSION}}", &map_version)
        .replace("{{BATCH_MAX_ROWS}}", &thousands(BATCH_MAX_ROWS))
        .replace(
            "{{BATCH_MAX_MB}}",
            &(BATCH_MAX_BYTES / (1024 * 1024)).to_string(),
        )
        .replace("{{BATCH_MAX_BYTES}}", &BATCH_MAX_BYTES.to_string())
});

/// The footer's attribution: every line the data's licences require, then a link to each
/// licence.
fn footer(lines: &[Attribution]) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let said: Vec<String> = lines.iter().map(|a| escape(&a.line) + ".").collect();
    let mut licences: Vec<String> = Vec::new();
    for a in lines {
        let link = format!(
            "<a href=\"{}\">{}</a>",
            escape(a.licence_url),
            escape(a.licence)
        );
        if !licences.contains(&link) {
            licences.push(link);
        }
    }
    format!(
        "<p class=\"attribution\">{}</p>\n      <p class=\"licences\">Licences: {}.</p>",
        said.join("\n        "),
        licences.join(", ")
    )
}

/// `100000` as `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn asset(content_type: &'static str, body: &'static [u8], cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// The price band identification tool (a web page).
///
/// Look up a postcode, address, place or map point, or upload a CSV file for a batch answer.
/// `?embed=1` drops the page header and footer for an iframe on a council's website.
#[utoipa::path(
    get,
    path = "/",
    tag = "page",
    responses((status = 200, description = "The page", content_type = "text/html", body = String))
)]
pub async fn index(state: web::Data<AppState>) -> HttpResponse {
    let page = INDEX.replace("{{ATTRIBUTION}}", &footer(&state.attribution().lines));
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(page)
}

/// Files cached by browsers for a day; the page itself is revalidated on every load.
const ASSET_CACHE: &str = "public, max-age=86400";

/// The web page's files.
///
/// The page's script and style sheet (`app.js`, `app.css`) and the map library
/// (`vendor/leaflet.js`, `vendor/leaflet.css`, when careband was built with it).
#[utoipa::path(
    get,
    path = "/static/{file}",
    tag = "page",
    params(("file" = String, Path, description = "`app.js`, `app.css`, `vendor/leaflet.js` or `vendor/leaflet.css`", example = "app.js")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 404, description = "No such file, or no map library in this build", body = crate::server::error::ErrorBody),
    )
)]
pub async fn static_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let js = "text/javascript; charset=utf-8";
    let css = "text/css; charset=utf-8";
    match (file.as_str(), &LEAFLET) {
        ("app.js", _) => Ok(asset(js, APP_JS.as_bytes(), "no-cache")),
        ("app.css", _) => Ok(asset(css, APP_CSS.as_bytes(), "no-cache")),
        ("vendor/leaflet.js", Some(v)) => Ok(asset(js, v.js, ASSET_CACHE)),
        ("vendor/leaflet.css", Some(v)) => Ok(asset(css, v.css, ASSET_CACHE)),
        ("vendor/leaflet.js" | "vendor/leaflet.css", None) => Err(ApiError::not_found(
            ErrorCode::MapLibraryNotInstalled,
            "this careband was built without its map library: run npm ci in web/ and build again",
        )),
        _ => Err(ApiError::not_found(ErrorCode::NoSuchFile, "no such file")),
    }
}

/// What the docs page may load: only careband itself. Swagger UI sets inline styles, so styles
/// may be inline; scripts may not.
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                        script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                        form-action 'self'; frame-ancestors 'self'";

/// The docs page: Swagger UI over `/openapi.json`, every file from careband itself.
const DOCS_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
<title>careband HTTP API</title>\n  <link rel=\"stylesheet\" href=\"docs/swagger-ui.css\">\n</head>\n<body>\n  \
<div id=\"swagger-ui\"><p>Loading the API description from <a href=\"openapi.json\">openapi.json</a>.</p></div>\n  \
<script src=\"docs/swagger-ui-bundle.js\"></script>\n  <script src=\"docs/init.js\"></script>\n</body>\n</html>\n";

/// The docs page of a careband built without Swagger UI.
const DOCS_HTML_BARE: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
<title>careband HTTP API</title>\n</head>\n<body>\n  <h1>careband HTTP API</h1>\n  \
<p>This careband was built without its docs viewer (run npm ci in web/ and build again). The API \
description is <a href=\"openapi.json\">openapi.json</a>.</p>\n</body>\n</html>\n";

/// Starts Swagger UI on the document; no validator (it would call another host).
const DOCS_INIT_JS: &str = "window.addEventListener('load', function () {\n  \
window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n});\n";

/// Interactive documentation of this API.
///
/// Swagger UI over `/openapi.json`, served by careband itself: nothing comes from another host.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "page",
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String))
)]
pub async fn docs() -> HttpResponse {
    let body = if SWAGGER_UI.is_some() {
        DOCS_HTML
    } else {
        DOCS_HTML_BARE
    };
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header(("Content-Security-Policy", DOCS_CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}

/// The docs page's files.
///
/// `swagger-ui-bundle.js` and `swagger-ui.css` (Swagger UI, when careband was built with it) and
/// `init.js`, which starts it on `/openapi.json`.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "page",
    params(("file" = String, Path, description = "`swagger-ui-bundle.js`, `swagger-ui.css` or `init.js`", example = "init.js")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 404, description = "No such file, or no docs viewer in this build", body = crate::server::error::ErrorBody),
    )
)]
pub async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let js = "text/javascript; charset=utf-8";
    let css = "text/css; charset=utf-8";
    match (file.as_str(), &SWAGGER_UI) {
        ("init.js", Some(_)) => Ok(asset(js, DOCS_INIT_JS.as_bytes(), "no-cache")),
        ("swagger-ui-bundle.js", Some(v)) => Ok(asset(js, v.js, ASSET_CACHE)),
        ("swagger-ui.css", Some(v)) => Ok(asset(css, v.css, ASSET_CACHE)),
        _ => Err(ApiError::not_found(ErrorCode::NoSuchFile, "no such file")),
    }
}

/// True when the docs viewer (Swagger UI) is embedded.
#[must_use]
pub fn has_docs_ui() -> bool {
    SWAGGER_UI.is_some()
}

/// True when the map library is embedded.
#[must_use]
pub fn has_map_library() -> bool {
    LEAFLET.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_for_people() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let page = INDEX.replace("{{ATTRIBUTION}}", &footer(&[]));
        assert!(!page.contains("{{"), "a placeholder is left in the page");
    }
}
