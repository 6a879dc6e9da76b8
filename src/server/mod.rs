//! The HTTP API (actix-web): a JSON face on [`crate::engine::lookup`] for brokers, providers and the
//! council website.
//!
//! [`router`] registers every route and the extractor error handlers; [`app`] adds the state,
//! the configured limits, CORS and the metrics/access-log middleware. `careband serve` and the
//! tests both build the application with [`app`], so they serve the same thing.
//!
//! Handlers are thin: they parse and check parameters, call the library, and map its errors
//! to [`ApiError`]. No geometry or banding rule lives here.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, web};

pub mod config;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod peers;
pub mod pool;
#[expect(
    clippy::missing_errors_doc,
    reason = "a handler's errors are the responses its #[utoipa::path] lists; its doc comment is \
              the OpenAPI description, so it carries no Errors section"
)]
pub mod routes;
pub mod state;
pub mod strict_json;

use routes::{admin, batch, health, lookup, page, places, postcodes, schemes};

pub use batch::{BATCH_MAX_BYTES, BATCH_MAX_ROWS};
pub use error::{ApiError, BodyTimeout, ErrorBody, ErrorCode, ErrorDetail};
pub use lookup::BULK_CAP;
pub use state::AppState;

use crate::server::config::Limits;

/// Every route the router serves: (method, path pattern as in the OpenAPI document).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/static/{file}"),
    ("GET", "/docs"),
    ("GET", "/docs/{file}"),
    ("GET", "/v1/lookup"),
    ("POST", "/v1/lookup"),
    ("POST", "/v1/batch"),
    ("GET", "/v1/places"),
    ("GET", "/v1/postcodes/{postcode}"),
    ("GET", "/v1/postcodes"),
    ("POST", "/v1/postcodes"),
    ("GET", "/v1/schemes"),
    ("GET", "/v1/schemes/{id}"),
    ("GET", "/v1/schemes/{id}/layers/{layer}.geojson"),
    ("GET", "/v1/schemes/{id}/bands.geojson"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("POST", "/admin/reload"),
];

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSet {
    /// The public API and the page: lookups, batch, places, postcodes, schemes, the page,
    /// `/openapi.json`.
    pub api: bool,
    /// `GET /metrics`.
    pub metrics: bool,
    /// `POST /admin/reload`.
    pub admin: bool,
}

impl RouteSet {
    /// Every route (one listener serving everything).
    pub const ALL: Self = Self {
        api: true,
        metrics: true,
        admin: true,
    };

    /// The routes of the public listener under `config`: the admin route and the metrics
    /// move to the admin listener when one is set, and the admin route is only on a public
    /// listener bound to a loopback address (see [`config::ServeConfig::admin_on_public`]).
    #[must_use]
    pub fn public(config: &config::ServeConfig) -> Self {
        Self {
            api: true,
            metrics: config.metrics_on_public(),
            admin: config.admin_on_public(),
        }
    }

    /// The routes of the admin listener: the admin route and the metrics (and the health
    /// routes, which every listener has).
    pub const ADMIN: Self = Self {
        api: false,
        metrics: true,
        admin: true,
    };
}

/// Registers every route, the JSON/query/path error handlers (with the default
/// [`Limits`]), and the JSON answer for unknown routes. Needs an [`AppState`] in the app data.
pub fn router(cfg: &mut web::ServiceConfig) {
    routes(RouteSet::ALL)(cfg);
}

/// Registers the routes of `set` (the health routes always), the extractor error handlers
/// (with the default [`Limits`]) and the JSON answer for unknown routes, which is also the
/// answer for the routes `set` leaves out.
pub fn routes(set: RouteSet) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        extractors(&Limits::default())(cfg);
        let get = |path, allowed| {
            web::resource(path).default_service(web::to(error::method_not_allowed(allowed)))
        };
        cfg.service(get("/healthz", "GET, HEAD").route(web::get().to(health::healthz)))
            .service(get("/readyz", "GET, HEAD").route(web::get().to(health::readyz)));
        if set.api {
            api_routes(cfg);
        }
        if set.metrics {
            cfg.service(get("/metrics", "GET, HEAD").route(web::get().to(health::metrics)));
        }
        if set.admin {
            cfg.service(get("/admin/reload", "POST").route(web::post().to(admin::reload)));
        }
        cfg.default_service(web::to(error::no_route));
    }
}

fn api_routes(cfg: &mut web::ServiceConfig) {
    let get = |path, allowed| {
        web::resource(path).default_service(web::to(error::method_not_allowed(allowed)))
    };
    cfg.service(
        get("/v1/lookup", "GET, HEAD, POST")
            .route(web::get().to(lookup::get_lookup))
            .route(web::post().to(lookup::post_lookup)),
    )
    .service(get("/v1/batch", "POST").route(web::post().to(batch::post_batch)))
    .service(get("/v1/places", "GET, HEAD").route(web::get().to(places::get_places)))
    .service(
        get("/v1/postcodes/{postcode}", "GET, HEAD").route(web::get().to(postcodes::get_postcode)),
    )
    .service(
        get("/v1/postcodes", "GET, HEAD, POST")
            .route(web::get().to(postcodes::nearest_postcodes))
            .route(web::post().to(postcodes::post_postcodes)),
    )
    .service(get("/v1/schemes", "GET, HEAD").route(web::get().to(schemes::list_schemes)))
    .service(get("/v1/schemes/{id}", "GET, HEAD").route(web::get().to(schemes::get_scheme)))
    .service(
        get("/v1/schemes/{id}/layers/{layer}.geojson", "GET, HEAD")
            .route(web::get().to(schemes::layer_geojson)),
    )
    .service(
        get("/v1/schemes/{id}/bands.geojson", "GET, HEAD")
            .route(web::get().to(schemes::bands_geojson)),
    )
    .service(get("/openapi.json", "GET, HEAD").route(web::get().to(openapi::openapi_json)))
    .service(get("/", "GET, HEAD").route(web::get().to(page::index)))
    .service(get("/static/{file:.+}", "GET, HEAD").route(web::get().to(page::static_file)))
    .service(get("/docs", "GET, HEAD").route(web::get().to(page::docs)))
    .service(get("/docs/{file}", "GET, HEAD").route(web::get().to(page::docs_file)));
}

/// Extractor settings: body size limit and the handlers that give actix's own extractor
/// failures the API's error shape.
pub fn extractors(limits: &Limits) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let max_body = limits.max_body_bytes;
    move |cfg| {
        cfg.app_data(
            web::JsonConfig::default()
                .limit(max_body)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::default().limit(max_body))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error));
    }
}

/// CORS from the configured origins: none configured means no CORS headers at all (browsers
/// then refuse cross-origin reads); `*` allows any origin.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::HEAD])
        .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .max_age(3600)
        // A disallowed origin still gets its answer, just without CORS headers (the browser
        // withholds it); the JSON error shape is kept for every request.
        .block_on_origin_mismatch(false);
    for o in origins {
        cors = if o == "*" {
            cors.allow_any_origin().send_wildcard()
        } else {
            cors.allowed_origin(o)
        };
    }
    cors
}

/// The whole application of the public listener: state, the configured extractor limits,
/// CORS, the middleware of [`middleware`], and the routes of [`RouteSet::public`].
#[must_use]
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let set = RouteSet::public(state.config());
    app_with(state, set)
}

/// The application of the admin listener (`admin_listen`): the routes of [`RouteSet::ADMIN`]
/// with the same middleware.
#[must_use]
pub fn admin_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    app_with(state, RouteSet::ADMIN)
}

fn app_with(
    state: AppState,
    set: RouteSet,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let origins = state.config().cors_origins.clone();
    let limits = state.config().limits;
    App::new()
        .app_data(web::Data::new(state))
        .configure(routes(set))
        // After `routes`, so the configured limits replace its defaults.
        .configure(extractors(&limits))
        .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
        .wrap(from_fn(middleware::api_errors))
        .wrap(from_fn(middleware::limit_query))
        .wrap(from_fn(middleware::require_host))
        .wrap(from_fn(middleware::time_body))
        .wrap(from_fn(peers::refuse_over_cap))
        .wrap(from_fn(middleware::answer_headers))
        .wrap(from_fn(middleware::observe))
}
